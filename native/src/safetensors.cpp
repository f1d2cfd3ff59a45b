#include "emomix/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "emomix/error.hpp"
#include "emomix/json.hpp"
#include "emomix/voice_schema.hpp"

namespace emomix {

namespace {

const char* const kHint =
    "the weights file is corrupted or truncated; re-export or re-download the voice";

// A non-negative integer literal within the schema's max_integer (else -1).
std::int64_t index_value(const Json& v) {
  if (!v.integer_fits() || v.integer() < 0 || v.integer() > voice_schema().max_integer) return -1;
  return v.integer();
}

std::string offsets_repr(std::int64_t b, std::int64_t e) {
  return "[" + std::to_string(b) + ", " + std::to_string(e) + "]";
}

}  // namespace

std::size_t TensorInfo::elements() const noexcept {
  std::size_t n = 1;
  for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1Fu;
  std::uint32_t man = h & 0x3FFu;
  std::uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      bits = sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | (man & 0x3FFu) << 13;
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

SafetensorsHeader parse_safetensors_header(const unsigned char* head, std::size_t head_size,
                                           std::uint64_t file_size, const std::string& path,
                                           const std::string& label) {
  const VoiceSchema& schema = voice_schema();
  auto fail = [&](const std::string& problem, const std::string* tensor = nullptr,
                  const std::string& hint = kHint) -> VoiceError {
    return VoiceError(path, tensor != nullptr ? label + ":" + *tensor : label, problem, hint);
  };
  if (file_size < 8) {
    throw fail("file is " + std::to_string(file_size) + " bytes, too short for a safetensors header");
  }
  if (head_size < 8) throw InvalidArgument("parse_safetensors_header: head holds < 8 bytes");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | head[i];
  if (n > schema.max_header_bytes || 8 + n > file_size) {
    throw fail("header length field says " + std::to_string(n) + " bytes but the file has only " +
               std::to_string(file_size) + " bytes (truncated, or not a safetensors file)");
  }
  if (head_size < 8 + n) throw InvalidArgument("parse_safetensors_header: head is shorter than the header");

  Json header;
  try {
    header = parse_json(std::string_view(reinterpret_cast<const char*>(head + 8),
                                         static_cast<std::size_t>(n)));
  } catch (const InvalidArgument& e) {
    throw fail(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");

  SafetensorsHeader out;
  out.data_start = 8 + static_cast<std::size_t>(n);
  if (const Json* meta = header.find("__metadata__")) {
    static const std::string kMeta = "__metadata__";
    bool ok = meta->is_object();
    for (std::size_t i = 0; ok && i < meta->members().size(); ++i) ok = meta->members()[i].second.is_string();
    if (!ok) throw fail("__metadata__ must map strings to strings", &kMeta);
    for (const auto& [k, v] : meta->members()) out.metadata.emplace_back(k, v.string());
  }
  for (const auto& [name, info] : header.members()) {
    if (name == "__metadata__") continue;
    if (name.empty()) throw fail("has a tensor with an empty name");
    if (!info.is_object()) throw fail("header entry is not an object", &name);
    TensorInfo t;
    t.name = name;
    const Json* dt = info.find("dtype");
    const SafetensorsDtype* dtype = dt != nullptr && dt->is_string() ? schema.dtype(dt->string()) : nullptr;
    if (dtype == nullptr) {
      std::string supported;
      for (const SafetensorsDtype& d : schema.dtypes) supported += (supported.empty() ? "" : ", ") + d.code;
      bool refused = false;
      if (dt != nullptr && dt->is_string()) {
        for (const std::string& r : schema.refused_float_dtypes) refused |= dt->string() == r;
      }
      throw fail("dtype " + (dt != nullptr ? json_repr(*dt) : std::string("None")) +
                     " is not supported by emomix voice bundles (supported: " + supported + ")",
                 &name,
                 refused ? "store weights as float32 or float16 (save_bundle(dtype=...))" : kHint);
    }
    t.dtype = dtype->code;
    const Json* shape = info.find("shape");
    bool shape_ok = shape != nullptr && shape->is_array();
    for (std::size_t i = 0; shape_ok && i < shape->items().size(); ++i) {
      const std::int64_t d = index_value(shape->items()[i]);
      shape_ok = d >= 0;
      t.shape.push_back(d);
    }
    if (!shape_ok) {
      throw fail("shape " + (shape != nullptr ? json_repr(*shape) : std::string("None")) +
                     " is not a list of non-negative integers", &name);
    }
    const Json* off = info.find("data_offsets");
    std::int64_t b = -1, e = -1;
    if (off != nullptr && off->is_array() && off->items().size() == 2) {
      b = index_value(off->items()[0]);
      e = index_value(off->items()[1]);
    }
    if (b < 0 || e < 0 || b > e) {
      throw fail("data_offsets " + (off != nullptr ? json_repr(*off) : std::string("None")) +
                     " is not [begin, end] with 0 <= begin <= end", &name);
    }
    // The bytes the shape needs, saturating (Python's product is exact; any value past
    // max_integer differs from the span either way).
    const std::uint64_t cap = static_cast<std::uint64_t>(schema.max_integer) + 1;
    std::uint64_t need = static_cast<std::uint64_t>(dtype->bytes);
    for (std::int64_t d : t.shape) {
      const auto ud = static_cast<std::uint64_t>(d);
      need = ud == 0 ? 0 : (need > cap / ud ? cap : std::min(cap, need * ud));
      if (need == 0) break;
    }
    if (static_cast<std::uint64_t>(e - b) != need) {
      throw fail("data_offsets " + offsets_repr(b, e) + " span " + std::to_string(e - b) +
                     " bytes but shape " + json_repr(*shape) + " of " + t.dtype + " needs " +
                     (need >= cap ? std::string("more than ") + std::to_string(schema.max_integer)
                                  : std::to_string(need)), &name);
    }
    t.offset = static_cast<std::size_t>(b);
    t.bytes = static_cast<std::size_t>(e - b);
    out.tensors.push_back(std::move(t));
  }
  // The tensors must tile the data buffer: sorted by (begin, end), stably as Python sorts.
  std::vector<std::size_t> order(out.tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    const TensorInfo& a = out.tensors[x];
    const TensorInfo& c = out.tensors[y];
    return a.offset != c.offset ? a.offset < c.offset : a.bytes + a.offset < c.bytes + c.offset;
  });
  std::uint64_t cursor = 0;
  for (std::size_t i : order) {
    const TensorInfo& t = out.tensors[i];
    if (t.offset != cursor) {
      throw fail("data_offsets " + offsets_repr(static_cast<std::int64_t>(t.offset),
                                                static_cast<std::int64_t>(t.offset + t.bytes)) +
                     (t.offset < cursor ? " overlaps another tensor" : " leaves a gap before it"),
                 &t.name);
    }
    cursor = t.offset + t.bytes;
  }
  const std::uint64_t expected = out.data_start + cursor;
  if (file_size != expected) {
    throw fail("file is " + std::to_string(file_size) + " bytes but its header describes " +
               std::to_string(expected) + " bytes (" +
               (file_size < expected ? "truncated" : "has trailing bytes") + ")");
  }
  return out;
}

SafetensorsFile SafetensorsFile::open(const std::string& path, const std::string& label) {
  SafetensorsFile f;
  f.path_ = path;
  f.label_ = label;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw VoiceError(path, label, std::string("cannot be opened (") + std::strerror(errno) + ")",
                     "check the file exists and is readable");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw VoiceError(path, label, "cannot stat the file", "check the file exists and is readable");
  }
  f.size_ = static_cast<std::size_t>(st.st_size);
  if (f.size_ < 8) {
    ::close(fd);
    parse_safetensors_header(nullptr, 0, f.size_, path, label);  // throws "too short"
  }
  void* map = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    throw VoiceError(path, label, std::string("cannot be memory-mapped (") + std::strerror(errno) + ")",
                     kHint);
  }
  f.map_ = map;  // owned by f from here: its destructor unmaps on every error path below
  const auto* base = static_cast<const unsigned char*>(map);
  SafetensorsHeader header = parse_safetensors_header(base, f.size_, f.size_, path, label);
  f.tensors_ = std::move(header.tensors);
  for (TensorInfo& t : f.tensors_) t.data = base + header.data_start + t.offset;
  return f;
}

SafetensorsFile SafetensorsFile::from_memory(std::string_view bytes, const std::string& path,
                                             const std::string& label) {
  SafetensorsFile f;
  f.path_ = path;
  f.label_ = label;
  f.size_ = bytes.size();
  if (f.size_ < 8) parse_safetensors_header(nullptr, 0, f.size_, path, label);  // "too short"
  // uint64 words: the copy starts on an 8-byte boundary, so each tensor is aligned as in a mapping
  f.copy_.resize((f.size_ + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
  std::memcpy(f.copy_.data(), bytes.data(), f.size_);
  const auto* base = reinterpret_cast<const unsigned char*>(f.copy_.data());
  SafetensorsHeader header = parse_safetensors_header(base, f.size_, f.size_, path, label);
  f.tensors_ = std::move(header.tensors);
  for (TensorInfo& t : f.tensors_) t.data = base + header.data_start + t.offset;
  return f;
}

// Moving copy_ moves its buffer, not the bytes: the tensors' data pointers stay valid.
SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept
    : path_(std::move(o.path_)), label_(std::move(o.label_)), map_(std::exchange(o.map_, nullptr)),
      copy_(std::move(o.copy_)), size_(std::exchange(o.size_, 0)),
      tensors_(std::move(o.tensors_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  if (this != &o) {
    unmap();
    path_ = std::move(o.path_);
    label_ = std::move(o.label_);
    map_ = std::exchange(o.map_, nullptr);
    copy_ = std::move(o.copy_);
    size_ = std::exchange(o.size_, 0);
    tensors_ = std::move(o.tensors_);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() { unmap(); }

void SafetensorsFile::unmap() noexcept {
  if (map_ != nullptr) ::munmap(map_, size_);
  map_ = nullptr;
  std::vector<std::uint64_t>().swap(copy_);  // frees the buffer (clear() would keep it)
  for (TensorInfo& t : tensors_) t.data = nullptr;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const noexcept {
  for (const TensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace emomix
