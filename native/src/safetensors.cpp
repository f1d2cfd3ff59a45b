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

namespace emomix {

namespace {

std::size_t dtype_size(const std::string& d) {
  if (d == "F32" || d == "I32") return 4;
  if (d == "F16" || d == "I16") return 2;
  if (d == "I64") return 8;
  if (d == "I8" || d == "U8" || d == "BOOL") return 1;
  return 0;
}

constexpr std::uint64_t kMaxHeader = 100ull * 1024 * 1024;

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

SafetensorsFile SafetensorsFile::open(const std::string& path, const std::string& label) {
  auto fail = [&](const std::string& problem, const std::string& tensor = "") -> InvalidArgument {
    return InvalidArgument(path + ": " + label + (tensor.empty() ? "" : ":" + tensor) + ": " +
                           problem + "; the weights file is corrupted or truncated, re-export or "
                           "re-download the voice");
  };
  SafetensorsFile f;
  f.path_ = path;
  f.label_ = label;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw InvalidArgument(path + ": " + label + ": cannot be opened (" + std::strerror(errno) +
                          "); check the file exists and is readable");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw fail("cannot stat the file");
  }
  f.size_ = static_cast<std::size_t>(st.st_size);
  if (f.size_ < 8) {
    ::close(fd);
    throw fail("file is " + std::to_string(f.size_) + " bytes, too short for a safetensors header");
  }
  void* map = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw fail(std::string("cannot be memory-mapped (") + std::strerror(errno) + ")");
  f.map_ = map;  // owned by f from here: its destructor unmaps on every error path below

  const auto* base = static_cast<const unsigned char*>(map);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | base[i];
  if (n > kMaxHeader || 8 + n > f.size_) {
    throw fail("header length field says " + std::to_string(n) + " bytes but the file has only " +
               std::to_string(f.size_) + " bytes");
  }
  Json header;
  try {
    header = parse_json(std::string_view(reinterpret_cast<const char*>(base + 8),
                                         static_cast<std::size_t>(n)));
  } catch (const InvalidArgument& e) {
    throw fail(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const std::size_t data_start = 8 + static_cast<std::size_t>(n);
  const std::size_t data_bytes = f.size_ - data_start;

  struct Range {
    std::size_t begin, end;
    std::size_t index;
  };
  std::vector<Range> ranges;
  for (const auto& [name, info] : header.members()) {
    if (name == "__metadata__") continue;
    if (!info.is_object()) throw fail("header entry is not an object", name);
    TensorInfo t;
    t.name = name;
    const Json* dt = info.find("dtype");
    if (dt == nullptr || !dt->is_string() || dtype_size(dt->string()) == 0) {
      throw fail("dtype is missing or not supported (F32, F16, I64, I32, I16, I8, U8, BOOL)", name);
    }
    t.dtype = dt->string();
    try {
      t.shape = info.get_int_list("shape", name);
    } catch (const InvalidArgument&) {
      throw fail("shape is not a list of non-negative integers", name);
    }
    std::size_t elems = 1;
    for (std::int64_t d : t.shape) {
      if (d < 0) throw fail("shape has a negative dimension", name);
      elems *= static_cast<std::size_t>(d);
    }
    std::vector<std::int64_t> off;
    try {
      off = info.get_int_list("data_offsets", name);
    } catch (const InvalidArgument&) {
      throw fail("data_offsets is not [begin, end]", name);
    }
    if (off.size() != 2 || off[0] < 0 || off[1] < off[0]) throw fail("data_offsets is not [begin, end]", name);
    const std::size_t b = static_cast<std::size_t>(off[0]), e = static_cast<std::size_t>(off[1]);
    if (e - b != elems * dtype_size(t.dtype)) {
      throw fail("data_offsets span " + std::to_string(e - b) + " bytes but the shape needs " +
                 std::to_string(elems * dtype_size(t.dtype)), name);
    }
    if (e > data_bytes) throw fail("data_offsets run past the end of the file (truncated)", name);
    t.data = base + data_start + b;
    t.bytes = e - b;
    ranges.push_back({b, e, f.tensors_.size()});
    f.tensors_.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& x, const Range& y) { return x.begin != y.begin ? x.begin < y.begin : x.end < y.end; });
  std::size_t cursor = 0;
  for (const Range& r : ranges) {
    if (r.begin != cursor) {
      throw fail(r.begin < cursor ? "overlaps another tensor" : "leaves a gap before it",
                 f.tensors_[r.index].name);
    }
    cursor = r.end;
  }
  if (cursor != data_bytes) {
    throw fail("file is " + std::to_string(f.size_) + " bytes but its header describes " +
               std::to_string(data_start + cursor) + " bytes");
  }
  return f;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept
    : path_(std::move(o.path_)), label_(std::move(o.label_)), map_(std::exchange(o.map_, nullptr)),
      size_(std::exchange(o.size_, 0)), tensors_(std::move(o.tensors_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  if (this != &o) {
    unmap();
    path_ = std::move(o.path_);
    label_ = std::move(o.label_);
    map_ = std::exchange(o.map_, nullptr);
    size_ = std::exchange(o.size_, 0);
    tensors_ = std::move(o.tensors_);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() { unmap(); }

void SafetensorsFile::unmap() noexcept {
  if (map_ != nullptr) ::munmap(map_, size_);
  map_ = nullptr;
  for (TensorInfo& t : tensors_) t.data = nullptr;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const noexcept {
  for (const TensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace emomix
