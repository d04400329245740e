"""Normalisation shared by documents and queries, so both sides of a match look alike.

Traditional → Simplified (OpenCC), full-width ASCII → half-width, unified punctuation and
whitespace. Original text is always kept separately for display.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import opencc
from opencc import OpenCC

_SPACES = re.compile(r"[ \t\u3000\u00a0\u200b\ufeff]+")


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


# Control characters (NUL, C0 except tab/newline/carriage return, DEL, C1) carry no text; PostgreSQL
# refuses NUL outright and SQLite would store it, so both databases get them removed the same way.
# Vertical tab and form feed separate lines or pages.
_CONTROLS = {c: None for c in [*range(0x00, 0x09), 0x0E, 0x0F, *range(0x10, 0x20), *range(0x7F, 0xA0)]}
_CONTROLS.update({0x0B: "\n", 0x0C: "\n"})


def strip_control_chars(text: str) -> str:
    """``text`` without control characters (tab, newline and carriage return kept)."""
    return text.translate(_CONTROLS)


def fullwidth_to_halfwidth(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E and not _keep_fullwidth(ch):
            out.append(chr(code - 0xFEE0))
        elif code == 0x3000:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _keep_fullwidth(ch: str) -> bool:
    # Chinese punctuation carries meaning in statutes (，；：（）) and is what users type;
    # only letters and digits are folded so "ＧＢ５０１６" and "GB5016" match.
    return not ch.isalnum() and ch not in "＋－％．／"


@lru_cache(maxsize=1)
def _t2s_triggers() -> frozenset[str] | None:
    """Characters without which OpenCC's t2s conversion leaves a text unchanged, or None when
    its dictionaries cannot be read (then every text is converted).

    A dictionary entry changes a text only where its key differs from its value, so a text that
    contains none of those differing key characters converts to itself. Most text we see (statutes,
    questions) is Simplified already, and the pure-Python conversion was the largest cost of quoting
    a passage for the first time."""
    folder = Path(opencc.__file__).parent / "dictionary"
    triggers: set[str] = set()
    try:
        for name in ("TSPhrases.txt", "TSCharacters.txt"):  # t2s.json's conversion chain
            for line in (folder / name).read_text(encoding="utf-8").splitlines():
                key, _, values = line.partition("\t")
                target = values.split(" ")[0].strip()
                if not key or not target or key == target:
                    continue
                if len(key) == len(target):
                    triggers.update(k for k, v in zip(key, target) if k != v)
                else:
                    triggers.update(key)
    except OSError:
        return None
    return frozenset(triggers)


def to_simplified(text: str) -> str:
    triggers = _t2s_triggers()
    if triggers is not None and triggers.isdisjoint(text):
        return text
    return _t2s().convert(text)


def normalize(text: str) -> str:
    """Index/query form of ``text``: Simplified, half-width alphanumerics, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = fullwidth_to_halfwidth(text)
    text = to_simplified(text)
    text = _SPACES.sub(" ", text)
    return text.strip()


def normalize_simplified(text: str) -> str:
    """``normalize`` for text already in Simplified characters (what users read of a passage):
    the OpenCC pass costs a quarter of a millisecond per excerpt and would change nothing."""
    text = unicodedata.normalize("NFC", text)
    text = fullwidth_to_halfwidth(text)
    return _SPACES.sub(" ", text).strip()
