#include "host_state.h"

#include <fulgur/kernels/error.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace cpp_embed {
namespace {

constexpr char kMagic[8] = {'C', 'E', 'M', 'B', 'H', 'S', '0', '1'};

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

// The fixed-size header, then the field.
struct Header {
  char magic[8];
  int64_t grid, ranks, rank;
  double r;
  int64_t step, epoch, global_step, field_size;
};

}  // namespace

std::string host_state_path(const std::string& ckpt_path, int rank) {
  return ckpt_path + ".rank" + std::to_string(rank) + ".field";
}

void save_host_state(const std::string& path, const HostState& s) {
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    File f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
    FULGUR_CHECK(f != nullptr, "save_host_state", "cannot create ", tmp, ": ", std::strerror(errno),
                 "; hint: is --checkpoint-dir writable?");
    Header h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.grid = s.grid;
    h.ranks = s.ranks;
    h.rank = s.rank;
    h.r = s.r;
    h.step = s.step;
    h.epoch = s.epoch;
    h.global_step = s.global_step;
    h.field_size = static_cast<int64_t>(s.field.size());
    const bool ok = std::fwrite(&h, sizeof h, 1, f.get()) == 1 &&
                    std::fwrite(s.field.data(), sizeof(float), s.field.size(), f.get()) == s.field.size() &&
                    std::fflush(f.get()) == 0 && ::fsync(::fileno(f.get())) == 0;
    if (!ok) std::remove(tmp.c_str());
    FULGUR_CHECK(ok, "save_host_state", "writing ", tmp, " failed: ", std::strerror(errno),
                 "; hint: is the disk full?");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    FULGUR_CHECK(false, "save_host_state", "renaming ", tmp, " to ", path, " failed: ", std::strerror(err));
  }
}

HostState load_host_state(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"), &std::fclose);
  FULGUR_CHECK(f != nullptr, "load_host_state", "cannot open ", path, ": ", std::strerror(errno),
               "; hint: --resume takes a checkpoint written by this program with --checkpoint-dir (each rank "
               "reads <ckpt>.rank<R>.field next to it)");
  Header h{};
  const bool header_ok = std::fread(&h, sizeof h, 1, f.get()) == 1 &&
                         std::memcmp(h.magic, kMagic, sizeof kMagic) == 0 && h.field_size >= 0;
  FULGUR_CHECK(header_ok, "load_host_state", path, " is not a cpp_embed host state (bad or short header)");
  HostState s;
  s.grid = h.grid;
  s.ranks = h.ranks;
  s.rank = h.rank;
  s.r = h.r;
  s.step = h.step;
  s.epoch = h.epoch;
  s.global_step = h.global_step;
  s.field.resize(static_cast<size_t>(h.field_size));
  const size_t got = std::fread(s.field.data(), sizeof(float), s.field.size(), f.get());
  FULGUR_CHECK(got == s.field.size() && std::fgetc(f.get()) == EOF, "load_host_state", path, " holds ", got,
               " field values, expected exactly ", s.field.size(), " (truncated or corrupt)");
  return s;
}

}  // namespace cpp_embed
