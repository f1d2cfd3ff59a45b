/* c_game_loop — two characters speaking at once, pulled by a game loop through the C ABI.
 *
 *     game_loop [VOICE_DIR] [OUT_WAV]      (defaults: voices/default, game_loop.wav)
 *
 * A game ticks every 10 ms. On each tick the engine's audio callback wants 10 ms of audio from
 * every voice that is playing: here it pulls sample_rate / 100 samples of each character's line
 * with emx_line_read. The two characters are written side by side as a stereo WAV (left =
 * character A, right = character B), as an engine would pan two sources: each stays audible on
 * its own and the emotion change of B can be heard (and checked) without A on top of it.
 *
 * 0.8 s in, B's emotion starts moving from angry to sad along an ease curve over 1 s of the
 * character's clock, which the loop moves with emx_character_advance (game time). A line is made
 * in blocks as it is read, and a block carries the emotion of the moment it is made. B makes
 * short blocks (32 mel frames, 0.37 s) so that its change of mood is heard within about half a
 * second; with the default blocks (64 frames, then 160: fewer and cheaper calls) a line of under
 * three seconds is made in two blocks, both before 0.8 s, and would not change.
 *
 * Every emx_result is checked; on failure the sample prints emx_last_error() and exits 1.
 */
#include <emomix.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_SECONDS 0.01
#ifndef TRANSITION_AT_SECONDS /* (tests/test_samples.py builds one without: -D...=1e9) */
#define TRANSITION_AT_SECONDS 0.8
#endif
#define TRANSITION_SECONDS 1.0
#define B_BLOCK_FRAMES 32
#define MAX_SECONDS 60.0 /* a guard: lines of this sample last a few seconds */

static const char *const LINE_A = "Keep your voice down, the guards are right behind that door.";
static const char *const LINE_B = "I told you this plan would never work, and now look at us.";

/* Prints what failed and the library's message; returns 0 so that `ok(...)` reads as a test. */
static int ok(emx_result result, const char *what) {
  if (result == EMX_OK || result == EMX_END) return 1;
  fprintf(stderr, "game_loop: %s failed: %s: %s\n", what, emx_result_string(result),
          emx_last_error());
  return 0;
}

/* ---- a 16-bit PCM WAV written as it goes; the sizes are patched in at the end ---------------- */

static void put_u16(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v & 0xff);
  p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void put_u32(unsigned char *p, uint32_t v) {
  put_u16(p, v & 0xffff);
  put_u16(p + 2, v >> 16);
}

/* The 44-byte RIFF/WAVE header of `frames` frames of `channels` 16-bit channels. */
static int wav_write_header(FILE *f, uint32_t sample_rate, uint16_t channels, uint32_t frames) {
  unsigned char h[44];
  uint32_t data_bytes = frames * channels * 2u;
  memcpy(h, "RIFF", 4);
  put_u32(h + 4, 36u + data_bytes);
  memcpy(h + 8, "WAVEfmt ", 8);
  put_u32(h + 16, 16u);                           /* fmt chunk size */
  put_u16(h + 20, 1u);                            /* PCM */
  put_u16(h + 22, channels);
  put_u32(h + 24, sample_rate);
  put_u32(h + 28, sample_rate * channels * 2u);   /* bytes per second */
  put_u16(h + 32, (uint32_t)(channels * 2u));     /* bytes per frame */
  put_u16(h + 34, 16u);                           /* bits per sample */
  memcpy(h + 36, "data", 4);
  put_u32(h + 40, data_bytes);
  return fseek(f, 0, SEEK_SET) == 0 && fwrite(h, 1, sizeof h, f) == sizeof h;
}

static int16_t to_pcm16(float x) {
  if (!(x > -1.0f)) x = -1.0f; /* also NaN */
  if (x > 1.0f) x = 1.0f;
  return (int16_t)(x * 32767.0f);
}

/* Appends n stereo frames (left[i], right[i]) as little-endian 16-bit samples. */
static int wav_write_stereo(FILE *f, const float *left, const float *right, size_t n) {
  unsigned char frame[4];
  size_t i;
  for (i = 0; i < n; ++i) {
    put_u16(frame, (uint16_t)to_pcm16(left[i]));
    put_u16(frame + 2, (uint16_t)to_pcm16(right[i]));
    if (fwrite(frame, 1, sizeof frame, f) != sizeof frame) return 0;
  }
  return 1;
}

/* ---- the engine side: one playing line ----------------------------------------------------- */

typedef struct playing_line {
  emx_line *line; /* NULL once it ended (or before it began) */
} playing_line;

/* What an audio callback does: fills out[0 .. n) with the line's next samples and silence after
 * its end. emx_line_read may hand fewer than asked (it stops at the end of a block), so it is
 * called until the buffer is full or the line ends; the line is freed when it ends. */
static int pull(playing_line *p, float *out, size_t n) {
  size_t filled = 0;
  while (p->line != NULL && filled < n) {
    size_t got = 0;
    emx_result r = emx_line_read(p->line, out + filled, n - filled, &got);
    if (!ok(r, "emx_line_read")) return 0;
    filled += got;
    if (r == EMX_END) {
      emx_line_free(p->line);
      p->line = NULL;
    }
  }
  memset(out + filled, 0, (n - filled) * sizeof *out);
  return 1;
}

/* ---- the game ------------------------------------------------------------------------------ */

/* Gives `character` a speaker other than the voice's default, when the voice has more than one
 * (otherwise the characters differ by emotion alone). */
static int use_other_speaker(const emx_voice *voice, emx_character *character) {
  size_t n_speakers = 0, i;
  const char *default_name = NULL, *name = NULL;
  emx_weight speaker;
  if (!ok(emx_voice_speaker_count(voice, &n_speakers), "emx_voice_speaker_count") ||
      !ok(emx_voice_default_speaker(voice, &default_name), "emx_voice_default_speaker"))
    return 0;
  for (i = 0; i < n_speakers; ++i) {
    if (!ok(emx_voice_speaker(voice, i, &name), "emx_voice_speaker")) return 0;
    if (strcmp(name, default_name) != 0) break;
  }
  if (i == n_speakers) return 1;
  printf("  speaker %s (A speaks as %s)\n", name, default_name);
  return ok(emx_weight_set(&speaker, name, 1.0), "emx_weight_set") &&
         ok(emx_character_set_speakers(character, &speaker, 1), "emx_character_set_speakers");
}

static int run(const char *voice_path, const char *out_path) {
  int success = 0;
  emx_voice *voice = NULL;
  emx_character *a = NULL, *b = NULL;
  playing_line line_a = {NULL}, line_b = {NULL};
  float *buf_a = NULL, *buf_b = NULL;
  FILE *wav = NULL;
  uint32_t sample_rate = 0;
  size_t tick_samples, tick, max_ticks, transition_tick;
  uint32_t frames = 0;
  const char *name = NULL;
  emx_weight sad;
  emx_character_config b_config;

  if (!ok(emx_voice_load(voice_path, NULL, &voice), "emx_voice_load") ||
      !ok(emx_voice_name(voice, &name), "emx_voice_name") ||
      !ok(emx_voice_sample_rate(voice, &sample_rate), "emx_voice_sample_rate"))
    goto done;
  printf("voice %s, %u Hz (emomix %s)\n", name, (unsigned)sample_rate, emx_version());

  /* Character A: happy. Character B: angry, and another speaker when the voice has one. */
  printf("character A: happy\n");
  if (!ok(emx_character_create(voice, NULL, &a), "emx_character_create") ||
      !ok(emx_character_set_emotion(a, "happy", 1.0), "emx_character_set_emotion(happy)"))
    goto done;
  printf("character B: angry at 0.8\n");
  emx_character_config_default(&b_config);
  b_config.block_frames = B_BLOCK_FRAMES;
  if (!ok(emx_character_create(voice, &b_config, &b), "emx_character_create") ||
      !ok(emx_character_set_emotion(b, "angry", 0.8), "emx_character_set_emotion(angry)") ||
      !use_other_speaker(voice, b))
    goto done;
  if (!ok(emx_weight_set(&sad, "sad", 1.0), "emx_weight_set")) goto done;

  /* The text is checked and encoded here; the audio is made as the loop reads it. */
  if (!ok(emx_character_say_begin(a, LINE_A, NULL, &line_a.line), "emx_character_say_begin(A)") ||
      !ok(emx_character_say_begin(b, LINE_B, NULL, &line_b.line), "emx_character_say_begin(B)"))
    goto done;

  /* 10 ms of audio per tick (220 samples at 22 050 Hz: 9.98 ms, so game time leads the audio a
   * little; a character's clock is the later of the two) */
  tick_samples = sample_rate / 100;
  buf_a = malloc(tick_samples * sizeof *buf_a);
  buf_b = malloc(tick_samples * sizeof *buf_b);
  wav = fopen(out_path, "wb");
  if (buf_a == NULL || buf_b == NULL) {
    fprintf(stderr, "game_loop: out of memory\n");
    goto done;
  }
  if (wav == NULL || !wav_write_header(wav, sample_rate, 2, 0)) {
    fprintf(stderr, "game_loop: cannot write %s\n", out_path);
    goto done;
  }

  max_ticks = (size_t)(MAX_SECONDS / TICK_SECONDS);
  transition_tick = (size_t)(TRANSITION_AT_SECONDS / TICK_SECONDS + 0.5);
  for (tick = 0; line_a.line != NULL || line_b.line != NULL; ++tick) {
    if (tick == max_ticks) {
      fprintf(stderr, "game_loop: the lines did not end within %.0f s\n", MAX_SECONDS);
      goto done;
    }
    /* game logic: B's mood turns, from the emotion it has now to sad over 1 s */
    if (tick == transition_tick) {
      printf("%.2f s: character B turns sad over %.1f s\n", (double)tick * TICK_SECONDS,
             TRANSITION_SECONDS);
      if (!ok(emx_character_transition_to(b, &sad, 1, -1.0, TRANSITION_SECONDS, EMX_CURVE_EASE),
              "emx_character_transition_to"))
        goto done;
    }
    /* the audio callback: 10 ms of each character */
    if (!pull(&line_a, buf_a, tick_samples) || !pull(&line_b, buf_b, tick_samples)) goto done;
    if (!wav_write_stereo(wav, buf_a, buf_b, tick_samples)) {
      fprintf(stderr, "game_loop: cannot write %s\n", out_path);
      goto done;
    }
    frames += (uint32_t)tick_samples;
    /* game time moves both characters' clocks (transitions are timed on them) */
    if (!ok(emx_character_advance(a, TICK_SECONDS), "emx_character_advance(A)") ||
        !ok(emx_character_advance(b, TICK_SECONDS), "emx_character_advance(B)"))
      goto done;
  }

  if (!wav_write_header(wav, sample_rate, 2, frames)) {
    fprintf(stderr, "game_loop: cannot write %s\n", out_path);
    goto done;
  }
  printf("%lu ticks, %.2f s of stereo audio (left A, right B) -> %s\n", (unsigned long)tick,
         (double)frames / sample_rate, out_path);
  success = 1;

done:
  if (wav != NULL && fclose(wav) != 0 && success) {
    fprintf(stderr, "game_loop: cannot write %s\n", out_path);
    success = 0;
  }
  free(buf_a);
  free(buf_b);
  emx_line_free(line_a.line);
  emx_line_free(line_b.line);
  emx_character_free(a);
  emx_character_free(b);
  emx_voice_free(voice);
  return success;
}

int main(int argc, char **argv) {
  const char *voice_path = argc > 1 ? argv[1] : "voices/default";
  const char *out_path = argc > 2 ? argv[2] : "game_loop.wav";
  if (argc > 3) {
    fprintf(stderr, "usage: %s [VOICE_DIR] [OUT_WAV]\n", argv[0]);
    return 2;
  }
  if (emx_abi_version() != EMX_ABI_VERSION) {
    fprintf(stderr, "game_loop: libemomix has ABI %u, this header %u: rebuild against its header\n",
            (unsigned)emx_abi_version(), (unsigned)EMX_ABI_VERSION);
    return 1;
  }
  return run(voice_path, out_path) ? 0 : 1;
}
