"""emomix: emotional speech whose emotions blend and change in real time.

    import emomix
    voice = emomix.load_voice("voices/default")
    audio = voice.synthesize("Hello there!", {"happy": 0.6, "surprise": 0.4}, seed=1)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .synthesis import Synthesis, Voice, default_voice_path, load_voice, parse_emotion_spec

__all__ = ["Synthesis", "Voice", "__version__", "default_voice_path", "load_voice",
           "parse_emotion_spec"]
