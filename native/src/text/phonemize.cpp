// Phonemisation with libespeak-ng in process (emomix/text.hpp, phonemize).
//
// The tokens are those the `espeak-ng -q -b 1 --ipa -v <language>` program writes, which the
// Python frontend used before (tests/text_reference/phonemizer.py): espeak-ng drops punctuation, so
// the text is cut at the prosody marks, the words between them go to espeak-ng in pieces
// ("chunks") of at most kMaxChunkBytes bytes / kMaxChunkWords words, and the marks are put back.
//
// Why espeak_Synth and not espeak_TextToPhonemes: the program writes each clause's phonemes after
// its intonation pass (CalcPitches), which can move stress — a clause of one word such as "the" is
// "ðˈə" there and "ðə" from espeak_TextToPhonemes. So a chunk is synthesised as the program does,
// line by line (its fgets() reads at most 999 bytes at a time), and each clause's phonemes are
// taken from the phoneme callback. Synthesising audio costs ~2 ms a chunk; it is stopped early:
// espeak_TextToPhonemes first counts the chunk's clauses (its clause splitting is the same), and
// the audio callback aborts once that many clauses have been translated. Should the two disagree
// (the stress-free phonemes differ), the chunk is synthesised again to the end.
//
// espeak-ng is one global state per process, and a process may hold two copies of this file: the
// Python module and libemomix.so each link the text frontend. The copies share one record of that
// state (EspeakState: the lock every call holds, the voice selected, the clauses the callbacks
// collect), and each call installs its own copy's callbacks before synthesising, so neither copy
// takes the other's phonemes or voice. The first copy to start allocates the record (never freed:
// it outlives either library) and publishes its address in an environment variable named with
// the process id (a child process inherits the environment, not the memory); later copies read
// it there.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#ifndef _WIN32
#include <unistd.h>
#endif

#include "emomix/text.hpp"
#include "regex.hpp"
#include "unicode.hpp"

#if EMOMIX_WITH_ESPEAK
#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>
#endif

namespace emomix::text {

namespace {

using std::u32string;
using std::u32string_view;

constexpr std::size_t kMaxChunkBytes = 300;
constexpr std::size_t kMaxChunkWords = 40;
constexpr std::size_t kLineBytes = 999;  // espeak-ng's fgets(buffer, 1000, stdin)
constexpr std::size_t kCacheEntries = 4096;

struct EspeakState {
  std::mutex mutex;  // held by every call into espeak-ng, and by the cache
  bool initialised = false;
  std::string init_error;
  std::string voice;  // the voice set now ("" after a failure)
  std::FILE* null_out = nullptr;
  // Filled by the callbacks of the synthesis in progress (mutex held).
  std::vector<std::string> clauses;
  std::size_t abort_after = 0;  // 0: never abort
};

EspeakState& espeak_state() {
  static EspeakState* const state = [] {
    auto* mine = new EspeakState();
#ifdef _WIN32
    return mine;
#else
    char name[64], value[32];
    std::snprintf(name, sizeof name, "EMOMIX_TEXT_ESPEAK_STATE_%ld_V1",
                  static_cast<long>(::getpid()));
    std::snprintf(value, sizeof value, "%p", static_cast<void*>(mine));
    ::setenv(name, value, 0);  // the first copy's record wins
    void* published = nullptr;
    const char* text = std::getenv(name);
    if (text == nullptr || std::sscanf(text, "%p", &published) != 1 || published == nullptr) {
      return mine;
    }
    if (published != mine) delete mine;
    return static_cast<EspeakState*>(published);
#endif
  }();
  return *state;
}

// ------------------------------------------------------------------------------ cache (LRU)

class Cache {
 public:
  bool get(const u32string& key, u32string& out) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.splice(order_.begin(), order_, it->second);
    out = it->second->second;
    return true;
  }
  void put(const u32string& key, const u32string& value) {
    if (index_.count(key)) return;
    order_.emplace_front(key, value);
    index_[key] = order_.begin();
    if (order_.size() > kCacheEntries) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }
  void clear() {
    index_.clear();
    order_.clear();
  }

 private:
  std::list<std::pair<u32string, u32string>> order_;
  std::unordered_map<u32string, std::list<std::pair<u32string, u32string>>::iterator> index_;
};

Cache g_cache;

// ------------------------------------------------------------------------------ text -> chunks

bool is_mark(char32_t c) {
  return kProsodyMarks.find(c) != u32string_view::npos;
}

// Words of a piece between marks: runs of \w and apostrophes ('_' separates), apostrophes
// stripped at both ends, kept when they contain a letter or digit.
std::vector<u32string> words_of(u32string_view piece) {
  std::vector<u32string> out;
  std::size_t i = 0;
  while (i < piece.size()) {
    const auto in_word = [](char32_t c) { return c == '\'' || (c != '_' && unicode::is_word(c)); };
    while (i < piece.size() && !in_word(piece[i]))
      ++i;
    const std::size_t start = i;
    while (i < piece.size() && in_word(piece[i]))
      ++i;
    u32string_view w = piece.substr(start, i - start);
    while (!w.empty() && w.front() == '\'')
      w.remove_prefix(1);
    while (!w.empty() && w.back() == '\'')
      w.remove_suffix(1);
    if (std::any_of(w.begin(), w.end(), [](char32_t c) { return unicode::is_alnum(c); })) {
      out.emplace_back(w);
    }
  }
  return out;
}

std::vector<std::string> chunks_of(const std::vector<u32string>& words) {
  std::vector<std::string> chunks;
  std::string current;
  std::size_t count = 0, size = 0;
  for (const u32string& word : words) {
    const std::string utf8 = unicode::encode_utf8(word);
    const std::size_t n = utf8.size() + 1;
    if (count && (size + n > kMaxChunkBytes || count >= kMaxChunkWords)) {
      chunks.push_back(current);
      current.clear();
      count = size = 0;
    }
    if (count) current.push_back(' ');
    current += utf8;
    ++count;
    size += n;
  }
  if (count) chunks.push_back(current);
  return chunks;
}

bool valid_language_name(std::string_view language) {
  if (language.empty()) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(language[0])) return false;
  return std::all_of(language.begin(), language.end(), [&](char c) {
    return alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-';
  });
}

[[noreturn]] void unsupported_language(std::string_view language, const std::string& message) {
  TextError e(TextError::Kind::kUnsupportedLanguage, message);
  e.language = std::string(language);
  throw e;
}

// ------------------------------------------------------------------------------ espeak-ng

#if EMOMIX_WITH_ESPEAK

// espeak-ng's IPA, tidied: language-switch markers such as "(fr)" and tie characters removed, an
// ASCII ':' length mark made 'ː', whitespace collapsed to single spaces.
u32string clean(u32string_view ipa) {
  static const re::Regex kLanguageSwitch(UR"re(\([a-z]{2,3}(?:-[a-z0-9]+)*\))re");
  const u32string stripped = kLanguageSwitch.sub(ipa, U"");
  u32string out;
  bool pending_space = false;
  for (char32_t c : stripped) {
    if (c == '_' || c == 0x200C || c == 0x200D || c == 0x0361 || c == 0x035C) continue;
    if (c == ':') c = 0x02D0;
    if (unicode::is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}


int on_phonemes(const char* phonemes) {
  espeak_state().clauses.emplace_back(phonemes ? phonemes : "");
  return 0;
}

int on_audio(short*, int, espeak_EVENT*) {
  return espeak_state().abort_after != 0 && espeak_state().clauses.size() >= espeak_state().abort_after ? 1 : 0;
}

void initialise() {
  if (espeak_state().initialised) return;
  if (!espeak_state().init_error.empty()) throw FrontendUnavailable(espeak_state().init_error);
  espeak_ng_InitializePath(nullptr);
  espeak_ng_ERROR_CONTEXT context = nullptr;
  espeak_ng_STATUS status = espeak_ng_Initialize(&context);
  if (status == ENS_OK) status = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, nullptr);
  if (status != ENS_OK) {
    char message[512] = {0};
    espeak_ng_GetStatusCodeMessage(status, message, sizeof message);
    espeak_ng_ClearErrorContext(&context);
    espeak_state().init_error = std::string("espeak-ng could not start (") + message +
                          "): install its data (Debian: apt-get install espeak-ng-data) or set "
                          "ESPEAK_DATA_PATH to the directory that contains espeak-ng-data.";
    throw FrontendUnavailable(espeak_state().init_error);
  }
#ifdef _WIN32
  espeak_state().null_out = std::fopen("NUL", "w");
#else
  espeak_state().null_out = std::fopen("/dev/null", "w");
#endif
  if (espeak_state().null_out == nullptr) {
    espeak_state().init_error = "espeak-ng: cannot open the null device for its phoneme trace";
    throw FrontendUnavailable(espeak_state().init_error);
  }
  espeak_SetSynthCallback(on_audio);
  espeak_SetPhonemeCallback(on_phonemes);
  espeak_SetPhonemeTrace(espeakPHONEMES_IPA, espeak_state().null_out);
  espeak_state().initialised = true;
}

void select_voice(std::string_view language) {
  if (espeak_state().voice == language) return;
  const std::string name(language);
  espeak_state().voice.clear();
  espeak_ng_STATUS status = espeak_ng_SetVoiceByName(name.c_str());
  if (status != ENS_OK) {  // as the program does: try the name as a language code
    espeak_VOICE spec{};
    spec.languages = name.c_str();
    status = espeak_ng_SetVoiceByProperties(&spec);
  }
  if (status != ENS_OK) {
    char message[512] = {0};
    espeak_ng_GetStatusCodeMessage(status, message, sizeof message);
    unsupported_language(language, "espeak-ng has no voice for language '" + name + "' (" +
                                       message +
                                       "); list the available ones with `espeak-ng "
                                       "--voices`.");
  }
  espeak_state().voice = name;
}

constexpr int kSynthFlags = espeakCHARS_UTF8 | espeakPHONEMES | espeakENDPAUSE;

std::u32string without_stress(const std::string& ipa) {
  u32string out;
  for (char32_t c : clean(unicode::decode_utf8(ipa))) {
    if (c != 0x02C8 && c != 0x02CC) out.push_back(c);
  }
  return out;
}

// The clause phonemes of one fgets() line, joined by spaces.
std::string phonemize_line(const std::string& line) {
  // 1. Count the clauses (cheap: no intonation, no audio).
  std::string counted;
  std::size_t expected = 0;
  const void* cursor = line.c_str();
  while (cursor != nullptr) {
    const char* p = espeak_TextToPhonemes(&cursor, espeakCHARS_UTF8, espeakPHONEMES_IPA);
    counted += (expected++ ? " " : "") + std::string(p ? p : "");
  }
  // 2. Synthesise until that many clauses were written; check; else synthesise to the end.
  for (std::size_t abort_after : {expected, std::size_t{0}}) {
    espeak_SetSynthCallback(on_audio);  // this copy's callbacks (see the top of the file)
    espeak_SetPhonemeCallback(on_phonemes);
    espeak_state().clauses.clear();
    espeak_state().abort_after = abort_after;
    const espeak_ERROR status = espeak_Synth(line.c_str(), line.size() + 1, 0, POS_CHARACTER, 0,
                                             kSynthFlags, nullptr, nullptr);
    espeak_state().abort_after = 0;
    if (status != EE_OK) {  // (an early stop is EE_OK)
      throw FrontendUnavailable(
          "espeak-ng failed to phonemise a piece of text (espeak_Synth "
          "returned " +
          std::to_string(static_cast<int>(status)) + ")");
    }
    std::string joined;
    for (std::size_t i = 0; i < espeak_state().clauses.size(); ++i) {
      joined += (i ? " " : "") + espeak_state().clauses[i];
    }
    if (abort_after == 0 || without_stress(joined) == without_stress(counted)) return joined;
  }
  return {};  // not reached
}

u32string phonemize_chunk(const std::string& chunk) {
  // The program reads "chunk\n" with fgets(), at most kLineBytes bytes at a time, and
  // synthesises each piece on its own.
  const std::string line = chunk + "\n";
  std::string joined;
  for (std::size_t at = 0; at < line.size(); at += kLineBytes) {
    if (!joined.empty()) joined.push_back(' ');
    joined += phonemize_line(line.substr(at, kLineBytes));
  }
  return clean(unicode::decode_utf8(joined));
}

#endif  // EMOMIX_WITH_ESPEAK

[[noreturn]] [[maybe_unused]] void not_built() {
  throw FrontendUnavailable(
      "emomix was built without libespeak-ng, which turns text into phonemes: install it "
      "(Debian/Ubuntu: apt-get install libespeak-ng-dev; macOS: brew install espeak-ng) and "
      "rebuild emomix (pip install -e .).");
}

// The IPA of each chunk (not_built() without libespeak-ng).
std::vector<u32string> phonemize_chunks(const std::vector<std::string>& chunks,
                                        std::string_view language) {
#if EMOMIX_WITH_ESPEAK
  initialise();
  select_voice(language);
  std::vector<u32string> out;
  out.reserve(chunks.size());
  for (const std::string& chunk : chunks)
    out.push_back(phonemize_chunk(chunk));
  return out;
#else
  (void)chunks;
  (void)language;
  not_built();
#endif
}

u32string phonemize_locked(u32string_view text, std::string_view language) {
  // layout: marks and spaces as tokens; chunk k as the code point 0x110000 + k (beyond Unicode).
  u32string layout;
  std::vector<std::string> chunks;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && !is_mark(text[i])) continue;
    const u32string_view part = text.substr(start, i - start);
    if (!part.empty() && unicode::is_space(part.front())) layout.push_back(' ');
    const std::vector<std::string> part_chunks = chunks_of(words_of(part));
    for (std::size_t j = 0; j < part_chunks.size(); ++j) {
      if (j) layout.push_back(' ');
      layout.push_back(static_cast<char32_t>(0x110000 + chunks.size()));
      chunks.push_back(part_chunks[j]);
    }
    if (!part.empty() && unicode::is_space(part.back())) layout.push_back(' ');
    if (i < text.size()) layout.push_back(text[i]);
    start = i + 1;
  }
  const std::vector<u32string> ipa =
      chunks.empty() ? std::vector<u32string>{} : phonemize_chunks(chunks, language);
  u32string tokens;
  const auto append = [&tokens](char32_t t) {
    if (t == ' ' && (tokens.empty() || tokens.back() == ' ')) return;
    tokens.push_back(t);
  };
  for (char32_t item : layout) {
    if (item >= 0x110000) {
      for (char32_t t : ipa[item - 0x110000])
        append(t);
    } else {
      append(item);
    }
  }
  while (!tokens.empty() && tokens.back() == ' ')
    tokens.pop_back();
  return tokens;
}

}  // namespace

u32string phonemize(u32string_view text, std::string_view language) {
  if (!valid_language_name(language)) {
    unsupported_language(language, "'" + std::string(language) +
                                       "' is not an espeak-ng voice name such as 'en-us' or "
                                       "'en-gb'.");
  }
  std::lock_guard<std::mutex> lock(espeak_state().mutex);
  const bool cached = text.size() <= kCacheMaxChars;
  u32string key;
  if (cached) {
    key.assign(language.begin(), language.end());
    key.push_back(0);
    key.append(text);
    u32string hit;
    if (g_cache.get(key, hit)) return hit;
  }
  u32string tokens = phonemize_locked(text, language);
  if (cached) g_cache.put(key, tokens);
  return tokens;
}

bool espeak_available() noexcept {
#if EMOMIX_WITH_ESPEAK
  std::lock_guard<std::mutex> lock(espeak_state().mutex);
  try {
    initialise();
    return true;
  } catch (...) {
    return false;
  }
#else
  return false;
#endif
}

std::string espeak_version() {
#if EMOMIX_WITH_ESPEAK
  std::lock_guard<std::mutex> lock(espeak_state().mutex);
  initialise();
  const char* version = espeak_Info(nullptr);
  return version ? version : "";
#else
  not_built();
#endif
}

void clear_cache() noexcept {
  std::lock_guard<std::mutex> lock(espeak_state().mutex);
  g_cache.clear();
}

}  // namespace emomix::text
