// AtomicFileWriter and the atomicity of fulgur::save: a child process rewrites a checkpoint
// in a loop and is killed at random moments; the path must always hold a complete file.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <chrono>
#include <random>
#include <thread>

#include "fulgur/serialize/atomic_file.h"
#include "serialize_test_util.h"

using namespace fulgur;
using namespace fulgur::testing;
using serialize::AtomicFileWriter;
using serialize::write_file_atomic;

namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

int count_temp_files(const std::string& dir, const std::string& base) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name).rfind("." + base + ".tmp.", 0) == 0) ++n;
  }
  closedir(d);
  return n;
}

}  // namespace

TEST_CASE("AtomicFileWriter: commit replaces, abandoning leaves the target untouched") {
  const std::string path = tmp_path("atomic.bin");
  write_file_atomic(path, "old contents");
  CHECK(read_file_bytes(path) == "old contents");
  {
    AtomicFileWriter w(path);
    w.write("new ");
    CHECK(read_file_bytes(path) == "old contents");  // not visible before commit
    CHECK(w.offset() == 4);
  }  // destroyed without commit: temp removed
  CHECK(read_file_bytes(path) == "old contents");
  CHECK(count_temp_files(tmp_path(""), "atomic.bin") == 0);
  {
    AtomicFileWriter w(path);
    w.write("new contents");
    w.commit();
  }
  CHECK(read_file_bytes(path) == "new contents");
  CHECK(count_temp_files(tmp_path(""), "atomic.bin") == 0);
  // An exception while writing a checkpoint: the old file stays.
  save(Value::dict({{"x", 1}}), path);
  CHECK_THROWS_AS(save(Value::dict({{"x", 2}, {"bad", "\xff"}}), path), Error);
  CHECK(load(path).at("x").as_int() == 1);
  CHECK(count_temp_files(tmp_path(""), "atomic.bin") == 0);
}

TEST_CASE("AtomicFileWriter: errors name the path and the system's reason") {
  CHECK(error_of([] { write_file_atomic("/nonexistent-dir/f", "x"); }) ==
        "save: '/nonexistent-dir/f': cannot create a temporary file in '/nonexistent-dir': No such file or "
        "directory");
  const std::string dir = tmp_path("a_directory");
  ::mkdir(dir.c_str(), 0755);
  CHECK(error_of([&] { write_file_atomic(dir, "x"); }).find("cannot rename the temporary file over it: Is a "
                                                            "directory") != std::string::npos);
  CHECK(count_temp_files(tmp_path(""), "a_directory") == 0);
  CHECK(error_of([] { write_file_atomic("dir/", "x"); }) == "save: 'dir/': not a file path");
}

TEST_CASE("save is atomic: a process killed at random moments leaves an old or a new complete file") {
  const std::string path = tmp_path("killed.pt");
  const int64_t n = 2000;
  save(Value::dict({{"gen", 0}, {"w", full({n}, 0.0)}}), path);
  std::mt19937 rng(7);
  int checked = 0;
  int64_t max_gen = 0;
  for (int round = 0; round < 40; ++round) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Child: rewrite forever with increasing generations (small tensors: no thread pool).
      for (int64_t gen = 1;; ++gen) {
        save(Value::dict({{"gen", gen}, {"w", full({n}, static_cast<double>(gen))}}), path);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    // The file at the path is always complete: it loads, and its tensor is all one generation.
    const Value v = load(path);
    const int64_t gen = v.at("gen").as_int();
    const std::vector<double> w = values(v.at("w").as_tensor());
    REQUIRE(w.size() == static_cast<size_t>(n));
    for (double x : w) REQUIRE(x == static_cast<double>(gen));
    max_gen = std::max(max_gen, gen);
    ++checked;
  }
  MESSAGE("checked ", checked, " kills; the child reached generation ", max_gen, " at most");
  CHECK(checked == 40);
  // A killed writer may leave its temporary file (nothing can remove it); never the target.
}
