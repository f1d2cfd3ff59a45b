"""Training recipes and voice construction (needs the `train` extra: torch).

- :mod:`.dataset` — corpus → cache of phoneme ids, raw log-mels and audio; batches.
- :mod:`.stages` — ``train_ser``, ``train_acoustic``, ``train_pitch``, ``train_vocoder``, losses.
- :mod:`.pitch_targets` — the pitch predictor's per-phoneme targets from F0 and durations.
- :mod:`.recipe` — ``open_run``, ``run_stage``, ``write_bundle``, ``train_voice`` (budgeted).
- :mod:`.common` — stage options, checkpoints, the losses log.
- :mod:`.cli` — ``emomix train ser|acoustic|pitch|vocoder|voice``.
- :mod:`.init_voice` — a bundle with random weights, for plumbing tests.

See ``docs/training.md``.
"""
