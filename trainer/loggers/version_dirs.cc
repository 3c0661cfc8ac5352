#include "fulgur/trainer/loggers/version_dirs.h"

#include <algorithm>
#include <filesystem>

#include "fulgur/kernels/error.h"

namespace fulgur::lightning::loggers::detail {

int64_t next_version(const std::string& versions_root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(versions_root, ec)) return 0;
  int64_t next = 0;
  for (const auto& entry : fs::directory_iterator(versions_root, ec)) {
    if (!entry.is_directory(ec)) continue;
    const std::string name = entry.path().filename().string();
    if (name.rfind("version_", 0) != 0) continue;
    // Lightning takes the text between the first and second '_' and keeps it if all digits.
    std::string digits = name.substr(8);
    digits = digits.substr(0, digits.find('_'));
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    if (digits.size() > 18) continue;  // not a version we could count past
    next = std::max<int64_t>(next, std::stoll(digits) + 1);
  }
  return next;
}

std::string version_folder(const Value& version) {
  return version.is_string() ? version.as_string() : "version_" + std::to_string(version.as_int());
}

void check_version(const Value& version, const char* logger) {
  FULGUR_CHECK(version.is_none() || (version.is_int() && version.as_int() >= 0) ||
                   (version.is_string() && !version.as_string().empty()),
               logger, "version must be None (the next free version_N), an int >= 0 or a folder name, got ",
               version.repr());
}

std::string join_path(const std::string& a, const std::string& b) {
  if (b.empty()) return a.empty() ? a : (a.back() == '/' ? a : a + "/");
  if (a.empty() || b.front() == '/') return b;
  return a.back() == '/' ? a + b : a + "/" + b;
}

}  // namespace fulgur::lightning::loggers::detail
