"""``EmotionState``: what a character feels, as weights over a voice's emotions, changing in time.

An emotion state holds

- **weights** over the voice's emotions (``{"happy": 0.6, "surprise": 0.4}``), always normalised
  to sum to 1;
- an **intensity** ``alpha`` that blends the mix with neutral: ``0`` is neutral, ``1`` the mix,
  and values up to :data:`emomix.sampler.ALPHA_MAX` (1.5) exaggerate it by extrapolating away
  from neutral (further out the network leaves its training data and the audio degrades, so
  larger values are refused);
- optional **reference conditions**: emotion embeddings made from a user's clip by the voice's
  speech-emotion recogniser (:meth:`EmotionState.from_reference`), usable by name like any
  emotion;
- at most one **timed transition** (from the value when it was started, to a target, over
  ``seconds``, along a named curve). Transitions are *sampled when audio is made*: a character
  asks the state for the value at the time each mel frame will be heard, so a line can start
  calm and end angry.

Time comes from an injectable ``clock`` (seconds, monotonic; default :func:`time.monotonic`), so
tests drive transitions with a fake clock.

Thread safety: every method may be called from any thread (a game thread sets emotions while a
synthesis thread reads them); a small lock guards the state and is never held while audio is
made. The audio callback never touches an ``EmotionState``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .emotions import DEFAULT_VAD, normalise_mix
from .sampler import ALPHA_MAX

if TYPE_CHECKING:  # pragma: no cover
    from .synthesis import Voice

__all__ = ["CURVES", "EmotionState", "Transition", "valence_arousal_weights"]

#: Version of :meth:`EmotionState.to_dict`'s layout.
STATE_FORMAT_VERSION = 1
#: How many nearest emotions :func:`valence_arousal_weights` blends.
VA_NEIGHBOURS = 3


def _smoothstep(u: np.ndarray) -> np.ndarray:
    return u * u * (3.0 - 2.0 * u)


#: Transition curves: progress ``u`` in ``[0, 1]`` → blend factor in ``[0, 1]`` (vectorised).
CURVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda u: u,
    "ease": _smoothstep,  # ease in and out (smoothstep)
    "ease_in": lambda u: u * u,
    "ease_out": lambda u: 1.0 - (1.0 - u) ** 2,
    "step": lambda u: np.where(u >= 1.0, 1.0, 0.0),  # hold, then jump at the end
}


@dataclass(frozen=True)
class _Value:
    """One point of the state: normalised weights (name → weight > 0) and an intensity."""

    weights: Mapping[str, float]
    intensity: float

    def to_dict(self) -> dict[str, Any]:
        return {"weights": dict(self.weights), "intensity": self.intensity}


@dataclass(frozen=True)
class Transition:
    """A timed change from ``start`` to ``end`` beginning at clock time ``t0``."""

    start: _Value
    end: _Value
    t0: float
    seconds: float
    curve: str

    def progress(self, t: np.ndarray | float) -> np.ndarray:
        """Blend factor towards ``end`` at clock time(s) ``t``, in ``[0, 1]``."""
        t = np.asarray(t, np.float64)
        if self.seconds <= 0:
            return np.where(t >= self.t0, 1.0, 0.0)
        u = np.clip((t - self.t0) / self.seconds, 0.0, 1.0)
        return np.asarray(CURVES[self.curve](u), np.float64)


def valence_arousal_weights(valence: float, arousal: float,
                            coordinates: Mapping[str, Sequence[float]],
                            neighbours: int = VA_NEIGHBOURS) -> dict[str, float]:
    """A point of the valence/arousal plane → normalised weights over the emotions there.

    ``coordinates`` maps emotion names to ``(valence, arousal, ...)``. The weights are inverse
    squared distances to the ``neighbours`` nearest emotions, each minus that of the next
    nearest one, so an emotion enters or leaves the blend with weight 0 as the point moves (the
    map is continuous). A point on an emotion's coordinates gives that emotion alone.
    """
    for name, v in (("valence", valence), ("arousal", arousal)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v)):
            raise ValueError(f"{name} must be a finite number in [-1, 1], got {v!r}")
        if not -1.0 <= v <= 1.0:
            raise ValueError(f"{name} is {v}; valence and arousal are in [-1, 1]")
    names = list(coordinates)
    if not names:
        raise ValueError("no emotion of this voice has valence/arousal coordinates")
    pts = np.array([[float(coordinates[n][0]), float(coordinates[n][1])] for n in names])
    d2 = np.sum((pts - np.array([valence, arousal])) ** 2, axis=1)
    nearest = int(np.argmin(d2))
    if d2[nearest] < 1e-12:
        return {names[nearest]: 1.0}
    order = np.argsort(d2, kind="stable")
    inv = 1.0 / d2
    if len(names) > neighbours:
        inv = np.maximum(inv - inv[order[neighbours]], 0.0)
        inv[order[neighbours:]] = 0.0
    w = inv / inv.sum()
    return {names[i]: float(w[i]) for i in order if w[i] > 0}


class EmotionState:
    """Weights over a voice's emotions, an intensity, reference conditions and a transition.

    ``EmotionState(voice)`` starts neutral at intensity 1. ``voice`` is a :class:`~emomix.Voice`
    (its emotions and their stored valence/arousal coordinates are used) or a list of emotion
    names (coordinates from :data:`emomix.emotions.DEFAULT_VAD`). ``clock`` returns seconds.
    """

    def __init__(self, voice: Voice | Sequence[str], *,
                 clock: Callable[[], float] | None = None) -> None:
        if isinstance(voice, str) or not (hasattr(voice, "bundle") or
                                          isinstance(voice, Iterable)):
            raise TypeError("EmotionState needs a Voice or a list of emotion names, "
                            f"got {voice!r}")
        coords: dict[str, tuple[float, float]] = {}
        if hasattr(voice, "bundle") and hasattr(voice, "emotions"):
            names = list(voice.emotions)
            for n, e in voice.bundle.emotions.items():
                vad = getattr(e, "vad", None)
                if vad is not None and len(vad) >= 2:
                    coords[n] = (float(vad[0]), float(vad[1]))
        else:
            names = [str(n) for n in voice]
        for n in names:
            if n not in coords and n in DEFAULT_VAD:
                coords[n] = DEFAULT_VAD[n][:2]
        if "neutral" not in names:
            raise ValueError(f"the emotions {names} have no 'neutral'; every emomix voice has "
                             "one (it is the reference of intensity)")
        self._emotions: list[str] = names
        self._coords = coords
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._references: dict[str, np.ndarray] = {}
        self._value = _Value({"neutral": 1.0}, 1.0)
        self._transition: Transition | None = None

    # -- what exists --------------------------------------------------------------------------
    @property
    def emotions(self) -> list[str]:
        """The voice's emotion names (in the voice's order)."""
        return list(self._emotions)

    @property
    def conditions(self) -> list[str]:
        """Every name weights may use: the voice's emotions, then the reference conditions."""
        with self._lock:
            return self._emotions + list(self._references)

    @property
    def references(self) -> dict[str, np.ndarray]:
        """Reference conditions: name → embedding ``(E,)`` (read-only arrays)."""
        with self._lock:
            return dict(self._references)

    @property
    def coordinates(self) -> dict[str, tuple[float, float]]:
        """Emotion name → ``(valence, arousal)`` used by :meth:`set_valence_arousal`."""
        return dict(self._coords)

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    # -- validation ---------------------------------------------------------------------------
    def _check_weights(self, weights: Mapping[str, float],
                       known: Iterable[str]) -> dict[str, float]:
        return normalise_mix(
            weights, known,
            empty="no emotion weights given; write e.g. set(happy=0.6, surprise=0.4)",
            unknown_hint=" (add a reference clip with add_reference for a new one)",
            negative_hint=" (raise intensity above 1 to exaggerate an emotion)",
            zero_hint=", e.g. set(neutral=1)")

    @staticmethod
    def _check_intensity(intensity: float) -> float:
        try:
            value = float(intensity)
        except (TypeError, ValueError):
            raise ValueError(f"intensity must be a number, got {intensity!r}") from None
        if not math.isfinite(value) or not 0.0 <= value <= ALPHA_MAX:
            raise ValueError(f"intensity is {intensity}; it must be in [0, {ALPHA_MAX}] "
                             f"(0 neutral, 1 the mix, up to {ALPHA_MAX} exaggerated; "
                             "further out the audio degrades)")
        return value

    # -- reading ------------------------------------------------------------------------------
    def _current(self, now: float) -> tuple[_Value, Transition | None]:
        """The value and transition, retiring a transition that has finished (lock held)."""
        tr = self._transition
        if tr is not None and now >= tr.t0 + tr.seconds:
            self._value, self._transition = tr.end, None
            tr = None
        return self._value, tr

    def value_at(self, t: float | None = None) -> tuple[dict[str, float], float]:
        """``(weights, intensity)`` at clock time ``t`` (default: now)."""
        now = self._clock()
        with self._lock:
            value, tr = self._current(now)
        when = now if t is None else float(t)
        if tr is None:
            return dict(value.weights), value.intensity
        c = float(tr.progress(when))
        names = list(dict.fromkeys([*tr.start.weights, *tr.end.weights]))
        w = {n: (1 - c) * tr.start.weights.get(n, 0.0) + c * tr.end.weights.get(n, 0.0)
             for n in names}
        return ({n: v for n, v in w.items() if v > 0},
                (1 - c) * tr.start.intensity + c * tr.end.intensity)

    @property
    def weights(self) -> dict[str, float]:
        """The weights now (normalised; a running transition is evaluated)."""
        return self.value_at()[0]

    @property
    def intensity(self) -> float:
        """The intensity now: 0 neutral, 1 the mix, up to ``ALPHA_MAX`` (1.5) exaggerated."""
        return self.value_at()[1]

    @intensity.setter
    def intensity(self, value: float) -> None:
        self.set_intensity(value)

    @property
    def transitioning(self) -> bool:
        """Whether a transition is still running."""
        now = self._clock()
        with self._lock:
            return self._current(now)[1] is not None

    @property
    def valence_arousal(self) -> tuple[float, float]:
        """The weighted mean ``(valence, arousal)`` of the current mix (reference conditions,
        which have no coordinates, are left out)."""
        w = self.weights
        pts = [(w[n], self._coords[n]) for n in w if n in self._coords]
        total = sum(x for x, _ in pts)
        if total <= 0:
            return (0.0, 0.0)
        return (sum(x * c[0] for x, c in pts) / total, sum(x * c[1] for x, c in pts) / total)

    def frames(self, times: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The state sampled at clock ``times`` (``(F,)`` seconds, e.g. when each mel frame will
        be heard): ``(names, weights (M, F), intensity (F,))``.

        ``names`` are the conditions with a non-zero weight at some of the times, in the order
        of :attr:`conditions`; every column of ``weights`` sums to 1.
        """
        times = np.asarray(times, np.float64).reshape(-1)
        now = self._clock()
        with self._lock:
            value, tr = self._current(now)
            order = self._emotions + list(self._references)
        if tr is None:
            names = [n for n in order if n in value.weights]
            w = np.array([[value.weights[n]] for n in names]).repeat(times.size, axis=1)
            return names, w, np.full(times.size, value.intensity)
        c = tr.progress(times)  # (F,)
        names = [n for n in order if n in tr.start.weights or n in tr.end.weights]
        a = np.array([tr.start.weights.get(n, 0.0) for n in names])[:, None]
        b = np.array([tr.end.weights.get(n, 0.0) for n in names])[:, None]
        w = (1.0 - c) * a + c * b
        keep = np.any(w > 0, axis=1)
        names = [n for n, k in zip(names, keep, strict=True) if k]
        w = w[keep]
        w = w / w.sum(axis=0, keepdims=True)
        alpha = (1.0 - c) * tr.start.intensity + c * tr.end.intensity
        return names, w, alpha

    # -- writing ------------------------------------------------------------------------------
    def set(self, weights: Mapping[str, float] | str | None = None, /,
            **named: float) -> EmotionState:
        """Set the weights now, e.g. ``set(happy=0.6, surprise=0.4)``, ``set({"sad": 1})`` or
        ``set("angry")``. Weights are normalised; a running transition is cancelled.

        Unknown names, negative, NaN/inf or all-zero weights raise ``ValueError``.
        """
        if isinstance(weights, str):
            weights = {weights: 1.0}
        merged = dict(weights or {})
        for k, v in named.items():
            if k in merged:
                raise ValueError(f"emotion {k!r} is given twice")
            merged[k] = v
        _, intensity_now = self.value_at()
        with self._lock:
            checked = self._check_weights(merged, self._emotions + list(self._references))
            self._value = _Value(checked, intensity_now)
            self._transition = None
        return self

    def set_intensity(self, intensity: float) -> EmotionState:
        """Set the intensity now (``[0, ALPHA_MAX]``); the weights are kept (a running
        transition's current weights are frozen)."""
        value = self._check_intensity(intensity)
        weights, _ = self.value_at()
        with self._lock:
            self._value = _Value(weights, value)
            self._transition = None
        return self

    def set_valence_arousal(self, valence: float, arousal: float) -> EmotionState:
        """Set the weights from a point of the valence/arousal plane (each in ``[-1, 1]``),
        blending the nearest emotions by their stored coordinates (see
        :func:`valence_arousal_weights`). The intensity is kept."""
        return self.set(valence_arousal_weights(valence, arousal, self._coords))

    def transition_to(self, target: Mapping[str, float] | str | EmotionState, seconds: float,
                      curve: str = "linear", *, intensity: float | None = None) -> EmotionState:
        """Move from the value now to ``target`` over ``seconds`` along ``curve``.

        ``target``: weights (normalised like :meth:`set`), one emotion name, or another state
        (its current weights and intensity). ``curve``: one of :data:`CURVES` (``linear``,
        ``ease``, ``ease_in``, ``ease_out``, ``step``). ``intensity``: the intensity to reach
        (default: the target state's, else unchanged). ``seconds = 0`` jumps. A transition
        started while another runs begins from the first one's current value.
        """
        if curve not in CURVES:
            raise ValueError(f"unknown curve {curve!r}; choose one of {', '.join(CURVES)}")
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            raise ValueError(f"seconds must be a number, got {seconds!r}") from None
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds is {seconds}; a transition lasts a finite time >= 0")
        if isinstance(target, EmotionState):
            tw, ti = target.value_at()
            intensity = ti if intensity is None else intensity
        else:
            tw = {target: 1.0} if isinstance(target, str) else target
        start_w, start_i = self.value_at()
        end_i = start_i if intensity is None else self._check_intensity(intensity)
        now = self._clock()
        with self._lock:
            end_w = self._check_weights(tw, self._emotions + list(self._references))
            start = _Value(start_w, start_i)
            end = _Value(end_w, end_i)
            if seconds == 0:
                self._value, self._transition = end, None
            else:
                self._value = start
                self._transition = Transition(start, end, now, seconds, curve)
        return self

    # -- reference clips ----------------------------------------------------------------------
    def add_reference(self, name: str, embedding: np.ndarray) -> EmotionState:
        """Add (or replace) a reference condition ``name`` with an emotion ``embedding (E,)``.

        The name cannot be one of the voice's emotions. Use it in weights like any emotion.
        """
        if not isinstance(name, str) or not name:
            raise ValueError("a reference condition needs a non-empty name")
        if name in self._emotions:
            raise ValueError(f"{name!r} is one of the voice's emotions; pick another name for "
                             "the reference condition")
        emb = np.array(embedding, dtype=np.float32).reshape(-1)
        if emb.size == 0 or not np.all(np.isfinite(emb)):
            raise ValueError("a reference embedding must be a non-empty vector of finite numbers")
        emb.setflags(write=False)
        with self._lock:
            self._references[name] = emb
        return self

    @classmethod
    def from_reference(cls, reference: np.ndarray | str | Path, voice: Voice, *,
                       sample_rate: int | None = None, name: str = "reference",
                       clock: Callable[[], float] | None = None) -> EmotionState:
        """A state that speaks like a reference clip: its emotion embedding comes from the
        voice's speech-emotion recogniser (:meth:`Voice.embed_reference`), weight 1.

        ``reference``: a WAV path, or mono float samples with ``sample_rate``; it must be at
        the voice's sample rate (no silent resampling).
        """
        state = cls(voice, clock=clock)
        state.add_reference(name, voice.embed_reference(reference, sample_rate))
        return state.set({name: 1.0})

    def embeddings(self, voice: Voice, names: Sequence[str]) -> np.ndarray:
        """Condition embeddings ``(M, E)`` float32 for ``names`` (voice emotions or references)."""
        refs = self.references
        rows = []
        for n in names:
            if n in refs:
                rows.append(refs[n])
            elif n in voice.emotion_table:
                rows.append(voice.emotion_table[n])
            else:
                raise ValueError(f"unknown condition {n!r} for voice {voice.bundle.name!r}")
        out = np.stack(rows).astype(np.float32)
        if out.shape[1] != voice.bundle.emotion_dim:
            raise ValueError(f"reference embeddings have {out.shape[1]} values but the voice's "
                             f"emotion_dim is {voice.bundle.emotion_dim}; make the reference "
                             "with this voice")
        return out

    # -- plain data ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe snapshot (weights, intensity, references, the running transition with
        its elapsed time) for a game's save file. Clock times are not stored."""
        now = self._clock()
        with self._lock:
            value, tr = self._current(now)
            refs = {k: [float(x) for x in v] for k, v in self._references.items()}
        out: dict[str, Any] = {
            "format": "emomix-emotion-state", "version": STATE_FORMAT_VERSION,
            "weights": dict(value.weights), "intensity": value.intensity,
            "references": refs, "transition": None,
        }
        if tr is not None:
            out["transition"] = {"from": tr.start.to_dict(), "to": tr.end.to_dict(),
                                 "seconds": tr.seconds, "elapsed": max(0.0, now - tr.t0),
                                 "curve": tr.curve}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], voice: Voice | Sequence[str], *,
                  clock: Callable[[], float] | None = None) -> EmotionState:
        """Rebuild a state saved by :meth:`to_dict` for ``voice``; a saved transition resumes
        where it was (its elapsed time is kept)."""
        if not isinstance(data, Mapping) or data.get("format") != "emomix-emotion-state":
            raise ValueError("not a saved emotion state (format 'emomix-emotion-state' missing)")
        if data.get("version") != STATE_FORMAT_VERSION:
            raise ValueError(f"saved emotion state version {data.get('version')!r} is not "
                             f"{STATE_FORMAT_VERSION}; save it again with this emomix")
        state = cls(voice, clock=clock)
        for name, emb in dict(data.get("references") or {}).items():
            state.add_reference(name, np.asarray(emb, np.float32))
        state.set(data["weights"]).set_intensity(data.get("intensity", 1.0))
        tr = data.get("transition")
        if tr:
            try:
                start, end = tr["from"], tr["to"]
                seconds, elapsed = float(tr["seconds"]), float(tr["elapsed"])
                curve = tr["curve"]
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"saved transition is malformed ({exc}); expected from, to, "
                                 "seconds, elapsed and curve") from None
            if not (math.isfinite(elapsed) and elapsed >= 0):
                raise ValueError(f"saved transition elapsed time {elapsed} is not >= 0")
            state.set(start["weights"]).set_intensity(start["intensity"])
            state.transition_to(end["weights"], seconds, curve, intensity=end["intensity"])
            with state._lock:
                t = state._transition
                if t is not None:
                    state._transition = Transition(t.start, t.end, t.t0 - elapsed, t.seconds,
                                                   t.curve)
        return state

    def copy(self) -> EmotionState:
        """An independent state with the same value, references, transition and clock."""
        other = EmotionState(self._emotions, clock=self._clock)
        other._coords = dict(self._coords)
        with self._lock:
            other._references = dict(self._references)
            other._value, other._transition = self._value, self._transition
        return other

    def __repr__(self) -> str:
        w, a = self.value_at()
        mix = ", ".join(f"{k}={v:.2f}" for k, v in w.items())
        more = ", transitioning" if self.transitioning else ""
        return f"EmotionState({mix}; intensity={a:.2f}{more})"

