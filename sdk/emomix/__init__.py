"""emomix: emotional speech whose emotions blend and change in real time."""

from __future__ import annotations

__version__ = "0.1.0"
