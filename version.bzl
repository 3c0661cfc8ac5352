"""Fulgur's version: the one place it is written.

libfulgur.so's SONAME (libfulgur.so.<major>), the installed file name
(libfulgur.so.<major>.<minor>.<patch>), fulgur.pc, fulgurConfigVersion.cmake and
<fulgur/version.h> (FULGUR_VERSION_STRING) all come from here. trainer/version.h's
kFulgurVersion (written into checkpoints) must match: //tests/install:install_test checks it.
See docs/INSTALL.md.
"""

FULGUR_VERSION_MAJOR = 0
FULGUR_VERSION_MINOR = 1
FULGUR_VERSION_PATCH = 0

FULGUR_VERSION = "%d.%d.%d" % (FULGUR_VERSION_MAJOR, FULGUR_VERSION_MINOR, FULGUR_VERSION_PATCH)

# The ABI version: libfulgur.so.<FULGUR_SOVERSION>. Before 1.0 every minor release may break it.
FULGUR_SOVERSION = "%d" % FULGUR_VERSION_MAJOR
