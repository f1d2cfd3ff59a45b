// The C ABI (libemomix.so) from a C++ host: the stream's audio-thread contract, leaks across the
// whole object life cycle, and characters on threads sharing one voice.
//
//   emomix_capi_stream_test <voices/default> [case...]
//
// The shipped voice gives the realistic load (and its symbol table to the tiny random voice of
// tiny_voice.hpp that the other cases use, so that they stay fast under sanitizers and valgrind).
//
// Counting: this executable replaces the global operator new/new[] and interposes malloc/calloc/
// realloc and pthread_mutex_lock/trylock. libemomix.so's calls to them go through the dynamic
// symbol table and land here; each counts only on a thread whose t_counting flag is set. Positive
// controls prove that calls made inside the library are seen. Under ASan/TSan the sanitizer owns
// these symbols, so counting is compiled out there and only the stream's behaviour is checked.
#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "emomix/emomix.h"
#include "harness.hpp"
#include "tiny_voice.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EMX_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define EMX_TEST_SANITIZED 1
#endif
#endif
#ifndef EMX_TEST_SANITIZED
#define EMX_TEST_SANITIZED 0
#endif

// --- counting allocations and locks on one thread ------------------------------------------------

namespace {
thread_local bool t_counting = false;
std::atomic<long> g_news{0}, g_mallocs{0}, g_locks{0};

struct Counts {
  long news, mallocs, locks;
};
Counts counts() {
  return {g_news.load(), g_mallocs.load(), g_locks.load()};
}
Counts operator-(const Counts& a, const Counts& b) {
  return {a.news - b.news, a.mallocs - b.mallocs, a.locks - b.locks};
}
}  // namespace

#if !EMX_TEST_SANITIZED
// default visibility: the executable must export these for libemomix.so's calls to land here
#define EMX_TEST_EXPORT __attribute__((visibility("default")))

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);

EMX_TEST_EXPORT void* malloc(std::size_t n) {
  if (t_counting) g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
EMX_TEST_EXPORT void* calloc(std::size_t n, std::size_t size) {
  if (t_counting) g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
EMX_TEST_EXPORT void* realloc(void* p, std::size_t n) {
  if (t_counting) g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
EMX_TEST_EXPORT void free(void* p) {
  __libc_free(p);
}
}

namespace {
using LockFn = int (*)(pthread_mutex_t*);
std::atomic<LockFn> g_real_lock{nullptr}, g_real_trylock{nullptr};

LockFn real(std::atomic<LockFn>& slot, const char* name) {
  LockFn f = slot.load(std::memory_order_acquire);
  if (f == nullptr) {  // no function-local static: its guard could lock
    f = reinterpret_cast<LockFn>(dlsym(RTLD_NEXT, name));
    if (f == nullptr) std::abort();
    slot.store(f, std::memory_order_release);
  }
  return f;
}

void* counted_new(std::size_t n) {
  if (t_counting) g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = __libc_malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_new_aligned(std::size_t n, std::align_val_t a) {
  if (t_counting) g_news.fetch_add(1, std::memory_order_relaxed);
  void* p = nullptr;
  if (posix_memalign(&p, std::max(sizeof(void*), static_cast<std::size_t>(a)), n ? n : 1) != 0)
    throw std::bad_alloc();
  return p;
}
}  // namespace

extern "C" EMX_TEST_EXPORT int pthread_mutex_lock(pthread_mutex_t* m) {
  if (t_counting) g_locks.fetch_add(1, std::memory_order_relaxed);
  return real(g_real_lock, "pthread_mutex_lock")(m);
}
extern "C" EMX_TEST_EXPORT int pthread_mutex_trylock(pthread_mutex_t* m) {
  if (t_counting) g_locks.fetch_add(1, std::memory_order_relaxed);
  return real(g_real_trylock, "pthread_mutex_trylock")(m);
}

void* operator new(std::size_t n) {
  return counted_new(n);
}
void* operator new[](std::size_t n) {
  return counted_new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return counted_new_aligned(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_new_aligned(n, a);
}
void operator delete(void* p) noexcept {
  __libc_free(p);
}
void operator delete[](void* p) noexcept {
  __libc_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  __libc_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  __libc_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  __libc_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  __libc_free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  __libc_free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  __libc_free(p);
}
#endif  // !EMX_TEST_SANITIZED

// --- fixtures
// -------------------------------------------------------------------------------------

namespace {

std::string g_shipped;  // voices/default (argv[1])

void need_shipped_voice() {
  if (g_shipped.empty() || fixture::file_size(g_shipped + "/voice.json") < 0)
    SKIP("no shipped voice: pass voices/default as the first argument");
}

#define EMX_OK_(call) REQUIRE((call) == EMX_OK)

emx_voice* load(const std::string& dir) {
  emx_voice* v = nullptr;
  const emx_result r = emx_voice_load(dir.c_str(), nullptr, &v);
  if (r != EMX_OK) std::fprintf(stderr, "emx_voice_load(%s): %s\n", dir.c_str(), emx_last_error());
  REQUIRE(r == EMX_OK && v != nullptr);
  return v;
}

// The tiny voice (written once per process, removed at exit).
const std::string& tiny_dir() {
  static const struct Dir {
    std::string path = fixture::write_tiny_voice(g_shipped + "/voice.json");
    ~Dir() { fixture::remove_tiny_voice(path); }
  } dir;
  return dir.path;
}

// The shipped voice for realistic loads; the tiny one in sanitizer builds, where it would be slow.
std::string load_voice_dir() {
  return EMX_TEST_SANITIZED ? tiny_dir() : g_shipped;
}

emx_generation_config line_config(const emx_voice* voice, int steps, std::uint64_t seed) {
  emx_generation_config c;
  emx_generation_config_default(voice, &c);
  c.steps = steps;
  c.seed = seed;
  return c;
}

emx_stream_stats stats_of(const emx_stream* s) {
  emx_stream_stats st;
  st.struct_size = sizeof st;
  REQUIRE(emx_stream_stats_get(s, &st) == EMX_OK);
  return st;
}

}  // namespace

// --- a: the audio thread's read ------------------------------------------------------------------

TEST(stream_read_never_allocates_or_locks) {
  need_shipped_voice();
  emx_voice* voice = load(load_voice_dir());
  emx_character* npc = nullptr;
  EMX_OK_(emx_character_create(voice, nullptr, &npc));
  EMX_OK_(emx_character_set_emotion(npc, "happy", 1.0));
  emx_stream* stream = nullptr;
  EMX_OK_(emx_stream_create(npc, nullptr, &stream));
  const char* lines[] = {"Ten gold coins, as promised.", "The bridge is out, go around.",
                         "Who goes there?", "Stay close to the fire tonight."};
  for (int i = 0; i < 4; ++i) {
    const emx_generation_config c = line_config(voice, 2, 100 + i);
    EMX_OK_(emx_stream_queue(stream, lines[i], &c));
  }

  // The consumer: an audio thread reading 10,000 small blocks while the producer renders.
  constexpr int kCalls = 10000;
  constexpr std::size_t kBlock = 64;
  Counts own{}, library{}, window{};
  long audio_calls = 0, silent_calls = 0, end_calls = 0, other = 0;
  std::uint64_t samples = 0;
  double window_ms = 0;
  std::thread audio([&] {
    std::vector<float> out(kBlock);  // before counting starts
    emx_weight mix[4];
    std::size_t n_mix = 0;
    double intensity = 0;
    std::mutex m;
    volatile void* sink = nullptr;
    // positive controls: this thread's own calls, then calls made inside libemomix.so
    Counts before = counts();
    t_counting = true;
    sink = std::malloc(16);
    std::free(const_cast<void*>(sink));
    int* p = new int(1);
    sink = p;
    delete p;
    m.lock();
    m.unlock();
    t_counting = false;
    own = counts() - before;
    before = counts();
    t_counting = true;
    (void)emx_character_mix(npc, mix, 4, &n_mix, &intensity);  // a vector, the emotion lock
    t_counting = false;
    library = counts() - before;

    before = counts();
    const auto t0 = std::chrono::steady_clock::now();
    t_counting = true;
    for (int i = 0; i < kCalls; ++i) {
      std::size_t got = 0;
      const emx_result r = emx_stream_read(stream, out.data(), kBlock, &got);
      if (r == EMX_END)
        ++end_calls;
      else if (r != EMX_OK)
        ++other;
      else if (got > 0)
        ++audio_calls;
      else
        ++silent_calls;
      samples += got;
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    t_counting = false;
    window_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    window = counts() - before;
  });
  audio.join();
  const emx_stream_stats during = stats_of(stream);

  // control_own / control_library: [allocations, mallocs, locks] of the positive controls
  std::printf(
      "{\"case\": \"stream_read\", \"counting\": %s, \"calls\": %d, \"block\": %zu, "
      "\"window_ms\": %.1f, \"audio_calls\": %ld, \"silent_calls\": %ld, "
      "\"end_calls\": %ld, \"samples\": %llu, \"underruns\": %llu, "
      "\"allocations\": %ld, \"mallocs\": %ld, \"locks\": %ld, "
      "\"control_own\": [%ld, %ld, %ld], \"control_library\": [%ld, %ld, %ld]}\n",
      EMX_TEST_SANITIZED ? "false" : "true", kCalls, kBlock, window_ms, audio_calls, silent_calls,
      end_calls, static_cast<unsigned long long>(samples),
      static_cast<unsigned long long>(during.underruns), window.news, window.mallocs, window.locks,
      own.news, own.mallocs, own.locks, library.news, library.mallocs, library.locks);
  std::fflush(stdout);
  CHECK(other == 0);
  CHECK(audio_calls > 0);       // the reads overlapped the rendering
  CHECK(during.underruns > 0);  // the first reads came before the first block
  if (!EMX_TEST_SANITIZED) {
    CHECK(own.news >= 1 && own.mallocs >= 1 && own.locks >= 1);  // the counters count
    CHECK(library.news >= 1 && library.locks >= 1);              // ... inside libemomix.so too
    CHECK(window.news == 0);
    CHECK(window.mallocs == 0);
    CHECK(window.locks == 0);
  }

  // interrupt: once audio is waiting, interrupt; then only silence, and the end
  const emx_generation_config c = line_config(voice, 2, 7);
  EMX_OK_(emx_stream_queue(stream, "One more thing before you go.", &c));
  EMX_OK_(emx_stream_queue(stream, "And another.", &c));
  std::vector<float> out(256);
  std::size_t got = 0;
  for (int i = 0; i < 20000 && got == 0; ++i) {
    REQUIRE(emx_stream_read(stream, out.data(), 1, &got) == EMX_OK);
    if (got == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(got == 1);
  EMX_OK_(emx_stream_interrupt(stream));
  int silent_ends = 0;
  for (int i = 0; i < 25; ++i) {
    std::fill(out.begin(), out.end(), 1.0f);
    got = 1;
    const emx_result r = emx_stream_read(stream, out.data(), out.size(), &got);
    silent_ends += r == EMX_END && got == 0 &&
                   std::all_of(out.begin(), out.end(), [](float v) { return v == 0.0f; });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a late chunk would land here
  }
  CHECK(silent_ends == 25);
  CHECK(stats_of(stream).queued_lines == 0);

  // the stream plays again after an interrupt
  EMX_OK_(emx_stream_queue(stream, "Back again.", &c));
  std::uint64_t heard = 0;
  emx_result r = EMX_OK;
  for (int i = 0; i < 200000; ++i) {
    r = emx_stream_read(stream, out.data(), out.size(), &got);
    heard += got;
    if (r == EMX_END) break;
    if (got == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  CHECK(r == EMX_END && heard > 0);
  CHECK(stats_of(stream).last_error == EMX_OK);

  // stop: every later call but stats and free answers EMX_ERROR_STOPPED
  EMX_OK_(emx_stream_queue(stream, "Never heard.", &c));
  EMX_OK_(emx_stream_stop(stream));
  CHECK(emx_stream_read(stream, out.data(), out.size(), &got) == EMX_ERROR_STOPPED);
  CHECK(emx_stream_queue(stream, "Hello.", &c) == EMX_ERROR_STOPPED);
  CHECK(emx_stream_interrupt(stream) == EMX_ERROR_STOPPED);
  CHECK(emx_stream_stop(stream) == EMX_OK);
  emx_stream_free(stream);
  emx_character_free(npc);
  emx_voice_free(voice);
}

// --- b: every object created, used and freed, many times (ASan/LSan, valgrind)
// --------------------

TEST(create_use_destroy_loop_frees_everything) {
  need_shipped_voice();
  const fixture::TinyVoice bytes = fixture::tiny_voice(g_shipped + "/voice.json");
  const int rounds = std::getenv("EMX_LOOP_ROUNDS") ? std::atoi(std::getenv("EMX_LOOP_ROUNDS")) : 3;
  for (int round = 0; round < rounds; ++round) {
    emx_voice *voice = nullptr, *memory_voice = nullptr;
    emx_voice_config vc;
    emx_voice_config_default(&vc);
    vc.verify_hashes = round % 2;
    EMX_OK_(emx_voice_load(tiny_dir().c_str(), &vc, &voice));
    const emx_voice_file files[] = {
        {"voice.json", bytes.voice_json.data(), bytes.voice_json.size()},
        {"weights.safetensors", bytes.weights.data(), bytes.weights.size()}};
    EMX_OK_(emx_voice_load_memory(files, 2, nullptr, &memory_voice));
    const char* name = nullptr;
    EMX_OK_(emx_voice_name(memory_voice, &name));
    CHECK(std::string(name) == "tiny");
    emx_voice_free(memory_voice);

    emx_character_config cc;
    emx_character_config_default(&cc);
    cc.n_speakers = 2;
    EMX_OK_(emx_weight_set(&cc.speakers[0], "spk0", 1.0));
    EMX_OK_(emx_weight_set(&cc.speakers[1], "spk1", 3.0));
    emx_character* npc = nullptr;
    EMX_OK_(emx_character_create(voice, &cc, &npc));
    emx_weight target[2];
    EMX_OK_(emx_weight_set(&target[0], "sad", 1.0));
    EMX_OK_(emx_weight_set(&target[1], "happy", 0.5));
    EMX_OK_(emx_character_transition_to(npc, target, 2, 1.2, 0.5, EMX_CURVE_EASE));
    EMX_OK_(emx_character_advance(npc, 0.1));
    // errors write this thread's message (a string that must not leak either)
    CHECK(emx_character_set_emotion(npc, "furious", 1.0) == EMX_ERROR_UNKNOWN_EMOTION);
    CHECK(emx_character_say_begin(npc, "\xff\xfe", nullptr, nullptr) == EMX_ERROR_NULL_ARGUMENT);
    emx_line* bad = nullptr;
    CHECK(emx_character_say_begin(npc, "\xff\xfe", nullptr, &bad) == EMX_ERROR_BAD_TEXT);

    const emx_generation_config c = line_config(voice, 2, round);
    emx_line* line = nullptr;
    EMX_OK_(emx_character_say_begin(npc, "Ten gold coins, as promised.", &c, &line));
    std::vector<float> block(300);
    std::size_t got = 0, total = 0, length = 0;
    EMX_OK_(emx_line_length(line, &length));
    while (emx_line_read(line, block.data(), block.size(), &got) == EMX_OK)
      total += got;
    CHECK(total == length);
    emx_line_free(line);
    // a line half read, its character freed first: the line keeps the character alive
    EMX_OK_(emx_character_say_begin(npc, "Who goes there?", &c, &line));
    EMX_OK_(emx_line_read(line, block.data(), block.size(), &got));

    emx_audio audio{};
    EMX_OK_(emx_character_say(npc, "Stay close.", &c, &audio));
    CHECK(audio.n_samples > 0);
    emx_audio_free(&audio);
    emx_generation_config whole = c;
    whole.n_emotions = 1;
    EMX_OK_(emx_weight_set(&whole.emotions[0], "happy", 1.0));
    EMX_OK_(emx_voice_synthesize(voice, "Fine.", &whole, 1, &audio));
    emx_audio_free(&audio);

    emx_stream* stream = nullptr;
    emx_stream_config sc;
    emx_stream_config_default(&sc);
    sc.capacity_samples = 4096;  // small: the producer waits on a full ring
    EMX_OK_(emx_stream_create(npc, &sc, &stream));
    EMX_OK_(emx_stream_queue(stream, "The bridge is out.", &c));
    EMX_OK_(emx_stream_queue(stream, "Go around.", &c));
    for (int i = 0; i < 20; ++i) {
      (void)emx_stream_read(stream, block.data(), block.size(), &got);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EMX_OK_(emx_stream_interrupt(stream));
    EMX_OK_(emx_stream_queue(stream, "Still here.", &c));
    emx_character_free(npc);  // the stream and the line hold it
    emx_voice_free(voice);    // ... and it holds the voice
    emx_stream_free(stream);  // while its producer may still be rendering
    while (emx_line_read(line, block.data(), block.size(), &got) == EMX_OK) {
    }
    emx_line_free(line);
  }
}

// --- c: eight characters on eight threads, one voice
// -----------------------------------------------

namespace {

struct Part {
  const char* text;
  const char* emotion;
  double intensity;
  std::uint64_t seed;
  int threads;
};

const Part kParts[8] = {
    {"Ten gold coins, as promised.", "happy", 1.0, 1, 1},
    {"The bridge is out.", "sad", 0.7, 22, 2},
    {"Who goes there?", "neutral", 1.0, 333, 1},
    {"Stay close to the fire.", "happy", 1.4, 4444, 2},
    {"I have seen worse storms.", "sad", 1.2, 5, 1},
    {"Run, now!", "happy", 0.3, 66, 1},
    {"The king is dead.", "sad", 1.0, 777, 2},
    {"Fine weather for a walk.", "neutral", 0.5, 8, 1},
};

// One part on `voice`: a new character with the part's emotion; its line via emx_character_say
// (whole) or read in uneven blocks with emx_line_read (!whole).
std::vector<float> speak(const emx_voice* voice, const Part& p, bool whole, int steps) {
  emx_character_config cc;
  emx_character_config_default(&cc);
  cc.threads = p.threads;
  emx_character* ch = nullptr;
  std::vector<float> out;
  if (emx_character_create(voice, &cc, &ch) != EMX_OK) return out;
  emx_generation_config c;
  emx_generation_config_default(voice, &c);
  c.steps = steps;
  c.seed = p.seed;
  if (emx_character_set_emotion(ch, p.emotion, p.intensity) == EMX_OK) {
    if (whole) {
      emx_audio a{};
      if (emx_character_say(ch, p.text, &c, &a) == EMX_OK)
        out.assign(a.samples, a.samples + a.n_samples);
      emx_audio_free(&a);
    } else {
      emx_line* line = nullptr;
      if (emx_character_say_begin(ch, p.text, &c, &line) == EMX_OK) {
        float block[333];
        std::size_t got = 0;
        while (emx_line_read(line, block, 333, &got) == EMX_OK)
          out.insert(out.end(), block, block + got);
        emx_line_free(line);
      }
    }
  }
  emx_character_free(ch);
  return out;
}

}  // namespace

TEST(characters_on_threads_sharing_a_voice_match_each_alone) {
  need_shipped_voice();
  emx_voice* voice = load(load_voice_dir());
  const int steps = 2;
  std::vector<std::vector<float>> alone(8), together(8);
  for (int i = 0; i < 8; ++i)
    alone[i] = speak(voice, kParts[i], true, steps);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < 8)
        std::this_thread::yield();  // start together
      together[i] = speak(voice, kParts[i], false, steps);
    });
  }
  for (std::thread& t : threads)
    t.join();
  emx_voice_free(voice);
  std::size_t samples = 0;
  int identical = 0;
  for (int i = 0; i < 8; ++i) {
    CHECK(!alone[i].empty());
    const bool same =
        alone[i].size() == together[i].size() &&
        std::memcmp(alone[i].data(), together[i].data(), alone[i].size() * sizeof(float)) == 0;
    if (!same) {
      std::fprintf(stderr, "character %d: %zu samples alone, %zu on a thread, not identical\n", i,
                   alone[i].size(), together[i].size());
    }
    CHECK(same);
    identical += same;
    samples += alone[i].size();
  }
  for (int i = 1; i < 8; ++i)
    CHECK(alone[i] != alone[0]);  // the parts differ
  std::printf("{\"case\": \"threads\", \"characters\": 8, \"identical\": %d, \"samples\": %zu}\n",
              identical, samples);
}

int main(int argc, char** argv) {
  if (argc > 1) g_shipped = argv[1];
  return harness::run(argc - 1, argv + 1);
}
