"""Exceptions raised by emomix.

Every error emomix raises on purpose derives from :class:`EmomixError`, so a host application can
catch one type. Each subclass also derives from the builtin it refines (``ValueError`` …), so
code that already catches the builtin keeps working.

Messages say what went wrong *and what to do about it*.
"""

from __future__ import annotations

import os

__all__ = ["EmomixError", "VoiceBundleError"]


class EmomixError(Exception):
    """Base class of every error emomix raises deliberately."""


class VoiceBundleError(EmomixError, ValueError):
    """A voice bundle is missing, malformed, inconsistent or corrupted.

    Attributes:
        path:    the file (or directory) at fault, as a string.
        field:   ``"<file>:<dotted.field>"`` — e.g. ``"voice.json:emotions.happy.embedding"`` or
                 ``"weights.safetensors:denoiser.in_conv.weight"``; just ``"<file>"`` when the
                 whole file is at fault.
        problem: what is wrong, in one sentence.
        hint:    what to do about it.

    ``str(error)`` is ``"<path>: <field>: <problem> — <hint>."`` — all four parts, so a log line
    alone is enough to find and fix the fault.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | os.PathLike[str],
        field: str,
        hint: str = "re-export the voice bundle, or re-download it",
    ) -> None:
        self.problem = problem
        self.path = os.fspath(path)
        self.field = field
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        problem = self.problem.rstrip(".")
        hint = self.hint.rstrip(".")
        return f"{self.path}: {self.field}: {problem} — {hint}."

    def __reduce__(self):  # keep path/field/hint when pickled (multiprocessing, logging queues)
        args = (type(self), self.problem, self.path, self.field, self.hint)
        return (_rebuild_voice_bundle_error, args)


def _rebuild_voice_bundle_error(
    cls: type[VoiceBundleError], problem: str, path: str, field: str, hint: str
) -> VoiceBundleError:
    return cls(problem, path=path, field=field, hint=hint)
