"""Garbled runs inside otherwise good text: found, repaired when the damage is reversible,
otherwise cut out on their own so the rest of the sentence and paragraph survives.

Text copied from web pages carries debris of wrong code pages a few characters to a clause
long: UTF-8 read as GBK (鐕冩皵绠￠亾 for 燃气管道), GBK read as UTF-8 and back with bytes
lost (燃?xì)獍踩M(jìn)家庭), UTF-8 read as Windows-1252 (å®‰å…¨). Judging whole passages either
drops a good 450-character paragraph for two "?" or keeps a short run of debris, so damage is
located character by character and clustered into runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.cleaning import _CP1252_CONTINUATION, _QUESTION_PARTICLES, _TONE_MARKED, HAN, common_chars

_HAN = re.compile(f"[{HAN}]")
_LATIN1_RUN = re.compile(rf"(?:[\u00c2-\u00ef][{_CP1252_CONTINUATION}]{{1,2}})+")
# Symbols that GBK decoding of misaligned bytes produces and prose never puts between Han
# characters: circled/parenthesised numbers, box drawing, GBK's pinyin and zhuyin rows.
_DEBRIS_SYMBOLS = re.compile(r"[\u2460-\u24ff\u2500-\u257f\u3105-\u3129\u02c9\u02ca\u02cb\u02d9\ufe30-\ufe4f\uffe0-\uffe5]")
_GAP = 3  # clean characters allowed between two damaged ones inside one run
_ASCII_GLUE = re.compile(r"[A-Za-z()]")


@dataclass(frozen=True)
class GarbledRun:
    start: int
    end: int
    repair: str | None  # the correctly decoded text, when the damage is reversible

    def text_in(self, text: str) -> str:
        return text[self.start:self.end]


@dataclass(frozen=True)
class GarbleReport:
    runs: int = 0
    repaired: int = 0
    dropped_chars: int = 0


def _damage(text: str) -> list[tuple[int, int, int, int]]:
    """(start, end, strong, weak) spans of damaged characters. Rare Han characters are weak
    evidence (徇, 矸 are real words); "?", U+FFFD, stray tone letters, debris symbols and
    Windows-1252 sequences are strong."""
    common = common_chars()
    spans: list[tuple[int, int, int, int]] = []
    for m in _LATIN1_RUN.finditer(text):
        if len(m.group(0)) >= 2:
            spans.append((m.start(), m.end(), len(m.group(0)), 0))
    n = len(text)
    for i, ch in enumerate(text):
        if ch == "\ufffd":
            spans.append((i, i + 1, 2, 0))
        elif ch == "?":
            prev = text[i - 1] if i else ""
            if prev in _QUESTION_PARTICLES:
                continue
            if any(_HAN.match(c) or c in _TONE_MARKED for c in (prev, text[i + 1] if i + 1 < n else "")):
                spans.append((i, i + 1, 1, 0))
        elif ch in _TONE_MARKED:  # pinyin left over after annotations were stripped
            spans.append((i, i + 1, 1, 0))
        elif _DEBRIS_SYMBOLS.match(ch) and (
                (i and _HAN.match(text[i - 1])) or (i + 1 < n and _HAN.match(text[i + 1]))):
            spans.append((i, i + 1, 1, 0))
        elif _HAN.match(ch) and ch not in common:
            spans.append((i, i + 1, 0, 1))
    # Latin letters and brackets glued to strong damage belong to it ("M(jìn)").
    widened = []
    for start, end, strong, weak in sorted(spans):
        if strong:
            start, end = _widen(text, start, end)
        widened.append((start, end, strong, weak))
    return widened


def find_runs(text: str) -> list[GarbledRun]:
    """Runs of damaged text. A run needs two pieces of strong evidence, one with a rare
    character beside it, or three rare characters close together (GBK-decoded UTF-8 is made
    of them). A lone "?" is a lost quotation mark, a lone rare character a rare word."""
    clusters: list[list[int]] = []  # [start, end, strong, weak]
    for start, end, strong, weak in _damage(text):
        if clusters and start - clusters[-1][1] <= _GAP:
            last = clusters[-1]
            last[1] = max(last[1], end)
            last[2] += strong
            last[3] += weak
        else:
            clusters.append([start, end, strong, weak])
    runs = [GarbledRun(start, end, None) for start, end, strong, weak in clusters
            if strong >= 2 or (strong and weak) or weak >= 3]
    return [GarbledRun(r.start, r.end, _repair(text[r.start:r.end])) for r in runs]


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the Latin letters and brackets glued to the damage ("M(jìn)")."""
    glue = "?\ufffd;" + _TONE_MARKED
    while start > 0 and (_ASCII_GLUE.match(text[start - 1]) or text[start - 1] in glue):
        start -= 1
    while end < len(text) and (_ASCII_GLUE.match(text[end]) or text[end] in glue):
        end += 1
    return start, end


def _repair(run: str) -> str | None:
    """Decode the run the other way round; only a complete, clean decoding counts."""
    for wrong, right in (("gbk", "utf-8"), ("cp1252", "utf-8"), ("latin-1", "utf-8")):
        try:
            fixed = run.encode(wrong).decode(right)
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if fixed and fixed != run and _HAN.search(fixed) and not _still_damaged(fixed):
            return fixed
    return None


def _still_damaged(text: str) -> bool:
    """Whether a decoded run still shows damage, in which case the repair is not taken."""
    common = common_chars()
    han = _HAN.findall(text)
    rare = sum(1 for ch in han if ch not in common)
    return "\ufffd" in text or "?" in text or (len(han) >= 2 and rare * 2 > len(han))


def clean_runs(text: str, *, placeholder: str) -> tuple[str, GarbleReport]:
    """``text`` with repairable runs repaired and the others replaced by ``placeholder``."""
    runs = find_runs(text)
    if not runs:
        return text, GarbleReport()
    out: list[str] = []
    pos = 0
    repaired = dropped = 0
    for run in runs:
        out.append(text[pos:run.start])
        if run.repair is not None:
            out.append(run.repair)
            repaired += 1
        else:
            if not out or not out[-1].endswith(placeholder):
                out.append(placeholder)
            dropped += run.end - run.start
        pos = run.end
    out.append(text[pos:])
    return "".join(out), GarbleReport(len(runs), repaired, dropped)


_MEANINGFUL = re.compile(rf"[{HAN}A-Za-z0-9]")


def mostly_garbled(text: str) -> bool:
    """Whether a passage is too damaged to index at all: under a third of it is left once the
    garbled runs are cut out (repairable runs count as good text; pinyin is not damage)."""
    from knowledge.cleaning import strip_pinyin

    text = strip_pinyin(text)
    total = len(_MEANINGFUL.findall(text))
    if not total:
        return False
    runs = [r for r in find_runs(text) if r.repair is None]
    if not runs:
        return False
    damaged = sum(len(_MEANINGFUL.findall(text[r.start:r.end])) + text.count("?", r.start, r.end) for r in runs)
    return total - min(damaged, total) < max(6, total / 3)


def clean_length(text: str) -> int:
    """Length of ``text`` as read: no pinyin annotations, no garbled runs."""
    from knowledge.cleaning import strip_pinyin

    return len(clean_runs(strip_pinyin(text), placeholder="")[0])
