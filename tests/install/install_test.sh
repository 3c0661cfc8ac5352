#!/usr/bin/env bash
# //tests/install:install_test: installs fulgur into $TEST_TMPDIR/prefix with tools/install.sh
# (the arguments //:install uses: tools/install.bzl), then, against that tree only:
#   1. the layout: libfulgur.so.X.Y.Z with SONAME libfulgur.so.X, the two symlinks, headers,
#      fulgur.pc, the CMake package; a second install gives the same tree (idempotent, no
#      temporary files left); a missing or relative --prefix is refused with a message;
#   2. g++ + pkg-config builds consumer/main.cc and runs it (it checks its own numbers against
#      a plain-double reference and prints "install_consumer: OK");
#   3. CMake's find_package(fulgur <version>) + fulgur::fulgur builds and runs the same
#      program; find_package(fulgur 99.0) is refused by fulgurConfigVersion.cmake;
#   then a C program against <fulgur/fulgur_c.h> (gcc) and a Fortran one against the installed
#   module source (gfortran) each compare the C ABI version of header and library, and a C
#   caller of <fulgur/fulgur_c_mpi.h> builds with fulgur-mpi.pc (MPI's flags);
#   4. the export policy, with nm: no third-party (Eigen, yaml-cpp, protobuf, ONNX, doctest)
#      symbol is exported; every exported symbol is fulgur's (or one libstdc++ exports
#      itself); what consumers need is exported (typeinfo/vtables of fulgur::Error,
#      L::LightningModule, nn::Module, typeinfo of L::Callback; fulgur::detail::throw_error).
# Under --config=asan libfulgur.so needs the ASan runtime; the consumer is then built with
# -fsanitize=address,undefined as well (an uninstrumented program cannot load an ASan
# library: the runtime must come first), so it still runs, under ASan.
#
# Usage (from BUILD): install_test.sh <install.sh> <install arguments...>
set -euo pipefail

install_sh="$1"
shift
install_args=("$@")
here="$(dirname "$(realpath "${BASH_SOURCE[0]}")")"
consumer="${here}/consumer"
tmp="${TEST_TMPDIR:?run me with bazel test}"
prefix="${tmp}/prefix"
version=""
manifest=""
for arg in "${install_args[@]}"; do
  case "${arg}" in
    --version=*) version="${arg#*=}" ;;
    --headers=*) manifest="${arg#*=}" ;;
  esac
done
major="${version%%.*}"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "=== $*"; }

# ---- 1. install, layout, idempotence, bad prefixes -------------------------------------------
step "install into ${prefix}"
"${install_sh}" "${install_args[@]}" --prefix="${prefix}"

lib="${prefix}/lib"
[[ -f "${lib}/libfulgur.so.${version}" && ! -L "${lib}/libfulgur.so.${version}" ]] ||
  fail "lib/libfulgur.so.${version} is not a regular file"
[[ "$(readlink "${lib}/libfulgur.so.${major}")" == "libfulgur.so.${version}" ]] ||
  fail "lib/libfulgur.so.${major} does not point to libfulgur.so.${version}"
[[ "$(readlink "${lib}/libfulgur.so")" == "libfulgur.so.${major}" ]] ||
  fail "lib/libfulgur.so does not point to libfulgur.so.${major}"
soname="$(readelf -d "${lib}/libfulgur.so.${version}" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[[ "${soname}" == "libfulgur.so.${major}" ]] || fail "SONAME is '${soname}', expected libfulgur.so.${major}"
for f in include/fulgur/fulgur.h include/fulgur/version.h include/fulgur/tensor/tensor.h \
  include/fulgur/trainer/trainer.h lib/pkgconfig/fulgur.pc lib/cmake/fulgur/fulgurConfig.cmake \
  lib/cmake/fulgur/fulgurConfigVersion.cmake; do
  [[ -s "${prefix}/${f}" ]] || fail "${f} was not installed"
done
grep -qx "#define FULGUR_VERSION_STRING \"${version}\"" "${prefix}/include/fulgur/version.h" ||
  fail "include/fulgur/version.h does not say ${version}"
# Checkpoints record trainer/version.h's kFulgurVersion (not an installed header; found
# through the header manifest): it must be version.bzl's too.
trainer_version_h="$(awk -F'\t' '$1 == "fulgur/trainer/version.h" {print $2}' "${manifest}")"
[[ -f "${trainer_version_h}" ]] || fail "trainer/version.h is not in the header manifest ${manifest}"
grep -q "kFulgurVersion = \"${version}\";" "${trainer_version_h}" ||
  fail "trainer/version.h's kFulgurVersion (written into checkpoints) is not version.bzl's ${version}"
# Every fulgur header the installed headers include is installed too (the closure is complete).
while read -r inc; do
  [[ -f "${prefix}/include/${inc}" ]] || fail "an installed header includes <${inc}>, which is not installed"
done < <(grep -rhoE '^#[[:space:]]*include[[:space:]]*[<"]fulgur/[^>"]+' "${prefix}/include" |
  sed -E 's@.*[<"]@@' | sort -u)

tree_state() { (cd "${prefix}" && find . -printf '%y %p %l\n' | sort && find . -type f -exec md5sum {} + | sort); }
first="$(tree_state)"
step "install again (idempotent)"
"${install_sh}" "${install_args[@]}" --prefix="${prefix}/" >/dev/null
[[ "$(tree_state)" == "${first}" ]] || fail "a second install changed the tree:
$(diff <(echo "${first}") <(tree_state) || true)"
leftovers="$(find "${prefix}" -name '.*' -print)"
[[ -z "${leftovers}" ]] || fail "temporary files left behind: ${leftovers}"

step "bad prefixes are refused"
expect_refusal() {
  local want="$1" out rc=0
  shift
  out="$("${install_sh}" "${install_args[@]}" "$@" 2>&1)" || rc=$?
  ((rc != 0)) || fail "install $* succeeded"
  grep -q "${want}" <<<"${out}" || fail "install $*: expected a message with '${want}', got: ${out}"
  echo "refused ($*): ${out}"
}
expect_refusal "missing --prefix"
expect_refusal "is relative" --prefix=relative/dir
[[ ! -e relative ]] || fail "a relative prefix created a directory"

# ---- consumer flags: ASan builds need an ASan consumer ----------------------------------------
consumer_flags=()
if readelf -d "${lib}/libfulgur.so.${version}" | grep -q 'NEEDED.*libasan'; then
  echo "libfulgur.so is an ASan build (--config=asan): building the consumer with -fsanitize=address,undefined"
  consumer_flags=(-fsanitize=address,undefined)
fi

run_consumer() {
  local out
  out="$("$1" 2>&1)" || fail "$1 failed:
${out}"
  echo "${out}"
  grep -qx "install_consumer: OK" <<<"${out}" || fail "$1 did not print 'install_consumer: OK'"
}

# ---- 2. g++ + pkg-config ----------------------------------------------------------------------
step "g++ \$(pkg-config --cflags --libs fulgur)"
export PKG_CONFIG_PATH="${lib}/pkgconfig"
[[ "$(pkg-config --modversion fulgur)" == "${version}" ]] || fail "pkg-config --modversion fulgur is not ${version}"
pc_flags="$(pkg-config --cflags --libs fulgur)"
echo "pkg-config: ${pc_flags}"
# shellcheck disable=SC2086  # pkg-config's output is a list of flags
g++ -std=c++20 "${consumer_flags[@]}" "${consumer}/main.cc" ${pc_flags} -Wl,-rpath,"${lib}" \
  -o "${tmp}/consumer_pkgconfig"
run_consumer "${tmp}/consumer_pkgconfig"

# ---- 3. CMake ---------------------------------------------------------------------------------
step "cmake find_package(fulgur ${version})"
cmake_flags=(-DCMAKE_PREFIX_PATH="${prefix}" -DCMAKE_BUILD_TYPE=Release)
((${#consumer_flags[@]} == 0)) || cmake_flags+=(-DCMAKE_CXX_FLAGS="${consumer_flags[*]}")
cmake -S "${consumer}" -B "${tmp}/cmake_build" "${cmake_flags[@]}" -DFULGUR_REQUIRE_VERSION="${version}" >"${tmp}/cmake.log" 2>&1 ||
  fail "cmake configure failed: $(cat "${tmp}/cmake.log")"
cmake --build "${tmp}/cmake_build" >>"${tmp}/cmake.log" 2>&1 || fail "cmake build failed: $(cat "${tmp}/cmake.log")"
run_consumer "${tmp}/cmake_build/install_consumer"
if cmake -S "${consumer}" -B "${tmp}/cmake_too_new" "${cmake_flags[@]}" -DFULGUR_REQUIRE_VERSION=99.0 \
  >"${tmp}/cmake_too_new.log" 2>&1; then
  fail "find_package(fulgur 99.0) accepted version ${version}"
fi
grep -q "${version}" "${tmp}/cmake_too_new.log" || fail "find_package(fulgur 99.0) failed without naming ${version}: $(cat "${tmp}/cmake_too_new.log")"
echo "find_package(fulgur 99.0) refused, as it should be"

# ---- C ABI from C, Fortran module from gfortran -----------------------------------------------
step "C: gcc against <fulgur/fulgur_c.h>; Fortran: gfortran with the installed fulgur.f90"
cat >"${tmp}/abi.c" <<'C'
#include <fulgur/fulgur_c.h>
#include <stdio.h>
int main(void) {
  const int32_t loaded = fulgur_abi_version();
  printf("C ABI: header %d, library %d\n", FULGUR_C_ABI_VERSION, (int)loaded);
  return loaded == FULGUR_C_ABI_VERSION ? 0 : 1;
}
C
# shellcheck disable=SC2086
gcc -std=c11 -Wall -Werror "${consumer_flags[@]}" "${tmp}/abi.c" ${pc_flags} -Wl,-rpath,"${lib}" -o "${tmp}/abi_c"
"${tmp}/abi_c" || fail "the C program saw another ABI version in libfulgur.so than its header's"
cat >"${tmp}/abi.f90" <<'F90'
program abi
  use fulgur
  implicit none
  ! List-directed: libgfortran strndup()s a format string past its end, which ASan's
  ! strict_string_checks reports (not fulgur's code).
  print *, 'Fortran: module', FULGUR_C_ABI_VERSION, ', library', fulgur_abi_version()
  if (fulgur_abi_version() /= FULGUR_C_ABI_VERSION) error stop 1
end program abi
F90
mkdir -p "${tmp}/fortran"
gfortran -std=f2008 "${consumer_flags[@]}" -J "${tmp}/fortran" "${prefix}/include/fulgur/fortran/fulgur.f90" "${tmp}/abi.f90" \
  -L"${lib}" -lfulgur -Wl,-rpath,"${lib}" -o "${tmp}/abi_fortran"
"${tmp}/abi_fortran" || fail "the Fortran program saw another ABI version in libfulgur.so than its module's"

step "the MPI headers: gcc \$(pkg-config --cflags --libs fulgur-mpi) compiles and links a C caller"
[[ -s "${prefix}/include/fulgur/fulgur_c_mpi.h" && -s "${prefix}/include/fulgur/distributed/mpi_process_group.h" ]] ||
  fail "the MPI headers (fulgur_c_mpi.h, distributed/mpi_process_group.h) were not installed"
cat >"${tmp}/mpi_caller.c" <<'C'
#include <fulgur/fulgur_c_mpi.h>
/* Compiled and linked only: running needs mpirun (examples/ run theirs under it). */
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  fulgur_trainer_options options;
  fulgur_trainer_options_default(&options);
  fulgur_trainer* trainer = NULL;
  const fulgur_status status = fulgur_trainer_create_mpi(&options, MPI_Comm_c2f(MPI_COMM_WORLD), &trainer);
  fulgur_trainer_destroy(trainer);
  MPI_Finalize();
  return status == FULGUR_OK ? 0 : 1;
}
C
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
gcc -std=c11 -Wall -Werror "${consumer_flags[@]}" "${tmp}/mpi_caller.c" $(pkg-config --cflags --libs fulgur-mpi) \
  -Wl,-rpath,"${lib}" -o "${tmp}/mpi_caller" || fail "a C caller of fulgur_c_mpi.h does not build with fulgur-mpi.pc"
echo "fulgur-mpi.pc: $(pkg-config --cflags --libs fulgur-mpi)"

# ---- 4. exported symbols ----------------------------------------------------------------------
step "exported symbols (nm -D --defined-only)"
nm -D --defined-only "${lib}/libfulgur.so.${version}" | awk '{print $3}' | sed 's/@.*//' | sort -u >"${tmp}/exported"
echo "$(wc -l <"${tmp}/exported") symbols exported"
c++filt <"${tmp}/exported" >"${tmp}/exported.demangled"
third_party="$(grep -E '(^| )(Eigen|YAML|google|onnx|doctest)::' "${tmp}/exported.demangled" || true)"
[[ -z "${third_party}" ]] || fail "third-party symbols are exported: $(head -20 <<<"${third_party}")"
libstdcxx="$(realpath "$(g++ -print-file-name=libstdc++.so)")"
nm -D --defined-only "${libstdcxx}" | awk '{print $3}' | sed 's/@.*//' | sort -u >"${tmp}/libstdcxx"
# fulgur's own names (the mangled prefixes tools/libfulgur.map exports) or libstdc++'s own
# (gold exports the few std::string members the library defines that libstdc++ also exports).
fulgur_names='^(_ZNK?[RO]?6fulgur|_ZT[VISTHW]N6fulgur|_ZT[hv].*_NK?6fulgur|_ZZNK?6fulgur|_ZGVZ?NK?6fulgur|fulgur_|FULGUR_[0-9]+$)'
foreign="$(grep -vE "${fulgur_names}" "${tmp}/exported" | comm -23 - "${tmp}/libstdcxx" || true)"
[[ -z "${foreign}" ]] || fail "exported symbols that are neither fulgur's nor libstdc++'s own: $(c++filt <<<"${foreign}" | head -20)"
echo "$(grep -cE "${fulgur_names}" "${tmp}/exported") fulgur symbols, $(grep -cvE "${fulgur_names}" "${tmp}/exported") also exported by ${libstdcxx}"
for want in \
  _ZTIN6fulgur5ErrorE \
  _ZTIN6fulgur9lightning15LightningModuleE _ZTVN6fulgur9lightning15LightningModuleE \
  _ZTIN6fulgur9lightning8CallbackE \
  _ZTIN6fulgur2nn6ModuleE _ZTVN6fulgur2nn6ModuleE; do
  grep -qx "${want}" "${tmp}/exported" || fail "$(c++filt "${want}") (${want}) is not exported"
done
grep -qx fulgur_abi_version "${tmp}/exported" || fail "the C ABI (fulgur_abi_version) is not exported"
grep -q '^_ZN6fulgur6detail11throw_error' "${tmp}/exported" ||
  fail "fulgur::detail::throw_error (called by FULGUR_CHECK in installed headers) is not exported"
echo "PASS"
