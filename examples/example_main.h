// What the Lightning examples' main() does before the CLI parses: under `bazel run`, work
// where the user ran the command (data/, lightning_logs/ land there), and take out
// --min_accuracy=A (not a Lightning flag: the exit-code threshold the example tests use).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace fulgur::examples {

struct ExampleArgs {
  std::vector<std::string> cli_args;  // argv[1:] without --min_accuracy
  double min_accuracy = 0;
};

inline ExampleArgs example_args(int argc, char** argv) {
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY")) {
    if (chdir(cwd) != 0) std::perror("chdir to BUILD_WORKING_DIRECTORY");
  }
  ExampleArgs out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--min_accuracy=", 0) == 0) out.min_accuracy = std::atof(arg.c_str() + 15);
    else out.cli_args.push_back(arg);
  }
  return out;
}

}  // namespace fulgur::examples
