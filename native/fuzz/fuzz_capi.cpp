// libFuzzer target: the C ABI (emomix.h) driven by arbitrary call sequences. The input is a little
// program, one opcode byte and its argument bytes per call, run against a few handle slots (any of
// which may be NULL): voice loads (the tiny voice from disk, or its files from memory with mutated
// bytes), voice queries, characters and their setters (NaN/inf/negative weights, unknown or
// unterminated names, curves out of range, transitions, advance), lines (begin/read/length/free),
// say, synthesize, and streams (create/queue/read/interrupt/stop/stats/free), with random
// struct_size values and UTF-8 or broken text. Any program must run without a crash, sanitizer
// report, leak or hang; every call must answer a known result code, leave its output arguments
// alone when it fails, and never answer EMX_ERROR_INTERNAL. Every run frees what it made.
//
// Runs stay cheap: the voice is the tiny random one of native/tests/tiny_voice.hpp (its symbol
// table from voices/default, or $EMOMIX_FUZZ_VOICE), loaded once at start; texts are at most 24
// bytes and lines take 1 or 2 sampler steps. Built by EMOMIX_BUILD_FUZZERS (scripts/fuzz.sh).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "emomix/emomix.h"
#include "tiny_voice.hpp"

namespace {

[[noreturn]] void finding(const char* what, emx_result r) {
  std::fprintf(stderr, "fuzz_capi: %s (%s: %s)\n", what, emx_result_string(r), emx_last_error());
  std::abort();
}

// Every answer is a known code; a failed call has a message; none is EMX_ERROR_INTERNAL.
emx_result checked(emx_result r) {
  if (std::strcmp(emx_result_string(r), "EMX_ERROR_UNKNOWN_RESULT") == 0)
    finding("unknown result", r);
  if (r == EMX_ERROR_INTERNAL) finding("internal error", r);
  if (r < 0) (void)std::strlen(emx_last_error());
  return r;
}

// The fuzz bytes, read as arguments; zeros once they run out.
struct Input {
  const std::uint8_t* p;
  std::size_t n;
  bool empty() const { return n == 0; }
  std::uint8_t u8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::uint32_t u32() {
    return u8() | u8() << 8 | static_cast<std::uint32_t>(u8()) << 16 |
           static_cast<std::uint32_t>(u8()) << 24;
  }
  std::uint64_t u64() { return u32() | static_cast<std::uint64_t>(u32()) << 32; }
  bool flip() { return u8() & 1; }

  double number() {  // the edge cases often, else any bit pattern
    static const double kSpecial[] = {0.0,
                                      1.0,
                                      0.5,
                                      1.5,
                                      2.0,
                                      -1.0,
                                      -0.0,
                                      0.25,
                                      1e-3,
                                      std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      1e308,
                                      5e-324,
                                      -1e-300,
                                      3.0};
    const std::uint8_t k = u8();
    if (k < 240) return kSpecial[k % 16];
    const std::uint64_t bits = u64();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  std::int32_t small_int(std::initializer_list<std::int32_t> values) {
    const std::uint8_t k = u8();
    return k < 250 ? values.begin()[k % values.size()] : static_cast<std::int32_t>(u32());
  }
  std::uint32_t struct_size(std::uint32_t right) {
    const std::uint8_t k = u8();
    if (k < 230) return right;
    if (k < 240) return 0;
    if (k < 248) return right - 8;
    return u32();
  }

  // A name: one the tiny voice has, an unknown one, or up to 40 raw bytes.
  std::string name() {
    static const char* kNames[] = {
        "neutral", "happy", "sad",    "spk0",      "spk1",
        "angry",   "",      "nobody", "happy\xff", "0123456789012345678901234567890"};
    const std::uint8_t k = u8();
    if (k < 200) return kNames[k % 10];
    std::string s(u8() % 41, '\0');
    for (char& c : s)
      c = static_cast<char>(u8() | 1);  // no NUL inside
    return s;
  }
  // A text: a short sentence, or up to 24 raw bytes (often not UTF-8).
  std::string text() {
    static const char* kTexts[] = {"Hi.",
                                   "Go now!",
                                   "Ten gold coins.",
                                   "42",
                                   "$3.50, Dr. Who?",
                                   "\xc3\xa9t\xc3\xa9",
                                   "\xf0\x9f\x98\x80",
                                   "...",
                                   " ",
                                   "a b c",
                                   "Mr. Smith, 1st.",
                                   "\xe2\x80\x94 No."};
    const std::uint8_t k = u8();
    if (k < 160) return kTexts[k % 12];
    std::string s(u8() % 25, '\0');
    for (char& c : s)
      c = static_cast<char>(u8() | 1);
    return s;
  }
};

// Calls that pass an enum argument any int, as a C caller may (C enums hold any int); in C++ such a
// value is undefined for the enum type, so this side of the call is exempt from UBSan's enum check
// and the library must read the value without loading it as its enum.
template <class E>
__attribute__((no_sanitize("enum"))) E as_enum(std::int32_t v) {
  static_assert(sizeof(E) == sizeof v, "a C enum is an int");
  E e;
  std::memcpy(&e, &v, sizeof e);
  return e;
}
__attribute__((no_sanitize("enum"))) const char* result_string(std::int32_t code) {
  return emx_result_string(as_enum<emx_result>(code));
}
__attribute__((no_sanitize("enum"))) emx_result transition_to(emx_character* c, const emx_weight* w,
                                                              std::size_t n, double intensity,
                                                              double seconds, std::int32_t curve) {
  return emx_character_transition_to(c, w, n, intensity, seconds, as_enum<emx_curve>(curve));
}

void fill_weight(Input& in, emx_weight* w) {
  std::memset(w, 0, sizeof *w);
  const std::string n = in.name();
  if (in.u8() < 8) {
    std::memset(w->name, 'x', sizeof w->name);  // unterminated
  } else {
    std::memcpy(w->name, n.data(), std::min(n.size(), sizeof w->name - 1));
  }
  w->weight = in.number();
}

std::size_t fill_weights(Input& in, emx_weight* w, std::size_t capacity) {
  const std::size_t n = in.u8() % (capacity + 2);
  for (std::size_t i = 0; i < std::min(n, capacity); ++i)
    fill_weight(in, &w[i]);
  return n;
}

constexpr std::size_t kSlots = 2;

struct Program {
  const emx_voice* base = nullptr;  // the tiny voice, loaded once
  const fixture::TinyVoice* bytes = nullptr;
  const std::string* dir = nullptr;
  emx_voice* voices[kSlots] = {};
  emx_character* characters[kSlots] = {};
  emx_line* lines[kSlots] = {};
  emx_stream* streams[kSlots] = {};
  int directory_loads = 0;  // a load from disk parses the whole bundle: two per program

  const emx_voice* voice(Input& in) {
    const std::uint8_t k = in.u8() % 4;
    return k == 0 ? nullptr : k == 1 ? voices[in.u8() % kSlots] : base;
  }
  template <class T>
  T*& slot(Input& in, T* (&slots)[kSlots]) {
    return slots[in.u8() % kSlots];
  }

  // NULL (the voice's defaults), or the defaults with a few fields changed.
  const emx_generation_config* config(Input& in, emx_generation_config* c) {
    if (in.u8() < 100) return nullptr;
    emx_generation_config_default(base, c);
    c->steps = 1 + in.flip();
    for (int edits = in.u8() % 4; edits > 0; --edits) {
      switch (in.u8() % 15) {
        case 0:
          c->struct_size = in.struct_size(sizeof *c);
          break;
        case 1:
          c->n_emotions =
              static_cast<std::uint32_t>(fill_weights(in, c->emotions, EMX_MAX_EMOTIONS));
          break;
        case 2: {
          c->n_keyframes = in.u8() % (EMX_MAX_KEYFRAMES + 2);
          for (std::uint32_t i = 0; i < std::min<std::uint32_t>(c->n_keyframes, EMX_MAX_KEYFRAMES);
               ++i) {
            c->keyframes[i].position = in.number();
            c->keyframes[i].n_emotions = static_cast<std::uint32_t>(
                fill_weights(in, c->keyframes[i].emotions, EMX_MAX_EMOTIONS));
          }
          break;
        }
        case 3:
          c->intensity = in.number();
          break;
        case 4:
          c->emotion_scale = in.number();
          break;
        case 5:
          c->n_speakers =
              static_cast<std::uint32_t>(fill_weights(in, c->speakers, EMX_MAX_SPEAKERS));
          break;
        case 6:
          c->steps = in.small_int({1, 2, 0, -1, 65, std::numeric_limits<std::int32_t>::max()});
          break;
        case 7:
          c->solver = in.small_int({0, 1, 2, 3, 4, -1});
          break;
        case 8:
          c->preset = in.small_int({0, 1, 2, 3, -1});
          break;
        case 9:
          c->temperature = in.number();
          break;
        case 10:
          c->k_max = in.number();
          break;
        case 11:
          c->k_min = in.number();
          break;
        case 12:
          c->length_scale = in.number();
          break;
        case 13:
          c->seed = in.u64();
          break;
        case 14:
          break;
      }
    }
    return c;
  }

  void load_memory(Input& in) {
    std::string json = bytes->voice_json, weights = bytes->weights;
    for (int m = in.u8() % 4; m > 0; --m) {  // byte edits, a truncation
      std::string& f = in.flip() ? json : weights;
      const std::uint8_t op = in.u8() % 3;
      const std::size_t at = f.empty() ? 0 : (in.u32() % f.size());
      if (op == 0 && !f.empty()) f[at] = static_cast<char>(in.u8());
      if (op == 1) f.resize(at);
      if (op == 2) f.insert(at, 1, static_cast<char>(in.u8()));
    }
    emx_voice_file files[3] = {{"voice.json", json.data(), json.size()},
                               {"weights.safetensors", weights.data(), weights.size()},
                               {"extra.bin", "x", 1}};
    if (in.u8() < 16) {
      emx_voice_file& f = files[in.u8() % 3];
      f.path = in.flip() ? nullptr : "../voice.json";
    }
    if (in.u8() < 8) files[in.u8() % 3].data = nullptr;
    std::size_t n = 2;
    if (in.u8() < 16) n = in.u8() % 4;
    emx_voice_config vc;
    emx_voice_config_default(&vc);
    vc.verify_hashes = in.u8() >= 240;  // rare, and not on zeros: hashing is the costly part
    vc.struct_size = in.struct_size(sizeof vc);
    emx_voice*& out = slot(in, voices);
    emx_voice_free(out);
    out = nullptr;
    emx_voice* got = reinterpret_cast<emx_voice*>(&in);
    const emx_result r =
        checked(emx_voice_load_memory(in.u8() < 4 ? nullptr : files, n, &vc, &got));
    if (r == EMX_OK)
      out = got;
    else if (got != reinterpret_cast<emx_voice*>(&in))
      finding("load_memory wrote out on failure", r);
  }

  void step(Input& in) {
    emx_generation_config gc;
    std::vector<float> buffer(4096);
    switch (in.u8() % 24) {
      case 0: {  // voice_load: the tiny voice's directory, one of its files, or no such path
        const std::string paths[] = {
            *dir, *dir + "/voice.json", *dir + "/weights.safetensors", *dir + "/nothing",
            "",   *dir + "/\xff"};
        const std::uint8_t k = ++directory_loads > 2 ? 6 : in.u8() % 7;  // then NULL paths only
        emx_voice_config vc;
        emx_voice_config_default(&vc);
        vc.struct_size = in.struct_size(sizeof vc);
        // Hashing 130 kB costs more than the rest of a program, so it is rare, and a program whose
        // bytes have run out (zeros) neither hashes nor takes the NULL config, which hashes.
        const std::uint8_t h = in.u8();
        vc.verify_hashes = h < 240 ? 0 : h - 241;
        emx_voice*& out = slot(in, voices);
        emx_voice_free(out);
        out = nullptr;
        emx_voice* got = nullptr;
        if (checked(emx_voice_load(k == 6 ? nullptr : paths[k].c_str(),
                                   in.u8() >= 240 ? nullptr : &vc, &got)) == EMX_OK)
          out = got;
        break;
      }
      case 1:
        load_memory(in);
        break;
      case 2: {  // voice queries
        const emx_voice* v = voice(in);
        const char* s = nullptr;
        uint32_t rate = 0;
        std::size_t count = 0;
        emx_emotion_info info;
        info.struct_size = in.struct_size(sizeof info);
        const std::size_t index = in.u8() % 8;
        if (checked(emx_voice_name(v, &s)) == EMX_OK) (void)std::strlen(s);
        checked(emx_voice_sample_rate(v, &rate));
        checked(emx_voice_emotion_count(v, &count));
        if (checked(emx_voice_emotion(v, index, &info)) == EMX_OK) (void)std::strlen(info.name);
        checked(emx_voice_speaker_count(v, &count));
        if (checked(emx_voice_speaker(v, index, &s)) == EMX_OK) (void)std::strlen(s);
        if (checked(emx_voice_default_speaker(v, &s)) == EMX_OK) (void)std::strlen(s);
        checked(emx_generation_config_default(v, in.flip() ? &gc : nullptr));
        checked(emx_voice_name(v, nullptr));
        break;
      }
      case 3: {  // character_create
        emx_character_config cc;
        emx_character_config_default(&cc);
        if (in.flip()) {
          cc.struct_size = in.struct_size(sizeof cc);
          cc.n_speakers =
              static_cast<std::uint32_t>(fill_weights(in, cc.speakers, EMX_MAX_SPEAKERS));
          cc.threads = in.small_int({1, 2, 0, -1, 257});
          cc.first_block_frames = in.small_int({64, 1, 0, -1, 8, 1000});
          cc.block_frames = in.small_int({160, 0, 1, -1, 16});
          cc.context_frames = in.small_int({24, 0, -1, 1, 200});
          cc.crossfade_frames = in.small_int({8, 0, -1, 30, 1});
          cc.vocoder_chunk_frames = in.small_int({32, 1, 0, -1, 7});
        }
        const emx_voice* v = voice(in);
        emx_character*& out = slot(in, characters);
        emx_character_free(out);
        out = nullptr;
        emx_character* got = nullptr;
        if (checked(emx_character_create(v, in.flip() ? &cc : nullptr, &got)) == EMX_OK) out = got;
        break;
      }
      case 4: {
        emx_character*& c = slot(in, characters);
        emx_character_free(c);
        c = nullptr;
        break;
      }
      case 5: {
        emx_character* c = slot(in, characters);
        emx_weight w[EMX_MAX_SPEAKERS];
        const std::size_t n = fill_weights(in, w, EMX_MAX_SPEAKERS);
        checked(emx_character_set_speakers(c, w, std::min<std::size_t>(n, EMX_MAX_SPEAKERS)));
        break;
      }
      case 6: {
        emx_character* c = slot(in, characters);
        emx_weight w[EMX_MAX_EMOTIONS];
        const std::size_t n = fill_weights(in, w, EMX_MAX_EMOTIONS);
        checked(emx_character_set_mix(c, in.u8() < 8 ? nullptr : w,
                                      std::min<std::size_t>(n, EMX_MAX_EMOTIONS)));
        break;
      }
      case 7: {
        emx_character* c = slot(in, characters);
        const std::string name = in.name();
        const bool null_name = in.u8() < 8;
        const double intensity = in.number();
        checked(emx_character_set_emotion(c, null_name ? nullptr : name.c_str(), intensity));
        break;
      }
      case 8: {
        emx_character* c = slot(in, characters);
        checked(emx_character_set_intensity(c, in.number()));
        break;
      }
      case 9: {
        emx_character* c = slot(in, characters);
        const double v = in.number(), a = in.number();
        checked(emx_character_set_valence_arousal(c, v, a));
        break;
      }
      case 10: {
        emx_character* c = slot(in, characters);
        emx_weight w[EMX_MAX_EMOTIONS];
        const std::size_t n = fill_weights(in, w, EMX_MAX_EMOTIONS);
        const double intensity = in.number(), seconds = in.number();
        const std::int32_t curve = in.small_int({0, 1, 2, 3, 4, 5, -1});
        checked(transition_to(c, w, std::min<std::size_t>(n, EMX_MAX_EMOTIONS), intensity, seconds,
                              curve));
        break;
      }
      case 11: {
        emx_character* c = slot(in, characters);
        checked(emx_character_advance(c, in.number()));
        break;
      }
      case 12: {  // clock, mix, transitioning
        const emx_character* c = slot(in, characters);
        double t = 0, a = 0;
        emx_weight w[4];
        std::size_t n = 0;
        const std::size_t capacity = in.u8() % 5;
        int32_t busy = 0;
        checked(emx_character_time(c, &t));
        checked(
            emx_character_mix(c, capacity ? w : nullptr, capacity, &n, in.flip() ? &a : nullptr));
        checked(emx_character_transitioning(c, &busy));
        break;
      }
      case 13: {  // say_begin
        emx_character* c = slot(in, characters);
        const std::string text = in.text();
        const emx_generation_config* cfg = config(in, &gc);
        emx_line*& out = slot(in, lines);
        emx_line_free(out);
        out = nullptr;
        emx_line* got = nullptr;
        if (checked(emx_character_say_begin(c, in.u8() < 4 ? nullptr : text.c_str(), cfg, &got)) ==
            EMX_OK)
          out = got;
        break;
      }
      case 14: {  // line_read, a few times
        emx_line* l = slot(in, lines);
        for (int k = 1 + in.u8() % 4; k > 0; --k) {
          const std::size_t max = in.u8() < 16 ? 0 : 1 + in.u32() % buffer.size();
          std::size_t got = 0;
          const emx_result r =
              checked(emx_line_read(l, in.u8() < 4 ? nullptr : buffer.data(), max, &got));
          if (r == EMX_OK && (got > max || (max > 0 && got == 0)))
            finding("line_read: bad count", r);
          if (r == EMX_END && got != 0) finding("line_read ended with samples", r);
        }
        break;
      }
      case 15: {
        std::size_t n = 0;
        checked(emx_line_length(slot(in, lines), &n));
        break;
      }
      case 16: {
        emx_line*& l = slot(in, lines);
        emx_line_free(l);
        l = nullptr;
        break;
      }
      case 17: {  // say
        emx_character* c = slot(in, characters);
        const std::string text = in.text();
        emx_audio a{};
        if (checked(emx_character_say(c, text.c_str(), config(in, &gc), &a)) == EMX_OK)
          emx_audio_free(&a);
        break;
      }
      case 18: {  // synthesize
        const emx_voice* v = voice(in);
        const std::string text = in.text();
        emx_generation_config c;
        emx_generation_config_default(base, &c);
        c.steps = 1 + in.flip();
        const emx_generation_config* cfg = in.u8() < 8 ? nullptr : config(in, &gc);
        if (cfg == nullptr && in.flip()) cfg = &c;
        const std::int32_t threads = in.small_int({1, 2, 0, -1, 257});
        emx_audio a{};
        if (checked(emx_voice_synthesize(v, text.c_str(), cfg, threads, &a)) == EMX_OK)
          emx_audio_free(&a);
        break;
      }
      case 19: {  // stream_create (rings of at most 2^20 samples)
        emx_stream_config sc;
        emx_stream_config_default(&sc);
        sc.struct_size = in.struct_size(sizeof sc);
        sc.capacity_samples =
            in.small_int({0, 1024, 1023, 4096, 1, 1 << 20}) & ((1u << 20) | 0xFFFFu);
        sc.max_queued_lines = in.u8() % 4;
        emx_character* c = slot(in, characters);
        emx_stream*& out = slot(in, streams);
        emx_stream_free(out);
        out = nullptr;
        emx_stream* got = nullptr;
        if (checked(emx_stream_create(c, in.flip() ? &sc : nullptr, &got)) == EMX_OK) out = got;
        break;
      }
      case 20: {
        emx_stream* s = slot(in, streams);
        const std::string text = in.text();
        checked(emx_stream_queue(s, text.c_str(), config(in, &gc)));
        break;
      }
      case 21: {  // stream_read: a burst of audio-thread reads
        emx_stream* s = slot(in, streams);
        for (int k = 1 + in.u8() % 8; k > 0; --k) {
          const std::size_t n = in.u8() < 16 ? 0 : 1 + in.u32() % buffer.size();
          std::size_t got = 0;
          const emx_result r =
              checked(emx_stream_read(s, in.u8() < 4 ? nullptr : buffer.data(), n, &got));
          if (r == EMX_OK || r == EMX_END) {
            if (got > n) finding("stream_read wrote a bad count", r);
            for (std::size_t i = got; i < n; ++i)
              if (buffer[i] != 0.0f) finding("stream_read left no silence after the audio", r);
          }
        }
        break;
      }
      case 22: {
        emx_stream* s = slot(in, streams);
        emx_stream_stats st;
        st.struct_size = in.struct_size(sizeof st);
        switch (in.u8() % 3) {
          case 0:
            checked(emx_stream_interrupt(s));
            break;
          case 1:
            checked(emx_stream_stop(s));
            break;
          case 2:
            checked(emx_stream_stats_get(s, &st));
            break;
        }
        break;
      }
      case 23: {
        emx_stream*& s = slot(in, streams);
        emx_stream_free(s);
        s = nullptr;
        emx_weight w;
        const std::string name = in.name();
        const bool null_weight = in.u8() < 8;
        checked(emx_weight_set(null_weight ? nullptr : &w, name.c_str(), in.number()));
        (void)std::strlen(result_string(in.small_int({0, 1, -1, -9, -300})));
        break;
      }
    }
  }

  // Frees everything, in an order the input chooses (any order is allowed).
  void free_all(Input& in) {
    for (int round = 0; round < 4; ++round) {
      const std::uint8_t k = in.u8() % 4;
      for (std::size_t i = 0; i < kSlots; ++i) {
        if (k == 0) emx_stream_free(streams[i]), streams[i] = nullptr;
        if (k == 1) emx_line_free(lines[i]), lines[i] = nullptr;
        if (k == 2) emx_character_free(characters[i]), characters[i] = nullptr;
        if (k == 3) emx_voice_free(voices[i]), voices[i] = nullptr;
      }
    }
    for (std::size_t i = 0; i < kSlots; ++i) {
      emx_stream_free(streams[i]);
      emx_line_free(lines[i]);
      emx_character_free(characters[i]);
      emx_voice_free(voices[i]);
    }
  }
};

const emx_voice* g_base = nullptr;
const fixture::TinyVoice* g_bytes = nullptr;
const std::string* g_dir = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* env = std::getenv("EMOMIX_FUZZ_VOICE");
  const std::string shipped = env ? env : EMOMIX_DEFAULT_VOICE_DIR;
  static const fixture::TinyVoice bytes = fixture::tiny_voice(shipped + "/voice.json", 1);
  struct TinyDir {
    std::string path;
    ~TinyDir() { fixture::remove_tiny_voice(path); }
  };
  static const TinyDir dir{fixture::write_tiny_voice(shipped + "/voice.json", 1)};
  emx_voice* v = nullptr;
  if (emx_voice_load(dir.path.c_str(), nullptr, &v) != EMX_OK) {
    std::fprintf(stderr, "fuzz_capi: the tiny voice does not load: %s\n", emx_last_error());
    std::abort();
  }
  g_base = v;  // kept for the whole process
  g_bytes = &bytes;
  g_dir = &dir.path;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, std::min<std::size_t>(size, 2048)};
  Program program;
  program.base = g_base;
  program.bytes = g_bytes;
  program.dir = g_dir;
  for (int calls = 0; calls < 48 && !in.empty(); ++calls)
    program.step(in);
  program.free_all(in);
  return 0;
}
