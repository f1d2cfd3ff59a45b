"""Seed corpus and dictionaries for the libFuzzer targets, generated from the default voice.

    python3 native/fuzz/make_seeds.py OUT [--voice voices/default]

writes
    OUT/voice_json/*.json                     voice.json inputs: the default voice's, minified, a
                                              small valid one, a score voice, and broken variants
    OUT/safetensors_header/*.safetensors      weights files: the default voice's header (its data
                                              left out), small valid files cut from its tensors
    OUT/voice_json.dict, OUT/safetensors_header.dict
                                              libFuzzer dictionaries: every key and allowed value
                                              of the voice schema (sdk/emomix/voice/schema.json)
                                              and JSON's own tokens

Standard library only (scripts/fuzz.sh runs it with the system python3).
"""

from __future__ import annotations

import argparse
import copy
import json
import struct
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "sdk" / "emomix" / "voice" / "schema.json"


def small_voice(meta: dict[str, Any]) -> dict[str, Any]:
    """The default voice.json shrunk: at most two speakers, two emotions of four values; still
    valid."""
    m = copy.deepcopy(meta)
    m["description"] = "small"
    m["model"]["config"]["emotion_dim"] = 4
    names = sorted(m["speakers"], key=m["speakers"].__getitem__)[:2]
    m["speakers"] = {n: i for i, n in enumerate(names)}
    m["default_speaker"] = names[-1]
    m["emotions"] = {
        name: {"embedding": m["emotions"][name]["embedding"][:4], "vad": m["emotions"][name]["vad"]}
        for name in ("neutral", "happy")
    }
    m["symbols"]["table"] = m["symbols"]["table"][:12]
    m["provenance"] = {}
    return m


def score_voice(meta: dict[str, Any]) -> dict[str, Any]:
    """A small score voice with every optional setting used."""
    m = small_voice(meta)
    for section in (m["model"], m["model"]["config"], m["sampler"]):
        section["parameterisation"] = "score"
    m["sampler"].update(solver="pf_euler", preset="blend", emotion_scale=1.25, steps=12)
    m["model"]["config"]["audio"]["mel_scale"] = m["audio"]["mel_scale"] = "htk"
    m["model"]["config"]["pitch"] = {"enabled": False}
    m["model"]["config"].update(beta_min=0.1, beta_max=15.0)
    return m


def broken_variants(small: dict[str, Any]) -> dict[str, str]:
    """Texts that fail in different places (so mutations start from every branch)."""
    text = json.dumps(small)
    out = {
        "nan_embedding": text.replace(
            json.dumps(small["emotions"]["happy"]["embedding"][0]), "NaN", 1),
        "repeated_key": text.replace('"steps": ', '"steps": 1, "steps": ', 1),
        "deep": text[:-1] + ', "x": ' + "[" * 70 + "]" * 70 + "}",
        "escapes": text.replace('"_"', '"\\u005f"', 1).replace(
            '"name": "default"', '"name": "\\ud83d\\ude00\\u00e9\\n"', 1),
        "big_numbers": text.replace('"steps": 4', '"steps": 123456789012345678901234567890', 1)
        .replace('"temperature": 0.5', '"temperature": 1e400', 1),
        "truncated": text[: len(text) // 3],
        "files_paths": text.replace(
            '"files": {', '"files": {"../x": {"sha256": "", "bytes": -1}, "a//b": 1, ', 1),
    }
    return out


def split_safetensors(raw: bytes) -> tuple[dict[str, Any], bytes]:
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def pack_safetensors(tensors: list[tuple[str, dict[str, Any], bytes]],
                     metadata: dict[str, str] | None) -> bytes:
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, spec, blob in tensors:
        header[name] = {"dtype": spec["dtype"], "shape": spec["shape"],
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def tensor_seeds(raw: bytes) -> dict[str, bytes]:
    header, data = split_safetensors(raw)
    metadata = header.pop("__metadata__", None)
    by_offset = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])
    small = []
    for name, spec in by_offset:
        begin, end = spec["data_offsets"]
        if end - begin <= 512:
            small.append((name, spec, data[begin:end]))
    (n,) = struct.unpack("<Q", raw[:8])
    return {
        "default_header": raw[: 8 + n],  # the real header, its data left out (fails at the end)
        "small_valid": pack_safetensors(small[:6], metadata),
        "one_tensor": pack_safetensors(small[:1], None),
        "every_dtype": pack_safetensors([
            ("f32", {"dtype": "F32", "shape": [2], }, struct.pack("<2f", 1.5, -2.0)),
            ("f16", {"dtype": "F16", "shape": [1, 1]}, b"\x00\x3c"),
            ("i64", {"dtype": "I64", "shape": []}, struct.pack("<q", 7)),
            ("i32", {"dtype": "I32", "shape": [0, 3]}, b""),
            ("i16", {"dtype": "I16", "shape": [1]}, b"\x01\x00"),
            ("i8", {"dtype": "I8", "shape": [1]}, b"\xff"),
            ("u8", {"dtype": "U8", "shape": [2]}, b"\x00\x01"),
            ("bool", {"dtype": "BOOL", "shape": [1]}, b"\x01"),
        ], {"format": "emomix-voice", "format_version": "1", "dtype": "float32"}),
        "empty_header": pack_safetensors([], None),
    }


def dict_entry(token: str) -> str:
    escaped = "".join(
        "\\\\" if c == "\\" else '\\"' if c == '"' else c if 0x20 <= ord(c) < 0x7F
        else "".join(f"\\x{b:02x}" for b in c.encode())
        for c in token
    )
    return f'"{escaped}"'


def schema_strings(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$comment":
                continue
            out.add(k)
            schema_strings(v, out)
    elif isinstance(node, list):
        for v in node:
            schema_strings(v, out)
    elif isinstance(node, str):
        out.add(node)


JSON_TOKENS = ["{", "}", "[", "]", ":", ",", '"', "true", "false", "null", "NaN", "Infinity",
               "-Infinity", "-0", "1e400", "0.5", "\\u0000", "\\ud800", "\\u00e9", "é"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--voice", type=Path, default=ROOT / "voices" / "default")
    args = ap.parse_args()

    meta_text = (args.voice / "voice.json").read_text(encoding="utf-8")
    meta = json.loads(meta_text)
    voice_dir = args.out / "voice_json"
    voice_dir.mkdir(parents=True, exist_ok=True)
    small = small_voice(meta)
    seeds = {
        "default": meta_text,
        "default_min": json.dumps(meta, separators=(",", ":"), ensure_ascii=False),
        "small": json.dumps(small, indent=1),
        "score": json.dumps(score_voice(meta)),
        **broken_variants(small),
    }
    for name, text in seeds.items():
        (voice_dir / f"{name}.json").write_text(text, encoding="utf-8")

    st_dir = args.out / "safetensors_header"
    st_dir.mkdir(parents=True, exist_ok=True)
    for name, blob in tensor_seeds((args.voice / "weights.safetensors").read_bytes()).items():
        (st_dir / f"{name}.safetensors").write_bytes(blob)

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    words: set[str] = set()
    schema_strings(schema, words)
    words |= set(meta["emotions"]) | {"enabled", "embedding", "vad", "default_speaker"}
    tokens = sorted(words) + JSON_TOKENS
    (args.out / "voice_json.dict").write_text(
        "".join(dict_entry(t) + "\n" for t in tokens), encoding="utf-8")
    st_words: set[str] = set()
    schema_strings(schema["safetensors"], st_words)
    st_tokens = sorted(st_words | {"dtype", "shape", "data_offsets", "__metadata__"}) + JSON_TOKENS
    (args.out / "safetensors_header.dict").write_text(
        "".join(dict_entry(t) + "\n" for t in st_tokens), encoding="utf-8")
    print(f"make_seeds: {len(seeds)} voice.json seeds, {len(list(st_dir.iterdir()))} safetensors "
          f"seeds in {args.out}")


if __name__ == "__main__":
    main()
