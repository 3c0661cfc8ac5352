#include "fulgur/data/download.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "fulgur/kernels/error.h"

namespace fulgur::data {
namespace {

struct Md5 {
  Md5() : ctx(EVP_MD_CTX_new()) {
    FULGUR_CHECK(ctx && EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) == 1, "md5",
                 "OpenSSL's MD5 is not available");
  }
  ~Md5() { EVP_MD_CTX_free(ctx); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void update(const void* p, size_t n) { EVP_DigestUpdate(ctx, p, n); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    std::string out;
    char buf[3];
    for (unsigned i = 0; i < len; ++i) {
      std::snprintf(buf, sizeof buf, "%02x", digest[i]);
      out += buf;
    }
    return out;
  }
  EVP_MD_CTX* ctx;
};

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::FILE* file;
  Md5* md5;
  bool write_failed = false;
};

size_t on_data(char* p, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const size_t bytes = size * n;
  if (std::fwrite(p, 1, bytes, s->file) != bytes) {
    s->write_failed = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  s->md5->update(p, bytes);
  return bytes;
}

// Downloads url to path; returns "" on success, else the error, and the MD5 in md5_out.
std::string fetch(const std::string& url, const std::string& path, std::string& md5_out) {
  File f(std::fopen(path.c_str(), "wb"));
  if (!f) return "cannot write '" + path + "': " + std::strerror(errno);
  Md5 md5;
  Sink sink{f.get(), &md5};
  curl_init_once();
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return "curl_easy_init failed";
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);  // HTTP >= 400 is an error
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);  // abort below 1 KB/s for 60 s
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "fulgur");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  const CURLcode rc = curl_easy_perform(c);
  if (sink.write_failed) return "writing '" + path + "' failed: " + std::strerror(errno);
  if (rc != CURLE_OK)
    return std::string("curl error ") + std::to_string(static_cast<int>(rc)) + ": " +
           (errbuf[0] ? errbuf : curl_easy_strerror(rc));
  if (std::fflush(f.get()) != 0 || ::fsync(fileno(f.get())) != 0)
    return "writing '" + path + "' failed: " + std::strerror(errno);
  md5_out = md5.hex();
  return "";
}

}  // namespace

std::string md5_hex(std::string_view bytes) {
  Md5 md5;
  md5.update(bytes.data(), bytes.size());
  return md5.hex();
}

std::string md5_file(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  FULGUR_CHECK(f != nullptr, "md5", "'", path, "': cannot open: ", std::strerror(errno));
  Md5 md5;
  std::vector<char> buf(1 << 16);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) md5.update(buf.data(), n);
  FULGUR_CHECK(!std::ferror(f.get()), "md5", "'", path, "': read error");
  return md5.hex();
}

std::string download_file(const std::vector<std::string>& urls, const std::string& dest,
                          const std::string& md5) {
  FULGUR_CHECK(!urls.empty(), "download", "no URL given for '", dest, "'");
  std::string tried;
  for (const std::string& url : urls) {
    std::string tmp = dest + ".part-XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    FULGUR_CHECK(fd >= 0, "download", "cannot create a temporary file next to '", dest, "': ",
                 std::strerror(errno));
    ::close(fd);
    std::string got_md5;
    std::string err = fetch(url, tmp, got_md5);
    if (err.empty() && !md5.empty() && got_md5 != md5)
      err = "MD5 mismatch: got " + got_md5 + ", expected " + md5 + " (corrupt or different file)";
    if (err.empty()) {
      if (std::rename(tmp.c_str(), dest.c_str()) == 0) return url;
      err = "cannot rename '" + tmp + "' to '" + dest + "': " + std::strerror(errno);
    }
    std::remove(tmp.c_str());
    tried += "\n  " + url + ": " + err;
  }
  FULGUR_FAIL("download", "could not download '", dest, "'; tried:", tried);
}

}  // namespace fulgur::data
