// The loggers (trainer/loggers/): CRC32C against RFC 3720's vectors, TFRecord framing re-read
// by a reader written here, the protobuf encoding of TensorBoard events (bytes worked out by
// hand from the .proto field numbers), and CSVLogger / TensorBoardLogger / MLFlowLogger through
// real Trainer.fit runs: the files Lightning 2.x would write for the same run (metrics.csv rows
// and header, versions, hparams.yaml, the MLflow file store), Trainer(logger=true/false) and
// trainer.log_dir(). tests/trainer_loggers_python_test.cc reads the files back with Python's
// tensorboard and mlflow.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/serialize/yaml.h"
#include "fulgur/trainer/loggers/crc32c.h"
#include "fulgur/trainer/loggers/protobuf_writer.h"
#include "fulgur/trainer/loggers/tensorboard_events.h"
#include "fulgur/trainer/loggers/tfrecord_writer.h"
#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace fs = std::filesystem;
using L::loggers::crc32c;

namespace {

std::string temp_dir(const std::string& name) { return fulgur::testing::fresh_test_dir("loggers_" + name); }

std::string read_file(const fs::path& path) { return fulgur::testing::read_file_bytes(path); }

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t pos; (pos = s.find(sep, start)) != std::string::npos; start = pos + sep.size()) {
    out.push_back(s.substr(start, pos - start));
  }
  out.push_back(s.substr(start));
  return out;
}

uint64_t le(const std::string& s, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// A TFRecord reader: every complete record, each length and payload CRC checked; a truncated
// last record (a crash mid-write) ends the file, as TensorBoard's reader treats it.
struct Records {
  std::vector<std::string> records;
  bool truncated_tail = false;
};
Records read_tfrecords(const std::string& bytes) {
  Records out;
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 12) {
      out.truncated_tail = true;
      break;
    }
    const uint64_t len = le(bytes, at, 8);
    REQUIRE(L::loggers::unmask_crc32c(static_cast<uint32_t>(le(bytes, at + 8, 4))) == crc32c(bytes.data() + at, 8));
    if (bytes.size() - at - 12 < len + 4) {
      out.truncated_tail = true;
      break;
    }
    const std::string payload = bytes.substr(at + 12, len);
    REQUIRE(L::loggers::unmask_crc32c(static_cast<uint32_t>(le(bytes, at + 12 + len, 4))) == crc32c(payload));
    out.records.push_back(payload);
    at += 12 + len + 4;
  }
  return out;
}

std::string hex_bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

fs::path only_event_file(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) found.push_back(e.path());
  }
  REQUIRE(found.size() == 1);
  return found[0];
}

// 8 samples in batches of 2 (4 training batches per epoch), validation in 2 batches of 4.
// Logged values are exact in float32 so that the expected text is Python's repr of them:
// train "a" = global batch index + 0.5 (on_step and on_epoch), validation "v" = 0.25, 0.75.
class LoggedModel : public L::LightningModule {
 public:
  explicit LoggedModel(bool with_hparams = true)
      : L::LightningModule(L::HParams{{"lr", 0.1}, {"optimizer", "sgd"},
                                      {"net", Value::dict().set("width", 32).set("act", "relu")}}) {
    if (with_hparams) save_hyperparameters();
    layer = register_module("layer", nn::Linear(1, 1));
  }
  L::StepOutput training_step(const L::Batch& batch, int64_t batch_idx) override {
    const double a = static_cast<double>(trainer().current_epoch() * 4 + batch_idx) + 0.5;
    log("a", a, {.on_step = true, .on_epoch = true});
    if (extra_key && trainer().current_epoch() == 1) log("late", 1.0);
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss((*layer)(x), y);
  }
  void validation_step(const L::Batch&, int64_t batch_idx) override { log("v", batch_idx == 0 ? 0.25 : 0.75); }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.1}); }
  std::shared_ptr<nn::Linear> layer;
  bool extra_key = false;
};

std::shared_ptr<data::TensorDataset> dataset() {
  Tensor x = arange(8).to(DType::Float32).reshape({8, 1});
  return std::make_shared<data::TensorDataset>(x, x * 2.0);
}

void fit(L::LightningModule& model, L::TrainerOptions options) {
  L::Trainer trainer(std::move(options));
  auto ds = dataset();
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), data::DataLoader(ds, {.batch_size = 4}));
}

L::TrainerOptions options(L::LoggerOption logger, const std::string& root) {
  return {.max_epochs = 2, .logger = std::move(logger), .num_sanity_val_steps = 0, .log_every_n_steps = 2,
          .enable_progress_bar = false, .enable_model_summary = false, .default_root_dir = root};
}

}  // namespace

TEST_CASE("crc32c: RFC 3720 B.4 test vectors and the standard check value") {
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, '\0'), down(32, '\0');
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<char>(i);
    down[i] = static_cast<char>(31 - i);
  }
  // RFC 3720 lists the CRC bytes as sent (little endian): "aa 36 91 8a" is 0x8a9136aa.
  CHECK(crc32c(zeros) == 0x8a9136aau);
  CHECK(crc32c(ones) == 0x62a8ab43u);
  CHECK(crc32c(up) == 0x46dd794eu);
  CHECK(crc32c(down) == 0x113fdb5cu);
  // The 48-byte iSCSI SCSI Read (10) command PDU of B.4.
  const std::string pdu = hex_bytes({0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                                     0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  CHECK(crc32c(pdu) == 0xd9963a56u);
  CHECK(crc32c(std::string_view("123456789")) == 0xe3069283u);  // the catalogue's check value
  CHECK(crc32c(std::string_view("")) == 0u);
  // Continuing a CRC over a split buffer gives the CRC of the whole.
  CHECK(crc32c(pdu.data() + 20, 28, crc32c(pdu.data(), 20)) == 0xd9963a56u);
}

TEST_CASE("crc32c: TFRecord's mask") {
  // ((c >> 15) | (c << 17)) + 0xa282ead8 modulo 2^32, worked out with Python integers.
  CHECK(L::loggers::mask_crc32c(0) == 0xa282ead8u);
  CHECK(L::loggers::mask_crc32c(0x8a9136aau) == 0x0fd7fffau);
  CHECK(L::loggers::mask_crc32c(0xe3069283u) == 0xc78ab0e5u);
  for (uint32_t c : {0u, 1u, 0x8a9136aau, 0xffffffffu}) CHECK(L::loggers::unmask_crc32c(L::loggers::mask_crc32c(c)) == c);
}

TEST_CASE("protobuf writer: the wire format of each field kind") {
  using L::loggers::ProtobufWriter;
  CHECK(ProtobufWriter().varint_field(1, 150).bytes() == hex_bytes({0x08, 0x96, 0x01}));  // protobuf docs' example
  CHECK(ProtobufWriter().varint_field(2, 300).bytes() == hex_bytes({0x10, 0xac, 0x02}));
  // A negative int64 is its two's complement as a 10-byte varint.
  CHECK(ProtobufWriter().int64_field(1, -1).bytes() ==
        hex_bytes({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  CHECK(ProtobufWriter().string_field(2, "testing").bytes() == "\x12\x07testing");
  CHECK(ProtobufWriter().float_field(2, 0.5f).bytes() == hex_bytes({0x15, 0x00, 0x00, 0x00, 0x3f}));
  CHECK(ProtobufWriter().double_field(1, 1.5).bytes() ==
        hex_bytes({0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f}));
  ProtobufWriter inner;
  inner.varint_field(1, 150);
  CHECK(ProtobufWriter().message_field(3, inner).bytes() == hex_bytes({0x1a, 0x03, 0x08, 0x96, 0x01}));
  // A field number above 15 takes a two-byte tag.
  CHECK(ProtobufWriter().varint_field(16, 1).bytes() == hex_bytes({0x80, 0x01, 0x01}));
}

TEST_CASE("tensorboard events: scalar, file_version and text records byte for byte") {
  namespace tb = L::loggers::tensorboard;
  // Event{wall_time = 1.5 (1: double), step = 3 (2: varint), summary (5) = Summary{value (1) =
  // Value{tag (1) = "a", simple_value (2) = 0.5f}}}.
  CHECK(tb::scalar_event("a", 0.5, 3, 1.5) ==
        hex_bytes({0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x10, 0x03, 0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 0x61, 0x15, 0,
                   0, 0, 0x3f}));
  // Step 0 is proto3's default, left out; simple_value 0 is in a oneof, kept.
  CHECK(tb::scalar_event("a", 0.0, 0, 1.5) ==
        hex_bytes({0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 0x61, 0x15, 0, 0, 0, 0}));
  // Event{wall_time, file_version (3) = "brain.Event:2"}.
  CHECK(tb::file_version_event(1.5) ==
        hex_bytes({0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x1a, 0x0d}) + "brain.Event:2");
  // add_text: Value{tag "t/text_summary", tensor (8) = {dtype (1) = DT_STRING 7, tensor_shape (2)
  // = {dim (2) = {size (1) = 1}}, string_val (8) = "hi"}, metadata (9) = {plugin_data (1) =
  // {plugin_name (1) = "text"}}}.
  const std::string value = std::string("\x0a\x0et/text_summary") +
                            hex_bytes({0x42, 0x0c, 0x08, 0x07, 0x12, 0x04, 0x12, 0x02, 0x08, 0x01, 0x42, 0x02}) + "hi" +
                            hex_bytes({0x4a, 0x08, 0x0a, 0x06, 0x0a, 0x04}) + "text";
  const std::string summary = std::string("\x0a") + static_cast<char>(value.size()) + value;
  CHECK(tb::text_event("t", "hi", 2, 1.5) == hex_bytes({0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x10, 0x02, 0x2a}) +
                                                  static_cast<char>(summary.size()) + summary);
}

TEST_CASE("tfrecord: framing re-read with lengths and CRCs checked; a crash loses only the unflushed tail") {
  const std::string dir = temp_dir("tfrecord");
  const std::string path = dir + "/records";
  const std::string big(300, 'x');  // a length needing two varint bytes elsewhere; here 8 LE bytes
  {
    L::loggers::TFRecordWriter w(path);
    w.write("a");
    w.write("");
    w.write(big);
    w.flush();
    CHECK(fs::file_size(path) == (12 + 1 + 4) + (12 + 0 + 4) + (12 + 300 + 4));
    w.write("not flushed");
    CHECK(fs::file_size(path) == 17u + 16 + 316);  // still only the flushed records
  }  // the destructor flushes and closes
  std::string bytes = read_file(path);
  // The first frame: length 1 as 8 little-endian bytes, its masked CRC, "a", the payload's masked CRC.
  CHECK(bytes.substr(0, 8) == std::string("\x01\0\0\0\0\0\0\0", 8));
  CHECK(le(bytes, 8, 4) == L::loggers::mask_crc32c(crc32c(bytes.data(), 8)));
  CHECK(le(bytes, 13, 4) == L::loggers::mask_crc32c(crc32c(std::string_view("a"))));
  Records r = read_tfrecords(bytes);
  REQUIRE(r.records.size() == 4);
  CHECK(r.records[0] == "a");
  CHECK(r.records[1].empty());
  CHECK(r.records[2] == big);
  CHECK(r.records[3] == "not flushed");
  CHECK_FALSE(r.truncated_tail);
  // A torn last record (a crash in the middle of a write) leaves the earlier ones readable.
  std::ofstream(path, std::ios::binary | std::ios::app) << L::loggers::TFRecordWriter::frame("torn").substr(0, 14);
  r = read_tfrecords(read_file(path));
  CHECK(r.records.size() == 4);
  CHECK(r.truncated_tail);
  // An existing file is never overwritten.
  CHECK_THROWS_WITH_AS(L::loggers::TFRecordWriter{path}, doctest::Contains("cannot create"), Error);
}

TEST_CASE("CSVLogger through Trainer.fit: Lightning's metrics.csv rows, header and hparams.yaml") {
  const std::string root = temp_dir("csv_fit");
  auto csv = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = root});
  LoggedModel model;
  fit(model, options(csv, root));
  CHECK(csv->version() == Value(0));
  const fs::path log_dir = fs::path(root) / "lightning_logs" / "version_0";
  CHECK(*csv->log_dir() == log_dir.string());
  // Lightning 2.x for this run (log_every_n_steps=2, 4 batches x 2 epochs): step metrics after
  // batches 1, 3, 5, 7 logged at step = batches stepped before this one (1, 3, 5, 7); the
  // validation and train-epoch-end rows at the epoch's last step (3, 7); "epoch" added to every
  // row as an int; the header sorted, every key seen; a_epoch = mean(0.5, 1.5, 2.5, 3.5) = 2.0
  // and mean(4.5, ..., 7.5) = 6.0; v = mean(0.25, 0.75) = 0.5 (equal batch sizes).
  const std::vector<std::string> expected = {
      "a_epoch,a_step,epoch,step,v",
      ",1.5,0,1,",
      ",3.5,0,3,",
      ",,0,3,0.5",
      "2.0,,0,3,",
      ",5.5,1,5,",
      ",7.5,1,7,",
      ",,1,7,0.5",
      "6.0,,1,7,",
      "",
  };
  CHECK(split(read_file(log_dir / "metrics.csv"), "\r\n") == expected);
  // hparams.yaml: the module's saved hyperparameters, keys sorted at every level (PyYAML's dump).
  CHECK(read_file(log_dir / "hparams.yaml") == "lr: 0.1\nnet:\n  act: relu\n  width: 32\noptimizer: sgd\n");
  CHECK(csv->hparams().at("net").at("width") == Value(32));
}

TEST_CASE("CSVLogger: a key appearing later rewrites the file under the new header") {
  const std::string root = temp_dir("csv_new_key");
  auto csv = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = root});
  LoggedModel model;
  model.extra_key = true;  // "late" from epoch 1 on
  fit(model, options(csv, root));
  const std::vector<std::string> lines =
      split(read_file(fs::path(*csv->log_dir()) / "metrics.csv"), "\r\n");
  REQUIRE(lines.size() == 10);
  CHECK(lines[0] == "a_epoch,a_step,epoch,late,step,v");
  CHECK(lines[1] == ",1.5,0,,1,");  // earlier rows get an empty cell for the new column
  CHECK(lines[5] == ",5.5,1,1.0,5,");

  // Direct calls: prefix, a step given or not, flush every 2 steps.
  L::loggers::CSVLogger direct({.save_dir = root, .name = "direct", .version = "run_a", .prefix = "p",
                                .flush_logs_every_n_steps = 2});
  direct.log_metrics({{"x", 1.0}}, 0);
  const fs::path file = fs::path(root) / "direct" / "run_a" / "metrics.csv";
  CHECK_FALSE(fs::exists(file));  // (0 + 1) % 2 != 0: not yet
  direct.log_metrics({{"y", 0.1}}, 1);  // (1 + 1) % 2 == 0: saved
  CHECK(read_file(file) == "p-x,p-y,step\r\n1.0,,0\r\n,0.1,1\r\n");
  direct.log_metrics({{"x", 3.0}}, std::nullopt);  // no step: the count of unsaved rows (0)
  direct.finalize("success");
  CHECK(read_file(file) == "p-x,p-y,step\r\n1.0,,0\r\n,0.1,1\r\n3.0,,0\r\n");
}

TEST_CASE("CSVLogger and TensorBoardLogger: versions auto-increment, or are given") {
  const std::string root = temp_dir("versions");
  for (int run = 0; run < 2; ++run) {
    auto csv = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = root});
    LoggedModel model;
    fit(model, options(csv, root));
    CHECK(csv->version() == Value(run));
    CHECK(fs::exists(fs::path(root) / "lightning_logs" / ("version_" + std::to_string(run)) / "metrics.csv"));
  }
  // Folders that are not version_<digits> do not count; the largest number does.
  fs::create_directories(fs::path(root) / "lightning_logs" / "version_7");
  fs::create_directories(fs::path(root) / "lightning_logs" / "version_x");
  fs::create_directories(fs::path(root) / "lightning_logs" / "other_9");
  CHECK(L::loggers::CSVLogger({.save_dir = root}).version() == Value(8));
  CHECK(L::loggers::TensorBoardLogger({.save_dir = root}).version() == Value(8));
  CHECK(L::loggers::TensorBoardLogger({.save_dir = root, .name = "fresh"}).version() == Value(0));
  L::loggers::TensorBoardLogger named({.save_dir = root, .version = "mine", .sub_dir = "train"});
  CHECK(*named.log_dir() == root + "/lightning_logs/mine/train");
  CHECK(*L::loggers::CSVLogger({.save_dir = root, .name = "", .version = 3}).log_dir() == root + "/version_3");
  CHECK_THROWS_WITH_AS(L::loggers::CSVLogger({.save_dir = root, .version = -1}), doctest::Contains("version must be"),
                       Error);
}

TEST_CASE("Trainer(logger=true): TensorBoardLogger in default_root_dir; log_dir; logger=false logs nowhere") {
  const std::string root = temp_dir("default_logger");
  {
    L::Trainer trainer(options(true, root));
    REQUIRE(trainer.loggers().size() == 1);
    auto* tb = dynamic_cast<L::loggers::TensorBoardLogger*>(trainer.logger());
    REQUIRE(tb != nullptr);
    CHECK(trainer.log_dir() == root + "/lightning_logs/version_0");
    LoggedModel model;
    auto ds = dataset();
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), data::DataLoader(ds, {.batch_size = 4}));
    const fs::path event_file = only_event_file(fs::path(root) / "lightning_logs" / "version_0");
    CHECK(event_file.string() == tb->event_file());
    // events.out.tfevents.<10-digit seconds>.<host>.<pid>.<n>
    const std::vector<std::string> parts = split(event_file.filename().string(), ".");
    REQUIRE(parts.size() >= 7);
    CHECK(parts[3].size() == 10);
    CHECK(parts[parts.size() - 2] == std::to_string(::getpid()));
    CHECK(fs::exists(fs::path(root) / "lightning_logs" / "version_0" / "hparams.yaml"));
    const Records r = read_tfrecords(read_file(event_file));
    CHECK_FALSE(r.truncated_tail);
    REQUIRE(r.records.size() > 3);
    CHECK(r.records[0].find("brain.Event:2") != std::string::npos);
    // hp_metric = -1 (Lightning's default_hp_metric) comes first, then the hparams plugin's
    // experiment / session_start_info / session_end_info.
    CHECK(r.records[1].find("hp_metric") != std::string::npos);
    CHECK(r.records[2].find("_hparams_/experiment") != std::string::npos);
    CHECK(r.records[3].find("_hparams_/session_start_info") != std::string::npos);
    CHECK(r.records[4].find("_hparams_/session_end_info") != std::string::npos);
    // 4 step rows, 2 validation rows and 2 epoch-end rows, each a metric plus "epoch": 16 scalars.
    CHECK(r.records.size() == 5 + 16);
  }
  // A second Trainer in the same root: version_1.
  CHECK(L::Trainer(options(true, root)).log_dir() == root + "/lightning_logs/version_1");
  // logger=false: no logger, no folder, log_dir is default_root_dir.
  const std::string bare = temp_dir("no_logger");
  L::Trainer trainer(options(false, bare));
  CHECK(trainer.loggers().empty());
  CHECK(trainer.logger() == nullptr);
  CHECK(trainer.log_dir() == bare);
  LoggedModel model;
  auto ds = dataset();
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), data::DataLoader(ds, {.batch_size = 4}));
  CHECK_FALSE(fs::exists(fs::path(bare) / "lightning_logs"));
  // Several loggers at once: each gets everything; log_dir is the first one's.
  const std::string both = temp_dir("two_loggers");
  auto csv = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = both, .name = "csv"});
  auto tb = std::make_shared<L::loggers::TensorBoardLogger>(L::loggers::TensorBoardLoggerOptions{.save_dir = both});
  L::Trainer two(options(std::vector<std::shared_ptr<L::Logger>>{csv, tb}, both));
  CHECK(two.log_dir() == both + "/csv/version_0");
  LoggedModel m2;
  two.fit(m2, data::DataLoader(ds, {.batch_size = 2}), data::DataLoader(ds, {.batch_size = 4}));
  CHECK(fs::exists(fs::path(both) / "csv" / "version_0" / "metrics.csv"));
  only_event_file(fs::path(both) / "lightning_logs" / "version_0");
}

TEST_CASE("MLFlowLogger through Trainer.fit: MLflow's file store") {
  const std::string root = temp_dir("mlflow");
  const std::string store = root + "/mlruns";
  auto mlf = std::make_shared<L::loggers::MLFlowLogger>(L::loggers::MLFlowLoggerOptions{
      .experiment_name = "exp", .run_name = "first", .tracking_uri = "file:" + store, .tags = {{"team", "fulgur"}}});
  CHECK(*mlf->save_dir() == store);  // Lightning: the tracking URI without "file:"
  LoggedModel model;
  L::Trainer trainer(options(mlf, root));
  auto ds = dataset();
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), data::DataLoader(ds, {.batch_size = 4}));
  CHECK(trainer.log_dir() == store);  // Lightning: save_dir for loggers other than TB and CSV

  // A new store gets MLflow's "Default" experiment 0 and .trash.
  const Value default_exp = parse_yaml(read_file(fs::path(store) / "0" / "meta.yaml"));
  CHECK(default_exp.at("name") == Value("Default"));
  CHECK(default_exp.at("experiment_id") == Value("0"));
  CHECK(fs::is_directory(fs::path(store) / ".trash"));
  const std::string exp_id = mlf->experiment_id();
  CHECK(exp_id.size() == 18);
  CHECK(mlf->name() == exp_id);
  const Value exp = parse_yaml(read_file(fs::path(store) / exp_id / "meta.yaml"));
  CHECK(exp.at("name") == Value("exp"));
  CHECK(exp.at("experiment_id") == Value(exp_id));  // a string, quoted in the YAML
  CHECK(exp.at("lifecycle_stage") == Value("active"));

  const fs::path run = fs::path(store) / exp_id / mlf->run_id();
  CHECK(mlf->run_id().size() == 32);
  const Value meta = parse_yaml(read_file(run / "meta.yaml"));
  CHECK(meta.at("status") == Value(3));  // RunStatus.FINISHED
  CHECK(meta.at("run_name") == Value("first"));
  CHECK(meta.at("run_id") == Value(mlf->run_id()));
  CHECK(meta.at("experiment_id") == Value(exp_id));
  CHECK(meta.at("lifecycle_stage") == Value("active"));
  CHECK(meta.at("end_time").as_int() >= meta.at("start_time").as_int());
  CHECK(meta.at("artifact_uri").as_string().find("/" + mlf->run_id() + "/artifacts") != std::string::npos);

  // Params: flattened with "/" (sub-folders), values as Python's str().
  CHECK(read_file(run / "params" / "lr") == "0.1");
  CHECK(read_file(run / "params" / "optimizer") == "sgd");
  CHECK(read_file(run / "params" / "net" / "width") == "32");
  CHECK(read_file(run / "params" / "net" / "act") == "relu");
  // Metrics: "<ms> <value> <step>" per logged value.
  std::vector<std::string> a_step = split(read_file(run / "metrics" / "a_step"), "\n");
  REQUIRE(a_step.size() == 5);
  const std::vector<std::pair<std::string, std::string>> expected = {{"1.5", "1"}, {"3.5", "3"}, {"5.5", "5"},
                                                                      {"7.5", "7"}};
  for (size_t i = 0; i < 4; ++i) {
    const std::vector<std::string> f = split(a_step[i], " ");
    REQUIRE(f.size() == 3);
    CHECK(f[0].size() == 13);  // milliseconds since 1970
    CHECK(f[1] == expected[i].first);
    CHECK(f[2] == expected[i].second);
  }
  CHECK(split(read_file(run / "metrics" / "a_epoch"), "\n")[1].substr(14) == "6.0 7");
  CHECK(split(read_file(run / "metrics" / "epoch"), "\n").size() == 9);  // 8 rows + the final ""
  // Tags: MLflow's context tags, the run name and the user's.
  CHECK(read_file(run / "tags" / "mlflow.runName") == "first");
  CHECK(read_file(run / "tags" / "team") == "fulgur");
  CHECK(read_file(run / "tags" / "mlflow.source.type") == "LOCAL");
  CHECK_FALSE(read_file(run / "tags" / "mlflow.user").empty());

  // A second logger with the same experiment name joins that experiment; a failing fit
  // leaves its run FAILED.
  struct Failing : LoggedModel {
    void on_train_epoch_end() override { throw Error("boom"); }
  };
  auto again = std::make_shared<L::loggers::MLFlowLogger>(
      L::loggers::MLFlowLoggerOptions{.experiment_name = "exp", .tracking_uri = "file:" + store});
  Failing failing;
  CHECK_THROWS_WITH_AS(fit(failing, options(again, root)), doctest::Contains("boom"), Error);
  CHECK(again->experiment_id() == exp_id);
  CHECK(again->run_id() != mlf->run_id());
  const Value failed = parse_yaml(read_file(fs::path(store) / exp_id / again->run_id() / "meta.yaml"));
  CHECK(failed.at("status") == Value(4));  // RunStatus.FAILED
  CHECK_FALSE(read_file(fs::path(store) / exp_id / again->run_id() / "tags" / "mlflow.runName").empty());

  // MLflow's rules: params are immutable, names must be plain paths; no HTTP server.
  CHECK_THROWS_WITH_AS(mlf->log_hyperparams(Value::dict().set("lr", 0.2)),
                       doctest::Contains("Changing param values is not allowed"), Error);
  CHECK_THROWS_WITH_AS(mlf->log_hyperparams(Value::dict().set("a/../b", 1)), doctest::Contains("Invalid value"),
                       Error);
  CHECK_THROWS_WITH_AS(L::loggers::MLFlowLogger({.tracking_uri = "http://localhost:5000"}),
                       doctest::Contains("local file store"), Error);
  // Lightning cuts parameter values to 250 characters.
  mlf->log_hyperparams(Value::dict().set("long", std::string(300, 'z')));
  CHECK(read_file(run / "params" / "long") == std::string(250, 'z'));
}
