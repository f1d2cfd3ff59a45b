"""The emotions emomix voices are trained on, with their valence/arousal/dominance coordinates.

Coordinates are in ``[-1, 1]`` and follow the usual placement of these categories in the
pleasure–arousal–dominance model (Russell & Mehrabian 1977); a voice stores its own copy in
``voice.json``, which is what runtimes read.
"""

from __future__ import annotations

#: name → (valence, arousal, dominance)
DEFAULT_VAD: dict[str, tuple[float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0),
    "happy": (0.76, 0.48, 0.35),
    "sad": (-0.63, -0.27, -0.33),
    "angry": (-0.51, 0.59, 0.25),
    "surprise": (0.40, 0.67, -0.13),
}

DEFAULT_EMOTIONS: tuple[str, ...] = tuple(DEFAULT_VAD)
