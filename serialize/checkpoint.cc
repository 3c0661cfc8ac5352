#include "fulgur/serialize/checkpoint.h"

#include <cstring>
#include <unordered_set>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/atomic_file.h"
#include "fulgur/serialize/pickle_reader.h"
#include "fulgur/serialize/pickle_writer.h"
#include "fulgur/serialize/zip_reader.h"
#include "fulgur/serialize/zip_writer.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur {
namespace serialize {
namespace {

// torch 2.x names the archive "archive" whatever the file is called; torch 1.13 used the
// file's stem. A fixed name keeps our output independent of the (temporary) file name.
constexpr const char* kArchive = "archive/";
// PyTorchStreamWriter's kProducedFileFormatVersion.
constexpr const char* kVersion = "3\n";

void write_checkpoint(const Value& value, const ZipWriter::Sink& sink) {
  const PickleOutput pickled = pickle_value(value);
  ZipWriter zip(sink);
  const std::string prefix = kArchive;
  zip.add(prefix + "data.pkl", pickled.bytes);
  zip.add(prefix + "byteorder", "little");
  for (const PickledStorage& s : pickled.storages) {
    const size_t nbytes = static_cast<size_t>(s.numel) * element_size(s.dtype);
    if (s.storage->device().is_cpu()) {
      zip.add(prefix + "data/" + s.key, s.storage->data(), nbytes);
    } else {
      const Tensor host = make_view(s.storage, {s.numel}, {1}, 0, s.dtype).to(kCPU);
      zip.add(prefix + "data/" + s.key, host.data_ptr(), nbytes);
    }
  }
  zip.add(prefix + "version", kVersion);
  zip.finish();
}

}  // namespace

std::string save_to_string(const Value& value) {
  std::string out;
  write_checkpoint(value, [&](const void* d, size_t n) { out.append(static_cast<const char*>(d), n); });
  return out;
}

Value load_from(const std::shared_ptr<const ByteSource>& source, const MapLocation& map_location) {
  const std::string& name = source->name();
  // torch.save before 1.6 wrote a bare pickle stream (it starts with PROTO 2).
  if (source->size() >= 2) {
    uint8_t head[2];
    source->read(0, head, 2);
    FULGUR_CHECK(!(head[0] == 0x80 && head[1] == 0x02), "load", "'", name,
                 "': legacy (pre-1.6, not zip) torch.save format is not supported; hint: in "
                 "Python, torch.save(torch.load(f), f) rewrites it in the zip format");
  }
  const ZipReader zip(source);
  FULGUR_CHECK(!zip.entries().empty(), "load", "'", name, "': the zip archive is empty");
  // PyTorch takes the archive's folder name from the first entry.
  const std::string& first = zip.entries().front().name;
  const size_t slash = first.find('/');
  FULGUR_CHECK(slash != std::string::npos && slash > 0, "load", "'", name,
               "': not a torch.save file: its first entry '", first.substr(0, 100),
               "' is not inside an archive folder");
  const std::string prefix = first.substr(0, slash + 1);
  const ZipEntry* pkl = zip.find(prefix + "data.pkl");
  FULGUR_CHECK(pkl != nullptr, "load", "'", name, "': not a torch.save file: no '", prefix,
               "data.pkl' entry (a TorchScript archive or another zip?)");
  if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
    FULGUR_CHECK(bo->uncompressed_size <= 16, "load", "'", name, "': byteorder entry of ",
                 bo->uncompressed_size, " bytes");
    const std::vector<uint8_t> b = zip.read(*bo);
    const std::string order(b.begin(), b.end());
    FULGUR_CHECK(order == "little", "load", "'", name, "': byteorder is '", order.substr(0, 16),
                 "': only little-endian files are supported");
  }

  std::unordered_set<std::string> read_entries{prefix + "byteorder"};
  uint64_t total_bytes = 0;
  const StorageLoader loader = [&](const StorageRequest& r) -> Storage {
    const std::string entry_name = prefix + "data/" + r.key;
    const ZipEntry* e = zip.find(entry_name);
    FULGUR_CHECK(e != nullptr, "load", "'", name, "': the pickle refers to storage '", r.key.substr(0, 100),
                 "' but the archive has no entry '", entry_name.substr(0, 200), "'");
    const uint64_t esize = element_size(r.dtype);
    uint64_t nbytes = 0;
    FULGUR_CHECK(!__builtin_mul_overflow(static_cast<uint64_t>(r.numel), esize, &nbytes) &&
                     nbytes == e->uncompressed_size,
                 "load", "'", name, "': storage '", r.key, "' declares ", r.numel, " ",
                 dtype_name(r.dtype), " elements but its entry holds ", e->uncompressed_size, " bytes");
    // Each record fits in the file (checked by the zip reader); records of a real file do
    // not overlap, so all storages together fit in it too. Zip entries that alias one
    // region would otherwise multiply the memory a small file can claim.
    total_bytes += nbytes;
    FULGUR_CHECK(total_bytes <= source->size(), "load", "'", name, "': the storages add up to ", total_bytes,
                 " bytes, more than the ", source->size(), "-byte file holds (overlapping records)");
    auto storage = std::make_shared<StorageImpl>(static_cast<size_t>(nbytes), kCPU);
    zip.read_into(*e, storage->data(), nbytes);
    read_entries.insert(e->name);
    const Device device = map_location ? map_location(r.location) : kCPU;
    if (device.is_cpu()) return storage;
    // Moved whole, so that tensors sharing this storage still share it on the device.
    return make_view(storage, {r.numel}, {1}, 0, r.dtype).to(device).storage();
  };
  const std::vector<uint8_t> pickle = zip.read(*pkl);
  read_entries.insert(pkl->name);
  Value result = unpickle(pickle.data(), pickle.size(), loader,
                          "load: '" + name + "': data.pkl");
  // Verify the checksums of the records that were not needed too (version, unused
  // storages): a damaged file is reported even where the damage did not matter.
  for (const ZipEntry& e : zip.entries()) {
    if (read_entries.count(e.name)) continue;
    (void)zip.read(e);
  }
  return result;
}

}  // namespace serialize

void save(const Value& value, const std::string& path) {
  serialize::AtomicFileWriter file(path, "save");
  serialize::write_checkpoint(value, [&](const void* d, size_t n) { file.write(d, n); });
  file.commit();
}

Value load(const std::string& path, const MapLocation& map_location) {
  return serialize::load_from(serialize::open_file(path, "load"), map_location);
}

}  // namespace fulgur
