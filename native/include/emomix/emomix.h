/* emomix.h — the C ABI of emomix: emotional speech for game engines and desktop apps.
 *
 * One header, C99 (it also compiles as C++). Link with libemomix.so (`emomix config --lib` prints
 * its path, `emomix config --include` this header's folder). docs/c-api.md tells the life of a
 * line from the engine's side.
 *
 *     emx_voice *voice;  emx_character *npc;  emx_line *line;
 *     emx_voice_load("voices/default", NULL, &voice);
 *     emx_character_create(voice, NULL, &npc);
 *     emx_character_set_emotion(npc, "happy", 1.0);
 *     emx_character_say_begin(npc, "Ten gold coins, as promised.", NULL, &line);
 *     float block[220];  size_t got;
 *     while (emx_line_read(line, block, 220, &got) == EMX_OK) play(block, got);
 *     emx_line_free(line);  emx_character_free(npc);  emx_voice_free(voice);
 *
 * OBJECTS
 *   emx_voice      a loaded voice bundle (the networks' weights, emotions, speakers). Immutable;
 *                  share one between any number of characters and threads.
 *   emx_character  a speaker (or a blend of speakers) and an emotion state, on a voice. Its clock
 *                  (seconds) times emotion transitions: it advances by emx_character_advance and
 *                  by the audio its lines produce, so a run is deterministic.
 *   emx_line       one line being spoken, pulled with emx_line_read on the caller's thread.
 *   emx_stream     a character's lines rendered by a producer thread of the library's into a
 *                  lock-free ring that an engine's audio callback drains with emx_stream_read.
 *
 * RESULTS AND ERRORS
 *   Every function that can fail returns an emx_result: EMX_OK (0), EMX_END (1, a line or stream
 *   has no more audio), or a negative code. emx_result_string() names a code; emx_last_error()
 *   gives this thread's message of the last failed call (what was wrong, what to do). No C++
 *   exception ever crosses this boundary. Output arguments are written only on EMX_OK/EMX_END.
 *
 * OWNERSHIP
 *   The library frees what it allocates: each emx_<object>_create/load/begin has a matching
 *   emx_<object>_free, and emx_audio_free releases audio returned by emx_character_say. Freeing
 *   NULL is a no-op. Strings passed in are UTF-8, NUL-terminated and copied; the library keeps no
 *   pointer to caller memory after a call returns (emx_voice_load_memory copies the files too).
 *   Strings returned (names, messages) belong to the library: emx_voice names live as long as the
 *   voice, emx_last_error()'s until the next emomix call on the same thread.
 *   A character holds a reference to its voice, a line and a stream to their character: free
 *   them in any order (the voice's memory goes when the last user is freed).
 *
 * THREADS
 *   * emx_voice: every function may be called from any thread at any time.
 *   * emx_character: its setters (mix, intensity, valence/arousal, transitions, advance, speaker)
 *     may be called from any thread, also while its lines are being made; they take a short lock
 *     that is never held while audio is computed.
 *   * emx_line: one thread at a time (the one that reads it).
 *   * emx_stream: emx_stream_read from ONE audio thread; it never allocates, locks or blocks.
 *     The other stream functions from any other thread.
 *   Several characters on several threads sharing one voice make the same audio as each alone.
 *
 * VERSIONING
 *   Config structs start with `uint32_t struct_size`, set by their _default() initialiser to
 *   sizeof(the struct) of the caller's build. Fields are only ever appended; a call checks the
 *   size and answers EMX_ERROR_STRUCT_SIZE for one it does not know. EMX_ABI_VERSION changes
 *   only when that rule is broken.
 */
#ifndef EMOMIX_H
#define EMOMIX_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(EMOMIX_BUILDING_LIBRARY)
#define EMX_API __declspec(dllexport)
#else
#define EMX_API __declspec(dllimport)
#endif
#else
#define EMX_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define EMX_ABI_VERSION 1

/* ---- results -------------------------------------------------------------------------------- */

typedef enum emx_result {
  EMX_OK = 0,
  EMX_END = 1, /* no more audio: the line (or the stream's queue) is done */

  /* the caller broke the contract: -1 .. -99 */
  EMX_ERROR_NULL_ARGUMENT = -1,  /* a handle or pointer argument is NULL */
  EMX_ERROR_STRUCT_SIZE = -2,    /* a config's struct_size is not one this library knows */
  EMX_ERROR_INVALID_ARGUMENT = -3, /* a value out of its range (message names it) */
  EMX_ERROR_UNKNOWN_EMOTION = -4,  /* an emotion name the voice does not have */
  EMX_ERROR_UNKNOWN_SPEAKER = -5,  /* a speaker name the voice does not have */
  EMX_ERROR_BAD_WEIGHT = -6,     /* a weight negative, NaN or infinite, or all weights zero */
  EMX_ERROR_BAD_TEXT = -7,       /* text not UTF-8, empty, nothing to say, or too long */
  EMX_ERROR_BUSY = -8,           /* the object is in use (e.g. a second reader of one line) */
  EMX_ERROR_STOPPED = -9,        /* the stream was stopped */

  /* voice bundles: -100 .. -199 */
  EMX_ERROR_VOICE_NOT_FOUND = -100, /* no bundle at that path */
  EMX_ERROR_VOICE_INVALID = -101,   /* malformed, truncated, modified or inconsistent bundle */

  /* the library: -200 .. */
  EMX_ERROR_NOT_BUILT = -200,     /* a feature compiled out (e.g. text without libespeak-ng) */
  EMX_ERROR_OUT_OF_MEMORY = -201,
  EMX_ERROR_INTERNAL = -202       /* a bug: please report it with emx_last_error() */
} emx_result;

/* A short name of a code ("EMX_ERROR_UNKNOWN_EMOTION"); never NULL. */
EMX_API const char *emx_result_string(emx_result result);
/* This thread's message of the last failed call ("" when none). */
EMX_API const char *emx_last_error(void);
/* "1.2.3": the library's version. */
EMX_API const char *emx_version(void);
/* EMX_ABI_VERSION of the library (compare it with the header's). */
EMX_API uint32_t emx_abi_version(void);

/* ---- handles -------------------------------------------------------------------------------- */

typedef struct emx_voice emx_voice;
typedef struct emx_character emx_character;
typedef struct emx_line emx_line;
typedef struct emx_stream emx_stream;

/* ---- shared small types --------------------------------------------------------------------- */

#define EMX_NAME_CAPACITY 32 /* bytes of a name in a struct, NUL included */
#define EMX_MAX_EMOTIONS 16  /* (name, weight) pairs of one mix */
#define EMX_MAX_KEYFRAMES 8  /* keyframes of a trajectory */
#define EMX_MAX_SPEAKERS 8   /* (name, weight) pairs of a speaker blend */

/* One (name, weight) pair of an emotion mix or a speaker blend. weight finite and >= 0; a mix is
 * normalised to sum to 1, so {happy 3, sad 1} is {happy 0.75, sad 0.25}. */
typedef struct emx_weight {
  char name[EMX_NAME_CAPACITY];
  double weight;
} emx_weight;

/* Fills w->name (truncation is an error) and w->weight. */
EMX_API emx_result emx_weight_set(emx_weight *w, const char *name, double weight);

/* ---- voice ---------------------------------------------------------------------------------- */

typedef struct emx_voice_config {
  uint32_t struct_size;
  int32_t verify_hashes; /* 1 (default): check the sha256 of every file; 0: sizes and headers */
} emx_voice_config;

EMX_API void emx_voice_config_default(emx_voice_config *config);

/* Loads the bundle directory `path` (or its voice.json), validating the whole contract
 * (docs/voices.md). config may be NULL (defaults). */
EMX_API emx_result emx_voice_load(const char *path, const emx_voice_config *config,
                                  emx_voice **out);

/* One file of a bundle held in memory: its bundle-relative path ("voice.json",
 * "weights.safetensors") and bytes. */
typedef struct emx_voice_file {
  const char *path;
  const void *data;
  size_t size;
} emx_voice_file;

/* Loads a bundle from memory (an engine that packs its assets): the files of the bundle, at
 * least voice.json and weights.safetensors. The bytes are copied; the same checks as
 * emx_voice_load. */
EMX_API emx_result emx_voice_load_memory(const emx_voice_file *files, size_t n_files,
                                         const emx_voice_config *config, emx_voice **out);

EMX_API void emx_voice_free(emx_voice *voice);

/* The voice's name (voice.json "name"). */
EMX_API emx_result emx_voice_name(const emx_voice *voice, const char **out);
/* Samples per second of the audio every line of this voice has. */
EMX_API emx_result emx_voice_sample_rate(const emx_voice *voice, uint32_t *out);

typedef struct emx_emotion_info {
  uint32_t struct_size;
  const char *name; /* lives as long as the voice */
  double valence, arousal, dominance; /* each in [-1, 1] */
} emx_emotion_info;

EMX_API emx_result emx_voice_emotion_count(const emx_voice *voice, size_t *out);
/* Emotion number `index` (0 .. count - 1) in the voice's order. info->struct_size must be set. */
EMX_API emx_result emx_voice_emotion(const emx_voice *voice, size_t index,
                                     emx_emotion_info *info);
EMX_API emx_result emx_voice_speaker_count(const emx_voice *voice, size_t *out);
EMX_API emx_result emx_voice_speaker(const emx_voice *voice, size_t index, const char **name);
EMX_API emx_result emx_voice_default_speaker(const emx_voice *voice, const char **name);

/* ---- generation config ---------------------------------------------------------------------- */

typedef enum emx_solver {
  EMX_SOLVER_EULER = 0, /* flow voices */
  EMX_SOLVER_HEUN = 1,  /* flow voices */
  EMX_SOLVER_EM = 2,    /* score voices */
  EMX_SOLVER_PF_EULER = 3 /* score voices */
} emx_solver;

typedef enum emx_preset {
  EMX_PRESET_EMOMIX = 0,   /* base emotion first, the mix in the window, the rest after */
  EMX_PRESET_BLEND = 1,    /* the mix at every step */
  EMX_PRESET_INTENSITY = 2 /* one emotion against neutral */
} emx_preset;

/* A mix at a position of a line (a trajectory). */
typedef struct emx_keyframe {
  double position; /* in [0, 1], ascending across keyframes */
  uint32_t n_emotions;
  emx_weight emotions[EMX_MAX_EMOTIONS];
} emx_keyframe;

/* Every setting of one line (docs/c-api.md, "Generation config"). Start from
 * emx_generation_config_default(voice, &config): every default comes from the voice. */
typedef struct emx_generation_config {
  uint32_t struct_size;
  /* the line's emotion mix (emx_voice_synthesize; a character uses its own emotion state) */
  uint32_t n_emotions; /* 1 .. EMX_MAX_EMOTIONS */
  emx_weight emotions[EMX_MAX_EMOTIONS];
  /* a trajectory (emx_voice_synthesize): n_keyframes > 0 interpolates the keyframes per frame */
  uint32_t n_keyframes; /* 0 .. EMX_MAX_KEYFRAMES */
  emx_keyframe keyframes[EMX_MAX_KEYFRAMES];
  double intensity;     /* 0 neutral, 1 the mix, up to 1.5 exaggerated (clamped) */
  double emotion_scale; /* the denoiser's extrapolation from neutral; the voice's */
  /* the speaker blend (emx_voice_synthesize; a character uses its own) */
  uint32_t n_speakers; /* 1 .. EMX_MAX_SPEAKERS */
  emx_weight speakers[EMX_MAX_SPEAKERS];
  int32_t steps;       /* sampler steps, 1 .. the voice schema's limit; the voice's */
  int32_t solver;      /* emx_solver; the voice's */
  int32_t preset;      /* emx_preset; the voice's */
  double temperature;  /* > 0; the voice's */
  double k_max, k_min; /* the emomix preset's window, 0 <= k_min <= k_max <= 1; the voice's */
  double length_scale; /* speaking time factor in [0.25, 4] (> 1 slower); the voice's */
  uint64_t seed;       /* the noise; the same seed, text and config give the same audio; 0 */
} emx_generation_config;

EMX_API emx_result emx_generation_config_default(const emx_voice *voice,
                                                 emx_generation_config *config);

/* Audio the library allocated; release it with emx_audio_free. */
typedef struct emx_audio {
  float *samples; /* mono, [-1, 1] */
  size_t n_samples;
  uint32_t sample_rate;
} emx_audio;

EMX_API void emx_audio_free(emx_audio *audio);

/* A whole line from a config alone (its mix, keyframes, speakers), on `threads` threads (>= 1),
 * into library-owned audio. */
EMX_API emx_result emx_voice_synthesize(const emx_voice *voice, const char *text,
                                        const emx_generation_config *config, int32_t threads,
                                        emx_audio *out);

/* ---- character ------------------------------------------------------------------------------ */

typedef struct emx_character_config {
  uint32_t struct_size;
  /* the speaker blend; n_speakers 0 (default) is the voice's default speaker */
  uint32_t n_speakers;
  emx_weight speakers[EMX_MAX_SPEAKERS];
  int32_t threads; /* threads a line of this character computes on, >= 1; 1 */
  /* how a line is cut into blocks (mel frames; docs/sdk.md, "Streaming"): a block's emotion is
   * read when it is made, so a change mid-line shapes the blocks not yet made */
  int32_t first_block_frames;  /* 64 */
  int32_t block_frames;        /* 160; 0 makes the whole line one block */
  int32_t context_frames;      /* 24 */
  int32_t crossfade_frames;    /* 8 */
  int32_t vocoder_chunk_frames; /* 32: frames of the first audio chunk */
} emx_character_config;

EMX_API void emx_character_config_default(emx_character_config *config);

/* A neutral character at intensity 1 and clock 0. config may be NULL (defaults). */
EMX_API emx_result emx_character_create(const emx_voice *voice,
                                        const emx_character_config *config,
                                        emx_character **out);
EMX_API void emx_character_free(emx_character *character);

/* The speaker blend (n >= 1, weights normalised) for lines begun from now on. */
EMX_API emx_result emx_character_set_speakers(emx_character *character, const emx_weight *speakers,
                                              size_t n);

/* Emotion state. Weights are normalised; setting cancels a running transition. */
EMX_API emx_result emx_character_set_mix(emx_character *character, const emx_weight *weights,
                                         size_t n);
/* One emotion at `intensity` (0 .. 1.5). */
EMX_API emx_result emx_character_set_emotion(emx_character *character, const char *name,
                                             double intensity);
/* 0 neutral, 1 the mix, up to 1.5 exaggerated; the mix is kept. */
EMX_API emx_result emx_character_set_intensity(emx_character *character, double intensity);
/* The nearest emotions of a point of the valence/arousal plane (each in [-1, 1]), blended by
 * inverse squared distance to their voice.json coordinates; the intensity is kept. */
EMX_API emx_result emx_character_set_valence_arousal(emx_character *character, double valence,
                                                     double arousal);

typedef enum emx_curve {
  EMX_CURVE_LINEAR = 0,
  EMX_CURVE_EASE = 1,     /* smoothstep: ease in and out */
  EMX_CURVE_EASE_IN = 2,  /* u^2 */
  EMX_CURVE_EASE_OUT = 3, /* 1 - (1 - u)^2 */
  EMX_CURVE_STEP = 4      /* hold, then jump at the end */
} emx_curve;

/* From the value now to `target` (n weights) over `seconds` (>= 0; 0 jumps) of the character's
 * clock along `curve`. intensity < 0 keeps the intensity now. */
EMX_API emx_result emx_character_transition_to(emx_character *character,
                                               const emx_weight *target, size_t n,
                                               double intensity, double seconds, emx_curve curve);
/* Moves the character's clock forward by `seconds` (>= 0) of game time. */
EMX_API emx_result emx_character_advance(emx_character *character, double seconds);
/* The character's clock (seconds). */
EMX_API emx_result emx_character_time(const emx_character *character, double *seconds);
/* The mix and intensity at the clock now: the emotions with a weight > 0, in the voice's order,
 * up to `capacity` of them into `out`, their count into *n (which may exceed capacity: then the
 * first capacity are written). intensity may be NULL. */
EMX_API emx_result emx_character_mix(const emx_character *character, emx_weight *out,
                                     size_t capacity, size_t *n, double *intensity);
/* 1 while a transition runs, else 0. */
EMX_API emx_result emx_character_transitioning(const emx_character *character, int32_t *out);

/* ---- lines ---------------------------------------------------------------------------------- */

/* Begins a line: the text is checked and encoded now; audio is made as it is read. The config's
 * sampler fields (steps, solver, preset, temperature, window, length scale, seed, emotion scale)
 * apply; its mix and speakers are ignored (the character's emotion state and speaker decide).
 * config may be NULL (the voice's defaults, seed 0). The line starts at the character's clock. */
EMX_API emx_result emx_character_say_begin(emx_character *character, const char *text,
                                           const emx_generation_config *config, emx_line **out);
/* Up to `max` samples of the line into out; *written gets how many. Returns EMX_OK while audio
 * comes (written > 0), EMX_END once every sample was read (written = 0). Work happens here, on
 * the caller's thread: the first call makes the first block (tens of ms), later ones are mostly
 * copies. Reading moves the character's clock to at least the time of the audio read. */
EMX_API emx_result emx_line_read(emx_line *line, float *out, size_t max, size_t *written);
/* Samples of the whole line (known once it is begun). */
EMX_API emx_result emx_line_length(const emx_line *line, size_t *samples);
EMX_API void emx_line_free(emx_line *line);

/* A whole line at once into library-owned audio (the same audio as reading a line to its end). */
EMX_API emx_result emx_character_say(emx_character *character, const char *text,
                                     const emx_generation_config *config, emx_audio *out);

/* ---- streams: an engine's audio thread -------------------------------------------------------- */

typedef struct emx_stream_config {
  uint32_t struct_size;
  uint32_t capacity_samples; /* the ring's size; 2 s of audio by default (0 = default) */
  uint32_t max_queued_lines; /* lines waiting, 16 by default (0 = default) */
} emx_stream_config;

EMX_API void emx_stream_config_default(emx_stream_config *config);

typedef struct emx_stream_stats {
  uint32_t struct_size;
  uint64_t samples_read;  /* audio samples handed to emx_stream_read's callers */
  uint64_t underruns;     /* emx_stream_read calls that wanted audio a pending line had not made */
  uint32_t queued_lines;  /* lines waiting or being made */
  int32_t last_error;     /* emx_result of the last line that failed to render (EMX_OK: none) */
} emx_stream_stats;

/* A stream of `character`'s lines, with its producer thread started. */
EMX_API emx_result emx_stream_create(emx_character *character, const emx_stream_config *config,
                                     emx_stream **out);
/* Queues a line (text checked now); it plays after those queued before. config as say_begin. */
EMX_API emx_result emx_stream_queue(emx_stream *stream, const char *text,
                                    const emx_generation_config *config);
/* Drops the line playing and every queued one; audio already in the ring is discarded. */
EMX_API emx_result emx_stream_interrupt(emx_stream *stream);
/* The audio thread's call: fills out[0 .. n) with the next samples, silence after the audio
 * available; *written gets the audio samples (the rest are zeros). Never allocates, locks or
 * blocks. Returns EMX_OK, or EMX_END when nothing is queued or playing and the ring is empty. */
EMX_API emx_result emx_stream_read(emx_stream *stream, float *out, size_t n, size_t *written);
EMX_API emx_result emx_stream_stats_get(const emx_stream *stream, emx_stream_stats *stats);
/* Stops the producer thread (waits for the block it is making); queue and read then answer
 * EMX_ERROR_STOPPED. emx_stream_free stops it too. */
EMX_API emx_result emx_stream_stop(emx_stream *stream);
EMX_API void emx_stream_free(emx_stream *stream);

#ifdef __cplusplus
}
#endif

#endif /* EMOMIX_H */
