// Internals shared by the C ABI's sources: the handles' structs, the error plumbing (guard),
// argument checks. Not installed; the ABI is emomix.h.
#pragma once

#include <atomic>
#include <new>
#include <exception>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "emomix/character.hpp"
#include "emomix/emomix.h"
#include "emomix/generation.hpp"
#include "emomix/model.hpp"
#include "emomix/text.hpp"

struct emx_stream;

// --- handles ------------------------------------------------------------------------------------

struct emx_voice {
  std::shared_ptr<const emomix::Model> model;
};

struct emx_character {
  std::shared_ptr<emomix::Character> character;
};

struct emx_line {
  std::unique_ptr<emomix::CharacterLine> line;
  std::atomic<bool> busy{false};
};

namespace emomix::capi {

// --- errors -------------------------------------------------------------------------------------

// This thread's message of the last failed call (emx_last_error).
extern thread_local std::string t_last_error;

// An error this file raises with its result code.
struct ApiError {
  emx_result code;
  std::string message;
};

[[noreturn]] inline void fail(emx_result code, std::string message) {
  throw ApiError{code, std::move(message)};
}

inline emx_result generation_result(GenerationErrorCode code) {
  switch (code) {
    case GenerationErrorCode::struct_size: return EMX_ERROR_STRUCT_SIZE;
    case GenerationErrorCode::unknown_emotion: return EMX_ERROR_UNKNOWN_EMOTION;
    case GenerationErrorCode::unknown_speaker: return EMX_ERROR_UNKNOWN_SPEAKER;
    case GenerationErrorCode::bad_weight:
    case GenerationErrorCode::zero_weights: return EMX_ERROR_BAD_WEIGHT;
    default: return EMX_ERROR_INVALID_ARGUMENT;
  }
}

// Runs f, turning every exception into a result and this thread's message.
template <class F>
emx_result guard(F&& f) noexcept {
  try {
    const emx_result r = f();
    return r;
  } catch (const ApiError& e) {
    t_last_error = e.message;
    return e.code;
  } catch (const GenerationConfigError& e) {
    t_last_error = e.what();
    return generation_result(e.code());
  } catch (const text::TextError& e) {
    t_last_error = e.what();
    return EMX_ERROR_BAD_TEXT;
  } catch (const VoiceError& e) {
    t_last_error = e.what();
    return EMX_ERROR_VOICE_INVALID;
  } catch (const Unavailable& e) {
    t_last_error = e.what();
    return EMX_ERROR_NOT_BUILT;
  } catch (const InvalidArgument& e) {
    t_last_error = e.what();
    return EMX_ERROR_INVALID_ARGUMENT;
  } catch (const std::bad_alloc&) {
    t_last_error = "out of memory";
    return EMX_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    t_last_error = std::string("internal error: ") + e.what();
    return EMX_ERROR_INTERNAL;
  } catch (...) {
    t_last_error = "internal error: unknown exception";
    return EMX_ERROR_INTERNAL;
  }
}

template <class T>
void need(const T* p, const char* what) {
  if (p == nullptr) fail(EMX_ERROR_NULL_ARGUMENT, std::string(what) + " is NULL");
}

template <class T>
void check_size(const T* config, const char* type) {
  if (config->struct_size != sizeof(T)) {
    fail(EMX_ERROR_STRUCT_SIZE,
         std::string(type) + ".struct_size is " + std::to_string(config->struct_size) +
             " but this library's " + type + " has " + std::to_string(sizeof(T)) +
             " bytes; initialise it with " + type + "_default() from the header of this "
             "library's version");
  }
}

// Valid UTF-8 text, NUL-terminated, not over the frontend's length limit (in bytes, a cheap
// first bound; the frontend counts code points).
inline std::string_view checked_text(const char* text) {
  need(text, "text");
  const std::size_t n = std::strlen(text);
  if (n > 4 * text::kMaxChars) {
    fail(EMX_ERROR_BAD_TEXT, "text is " + std::to_string(n) + " bytes; a line takes at most " +
                                 std::to_string(text::kMaxChars) +
                                 " characters: split it into sentences");
  }
  const std::string_view view(text, n);
  if (text::encode_utf8(text::decode_utf8(view)) != view) {
    fail(EMX_ERROR_BAD_TEXT, "text is not valid UTF-8; pass UTF-8 encoded text");
  }
  return view;
}

// The config of a character line: the caller's, or the voice's defaults.
inline GenerationConfig line_config(const Model& model, const emx_generation_config* config) {
  if (config == nullptr) return default_generation_config(model.voice());
  check_size(config, "emx_generation_config");
  GenerationConfig c;
  std::memcpy(&c, config, sizeof c);
  return c;
}

}  // namespace emomix::capi
