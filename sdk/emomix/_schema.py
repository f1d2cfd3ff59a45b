"""The voice bundle contract's shared constants, loaded from ``emomix/voice/schema.json``.

That JSON file is the one place both languages read: this module loads it at import, and CMake
embeds the same file into the native runtime (``emomix/voice_schema.hpp``). Everything here is
derived from it; nothing is repeated as a literal. A leaf module (standard library only), so the
sampler, the config and ``emomix.voice`` can all import it without import cycles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA", "SCHEMA_PATH", "JSONRuleError", "json_depth", "loads"]

SCHEMA_PATH = Path(__file__).with_name("voice") / "schema.json"


def _load() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


SCHEMA: dict[str, Any] = _load()
"""The parsed ``schema.json`` (treat as read-only)."""

FORMAT: str = SCHEMA["format"]
FORMAT_VERSION: int = SCHEMA["format_version"]["current"]
OLDEST_FORMAT_VERSION: int = SCHEMA["format_version"]["oldest"]
META_FILE: str = SCHEMA["files"]["meta"]
WEIGHTS_FILE: str = SCHEMA["files"]["weights"]
JSON_MAX_DEPTH: int = SCHEMA["json"]["max_depth"]
MAX_INTEGER: int = SCHEMA["json"]["max_integer"]
MAX_INTEGER_DIGITS: int = SCHEMA["json"]["max_integer_digits"]
MODEL_FAMILY: str = SCHEMA["model"]["family"]
PARAMETERISATIONS: tuple[str, ...] = tuple(SCHEMA["model"]["parameterisations"])
SOLVERS: dict[str, tuple[str, ...]] = {
    p: tuple(s) for p, s in SCHEMA["sampler"]["solvers"].items()
}
PRESETS: tuple[str, ...] = tuple(SCHEMA["sampler"]["presets"])
MAX_STEPS: int = SCHEMA["sampler"]["steps_range"][1]


def json_depth(obj: Any) -> int:
    """How deeply containers nest in a parsed JSON value (a scalar is 0, ``[]`` is 1), without
    recursion, so a hostile file cannot exhaust the interpreter's stack."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


class JSONRuleError(ValueError):
    """Well-formed JSON that breaks a rule of the contract: a key twice in one object, or
    containers nested deeper than ``json.max_depth``."""


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise JSONRuleError(f"the key {k!r} appears twice in one object")
        out[k] = v
    return out


def _parse_int(digits: str) -> int:
    if len(digits) - digits.startswith("-") > MAX_INTEGER_DIGITS:
        raise JSONRuleError(f"an integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(digits)


def loads(text: str) -> Any:
    """``json.loads`` with the contract's rules, as the native reader applies them: no key twice
    in one object, containers nested at most ``json.max_depth`` deep, integers of at most
    ``json.max_integer_digits`` digits. (Like ``json.loads``, and the native reader, it accepts
    the ``NaN``/``Infinity`` literals: the validators then name the field that holds one.)
    Raises ``json.JSONDecodeError`` on bad syntax, :class:`JSONRuleError` otherwise."""
    try:
        value = json.loads(text, object_pairs_hook=_no_repeated_keys, parse_int=_parse_int)
    except RecursionError:
        value = None
        too_deep = True
    else:
        too_deep = json_depth(value) > JSON_MAX_DEPTH
    if too_deep:
        raise JSONRuleError(f"containers are nested deeper than {JSON_MAX_DEPTH} levels")
    return value
