// Downloading dataset files: libcurl (http, https, file URLs), atomic writes, MD5 checks
// (OpenSSL's libcrypto).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fulgur::data {

// Lower-case hex MD5 of a file / of bytes.
std::string md5_file(const std::string& path);
std::string md5_hex(std::string_view bytes);

// Fetches the first URL that works into `dest`: each URL is downloaded to a temporary file
// next to dest, its MD5 checked against `md5` (skipped when empty), and only then renamed to
// dest (atomic: dest is either absent or complete). A failed URL (curl error, HTTP error,
// MD5 mismatch) is recorded and the next one tried. When all fail, throws fulgur::Error
// listing every URL with its error. Returns the URL used. Creates no directories.
std::string download_file(const std::vector<std::string>& urls, const std::string& dest,
                          const std::string& md5);

}  // namespace fulgur::data
