"""The text frontend's cost per line: normalise, phonemise (uncached) and text → ids.

Times ``emomix.text`` (the C++ frontend with libespeak-ng in process) on lines of dialogue, each
call with the phonemisation cache cleared first (a line not heard before), and with
``--reference`` the original Python frontend that ran the ``espeak-ng`` program
(``tests/text_reference``, the parity oracle) on the same lines. Prints one JSON object of
medians in milliseconds; asserts nothing.

    python benchmarks/text_frontend.py [--lines FILE] [--repeats 5] [--reference]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import emomix.text as frontend

sys.path.insert(0, str(Path(__file__).resolve().parent))
from piper_peer import DEFAULT_LINES  # noqa: E402  (the same lines as the Piper comparison)


def median_ms(fn: Callable[[str], Any], lines: list[str], repeats: int,
              before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(repeats):
        for line in lines:
            if before is not None:
                before()
            t = time.perf_counter()
            fn(line)
            times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1e3, 3)


def measure(api: Any, lines: list[str], repeats: int) -> dict[str, float]:
    normalised = [api.normalize(line) for line in lines]
    table = frontend.default_symbol_table()
    ids = api.text_to_ids if api is frontend else (
        lambda text: api.text_to_ids(text, table.symbols))
    api.phonemize(normalised[0])  # load espeak-ng's voice once
    return {
        "normalize_ms": median_ms(api.normalize, lines, repeats),
        "phonemize_ms": median_ms(api.phonemize, normalised, repeats, api.clear_cache),
        "text_to_ids_ms": median_ms(ids, lines, repeats, api.clear_cache),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=Path, default=None,
                    help="text file, one line per line (default: piper_peer's built-in lines)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--reference", action="store_true",
                    help="also time the original Python frontend (needs the espeak-ng program)")
    args = ap.parse_args(argv)
    lines = (args.lines.read_text(encoding="utf-8").splitlines() if args.lines
             else list(DEFAULT_LINES))
    lines = [line for line in lines if line.strip()]
    result: dict[str, Any] = {"lines": len(lines), "repeats": args.repeats,
                              "espeak_ng": frontend.espeak_version(),
                              "native": measure(frontend, lines, args.repeats)}
    if args.reference:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import text_reference

        result["reference"] = measure(text_reference, lines, args.repeats)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
