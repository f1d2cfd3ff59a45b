// emomix/sha256.hpp — SHA-256 (FIPS 180-4), for the voice bundle's file hashes.
//
// Sha256 hashes a stream fed in pieces of any size: update() as often as needed, then
// hex_digest() (64 lowercase hex digits, the form voice.json's files.<path>.sha256 holds) or
// digest(). sha256_file() reads a file in 1 MiB chunks (constant memory), like
// emomix.voice.sha256_file. Portable C++ (no CPU extensions), checked against the FIPS test
// vectors and against Python's hashlib on real files.
//
// Thread safety: a Sha256 object is used by one thread at a time; the functions are reentrant.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace emomix {

class Sha256 {
 public:
  Sha256() noexcept { reset(); }
  void reset() noexcept;
  void update(const void* data, std::size_t bytes) noexcept;
  // The digest of everything fed since the last reset(); the object is then reset.
  std::array<std::uint8_t, 32> digest() noexcept;
  std::string hex_digest();

 private:
  void block(const std::uint8_t* p) noexcept;
  std::array<std::uint32_t, 8> h_{};
  std::array<std::uint8_t, 64> buf_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;  // bytes fed
};

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Lowercase hex SHA-256 of the file at `path`, read in 1 MiB chunks. Throws InvalidArgument
// naming the path when the file cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace emomix
