// emomix/safetensors.hpp — a memory-mapped safetensors file.
//
// Layout: u64 little-endian header length N, N bytes of JSON header
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data.
// parse_safetensors_header() checks a header exactly like emomix.voice.read_safetensors_header,
// check for check: the length field, JSON, __metadata__ (strings to strings), each tensor's name,
// dtype (the voice schema's safetensors.dtypes), shape and offsets (integers within the schema's
// max_integer), the shape matching the byte range, the tensors tiling the data exactly, the file
// size. open() maps the file read-only and runs it; from_memory() runs it on its own copy of bytes
// the caller holds (a voice bundle loaded from memory). Errors throw VoiceError naming the file and
// "<label>" or "<label>:<tensor>", as Python's VoiceBundleError does.
//
// Tensor data is used in place. A mapping starts on a page boundary and from_memory()'s copy on an
// 8-byte boundary, so a tensor's alignment is its offset's in the file (mod 8) either way: a
// float32 tensor at an offset that is not a multiple of 4 is one that readers must copy
// (Model::load converts it).
//
// Thread safety: immutable after open() or from_memory(); the mapping or the copy lives as long as
// the object, or until unmap().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emomix {

struct TensorInfo {
  std::string name;
  std::string dtype;               // "F32", "F16", "I64", ...
  std::vector<std::int64_t> shape;
  const unsigned char* data = nullptr;  // inside the mapping or copy (null from
                                        // parse_safetensors_header)
  std::size_t offset = 0;               // of the first byte in the data buffer
  std::size_t bytes = 0;
  std::size_t elements() const noexcept;
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in header order
  std::vector<std::pair<std::string, std::string>> metadata;
  std::size_t data_start = 0;  // 8 + N: where the data buffer starts in the file
};

// Checks the header of a safetensors file of `file_size` bytes whose first `head_size` bytes are
// at `head`; `head` must hold the length field and the whole header when the file is long enough
// to (head_size >= min(file_size, 8 + N)): the data is not read. `path` and `label` name the file
// in errors. Throws VoiceError (see above); pure, so the fuzz target runs it on any bytes.
SafetensorsHeader parse_safetensors_header(const unsigned char* head, std::size_t head_size,
                                           std::uint64_t file_size, const std::string& path,
                                           const std::string& label);

class SafetensorsFile {
 public:
  // Maps and validates `path`; `label` names the file in error messages ("weights.safetensors").
  static SafetensorsFile open(const std::string& path, const std::string& label);
  // Copies `bytes` (the whole file) into storage of its own, 8-byte aligned, and validates it as
  // open() does; `bytes` is not used after the call. `path` and `label` name the file in errors.
  static SafetensorsFile from_memory(std::string_view bytes, const std::string& path,
                                     const std::string& label);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
  // The tensor called `name`, or null.
  const TensorInfo* find(const std::string& name) const noexcept;
  const std::string& path() const noexcept { return path_; }
  const std::string& label() const noexcept { return label_; }
  // Bytes of the file (what open() maps or from_memory() copies).
  std::size_t file_bytes() const noexcept { return size_; }

  // Releases the mapping or the copy (tensor pointers become invalid). Called once weights were
  // converted.
  void unmap() noexcept;

 private:
  SafetensorsFile() = default;
  std::string path_, label_;
  void* map_ = nullptr;              // from open(): the mapping
  std::vector<std::uint64_t> copy_;  // from from_memory(): the bytes, 8-byte aligned
  std::size_t size_ = 0;
  std::vector<TensorInfo> tensors_;
};

// IEEE half -> float (exact; handles subnormals, inf, NaN).
float half_to_float(std::uint16_t h) noexcept;

}  // namespace emomix
