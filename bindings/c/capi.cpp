// The C ABI (emomix.h) over the native runtime: handles, result codes, the thread-local error
// message, and the stream's lock-free ring. No C++ exception leaves a function here: each body
// runs inside guard(), which turns every exception into an emx_result and a message.
#define EMOMIX_BUILDING_LIBRARY 1
#include "emomix/emomix.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <utility>
#include <vector>

#include "emomix/character.hpp"
#include "emomix/generation.hpp"
#include "emomix/model.hpp"
#include "emomix/session.hpp"
#include "emomix/text.hpp"
#include "emomix/version.hpp"
#include "emomix/voice.hpp"
#include "capi_internal.hpp"

using namespace emomix;

// --- the C structs are the C++ ones -------------------------------------------------------------

static_assert(EMX_NAME_CAPACITY == kGenerationNameCapacity, "name capacity");
static_assert(EMX_MAX_EMOTIONS == kGenerationMaxEmotions, "emotions");
static_assert(EMX_MAX_KEYFRAMES == kGenerationMaxKeyframes, "keyframes");
static_assert(EMX_MAX_SPEAKERS == kGenerationMaxSpeakers, "speakers");
static_assert(sizeof(emx_weight) == sizeof(GenerationWeight), "emx_weight layout");
static_assert(offsetof(emx_weight, weight) == offsetof(GenerationWeight, weight), "emx_weight");
static_assert(sizeof(emx_keyframe) == sizeof(GenerationKeyframe), "emx_keyframe layout");
static_assert(sizeof(emx_generation_config) == sizeof(GenerationConfig), "config layout");
#define EMX_SAME_OFFSET(field)                                                               \
  static_assert(offsetof(emx_generation_config, field) == offsetof(GenerationConfig, field), \
                "emx_generation_config." #field)
EMX_SAME_OFFSET(struct_size);
EMX_SAME_OFFSET(n_emotions);
EMX_SAME_OFFSET(emotions);
EMX_SAME_OFFSET(n_keyframes);
EMX_SAME_OFFSET(keyframes);
EMX_SAME_OFFSET(intensity);
EMX_SAME_OFFSET(emotion_scale);
EMX_SAME_OFFSET(n_speakers);
EMX_SAME_OFFSET(speakers);
EMX_SAME_OFFSET(steps);
EMX_SAME_OFFSET(solver);
EMX_SAME_OFFSET(preset);
EMX_SAME_OFFSET(temperature);
EMX_SAME_OFFSET(k_max);
EMX_SAME_OFFSET(k_min);
EMX_SAME_OFFSET(length_scale);
EMX_SAME_OFFSET(seed);
#undef EMX_SAME_OFFSET
static_assert(static_cast<int>(Curve::step) == EMX_CURVE_STEP, "curves");
static_assert(static_cast<int>(Preset::intensity) == EMX_PRESET_INTENSITY, "presets");

namespace emomix::capi {

thread_local std::string t_last_error;

}  // namespace emomix::capi

using namespace emomix::capi;

namespace {

std::vector<std::string> emotion_list(const Model& model) { return emotion_names(model.voice()); }

// normalise_weights with the caller's argument named in errors instead of a config field.
template <class F>
NormalisedMix named_mix(const char* function, F&& normalise) {
  try {
    return normalise();
  } catch (const GenerationConfigError& e) {
    std::string message = e.what();
    const std::string prefix = "generation config: ";
    if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
    fail(generation_result(e.code()), std::string(function) + ": " + message);
  }
}

NormalisedMix emotion_mix(const Model& model, const emx_weight* weights, std::size_t n,
                          const char* field) {
  need(weights, field);
  if (n < 1 || n > EMX_MAX_EMOTIONS) {
    fail(EMX_ERROR_INVALID_ARGUMENT, std::string(field) + ": give 1 to " +
                                         std::to_string(EMX_MAX_EMOTIONS) + " weights, got " +
                                         std::to_string(n));
  }
  return named_mix(field, [&] {
    return normalise_weights(reinterpret_cast<const GenerationWeight*>(weights),
                             static_cast<std::uint32_t>(n), kGenerationMaxEmotions,
                             emotion_list(model), "weights", GenerationErrorCode::unknown_emotion,
                             "emotion");
  });
}

NormalisedMix speaker_mix(const Model& model, const emx_weight* weights, std::size_t n) {
  need(weights, "speakers");
  if (n < 1 || n > EMX_MAX_SPEAKERS) {
    fail(EMX_ERROR_INVALID_ARGUMENT, "speakers: give 1 to " + std::to_string(EMX_MAX_SPEAKERS) +
                                         " weights, got " + std::to_string(n));
  }
  return named_mix("speakers", [&] {
    return normalise_weights(reinterpret_cast<const GenerationWeight*>(weights),
                             static_cast<std::uint32_t>(n), kGenerationMaxSpeakers,
                             model.voice().speakers, "speakers",
                             GenerationErrorCode::unknown_speaker, "speaker");
  });
}

emx_result copy_audio(const std::vector<float>& samples, std::uint32_t rate, emx_audio* out) {
  float* data = new float[samples.empty() ? 1 : samples.size()];
  std::copy(samples.begin(), samples.end(), data);
  out->samples = data;
  out->n_samples = samples.size();
  out->sample_rate = rate;
  return EMX_OK;
}

// The value of an enum argument as the C caller passed it. A C enum holds any int, but loading a
// value outside a C++ enum's range through the enum type is undefined: read its bytes instead.
template <class E>
int enum_value(const E& e) {
  static_assert(sizeof(E) == sizeof(int), "a C enum is an int");
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

emx_result make_voice(std::shared_ptr<const Model> model, emx_voice** out) {
  auto v = std::make_unique<emx_voice>();
  v->model = std::move(model);
  *out = v.release();
  return EMX_OK;
}

VoiceLoadOptions load_options(const emx_voice_config* config) {
  VoiceLoadOptions o;
  if (config != nullptr) {
    check_size(config, "emx_voice_config");
    o.verify_hashes = config->verify_hashes != 0;
  }
  return o;
}

}  // namespace

// --- results ------------------------------------------------------------------------------------

extern "C" {

const char* emx_result_string(emx_result r) {
  switch (enum_value(r)) {
    case EMX_OK: return "EMX_OK";
    case EMX_END: return "EMX_END";
    case EMX_ERROR_NULL_ARGUMENT: return "EMX_ERROR_NULL_ARGUMENT";
    case EMX_ERROR_STRUCT_SIZE: return "EMX_ERROR_STRUCT_SIZE";
    case EMX_ERROR_INVALID_ARGUMENT: return "EMX_ERROR_INVALID_ARGUMENT";
    case EMX_ERROR_UNKNOWN_EMOTION: return "EMX_ERROR_UNKNOWN_EMOTION";
    case EMX_ERROR_UNKNOWN_SPEAKER: return "EMX_ERROR_UNKNOWN_SPEAKER";
    case EMX_ERROR_BAD_WEIGHT: return "EMX_ERROR_BAD_WEIGHT";
    case EMX_ERROR_BAD_TEXT: return "EMX_ERROR_BAD_TEXT";
    case EMX_ERROR_BUSY: return "EMX_ERROR_BUSY";
    case EMX_ERROR_STOPPED: return "EMX_ERROR_STOPPED";
    case EMX_ERROR_VOICE_NOT_FOUND: return "EMX_ERROR_VOICE_NOT_FOUND";
    case EMX_ERROR_VOICE_INVALID: return "EMX_ERROR_VOICE_INVALID";
    case EMX_ERROR_NOT_BUILT: return "EMX_ERROR_NOT_BUILT";
    case EMX_ERROR_OUT_OF_MEMORY: return "EMX_ERROR_OUT_OF_MEMORY";
    case EMX_ERROR_INTERNAL: return "EMX_ERROR_INTERNAL";
  }
  return "EMX_ERROR_UNKNOWN_RESULT";
}

const char* emx_last_error(void) { return t_last_error.c_str(); }
const char* emx_version(void) { return version(); }
uint32_t emx_abi_version(void) { return EMX_ABI_VERSION; }

emx_result emx_weight_set(emx_weight* w, const char* name, double weight) {
  return guard([&] {
    need(w, "w");
    need(name, "name");
    const std::size_t n = std::strlen(name);
    if (n == 0 || n >= EMX_NAME_CAPACITY) {
      fail(EMX_ERROR_INVALID_ARGUMENT, "name '" + std::string(name) + "' has " +
                                           std::to_string(n) + " bytes; names have 1 to " +
                                           std::to_string(EMX_NAME_CAPACITY - 1));
    }
    std::memset(w->name, 0, sizeof w->name);
    std::memcpy(w->name, name, n);
    w->weight = weight;
    return EMX_OK;
  });
}

// --- voice --------------------------------------------------------------------------------------

void emx_voice_config_default(emx_voice_config* config) {
  if (config == nullptr) return;
  config->struct_size = sizeof(emx_voice_config);
  config->verify_hashes = 1;
}

emx_result emx_voice_load(const char* path, const emx_voice_config* config, emx_voice** out) {
  return guard([&] {
    need(path, "path");
    need(out, "out");
    const VoiceLoadOptions options = load_options(config);
    struct stat st;
    if (::stat(path, &st) != 0) {
      fail(EMX_ERROR_VOICE_NOT_FOUND,
           std::string(path) + ": no such voice bundle (a directory holding voice.json and "
                               "weights.safetensors); check the path");
    }
    return make_voice(Model::load(path, options), out);
  });
}

emx_result emx_voice_load_memory(const emx_voice_file* files, size_t n_files,
                                 const emx_voice_config* config, emx_voice** out) {
  return guard([&] {
    need(files, "files");
    need(out, "out");
    const VoiceLoadOptions options = load_options(config);
    std::vector<VoiceMemoryFile> list;
    for (std::size_t i = 0; i < n_files; ++i) {
      const std::string where = "files[" + std::to_string(i) + "]";
      if (files[i].path == nullptr) fail(EMX_ERROR_NULL_ARGUMENT, where + ".path is NULL");
      if (files[i].data == nullptr && files[i].size > 0) {
        fail(EMX_ERROR_NULL_ARGUMENT, where + ".data is NULL");
      }
      list.push_back(VoiceMemoryFile{
          files[i].path,
          std::string_view(static_cast<const char*>(files[i].data), files[i].size)});
    }
    return make_voice(Model::load_memory(list, options), out);
  });
}

void emx_voice_free(emx_voice* voice) { delete voice; }

emx_result emx_voice_name(const emx_voice* voice, const char** out) {
  return guard([&] {
    need(voice, "voice");
    need(out, "out");
    *out = voice->model->voice().name.c_str();
    return EMX_OK;
  });
}

emx_result emx_voice_sample_rate(const emx_voice* voice, uint32_t* out) {
  return guard([&] {
    need(voice, "voice");
    need(out, "out");
    *out = static_cast<uint32_t>(voice->model->config().audio.sample_rate);
    return EMX_OK;
  });
}

emx_result emx_voice_emotion_count(const emx_voice* voice, size_t* out) {
  return guard([&] {
    need(voice, "voice");
    need(out, "out");
    *out = voice->model->voice().emotions.size();
    return EMX_OK;
  });
}

emx_result emx_voice_emotion(const emx_voice* voice, size_t index, emx_emotion_info* info) {
  return guard([&] {
    need(voice, "voice");
    need(info, "info");
    check_size(info, "emx_emotion_info");
    const auto& emotions = voice->model->voice().emotions;
    if (index >= emotions.size()) {
      fail(EMX_ERROR_INVALID_ARGUMENT, "emotion index " + std::to_string(index) +
                                           " is out of range; the voice has " +
                                           std::to_string(emotions.size()) + " emotions");
    }
    const VoiceEmotion& e = emotions[index];
    info->name = e.name.c_str();
    info->valence = e.vad[0];
    info->arousal = e.vad[1];
    info->dominance = e.vad[2];
    return EMX_OK;
  });
}

emx_result emx_voice_speaker_count(const emx_voice* voice, size_t* out) {
  return guard([&] {
    need(voice, "voice");
    need(out, "out");
    *out = voice->model->voice().speakers.size();
    return EMX_OK;
  });
}

emx_result emx_voice_speaker(const emx_voice* voice, size_t index, const char** name) {
  return guard([&] {
    need(voice, "voice");
    need(name, "name");
    const auto& speakers = voice->model->voice().speakers;
    if (index >= speakers.size()) {
      fail(EMX_ERROR_INVALID_ARGUMENT, "speaker index " + std::to_string(index) +
                                           " is out of range; the voice has " +
                                           std::to_string(speakers.size()) + " speakers");
    }
    *name = speakers[index].c_str();
    return EMX_OK;
  });
}

emx_result emx_voice_default_speaker(const emx_voice* voice, const char** name) {
  return guard([&] {
    need(voice, "voice");
    need(name, "name");
    *name = voice->model->voice().default_speaker.c_str();
    return EMX_OK;
  });
}

// --- generation config and whole lines ------------------------------------------------------------

emx_result emx_generation_config_default(const emx_voice* voice, emx_generation_config* config) {
  return guard([&] {
    need(voice, "voice");
    need(config, "config");
    const GenerationConfig c = default_generation_config(voice->model->voice());
    std::memcpy(config, &c, sizeof c);
    return EMX_OK;
  });
}

void emx_audio_free(emx_audio* audio) {
  if (audio == nullptr) return;
  delete[] audio->samples;
  audio->samples = nullptr;
  audio->n_samples = 0;
}

emx_result emx_voice_synthesize(const emx_voice* voice, const char* text,
                                const emx_generation_config* config, int32_t threads,
                                emx_audio* out) {
  return guard([&] {
    need(voice, "voice");
    need(config, "config");
    need(out, "out");
    const std::string_view t = checked_text(text);
    if (threads < 1 || threads > 256) {
      fail(EMX_ERROR_INVALID_ARGUMENT,
           "threads is " + std::to_string(threads) + "; give 1 to 256");
    }
    check_size(config, "emx_generation_config");
    GenerationConfig c;
    std::memcpy(&c, config, sizeof c);
    Session session(voice->model, threads);
    const SynthesisOutput r = session.synthesize_text(t, c);
    return copy_audio(r.audio, static_cast<std::uint32_t>(voice->model->config().audio.sample_rate),
                      out);
  });
}

// --- character ----------------------------------------------------------------------------------

void emx_character_config_default(emx_character_config* config) {
  if (config == nullptr) return;
  std::memset(config, 0, sizeof *config);
  config->struct_size = sizeof(emx_character_config);
  config->n_speakers = 0;
  config->threads = 1;
  const LineOptions o;
  config->first_block_frames = o.first_block_frames;
  config->block_frames = o.block_frames;
  config->context_frames = o.context_frames;
  config->crossfade_frames = o.crossfade_frames;
  config->vocoder_chunk_frames = o.vocoder_chunk_frames;
}

emx_result emx_character_create(const emx_voice* voice, const emx_character_config* config,
                                emx_character** out) {
  return guard([&] {
    need(voice, "voice");
    need(out, "out");
    emx_character_config c;
    emx_character_config_default(&c);
    if (config != nullptr) {
      check_size(config, "emx_character_config");
      c = *config;
    }
    if (c.threads < 1 || c.threads > 256) {
      fail(EMX_ERROR_INVALID_ARGUMENT,
           "emx_character_config.threads is " + std::to_string(c.threads) + "; give 1 to 256");
    }
    LineOptions o;
    o.first_block_frames = c.first_block_frames;
    o.block_frames = c.block_frames;
    o.context_frames = c.context_frames;
    o.crossfade_frames = c.crossfade_frames;
    o.vocoder_chunk_frames = c.vocoder_chunk_frames;
    auto character = std::make_shared<Character>(voice->model, c.threads, o);
    if (c.n_speakers > 0) character->set_speakers(speaker_mix(*voice->model, c.speakers, c.n_speakers));
    auto handle = std::make_unique<emx_character>();
    handle->character = std::move(character);
    *out = handle.release();
    return EMX_OK;
  });
}

void emx_character_free(emx_character* character) { delete character; }

emx_result emx_character_set_speakers(emx_character* ch, const emx_weight* speakers, size_t n) {
  return guard([&] {
    need(ch, "character");
    ch->character->set_speakers(speaker_mix(ch->character->model(), speakers, n));
    return EMX_OK;
  });
}

emx_result emx_character_set_mix(emx_character* ch, const emx_weight* weights, size_t n) {
  return guard([&] {
    need(ch, "character");
    Character& c = *ch->character;
    c.emotion().set(emotion_mix(c.model(), weights, n, "emx_character_set_mix"), c.time());
    return EMX_OK;
  });
}

emx_result emx_character_set_emotion(emx_character* ch, const char* name, double intensity) {
  return guard([&] {
    need(ch, "character");
    need(name, "name");
    emx_weight w;
    const emx_result r = emx_weight_set(&w, name, 1.0);
    if (r != EMX_OK) fail(r, t_last_error);
    Character& c = *ch->character;
    const NormalisedMix mix = emotion_mix(c.model(), &w, 1, "emx_character_set_emotion");
    if (!std::isfinite(intensity) || intensity < 0 || intensity > kAlphaMax) {
      fail(EMX_ERROR_INVALID_ARGUMENT, "intensity is " + std::to_string(intensity) +
                                           "; it must be in [0, 1.5] (0 neutral, 1 the emotion, "
                                           "up to 1.5 exaggerated)");
    }
    const double now = c.time();
    c.emotion().set(mix, now);
    c.emotion().set_intensity(intensity, now);
    return EMX_OK;
  });
}

emx_result emx_character_set_intensity(emx_character* ch, double intensity) {
  return guard([&] {
    need(ch, "character");
    Character& c = *ch->character;
    c.emotion().set_intensity(intensity, c.time());
    return EMX_OK;
  });
}

emx_result emx_character_set_valence_arousal(emx_character* ch, double valence, double arousal) {
  return guard([&] {
    need(ch, "character");
    Character& c = *ch->character;
    c.emotion().set_valence_arousal(valence, arousal, c.time());
    return EMX_OK;
  });
}

emx_result emx_character_transition_to(emx_character* ch, const emx_weight* target, size_t n,
                                       double intensity, double seconds, emx_curve curve) {
  return guard([&] {
    need(ch, "character");
    Character& c = *ch->character;
    if (std::isnan(intensity)) {
      fail(EMX_ERROR_INVALID_ARGUMENT, "intensity is NaN; give 0 to 1.5, or < 0 to keep it");
    }
    const NormalisedMix mix = emotion_mix(c.model(), target, n, "emx_character_transition_to");
    c.emotion().transition_to(mix, intensity, seconds, static_cast<Curve>(enum_value(curve)),
                              c.time());
    return EMX_OK;
  });
}

emx_result emx_character_advance(emx_character* ch, double seconds) {
  return guard([&] {
    need(ch, "character");
    ch->character->advance(seconds);
    return EMX_OK;
  });
}

emx_result emx_character_time(const emx_character* ch, double* seconds) {
  return guard([&] {
    need(ch, "character");
    need(seconds, "seconds");
    *seconds = ch->character->time();
    return EMX_OK;
  });
}

emx_result emx_character_mix(const emx_character* ch, emx_weight* out, size_t capacity,
                             size_t* n, double* intensity) {
  return guard([&] {
    need(ch, "character");
    need(n, "n");
    if (capacity > 0) need(out, "out");
    const Character& c = *ch->character;
    const auto [w, a] = c.emotion().value_at(c.time());
    const auto& names = c.emotion().names();
    std::size_t count = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (!(w[i] > 0)) continue;
      if (count < capacity) {
        std::memset(out[count].name, 0, sizeof out[count].name);
        std::memcpy(out[count].name, names[i].data(),
                    std::min(names[i].size(), sizeof out[count].name - 1));
        out[count].weight = w[i];
      }
      ++count;
    }
    *n = count;
    if (intensity != nullptr) *intensity = a;
    return EMX_OK;
  });
}

emx_result emx_character_transitioning(const emx_character* ch, int32_t* out) {
  return guard([&] {
    need(ch, "character");
    need(out, "out");
    *out = ch->character->emotion().transitioning(ch->character->time()) ? 1 : 0;
    return EMX_OK;
  });
}

// --- lines --------------------------------------------------------------------------------------

emx_result emx_character_say_begin(emx_character* ch, const char* text,
                                   const emx_generation_config* config, emx_line** out) {
  return guard([&] {
    need(ch, "character");
    need(out, "out");
    const std::string_view t = checked_text(text);
    const GenerationConfig c = line_config(ch->character->model(), config);
    auto line = std::make_unique<emx_line>();
    line->line = std::make_unique<CharacterLine>(ch->character, t, c);
    *out = line.release();
    return EMX_OK;
  });
}

emx_result emx_line_read(emx_line* line, float* out, size_t max, size_t* written) {
  return guard([&] {
    need(line, "line");
    need(written, "written");
    if (max > 0) need(out, "out");
    if (line->busy.exchange(true, std::memory_order_acquire)) {
      fail(EMX_ERROR_BUSY, "emx_line_read: another thread is reading this line; a line is read "
                           "by one thread at a time");
    }
    struct Release {
      emx_line* l;
      ~Release() { l->busy.store(false, std::memory_order_release); }
    } release{line};
    if (line->line->done()) {
      *written = 0;
      return EMX_END;
    }
    *written = line->line->read(out, max);
    return EMX_OK;
  });
}

emx_result emx_line_length(const emx_line* line, size_t* samples) {
  return guard([&] {
    need(line, "line");
    need(samples, "samples");
    *samples = line->line->length();
    return EMX_OK;
  });
}

void emx_line_free(emx_line* line) { delete line; }

emx_result emx_character_say(emx_character* ch, const char* text,
                             const emx_generation_config* config, emx_audio* out) {
  return guard([&] {
    need(ch, "character");
    need(out, "out");
    const std::string_view t = checked_text(text);
    const GenerationConfig c = line_config(ch->character->model(), config);
    CharacterLine line(ch->character, t, c);
    std::vector<float> audio(line.length());
    std::size_t at = 0;
    while (at < audio.size()) {
      const std::size_t got = line.read(audio.data() + at, audio.size() - at);
      if (got == 0) break;
      at += got;
    }
    audio.resize(at);
    return copy_audio(audio,
                      static_cast<std::uint32_t>(ch->character->model().config().audio.sample_rate),
                      out);
  });
}

}  // extern "C"
