// WandbLogger (trainer/loggers/wandb_logger.h) on the C++ side: the .wandb framing (W&B's
// header, LevelDB's blocks, FULL/FIRST/MIDDLE/LAST chunks, zero-filled block tails) re-read by a
// reader written here, with CRC-32 computed bit by bit (not zlib's); the record order of a
// Trainer.fit run; the run folder; Lightning's name/version/save_dir and ModelCheckpoint's
// folder; errors, warnings, WANDB_PROJECT / WANDB_MODE and ranks other than 0.
// tests/trainer_wandb_python_test.cc reads the same files with wandb itself.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/trainer/loggers/wandb_log_writer.h"
#include "tests/test_util.h"

using namespace fulgur;
using fulgur::testing::captured_stderr;
namespace L = fulgur::lightning;
namespace F = fulgur::nn::functional;
namespace fs = std::filesystem;
using L::loggers::WandbLogWriter;

namespace {

std::string temp_dir(const std::string& name) { return fulgur::testing::fresh_test_dir("wandb_" + name); }

std::string read_file(const fs::path& path) { return fulgur::testing::read_file_bytes(path); }

uint64_t le(const std::string& s, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// CRC-32 (ISO-HDLC, reflected 0xEDB88320) one bit at a time: the reference for zlib's crc32.
uint32_t crc32_bitwise(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc ^= static_cast<unsigned char>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

struct Chunk {
  size_t offset;
  int type;
  std::string data;
};

// LevelDB's log reader over a .wandb file: the header, then chunks; each chunk's CRC checked.
struct WandbFile {
  std::vector<Chunk> chunks;
  std::vector<std::string> records;  // reassembled
};
WandbFile read_wandb(const std::string& bytes) {
  WandbFile out;
  REQUIRE(bytes.size() >= 7);
  CHECK(bytes.substr(0, 4) == ":W&B");
  CHECK(le(bytes, 4, 2) == 0xBEE1u);
  CHECK(bytes[6] == '\0');
  size_t at = 7;
  std::string pending;
  while (at < bytes.size()) {
    const size_t room = WandbLogWriter::kBlockSize - at % WandbLogWriter::kBlockSize;
    if (room < 7) {
      CHECK(bytes.substr(at, room) == std::string(room, '\0'));
      at += room;
      continue;
    }
    REQUIRE(bytes.size() - at >= 7);
    const auto crc = static_cast<uint32_t>(le(bytes, at, 4));
    const size_t length = le(bytes, at + 4, 2);
    const int type = static_cast<unsigned char>(bytes[at + 6]);
    REQUIRE(at + 7 + length <= bytes.size());
    std::string data = bytes.substr(at + 7, length);
    CHECK(crc == crc32_bitwise(std::string(1, static_cast<char>(type)) + data));
    CHECK(7 + length <= room);  // a chunk never crosses a block
    out.chunks.push_back({at, type, data});
    if (type == 1) {
      CHECK(pending.empty());
      out.records.push_back(data);
    } else if (type == 2) {
      pending = data;
    } else if (type == 3) {
      pending += data;
    } else {
      REQUIRE(type == 4);
      out.records.push_back(pending + data);
      pending.clear();
    }
    at += 7 + length;
  }
  return out;
}

// The top-level fields of a protobuf message: field number -> varint value or bytes.
struct Fields {
  std::map<uint32_t, uint64_t> varints;
  std::map<uint32_t, std::vector<std::string>> bytes;
};
uint64_t varint(const std::string& s, size_t& at) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    REQUIRE(at < s.size());
    const auto b = static_cast<unsigned char>(s[at++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
}
Fields fields(const std::string& s) {
  Fields out;
  size_t at = 0;
  while (at < s.size()) {
    const uint64_t tag = varint(s, at);
    const auto field = static_cast<uint32_t>(tag >> 3);
    switch (tag & 7) {
      case 0: out.varints[field] = varint(s, at); break;
      case 2: {
        const size_t n = varint(s, at);
        out.bytes[field].push_back(s.substr(at, n));
        at += n;
        break;
      }
      case 1: at += 8; break;
      case 5: at += 4; break;
      default: FAIL("unexpected wire type");
    }
  }
  return out;
}

// A Record's type: the field number of its record_type (Record.num is 1, _info 200).
uint32_t record_type(const std::string& record) {
  const Fields f = fields(record);
  for (const auto& [field, values] : f.bytes) {
    if (field != 200) return field;
  }
  return 0;
}

// key -> value_json of a HistoryRecord's, SummaryRecord's or ConfigRecord's items (field `item_field`).
std::map<std::string, std::string> items(const std::string& message, uint32_t item_field) {
  std::map<std::string, std::string> out;
  const Fields f = fields(message);
  if (f.bytes.count(item_field) == 0) return out;
  for (const std::string& item : f.bytes.at(item_field)) {
    const Fields i = fields(item);
    out[i.bytes.at(1).at(0)] = i.bytes.at(16).at(0);
  }
  return out;
}

class Model : public L::LightningModule {
 public:
  Model() : L::LightningModule(L::HParams{{"lr", 0.1}, {"net", Value::dict().set("width", 32)}}) {
    save_hyperparameters();
    layer = register_module("layer", nn::Linear(1, 1));
  }
  L::StepOutput training_step(const L::Batch& batch, int64_t batch_idx) override {
    log("a", static_cast<double>(trainer().current_epoch() * 4 + batch_idx) + 0.5);
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss((*layer)(x), y);
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.1}); }
  std::shared_ptr<nn::Linear> layer;
};

// One environment variable set (or unset: nullptr) for a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("wandb log framing: header, FULL chunks, a record cut across blocks, zero-filled block tails") {
  const std::string dir = temp_dir("framing");
  const std::string path = dir + "/run-x.wandb";
  const std::string small = "abc";
  // Sized so that it leaves 5 bytes in the first block: less than a chunk header.
  const std::string fills(WandbLogWriter::kBlockSize - 7 - 7 - 7 - small.size() - 5, 'f');
  std::string huge(2 * WandbLogWriter::kBlockSize + 100, '\0');
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = static_cast<char>(i * 7 + 3);
  {
    WandbLogWriter w(path);
    w.write(small);
    w.write(fills);
    w.write(huge);
    w.write("");
    w.flush();
    const auto flushed = fs::file_size(path);
    w.write("not flushed");
    CHECK(fs::file_size(path) == flushed);  // buffered until flush
  }  // the destructor flushes and closes
  const std::string bytes = read_file(path);
  CHECK(bytes.substr(0, 7) == WandbLogWriter::file_header());
  const WandbFile f = read_wandb(bytes);
  REQUIRE(f.records.size() == 5);
  CHECK(f.records[0] == small);
  CHECK(f.records[1] == fills);
  CHECK(f.records[2] == huge);
  CHECK(f.records[3].empty());
  CHECK(f.records[4] == "not flushed");
  // Chunks: FULL "abc" at 7, FULL fills, then (5 zero bytes) the huge record from the second block:
  // FIRST (a whole block), MIDDLE (another), LAST (the rest), then FULL "" and FULL "not flushed".
  REQUIRE(f.chunks.size() == 7);
  CHECK(f.chunks[0].offset == 7);
  CHECK(f.chunks[0].type == 1);
  CHECK(f.chunks[1].type == 1);
  CHECK(f.chunks[2].offset == WandbLogWriter::kBlockSize);
  CHECK(f.chunks[2].type == 2);
  CHECK(f.chunks[2].data.size() == WandbLogWriter::kBlockSize - 7);
  CHECK(f.chunks[3].offset == 2 * WandbLogWriter::kBlockSize);
  CHECK(f.chunks[3].type == 3);
  CHECK(f.chunks[4].type == 4);
  CHECK(f.chunks[4].data.size() == huge.size() - 2 * (WandbLogWriter::kBlockSize - 7));
  CHECK(f.chunks[5].type == 1);
  CHECK(f.chunks[5].data.empty());
  // The first chunk byte for byte: CRC-32 of type and data, length, type, data.
  CHECK(bytes.substr(7, 10) == std::string("\0\0\0\0\x03\0\x01" "abc", 10).replace(0, 4, [] {
    const uint32_t crc = crc32_bitwise(std::string("\x01" "abc"));
    return std::string{static_cast<char>(crc), static_cast<char>(crc >> 8), static_cast<char>(crc >> 16),
                       static_cast<char>(crc >> 24)};
  }()));
  // Exactly a chunk header's room left: an empty FIRST chunk there, the data in the next block
  // (LevelDB's and wandb's writers do the same); less than that: zeros, then a FULL chunk.
  const std::string at_seven = WandbLogWriter::frame("abc", WandbLogWriter::kBlockSize - 7);
  REQUIRE(at_seven.size() == 7 + 10);
  CHECK(le(at_seven, 4, 2) == 0);
  CHECK(at_seven[6] == 2);
  CHECK(le(at_seven, 11, 2) == 3);
  CHECK(at_seven[13] == 4);
  CHECK(at_seven.substr(14) == "abc");
  const std::string at_six = WandbLogWriter::frame("abc", WandbLogWriter::kBlockSize - 6);
  CHECK(at_six.substr(0, 6) == std::string(6, '\0'));
  CHECK(at_six[12] == 1);
  // A record that ends a block exactly leaves the next record at the next block's start.
  CHECK(WandbLogWriter::frame(std::string(WandbLogWriter::kBlockSize - 14, 'x'), 7).size() ==
        WandbLogWriter::kBlockSize - 7);
  // An existing file is never overwritten.
  CHECK_THROWS_WITH_AS(WandbLogWriter{path}, doctest::Contains("cannot create"), Error);
}

TEST_CASE("WandbLogger through Trainer.fit: the run folder, Lightning's names, the records in order") {
  const std::string root = temp_dir("fit");
  auto wb = std::make_shared<L::loggers::WandbLogger>(L::loggers::WandbLoggerOptions{
      .name = "baseline", .save_dir = root, .offline = true, .project = "mnist", .group = "g1",
      .tags = {"a", "b"}});
  CHECK(wb->name() == "mnist");
  CHECK(wb->version().is_none());  // no run yet, no id given
  CHECK(*wb->save_dir() == root);
  std::string printed;
  {
    L::Trainer trainer({.max_epochs = 2, .logger = std::shared_ptr<L::Logger>(wb), .log_every_n_steps = 2,
                        .enable_progress_bar = false, .enable_model_summary = false, .default_root_dir = root});
    Model model;
    Tensor x = arange(8).to(DType::Float32).reshape({8, 1});
    auto ds = std::make_shared<data::TensorDataset>(x, x * 2.0);
    printed = captured_stderr([&] { trainer.fit(model, data::DataLoader(ds, {.batch_size = 2})); });
    CHECK(printed.find("WandbLogger(offline=False)") == std::string::npos);  // offline: no warning
    // Lightning makes the run before the setup hooks: ModelCheckpoint's folder has its id.
    const std::string id = wb->version().as_string();
    CHECK(id.size() == 8);
    CHECK(trainer.log_dir() == root);  // save_dir, as for loggers other than TensorBoard and CSV
    CHECK(*trainer.checkpoint_callback()->dirpath() == (fs::path(root) / "mnist" / id / "checkpoints").string());
    CHECK(fs::exists(fs::path(root) / "mnist" / id / "checkpoints" / "epoch=1-step=8.ckpt"));
  }
  L::loggers::WandbRun& run = wb->experiment();
  const std::string id = run.id();
  const fs::path run_dir = run.dir();
  CHECK(run_dir.parent_path() == fs::path(root) / "wandb");
  CHECK(run_dir.filename().string().rfind("offline-run-", 0) == 0);
  CHECK(run_dir.filename().string().size() == std::string("offline-run-20261130_161438-").size() + 8);
  CHECK(fs::is_directory(run_dir / "files"));
  CHECK(fs::read_symlink(fs::path(root) / "wandb" / "latest-run") == run_dir.filename());
  CHECK(run.file() == (run_dir / ("run-" + id + ".wandb")).string());

  // The summary: each key's last value; the config: the module's hyperparameters.
  CHECK(run.summary().at("trainer/global_step") == Value(7));
  CHECK(run.summary().at("a") == Value(7.5));
  CHECK(run.summary().at("epoch") == Value(1));
  CHECK(run.summary().at("_step") == Value(3));
  CHECK(run.config().at("lr") == Value(0.1));

  const std::string finished = captured_stderr([&] { wb.reset(); });  // the logger's end finishes the run
  CHECK(finished.find("wandb sync " + run_dir.string()) != std::string::npos);
  const WandbFile f = read_wandb(read_file(run_dir / ("run-" + id + ".wandb")));
  std::vector<uint32_t> types;
  for (const std::string& r : f.records) types.push_back(record_type(r));
  // header, run, two definitions (trainer/global_step; "*" against it), the config, then per
  // logging call: (a definition at a key's first sight) a history row and its summary; exit.
  const std::vector<uint32_t> expected = {21, 17, 12, 12, 5,       // header, run, metric x2, config
                                          12, 12, 2, 3,            // "a", "epoch" defined; row 1
                                          2, 3, 2, 3, 2, 3, 18, 20};  // rows 2..4, exit, final
  CHECK(types == expected);
  // Record numbers count from 1; every record names the run (_info.stream_id).
  for (size_t i = 0; i < f.records.size(); ++i) {
    const Fields r = fields(f.records[i]);
    CHECK(r.varints.at(1) == i + 1);
    CHECK(fields(r.bytes.at(200).at(0)).bytes.at(1).at(0) == id);
  }
  const Fields run_record = fields(fields(f.records[1]).bytes.at(17).at(0));
  CHECK(run_record.bytes.at(1).at(0) == id);
  CHECK(run_record.bytes.at(3).at(0) == "mnist");
  CHECK(run_record.bytes.at(6).at(0) == "g1");
  CHECK(run_record.bytes.at(8).at(0) == "baseline");
  CHECK(run_record.bytes.at(10) == std::vector<std::string>{"a", "b"});
  const auto config = items(fields(f.records[4]).bytes.at(5).at(0), 1);
  CHECK(config == std::map<std::string, std::string>{{"lr", "0.1"}, {"net", "{\"width\": 32}"}});
  // The rows: Lightning's "a" at steps 1, 3, 5, 7 with the epoch as an int, and wandb's _step.
  const std::vector<std::pair<std::string, std::string>> rows = {{"1", "1.5"}, {"3", "3.5"}, {"5", "5.5"},
                                                                  {"7", "7.5"}};
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t at = i == 0 ? 7 : 9 + 2 * (i - 1);
    const auto row = items(fields(f.records[at]).bytes.at(2).at(0), 1);
    CHECK(row.at("trainer/global_step") == rows[i].first);
    CHECK(row.at("a") == rows[i].second);
    CHECK(row.at("epoch") == (i < 2 ? "0" : "1"));
    CHECK(row.at("_step") == std::to_string(i));
    CHECK(row.count("_runtime") == 1);
    CHECK(row.count("_timestamp") == 1);
    CHECK(items(fields(f.records[at + 1]).bytes.at(3).at(0), 1) == row);  // the summary takes the row
  }
  const Fields exit = fields(fields(f.records[f.records.size() - 2]).bytes.at(18).at(0));
  CHECK(exit.varints.count(1) == 0);  // exit code 0
}

TEST_CASE("WandbLogger: Lightning's options, errors and fallbacks") {
  const std::string root = temp_dir("options");
  SUBCASE("log_model with offline=True: Lightning's error; log_model alone: no uploads here") {
    CHECK_THROWS_WITH_AS(L::loggers::WandbLogger({.offline = true, .log_model = true}),
                         doctest::Contains("Providing log_model=True and offline=True is an invalid configuration"),
                         Error);
    CHECK_THROWS_WITH_AS(L::loggers::WandbLogger({.log_model = "all"}),
                         doctest::Contains("log_model='all' needs checkpoints uploaded"), Error);
  }
  SUBCASE("version and id name the run; save_dir=None takes dir; WANDB_PROJECT is the fallback project") {
    ScopedEnv project("WANDB_PROJECT", "from-env");
    L::loggers::WandbLogger wb({.save_dir = std::nullopt, .offline = true, .dir = root, .id = "myrun01"});
    CHECK(wb.name() == "from-env");
    CHECK(wb.version() == Value("myrun01"));
    CHECK(*wb.save_dir() == root);
    CHECK(wb.experiment().id() == "myrun01");
    CHECK(fs::exists(fs::path(wb.experiment().file())));
    CHECK(L::loggers::WandbLogger({.version = "v1", .id = "ignored"}).version() == Value("v1"));
    ScopedEnv no_project("WANDB_PROJECT", nullptr);
    CHECK(L::loggers::WandbLogger().name() == "lightning_logs");
  }
  SUBCASE("offline=False warns once that the run is written offline") {
    L::loggers::WandbLogger wb({.save_dir = root});
    const std::string warned = captured_stderr([&] {
      wb.log_metrics({{"x", 1.0}}, 0);
      wb.log_metrics({{"x", 2.0}}, 1);
    });
    CHECK(warned.find("WandbLogger(offline=False): Fulgur has no W&B client") != std::string::npos);
    CHECK(warned.find("WandbLogger(offline=False)", warned.find("WandbLogger") + 1) == std::string::npos);
    CHECK(fs::exists(wb.experiment().file()));
  }
  SUBCASE("WANDB_MODE=disabled and ranks other than 0 write nothing") {
    {
      ScopedEnv mode("WANDB_MODE", "disabled");
      L::loggers::WandbLogger wb({.save_dir = root + "/disabled", .offline = true});
      wb.log_metrics({{"x", 1.0}}, 0);
      CHECK(wb.experiment().disabled());
      CHECK(wb.experiment().dir().empty());
    }
    {
      ScopedEnv size("WORLD_SIZE", "2");
      ScopedEnv rank("RANK", "1");
      L::loggers::WandbLogger wb({.save_dir = root + "/rank1", .offline = true});
      wb.log_hyperparams(Value::dict().set("lr", 0.1));
      CHECK(wb.experiment().disabled());
    }
    CHECK_FALSE(fs::exists(root + "/disabled/wandb"));
    CHECK_FALSE(fs::exists(root + "/rank1/wandb"));
  }
  SUBCASE("hyperparameters: tensors become their str(), nested dicts stay; a failed run exits with 1") {
    std::string file;
    {
      L::loggers::WandbLogger wb({.save_dir = root, .offline = true});
      wb.log_hyperparams(Value::dict()
                             .set("w", Value(full({2}, 1.0f)))
                             .set("opt", Value::dict().set("b", 0.9))
                             .set("ws", Value::list({Value(full({1}, 2.0f)), Value(3)})));
      CHECK(wb.experiment().config().at("w").is_string());
      // Inside a list too (wandb would have made a list of numbers of it; documented difference).
      CHECK(wb.experiment().config().at("ws")[0].is_string());
      CHECK(wb.experiment().config().at("ws")[1] == Value(3));
      CHECK(wb.experiment().config().at("opt").at("b") == Value(0.9));
      wb.finalize("failed");
      file = wb.experiment().file();
    }
    const WandbFile f = read_wandb(read_file(file));
    const Fields exit = fields(fields(f.records[f.records.size() - 2]).bytes.at(18).at(0));
    CHECK(exit.varints.at(1) == 1);
    CHECK(record_type(f.records.back()) == 20);  // the final record, after which wandb sync sends the exit
  }
}

TEST_CASE("WandbRun: define_metric globs, step_sync, finish once, bad input") {
  const std::string root = temp_dir("run");
  L::loggers::WandbRun run({.project = "p", .dir = root, .id = "abc123"});
  run.define_metric("step");
  run.define_metric("val/*", "step", /*step_sync=*/true);
  run.log(Value::dict().set("val/loss", 0.5).set("step", 10));
  run.log(Value::dict().set("val/loss", 0.25));  // step_sync: the row gets step = 10
  run.log(Value::dict().set("train/loss", 1.0));   // not covered: no step added
  CHECK(run.summary().at("step") == Value(10));
  CHECK(run.step() == 3);
  run.define_metric("acc?");
  run.define_metric("val/*", "epoch");
  run.log(Value::dict().set("val/acc", 0.5).set("acc?", 1).set("epoch", 1));
  CHECK_THROWS_WITH_AS(run.log(Value::dict().set("t", Value(full({2}, 1.0f)))), doctest::Contains("not JSON"),
                       Error);
  CHECK_THROWS_WITH_AS(run.log(Value::list({Value(1)})), doctest::Contains("must be a dict"), Error);
  CHECK_THROWS_WITH_AS(run.config_update(Value::dict().set(1, 2)), doctest::Contains("non-empty strings"), Error);
  CHECK_THROWS_WITH_AS(L::loggers::WandbRun({.id = "a/b"}), doctest::Contains("W&B refuses"), Error);
  CHECK_THROWS_WITH_AS(L::loggers::WandbRun({.mode = "online"}), doctest::Contains("wandb sync"), Error);
  run.finish();
  run.finish();  // once
  CHECK_THROWS_WITH_AS(run.log(Value::dict().set("x", 1)), doctest::Contains("is finished"), Error);

  const WandbFile f = read_wandb(read_file(run.file()));
  std::vector<uint32_t> types;
  for (const std::string& r : f.records) types.push_back(record_type(r));
  CHECK(types == std::vector<uint32_t>{21, 17, 12, 12, 12, 2, 3, 2, 3, 2, 3, 12, 12, 12, 2, 3, 18, 20});
  // "val/loss" defined from the glob at first sight: step metric "step", step_sync, overwrite.
  const Fields expanded = fields(fields(f.records[4]).bytes.at(12).at(0));
  CHECK(expanded.bytes.at(1).at(0) == "val/loss");
  CHECK(expanded.bytes.at(4).at(0) == "step");
  CHECK(fields(expanded.bytes.at(9).at(0)).varints.at(1) == 1);
  const auto second = items(fields(f.records[7]).bytes.at(2).at(0), 1);
  CHECK(second.at("step") == "10");
  const auto third = items(fields(f.records[9]).bytes.at(2).at(0), 1);
  CHECK(third.count("step") == 0);
  CHECK(third.at("train/loss") == "1.0");
  // "acc?" is a name, not a glob (only a trailing "*" makes one); defining "val/*" again merges:
  // its new step metric applies to keys first seen afterwards.
  const Fields acc = fields(fields(f.records[11]).bytes.at(12).at(0));
  CHECK(acc.bytes.at(1).at(0) == "acc?");
  CHECK(acc.bytes.count(2) == 0);
  const Fields merged = fields(fields(f.records[13]).bytes.at(12).at(0));
  CHECK(merged.bytes.at(1).at(0) == "val/acc");
  CHECK(merged.bytes.at(4).at(0) == "epoch");
}

TEST_CASE("WandbRun: text that is not UTF-8 and bad project names are refused before anything is written") {
  const std::string root = temp_dir("utf8");
  L::loggers::WandbRun run({.project = "p", .dir = root, .id = "utf8run"});
  CHECK_THROWS_WITH_AS(run.log(Value::dict().set("bad\xff", 1.0)), doctest::Contains("not valid UTF-8"), Error);
  CHECK_THROWS_WITH_AS(run.log(Value::dict().set("x", "\xc3")), doctest::Contains("not valid UTF-8"), Error);
  CHECK_THROWS_WITH_AS(run.config_update(Value::dict().set("s", "\xed\xa0\x80")),  // a surrogate
                       doctest::Contains("not valid UTF-8"), Error);
  CHECK(run.step() == 0);
  CHECK_THROWS_WITH_AS(L::loggers::WandbRun({.project = "p", .dir = root, .tags = {"\xff"}}),
                       doctest::Contains("a tag is not valid UTF-8"), Error);
  CHECK_THROWS_WITH_AS(L::loggers::WandbRun({.project = "a/b", .dir = root}),
                       doctest::Contains("Invalid project name 'a/b': cannot contain characters"), Error);
  CHECK_THROWS_WITH_AS(L::loggers::WandbRun({.project = std::string(129, 'p'), .dir = root}),
                       doctest::Contains("exceeded 128 characters"), Error);
  // A config JSON cannot hold is refused before the run's folder exists.
  CHECK_THROWS_WITH_AS(
      L::loggers::WandbRun({.project = "p", .dir = root + "/never", .config = Value::dict().set("t", full({2}, 1.0f))}),
      doctest::Contains("not JSON serializable"), Error);
  CHECK_FALSE(fs::exists(root + "/never"));
  run.finish();
  const WandbFile f = read_wandb(read_file(run.file()));
  CHECK(f.records.size() == 4);  // header, run, exit, final: nothing of the refused calls
}

TEST_CASE("WandbLogger: the epoch stays an int under a prefix; a success after a failure exits with 0") {
  const std::string root = temp_dir("prefix");
  std::string file;
  {
    L::loggers::WandbLogger wb({.save_dir = root, .offline = true, .prefix = "train"});
    wb.log_metrics({{"epoch", 2.0}, {"loss", 1.0}}, 5);
    CHECK(wb.experiment().summary().at("train-epoch") == Value(2));
    CHECK(wb.experiment().summary().at("train-loss") == Value(1.0));
    CHECK(wb.experiment().summary().at("trainer/global_step") == Value(5));
    wb.finalize("failed");
    wb.finalize("success");
    file = wb.experiment().file();
  }
  const WandbFile f = read_wandb(read_file(file));
  const Fields exit = fields(fields(f.records[f.records.size() - 2]).bytes.at(18).at(0));
  CHECK(exit.varints.count(1) == 0);
}
