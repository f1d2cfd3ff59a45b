// emomix/safetensors.hpp — a memory-mapped safetensors file.
//
// Layout: u64 little-endian header length N, N bytes of JSON header
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data.
// open() maps the file read-only and checks the header like emomix.voice.read_safetensors_header:
// supported dtype, shape matching the byte range, tensors tiling the data exactly, file size.
// Errors throw InvalidArgument "<path>: <label>:<tensor>: <problem>".
//
// Thread safety: immutable after open(); the mapping lives as long as the object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace emomix {

struct TensorInfo {
  std::string name;
  std::string dtype;               // "F32", "F16", "I64", ...
  std::vector<std::int64_t> shape;
  const unsigned char* data = nullptr;  // inside the mapping
  std::size_t bytes = 0;
  std::size_t elements() const noexcept;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`; `label` names the file in error messages ("weights.safetensors").
  static SafetensorsFile open(const std::string& path, const std::string& label);

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
  std::size_t file_bytes() const noexcept { return size_; }

  // Releases the mapping (tensor pointers become invalid). Called once weights were converted.
  void unmap() noexcept;

 private:
  SafetensorsFile() = default;
  std::string path_, label_;
  void* map_ = nullptr;
  std::size_t size_ = 0;
  std::vector<TensorInfo> tensors_;
};

// IEEE half -> float (exact; handles subnormals, inf, NaN).
float half_to_float(std::uint16_t h) noexcept;

}  // namespace emomix
