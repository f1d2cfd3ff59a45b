"""Where a voice loses its words: word error rates along the acoustic pipeline.

For held-out sentences of one speaker in one emotion, Whisper base (emomix.perception) transcribes

- ``reference``: the corpus clip itself (the ceiling of this speaker);
- ``copy_synthesis``: the clip's log-mel through the voice's vocoder (what the vocoder keeps);
- ``mu_aligned``: the encoder's prior μ expanded by monotonic alignment against the clip's own
  mel (teacher-forced durations), through the vocoder: how well the encoder predicts each
  phoneme's spectrum when the timing is right;
- ``mu_corpus_timing``: μ expanded by the clip's true durations, where the corpus records them
  (Piper clips, ``alignments.jsonl``);
- ``mu_predicted``: μ expanded by the duration predictor's durations (at the voice's length
  scale), through the vocoder;
- ``synthesized``: the whole line (sampler, pitch, vocoder) on the torch backend;
- ``synthesized_neutral_timing``: the same line, its sampler and pitch in the emotion, but its
  durations predicted for neutral (the encoder's emotion only sets durations: μ per phoneme does
  not depend on it). Against ``synthesized``, what the emotion's timing costs in words.

Where the corpus records durations, ``alignment`` compares the search's and the duration
predictor's timing with them: the mean absolute error of each phoneme's end, in ms, and the
predicted line's length over the true one.

Prints one JSON object: the rates, the sentence count and the settings. A gap between
``copy_synthesis`` and ``mu_aligned`` is the encoder; between ``mu_aligned`` and ``mu_predicted``
the durations; between ``mu_predicted`` and ``synthesized`` the sampler and pitch.

    python benchmarks/where_words_go.py --voice voices/default --corpus corpus \\
        --speaker piper-joe --sentences 12
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def neutral_timing(voice, text: str, emotion: str, speaker: str, seed: int) -> np.ndarray:
    """``text`` in ``emotion`` through the voice's pipeline steps, with neutral's durations."""
    from emomix.generation import GenerationConfig, plan

    p = plan(voice, GenerationConfig(emotions={emotion: 1.0}, speakers=speaker, seed=seed))
    ids = voice.text_to_ids(text)
    mu, durations = voice.encode_text(ids, voice.emotion_table["neutral"], p.speaker)
    W = p.weights(int(mu.shape[1]))
    mel = voice.sample_mel(mu, p.emotions, p.speaker, W, p.spec, seed=seed, durations=durations)
    mel = voice.render_pitch(mel, voice.line_pitch(ids, p.emotions, p.speaker), durations, W[-1])
    return voice.vocode(mel)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--voice", default=None, help="voice directory (default: the default voice)")
    p.add_argument("--corpus", required=True, help="the corpus (ESD layout) with a test split")
    p.add_argument("--speaker", default=None, help="the voice's speaker (default: its default)")
    p.add_argument("--emotion", default="neutral")
    p.add_argument("--sentences", type=int, default=12)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--split", default="test", choices=("test", "evaluation", "train"),
                   help="which sentences: held-out (test, the default) or seen in training "
                        "(train), to tell a failure to generalise from one to fit")
    args = p.parse_args(argv)

    import torch

    import emomix
    from emomix.audio import read_wav
    from emomix.config import AudioConfig
    from emomix.data import load_esd, voice_speaker_name
    from emomix.features import log_mel
    from emomix.models import durations_to_path, length_regulate
    from emomix.models.alignment import alignment_log_likelihood, monotonic_alignment_search
    from emomix.perception import Recognizer, corpus_rate, word_errors
    from emomix.train.dataset import corpus_alignments, known_durations, relative_path

    torch.set_num_threads(args.threads)
    voice = emomix.load_voice(args.voice, backend="torch", threads=args.threads)
    model = voice.backend.model
    meta = voice.bundle.meta
    speaker = args.speaker or meta.get("default_speaker") or next(iter(meta["speakers"]))
    if speaker not in meta["speakers"]:
        print(f"error: the voice has no speaker {speaker!r} ({', '.join(meta['speakers'])})",
              file=sys.stderr)
        return 2
    utts = [u for u in load_esd(args.corpus) if u.split == args.split and u.emotion == args.emotion
            and voice_speaker_name(u.speaker) == speaker][: args.sentences]
    if not utts:
        print(f"error: no {args.split} clips of {speaker} in {args.emotion} in {args.corpus}",
              file=sys.stderr)
        return 2
    cfg = AudioConfig.from_dict(dict(voice.bundle.audio))
    asr = Recognizer(cpu_threads=args.threads)
    sr = voice.sample_rate
    spk = model.speakers(torch.tensor([meta["speakers"][speaker]]))
    emo = torch.tensor([meta["emotions"][args.emotion]["embedding"]], dtype=torch.float32)
    counts: dict[str, list] = {}
    alignments = corpus_alignments(args.corpus)
    ms_per_frame = 1000.0 * cfg.hop_length / sr
    errors: dict[str, list[float]] = {"search_end_error_ms": [], "predicted_end_error_ms": [],
                                      "predicted_length_ratio": []}
    for u in utts:
        ref = np.asarray(read_wav(u.path, sr)[0], np.float64)
        mel = torch.from_numpy(log_mel(ref, cfg)).float()[None]
        ids = torch.from_numpy(np.asarray(voice.text_to_ids(u.text), np.int64))[None]
        with torch.inference_mode():
            mu_ph, log_dur, tmask = model.encoder(ids, torch.tensor([ids.shape[1]]), emo, spk)
            frames = torch.ones(1, 1, mel.shape[-1])
            path = monotonic_alignment_search(alignment_log_likelihood(mu_ph, mel),
                                              tmask.transpose(1, 2) * frames)
            mu_aligned = torch.matmul(mu_ph, path)[0].numpy()
            regulated = length_regulate(mu_ph, log_dur, tmask, voice.length_scale)
            mu_predicted = regulated[0][0].numpy()
            predicted_frames = regulated[2][0].numpy()
        timing = known_durations(alignments.get(relative_path(u.path, args.corpus)),
                                 voice.symbols.decode(ids[0].tolist()), mel.shape[-1],
                                 cfg.hop_length)
        true = None
        if timing is not None:  # over the whole clip: the first phoneme keeps the silence
            true = timing[1].copy()
            true[0] += timing[0]
        clips = {
            "reference": ref,
            "copy_synthesis": voice.vocode(mel[0].numpy()),
            "mu_aligned": voice.vocode(mu_aligned),
            "mu_predicted": voice.vocode(mu_predicted),
            "synthesized": voice.synthesize(u.text, {args.emotion: 1.0}, speaker=speaker,
                                            seed=args.seed),
            "synthesized_neutral_timing": neutral_timing(voice, u.text, args.emotion, speaker,
                                                         args.seed),
        }
        if true is not None:
            ends = np.cumsum(true)
            searched = np.cumsum(path[0].sum(-1).numpy())
            predicted = np.cumsum(predicted_frames)
            errors["search_end_error_ms"].append(float(np.abs(searched - ends).mean()))
            errors["predicted_end_error_ms"].append(
                float(np.abs(predicted * ends[-1] / predicted[-1] - ends).mean()))
            errors["predicted_length_ratio"].append(float(predicted[-1] / ends[-1]))
            mu_true = torch.matmul(mu_ph, durations_to_path(torch.from_numpy(true)[None]))
            clips["mu_corpus_timing"] = voice.vocode(mu_true[0].numpy())
        for name, audio in clips.items():
            counts.setdefault(name, []).append(word_errors(u.text, asr.transcribe(audio, sr)))
    print(json.dumps({
        "voice": meta.get("name"), "speaker": speaker, "emotion": args.emotion, "split": args.split,
        "sentences": len(utts), "asr": "whisper-base beam 5",
        "wer": {name: round(corpus_rate(c), 4) for name, c in counts.items()},
        "alignment": {k: round(float(np.mean(v)) * (ms_per_frame if k.endswith("_ms") else 1), 3)
                      for k, v in errors.items() if v},
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
