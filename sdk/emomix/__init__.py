"""emomix: emotional speech whose emotions blend and change in real time.

    import emomix
    voice = emomix.load_voice("voices/default")
    audio = voice.synthesize("Hello there!", {"happy": 0.6, "surprise": 0.4}, seed=1)

    npc = emomix.Character(voice, speaker="speaker0")
    npc.emotion.set(happy=0.6, surprise=0.4)
    npc.emotion.transition_to({"angry": 1.0}, seconds=2.0, curve="ease")
    for chunk in npc.speak("You again?", seed=1):
        ...

``Character``, ``EmotionState``, ``StreamConfig`` and ``Player`` are imported on first use, so
``import emomix`` stays light (numpy only; never torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .synthesis import Synthesis, Voice, default_voice_path, load_voice, parse_emotion_spec

if TYPE_CHECKING:  # pragma: no cover
    from .audio.player import Player
    from .character import Character, Line, Speech, StreamConfig
    from .generation import GenerationConfig
    from .state import EmotionState

#: public name → module that defines it (imported lazily by ``__getattr__``)
_LAZY = {
    "Character": ".character",
    "Line": ".character",
    "Speech": ".character",
    "StreamConfig": ".character",
    "EmotionState": ".state",
    "GenerationConfig": ".generation",
    "Player": ".audio.player",
}

__all__ = ["Character", "EmotionState", "GenerationConfig", "Line", "Player", "Speech",
           "StreamConfig", "Synthesis", "Voice", "__version__", "default_voice_path", "load_voice",
           "parse_emotion_spec"]


#: submodules reachable as attributes (``emomix.audio.Player``) without importing them first
_SUBMODULES = ("audio", "character", "emotions", "errors", "features", "generation", "sampler",
               "state")


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'emomix' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
