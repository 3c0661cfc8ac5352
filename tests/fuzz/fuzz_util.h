// Shared by the fuzz targets: run a parser on untrusted bytes, where fulgur::Error is the one
// acceptable failure. Anything else (another exception, a crash, a sanitizer report, a huge
// allocation) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fulgur/kernels/error.h"

namespace fulgur::fuzz {

template <typename Fn>
void expect_only_errors(Fn&& fn) {
  try {
    fn();
  } catch (const fulgur::Error&) {
    // Rejected input: fine.
  }
}

}  // namespace fulgur::fuzz

// Each target defines this (libFuzzer's entry point; corpus_driver.cc calls it in CI).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
