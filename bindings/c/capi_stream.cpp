// emx_stream: a character's queued lines rendered by a producer thread into an AudioRing that the
// engine's audio thread drains with emx_stream_read (lock-free, allocation-free, never blocks).
//
// The producer takes lines from the queue under `mutex`, reads each CharacterLine in chunks of
// kChunk samples and writes them into the ring under the same mutex, so that an interrupt (which
// takes the mutex, flushes the ring and clears the queue) lands between two chunks: after it, no
// audio of the dropped lines reaches the ring. When the ring is full the producer sleeps briefly
// (the consumer never signals: signalling could block the audio thread).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>
#include <vector>

#include "capi_internal.hpp"
#include "emomix/audio_ring.hpp"

using namespace emomix;
using namespace emomix::capi;

namespace {

constexpr std::size_t kChunk = 1024;  // samples the producer moves per step
constexpr std::uint32_t kDefaultQueued = 16;

struct QueuedLine {
  std::string text;
  GenerationConfig config;
};

}  // namespace

struct emx_stream {
  std::shared_ptr<Character> character;
  std::uint32_t max_queued = kDefaultQueued;
  std::unique_ptr<AudioRing> ring;
  std::thread producer;
  std::mutex mutex;              // queue, stop, the ring's write side
  std::condition_variable wake;  // the producer waits here for lines
  std::deque<QueuedLine> queue;
  bool stop = false;
  std::uint64_t epoch = 0;  // interrupts so far
  std::atomic<std::uint32_t> pending{0};  // lines queued or being made
  std::atomic<std::uint64_t> samples_read{0}, underruns{0};
  std::atomic<std::int32_t> last_error{EMX_OK};
  std::atomic<bool> stopped{false};

  void run() noexcept;
  void halt() noexcept;
};

void emx_stream::run() noexcept {
  std::vector<float> chunk(kChunk);
  for (;;) {
    QueuedLine item;
    std::uint64_t my_epoch;
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return stop || !queue.empty(); });
      if (stop) return;
      item = std::move(queue.front());
      queue.pop_front();
      my_epoch = epoch;
    }
    std::unique_ptr<CharacterLine> line;
    const emx_result r = guard([&] {
      line = std::make_unique<CharacterLine>(character, item.text, item.config);
      return EMX_OK;
    });
    bool dropped = false;
    while (r == EMX_OK && !dropped) {
      std::size_t got = 0;
      const emx_result rr = guard([&] {
        got = line->read(chunk.data(), kChunk);
        return EMX_OK;
      });
      if (rr != EMX_OK) {
        last_error.store(rr);
        break;
      }
      if (got == 0) break;
      std::size_t at = 0;
      while (at < got) {
        std::unique_lock<std::mutex> lock(mutex);
        if (stop) return;
        if (epoch != my_epoch) {
          dropped = true;
          break;
        }
        at += ring->write(chunk.data() + at, got - at);
        if (at < got) {
          lock.unlock();
          std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the ring is full
        }
      }
    }
    if (r != EMX_OK) last_error.store(r);
    std::lock_guard<std::mutex> lock(mutex);
    if (epoch == my_epoch && pending.load() > 0) pending.fetch_sub(1);
  }
}

void emx_stream::halt() noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stop = true;
    queue.clear();
    pending.store(0);
  }
  wake.notify_all();
  if (producer.joinable()) producer.join();
  stopped.store(true, std::memory_order_release);
}

extern "C" {

void emx_stream_config_default(emx_stream_config* config) {
  if (config == nullptr) return;
  config->struct_size = sizeof(emx_stream_config);
  config->capacity_samples = 0;
  config->max_queued_lines = 0;
}

emx_result emx_stream_create(emx_character* character, const emx_stream_config* config,
                             emx_stream** out) {
  return guard([&] {
    need(character, "character");
    need(out, "out");
    emx_stream_config c;
    emx_stream_config_default(&c);
    if (config != nullptr) {
      check_size(config, "emx_stream_config");
      c = *config;
    }
    const std::size_t rate =
        static_cast<std::size_t>(character->character->model().config().audio.sample_rate);
    const std::size_t capacity = c.capacity_samples ? c.capacity_samples : 2 * rate;
    if (capacity < kChunk) {
      fail(EMX_ERROR_INVALID_ARGUMENT, "emx_stream_config.capacity_samples is " +
                                           std::to_string(capacity) + "; give at least " +
                                           std::to_string(kChunk) + " (or 0 for 2 s)");
    }
    auto s = std::make_unique<emx_stream>();
    s->character = character->character;
    s->max_queued = c.max_queued_lines ? c.max_queued_lines : kDefaultQueued;
    s->ring = std::make_unique<AudioRing>(capacity);
    emx_stream* raw = s.get();
    s->producer = std::thread([raw] { raw->run(); });
    *out = s.release();
    return EMX_OK;
  });
}

emx_result emx_stream_queue(emx_stream* stream, const char* text,
                            const emx_generation_config* config) {
  return guard([&] {
    need(stream, "stream");
    if (stream->stopped.load(std::memory_order_acquire)) {
      fail(EMX_ERROR_STOPPED, "the stream was stopped; create a new one");
    }
    const std::string_view t = checked_text(text);
    QueuedLine item{std::string(t), line_config(stream->character->model(), config)};
    // the text and config are checked now, not when the line's turn comes
    validate_generation_config(item.config, stream->character->model().voice());
    if (item.config.preset == static_cast<std::int32_t>(Preset::intensity)) {
      fail(EMX_ERROR_INVALID_ARGUMENT, "preset: a character's lines use the emomix or blend "
                                       "preset (its emotion state sets the intensity)");
    }
    (void)text::normalize(text::decode_utf8(t));
    {
      std::lock_guard<std::mutex> lock(stream->mutex);
      if (stream->stop) fail(EMX_ERROR_STOPPED, "the stream was stopped; create a new one");
      if (stream->queue.size() >= stream->max_queued) {
        fail(EMX_ERROR_BUSY, "the stream already has " + std::to_string(stream->queue.size()) +
                                 " lines waiting (max_queued_lines); wait for some to play");
      }
      stream->queue.push_back(std::move(item));
      stream->pending.fetch_add(1);
    }
    stream->wake.notify_one();
    return EMX_OK;
  });
}

emx_result emx_stream_interrupt(emx_stream* stream) {
  return guard([&] {
    need(stream, "stream");
    if (stream->stopped.load(std::memory_order_acquire)) {
      fail(EMX_ERROR_STOPPED, "the stream was stopped; create a new one");
    }
    std::lock_guard<std::mutex> lock(stream->mutex);
    stream->queue.clear();
    ++stream->epoch;
    stream->pending.store(0);
    stream->ring->flush();
    return EMX_OK;
  });
}

emx_result emx_stream_read(emx_stream* stream, float* out, size_t n, size_t* written) {
  // No guard: nothing here throws, allocates, locks or blocks.
  if (stream == nullptr || written == nullptr || (out == nullptr && n > 0)) {
    return EMX_ERROR_NULL_ARGUMENT;  // (no message: writing it could allocate)
  }
  if (stream->stopped.load(std::memory_order_acquire)) return EMX_ERROR_STOPPED;
  const std::size_t got = stream->ring->read(out, n);
  std::fill(out + got, out + n, 0.0f);
  *written = got;
  stream->samples_read.fetch_add(got, std::memory_order_relaxed);
  const bool waiting = stream->pending.load(std::memory_order_acquire) > 0;
  if (got < n && waiting) stream->underruns.fetch_add(1, std::memory_order_relaxed);
  if (got == 0 && !waiting && stream->ring->available() == 0) return EMX_END;
  return EMX_OK;
}

emx_result emx_stream_stats_get(const emx_stream* stream, emx_stream_stats* stats) {
  return guard([&] {
    need(stream, "stream");
    need(stats, "stats");
    check_size(stats, "emx_stream_stats");
    stats->samples_read = stream->samples_read.load();
    stats->underruns = stream->underruns.load();
    stats->queued_lines = stream->pending.load();
    stats->last_error = stream->last_error.load();
    return EMX_OK;
  });
}

emx_result emx_stream_stop(emx_stream* stream) {
  return guard([&] {
    need(stream, "stream");
    stream->halt();
    return EMX_OK;
  });
}

void emx_stream_free(emx_stream* stream) {
  if (stream == nullptr) return;
  stream->halt();
  delete stream;
}

}  // extern "C"
