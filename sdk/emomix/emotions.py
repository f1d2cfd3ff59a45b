"""The emotions emomix voices are trained on, with their valence/arousal/dominance coordinates.

Coordinates are in ``[-1, 1]`` and follow the usual placement of these categories in the
pleasure–arousal–dominance model (Russell & Mehrabian 1977); a voice stores its own copy in
``voice.json``, which is what runtimes read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: name → (valence, arousal, dominance)
DEFAULT_VAD: dict[str, tuple[float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0),
    "happy": (0.76, 0.48, 0.35),
    "sad": (-0.63, -0.27, -0.33),
    "angry": (-0.51, 0.59, 0.25),
    "surprise": (0.40, 0.67, -0.13),
}

DEFAULT_EMOTIONS: tuple[str, ...] = tuple(DEFAULT_VAD)


def normalise_mix(mix: Any, known: Iterable[str], *, kind: str = "emotion",
                  empty: str | None = None, unknown_hint: str = "",
                  negative_hint: str = "", zero_hint: str = "") -> dict[str, float]:
    """Validate a ``{name: weight}`` mix over ``known`` names and normalise it to sum to 1.

    Emotion mixes, emotion states and speaker blends share these rules: a non-empty mapping of
    known names to finite, non-negative numbers, not all zero. Zero weights are dropped. The
    ``*_hint`` strings end the matching error message (what the caller's user should do).
    """
    known = list(known)
    if not isinstance(mix, Mapping):
        raise TypeError(f"{kind} weights are a mapping name → weight, got {mix!r}")
    if not mix:
        raise ValueError(empty or f"the {kind} mix is empty; give at least one {kind} a weight")
    out: dict[str, float] = {}
    for name, w in mix.items():
        if name not in known:
            raise ValueError(f"unknown {kind} {name!r}; this voice has: {', '.join(known)}"
                             + unknown_hint)
        try:
            value = float(w)
        except (TypeError, ValueError):
            raise ValueError(f"weight of {kind} {name!r} is {w!r}; weights are numbers") from None
        if not math.isfinite(value):
            raise ValueError(f"weight of {kind} {name!r} is {value}; weights must be finite "
                             "numbers")
        if value < 0:
            raise ValueError(f"weight of {kind} {name!r} is negative ({value}); weights must be "
                             f">= 0{negative_hint}")
        out[name] = value
    total = sum(out.values())
    if total <= 0:
        raise ValueError(f"all {kind} weights are zero; give at least one a positive weight"
                         + zero_hint)
    return {k: v / total for k, v in out.items() if v > 0}
