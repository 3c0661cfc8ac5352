// The run folders CSVLogger and TensorBoardLogger share with Lightning:
// save_dir/name/version_<N>, N being the next free number (one more than the largest
// version_<digits> folder there, 0 when none), or a version given as an int or a string.
#pragma once

#include <cstdint>
#include <string>

#include "fulgur/tensor/value.h"

namespace fulgur::lightning::loggers::detail {

// Lightning's _get_next_version over the folder `versions_root` (missing: 0).
int64_t next_version(const std::string& versions_root);
// "version_<N>" for an int, the string itself for a string (Lightning's log_dir).
std::string version_folder(const Value& version);
// Checks a user-given version: None (auto), an int >= 0 or a non-empty string.
void check_version(const Value& version, const char* logger);
// save_dir/name joined as os.path.join does (an empty name adds nothing).
std::string join_path(const std::string& a, const std::string& b);

}  // namespace fulgur::lightning::loggers::detail
