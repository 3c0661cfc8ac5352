#!/usr/bin/env bash
# Installs libfulgur.so, its public headers, a pkg-config file and a CMake package under a
# prefix. Run through Bazel, which passes the built files (root BUILD, //:install):
#
#   ./bazelw run //:install -- --prefix=/opt/fulgur
#
# DIR/lib/libfulgur.so.X.Y.Z, libfulgur.so.X -> it, libfulgur.so -> libfulgur.so.X
# DIR/include/fulgur/...              every header reachable from fulgur/fulgur.h (and the
#                                     other --root headers), at the path the library uses
# DIR/lib/pkgconfig/fulgur.pc         pkg-config --cflags --libs fulgur
# DIR/lib/pkgconfig/fulgur-mpi.pc     the same plus MPI's flags (for the headers taking MPI_Comm)
# DIR/lib/cmake/fulgur/fulgurConfig.cmake, fulgurConfigVersion.cmake   find_package(fulgur),
#                                     fulgur::fulgur; COMPONENTS mpi adds fulgur::mpi
#
# Every file is written to a temporary name in its folder and renamed over the old one, so a
# reader never sees half a file and installing twice gives the same tree. Files that an older
# version installed and this one does not are left alone (as `make install` does).
#
# Options (the first five come from BUILD):
#   --version=X.Y.Z          the library's version (version.bzl)
#   --library=PATH           the built libfulgur.so
#   --headers=MANIFEST       public_headers' manifest: "<include path>\t<file>" per line
#   --root=INCLUDE_PATH      a header to install with everything it includes (repeatable;
#                            fulgur/fulgur.h, fulgur/version.h, the C ABI's header)
#   --fortran=FILE           a Fortran module file (.mod, .f90) for DIR/include/fulgur/fortran
#                            (repeatable; the C ABI's Fortran module)
#   --prefix=DIR             where to install: an absolute path (created if missing)
set -euo pipefail

die() {
  echo "install: $*" >&2
  exit 1
}

version="" library="" manifest="" prefix=""
roots=() fortran=()
for arg in "$@"; do
  case "${arg}" in
    --version=*) version="${arg#*=}" ;;
    --library=*) library="${arg#*=}" ;;
    --headers=*) manifest="${arg#*=}" ;;
    --root=*) roots+=("${arg#*=}") ;;
    --fortran=*) fortran+=("${arg#*=}") ;;
    --prefix=*) prefix="${arg#*=}" ;;
    --prefix) die "write --prefix=DIR (with '='), e.g. ./bazelw run //:install -- --prefix=/opt/fulgur" ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '${arg}' (expected --prefix=DIR; see --help)" ;;
  esac
done

[[ -n "${prefix}" ]] || die "missing --prefix=DIR: say where to install, e.g. ./bazelw run //:install -- --prefix=/opt/fulgur"
[[ "${prefix}" == /* ]] || die "--prefix='${prefix}' is relative; give an absolute path (under 'bazel run' the working directory is Bazel's runfiles tree, not yours): --prefix=\$PWD/${prefix}"
[[ "${version}" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "--version='${version}' is not X.Y.Z (a BUILD error: it comes from version.bzl)"
major="${BASH_REMATCH[1]}"
minor="${BASH_REMATCH[2]}"
[[ -f "${library}" ]] || die "--library='${library}': no such file (a BUILD error: it is //:libfulgur.so)"
[[ -f "${manifest}" ]] || die "--headers='${manifest}': no such file (a BUILD error: it is //:public_headers)"
((${#roots[@]} > 0)) || die "no --root header given (a BUILD error: fulgur/fulgur.h at least)"
prefix="${prefix%/}"
[[ -n "${prefix}" ]] || die "--prefix=/ : refusing to install into the root directory itself; use /usr/local"

# include path -> file, from the manifest.
declare -A header_file=()
while IFS=$'\t' read -r include file; do
  [[ -n "${include}" ]] && header_file["${include}"]="${file}"
done <"${manifest}"

# The headers reachable from the roots through #include "fulgur/..." / <fulgur/...>.
declare -A wanted=()
queue=("${roots[@]}")
while ((${#queue[@]} > 0)); do
  include="${queue[0]}"
  queue=("${queue[@]:1}")
  [[ -n "${wanted[${include}]:-}" ]] && continue
  file="${header_file[${include}]:-}"
  [[ -n "${file}" ]] || die "header <${include}> is included by the public API but no target of //:public_headers provides it (add its library to public_headers' deps in BUILD)"
  wanted["${include}"]="${file}"
  while read -r next; do
    queue+=("${next}")
  done < <(sed -nE 's@^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](fulgur/[^>"]+)[>"].*@\1@p' "${file}")
done

# install_file SRC DEST MODE: copy to a temporary name next to DEST, then rename over it.
install_file() {
  local src="$1" dest="$2" mode="$3" tmp
  mkdir -p "$(dirname "${dest}")"
  tmp="$(mktemp "$(dirname "${dest}")/.$(basename "${dest}").XXXXXX")"
  cat "${src}" >"${tmp}" && chmod "${mode}" "${tmp}" && mv -f "${tmp}" "${dest}" ||
    { rm -f "${tmp}"; die "could not write ${dest}"; }
}

# write_file DEST MODE < content
write_file() {
  local dest="$1" mode="$2" tmp
  mkdir -p "$(dirname "${dest}")"
  tmp="$(mktemp "$(dirname "${dest}")/.$(basename "${dest}").XXXXXX")"
  cat >"${tmp}" && chmod "${mode}" "${tmp}" && mv -f "${tmp}" "${dest}" ||
    { rm -f "${tmp}"; die "could not write ${dest}"; }
}

# install_symlink TARGET LINK: a new link under a temporary name, renamed over LINK.
install_symlink() {
  local target="$1" link="$2" tmp
  tmp="$(dirname "${link}")/.$(basename "${link}").$$"
  ln -sfn "${target}" "${tmp}" && mv -fT "${tmp}" "${link}" ||
    { rm -f "${tmp}"; die "could not write ${link}"; }
}

mkdir -p "${prefix}" 2>/dev/null || die "cannot create --prefix=${prefix} (permissions? use a prefix you can write, or sudo)"
[[ -w "${prefix}" ]] || die "cannot write to --prefix=${prefix} (permissions? use a prefix you can write, or sudo)"

lib="${prefix}/lib"
real="libfulgur.so.${version}"
install_file "${library}" "${lib}/${real}" 0755
install_symlink "${real}" "${lib}/libfulgur.so.${major}"
install_symlink "libfulgur.so.${major}" "${lib}/libfulgur.so"

for include in "${!wanted[@]}"; do
  install_file "${wanted[${include}]}" "${prefix}/include/${include}" 0644
done
for file in "${fortran[@]}"; do
  install_file "${file}" "${prefix}/include/fulgur/fortran/$(basename "${file}")" 0644
done

# The public headers need nothing but the C++20 standard library (no Eigen, CUDA or MPI
# headers; tests/install_test.sh compiles against them alone), but for the two MPI headers
# (fulgur-mpi.pc below), and libfulgur.so carries its
# own DT_NEEDED entries, so Cflags and Libs name fulgur only.
write_file "${lib}/pkgconfig/fulgur.pc" 0644 <<EOF
# Generated by ./bazelw run //:install (tools/install.sh). Needs a C++20 compiler (-std=c++20).
prefix=${prefix}
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: fulgur
Description: Fulgur deep-learning runtime: tensors, autograd, nn, optim, data and a Lightning-style Trainer
Version: ${version}
Cflags: -I\${includedir}
Libs: -L\${libdir} -lfulgur
EOF

# The MPI headers (fulgur_c_mpi.h, distributed/mpi_process_group.h) include <mpi.h>: programs
# that pass their communicator use fulgur-mpi.pc, which adds the flags of the Open MPI the
# library was linked with (its ompi-c.pc; libfulgur.so needs libmpi.so.40 in any case).
# Fortran codes need neither: mpif90 has MPI's flags, and the module takes the INTEGER handle.
write_file "${lib}/pkgconfig/fulgur-mpi.pc" 0644 <<EOF
# Generated by ./bazelw run //:install (tools/install.sh).
prefix=${prefix}

Name: fulgur-mpi
Description: Fulgur with the headers that take the host's MPI communicator (fulgur_c_mpi.h, distributed/mpi_process_group.h)
Version: ${version}
Requires: fulgur ompi-c
EOF

# Relocatable: the prefix is found from this file's own location (DIR/lib/cmake/fulgur).
write_file "${lib}/cmake/fulgur/fulgurConfig.cmake" 0644 <<EOF
# Generated by ./bazelw run //:install (tools/install.sh).
#   find_package(fulgur REQUIRED)
#   target_link_libraries(app PRIVATE fulgur::fulgur)
# fulgur::fulgur brings the include directory, C++20 and libfulgur.so.
get_filename_component(_fulgur_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET fulgur::fulgur)
  add_library(fulgur::fulgur SHARED IMPORTED)
  set_target_properties(fulgur::fulgur PROPERTIES
    IMPORTED_LOCATION "\${_fulgur_prefix}/lib/${real}"
    IMPORTED_SONAME "libfulgur.so.${major}"
    INTERFACE_INCLUDE_DIRECTORIES "\${_fulgur_prefix}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_20)
endif()
foreach(_fulgur_file "\${_fulgur_prefix}/lib/${real}" "\${_fulgur_prefix}/include/fulgur/fulgur.h")
  if(NOT EXISTS "\${_fulgur_file}")
    set(fulgur_FOUND FALSE)
    set(fulgur_NOT_FOUND_MESSAGE "\${_fulgur_file} is missing: reinstall with ./bazelw run //:install -- --prefix=\${_fulgur_prefix}")
  endif()
endforeach()
# find_package(fulgur COMPONENTS mpi): fulgur::mpi adds MPI's include directory and library
# (FindMPI, for the first of CXX or C the project enables) for <fulgur/fulgur_c_mpi.h> and
# <fulgur/distributed/mpi_process_group.h>, which include <mpi.h>.
foreach(_fulgur_component IN LISTS fulgur_FIND_COMPONENTS)
  if(_fulgur_component STREQUAL "mpi")
    get_property(_fulgur_languages GLOBAL PROPERTY ENABLED_LANGUAGES)
    if("CXX" IN_LIST _fulgur_languages)
      set(_fulgur_mpi_language CXX)
      set(MPI_CXX_SKIP_MPICXX TRUE)  # MPI's C API from C++, not the removed C++ bindings
    else()
      set(_fulgur_mpi_language C)
    endif()
    include(CMakeFindDependencyMacro)
    find_dependency(MPI COMPONENTS \${_fulgur_mpi_language})
    if(NOT TARGET fulgur::mpi)
      add_library(fulgur::mpi INTERFACE IMPORTED)
      set_target_properties(fulgur::mpi PROPERTIES
        INTERFACE_LINK_LIBRARIES "fulgur::fulgur;MPI::MPI_\${_fulgur_mpi_language}")
    endif()
    set(fulgur_mpi_FOUND TRUE)
    unset(_fulgur_languages)
    unset(_fulgur_mpi_language)
  else()
    set(fulgur_\${_fulgur_component}_FOUND FALSE)
    if(fulgur_FIND_REQUIRED_\${_fulgur_component})
      set(fulgur_FOUND FALSE)
      set(fulgur_NOT_FOUND_MESSAGE "fulgur has no component '\${_fulgur_component}' (components: mpi)")
    endif()
  endif()
endforeach()
unset(_fulgur_component)
set(fulgur_INCLUDE_DIRS "\${_fulgur_prefix}/include")
set(fulgur_LIBRARIES fulgur::fulgur)
unset(_fulgur_file)
unset(_fulgur_prefix)
EOF

# Compatible: the same major version and at least the requested one; before 1.0 the minor
# version must match too (0.x releases may break the ABI: the SONAME is libfulgur.so.0 for
# all of them, so this file is the check).
write_file "${lib}/cmake/fulgur/fulgurConfigVersion.cmake" 0644 <<EOF
# Generated by ./bazelw run //:install (tools/install.sh).
set(PACKAGE_VERSION "${version}")
if(NOT DEFINED PACKAGE_FIND_VERSION OR PACKAGE_FIND_VERSION STREQUAL "")
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
elseif(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(NOT PACKAGE_FIND_VERSION_MAJOR STREQUAL "${major}")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif("${major}" STREQUAL "0" AND NOT PACKAGE_FIND_VERSION_MINOR STREQUAL "${minor}")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
EOF

echo "install: fulgur ${version} in ${prefix}: lib/${real} (+ libfulgur.so.${major}, libfulgur.so), ${#wanted[@]} headers under include/fulgur, lib/pkgconfig/fulgur.pc, lib/cmake/fulgur"
