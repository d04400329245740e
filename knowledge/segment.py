"""Structure-aware segmentation into retrievable passages.

Statutes are split at articles (第X条, 第X条之一), each passage carrying its 编/章/节 path;
other documents are split at headings and then into sentence-bounded chunks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.cleaning import HAN, pinyin_spans, reading_length
from knowledge.garbled import clean_length, mostly_garbled
from knowledge.numerals import NUMERAL_CLASS, format_article, parse_article_ref

TARGET_MIN = 200
TARGET_MAX = 450
MIN_ARTICLES = 3
_PATH_MAX = 300
_COMPONENT_MAX = 80

_CN_NUM = "[0-9一二三四五六七八九十百千零〇两]+"
ARTICLE_LINE = re.compile(
    rf"^[ \t\u3000]*(?P<label>第(?P<no>{NUMERAL_CLASS})[条條](?:之(?P<sub>{NUMERAL_CLASS}))?)"
    r"(?:[ \t\u3000:：]+|(?=【)|$)"
)
_STRUCT_HEADING = re.compile(rf"^(第{_CN_NUM}(?:分编|编|編|章|节|節|目))(?:[ \t\u3000]+(.*))?$")
_STRUCT_LEVEL = {"编": 1, "編": 1, "分编": 1, "章": 2, "节": 3, "節": 3, "目": 4}
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
# Outline headings in speeches and notices ("一、总体要求", "（二）强化责任落实").
_OUTLINE = re.compile(r"^(?:([一二三四五六七八九十]+、)|([（(][一二三四五六七八九十]+[)）]))")
# A paragraph or sentence that opens an enumerated item ("（二）重大事故隐患排查不彻底。…", "2.排查整治阶段：…",
# "一是…", "第一，…") is one topic of a list: one problem found at one enterprise, one stage of a
# schedule. Packed together up to TARGET_MIN, three items share one passage, and the one that
# answers a question is outweighed by its neighbours (and by shorter passages elsewhere). So an
# item starts a passage of its own once the passage before it has ITEM_MIN characters; the
# heading the items sit under is indexed with each (Segment.heading_in_index).
_ITEM = re.compile(r"^(?:[（(][一二三四五六七八九十0-9]+[)）]|[0-9]{1,2}[.、．](?![0-9])|[一二三四五六七八九十]+是|第[一二三四五六七八九十]+[，,、])")
ITEM_MIN = 50
_MEANINGFUL = re.compile(rf"[{HAN}A-Za-z0-9]")
_SENTENCE = re.compile(r"[^。！？!?…]*(?:[。！？!?]+|…+|$)[”’」』）)\]]*")
_CLAUSE = re.compile(r"[^；;]*(?:[；;]+|$)[”’」』）)]*")
_PHRASE = re.compile(r"[^，,、：:]*(?:[，,、：:]+|$)")
_INNER_SPACE = re.compile(rf"(?<=[{HAN}])[ \t\u3000]+(?=[{HAN}])")


@dataclass
class Segment:
    text: str
    path: str
    article: str | None
    article_no: int | None
    article_sub: int = 0
    # Free text (speeches, notices, reports) split at outline headings: the heading path is part
    # of what the passage is about ("四、时间安排" / "一、检查发现的主要问题") though its sentences
    # do not repeat it, so it is indexed with the passage (see parse._parsed). Statute articles
    # are self-contained and keep their index text as it was.
    heading_in_index: bool = False


@dataclass
class _Heading:
    level: int
    text: str


def segment(text: str) -> list[Segment]:
    """Split ``text`` into passages, auto-detecting statute structure."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = _drop_leading_title(lines)
    statute = _looks_like_statute(lines)
    segments = _segment_statute(lines) if statute else _segment_free(lines)
    return [s for s in segments if _MEANINGFUL.search(s.text)]


def _looks_like_statute(lines: list[str]) -> bool:
    """Several article lines, or a text that opens with one (an excerpt of one article)."""
    articles = sum(1 for ln in lines if ARTICLE_LINE.match(ln))
    if articles >= MIN_ARTICLES:
        return True
    for line in lines:
        if not _MEANINGFUL.search(line) or _heading(line, outline=False) is not None:
            continue
        return articles > 0 and ARTICLE_LINE.match(line) is not None
    return False


def _drop_leading_title(lines: list[str]) -> list[str]:
    """A leading "# title" names the document; it is metadata, not a section."""
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        m = _MD_HEADING.match(line.strip())
        if m and len(m.group(1)) == 1:
            return lines[i + 1:]
        return lines
    return lines


def _heading(line: str, *, outline: bool) -> _Heading | None:
    stripped = line.strip()
    m = _MD_HEADING.match(stripped)
    if m:
        title = m.group(2).strip()
        struct = _STRUCT_HEADING.match(title)
        if struct:
            return _Heading(_struct_level(struct.group(1)), _clean_heading(struct))
        return _Heading(len(m.group(1)), _collapse(title))
    struct = _STRUCT_HEADING.match(stripped)
    if struct and (struct.group(2) is None or len(stripped) <= 40) and not stripped.endswith(("。", "；")):
        return _Heading(_struct_level(struct.group(1)), _clean_heading(struct))
    if outline:
        o = _OUTLINE.match(stripped)
        # Only short lines without sentence punctuation are headings; "（一）加强领导。各地要……"
        # is a paragraph that merely starts with a number.
        if o and clean_length(stripped) <= 30 and not re.search(r"[。；;！？]", stripped):
            return _Heading(4 if o.group(1) else 5, stripped)
    return None


def _struct_level(label: str) -> int:
    for suffix in ("分编", "编", "編", "章", "节", "節", "目"):
        if label.endswith(suffix):
            return _STRUCT_LEVEL[suffix]
    return 2


def _clean_heading(m: re.Match[str]) -> str:
    label, rest = m.group(1), (m.group(2) or "").strip()
    # "第一章 总 则" is typeset with spaces; the path should read "第一章 总则".
    return f"{label} {_collapse(rest)}" if rest else label


def _collapse(text: str) -> str:
    return _INNER_SPACE.sub("", re.sub(r"\s+", " ", text)).strip()


class _PathStack:
    def __init__(self) -> None:
        self._stack: list[_Heading] = []

    def push(self, heading: _Heading) -> None:
        while self._stack and self._stack[-1].level >= heading.level:
            self._stack.pop()
        self._stack.append(heading)

    @property
    def path(self) -> str:
        parts = [h.text if len(h.text) <= _COMPONENT_MAX else h.text[:_COMPONENT_MAX - 1] + "…"
                 for h in self._stack]
        path = " / ".join(parts)
        return path if len(path) <= _PATH_MAX else "…" + path[-(_PATH_MAX - 1):]


# ---------------------------------------------------------------- statutes

def _segment_statute(lines: list[str]) -> list[Segment]:
    stack = _PathStack()
    out: list[Segment] = []
    loose: list[str] = []  # text outside any article (preamble, notes)
    article: tuple[str, int, int] | None = None
    body: list[str] = []
    article_path = ""

    def flush_article() -> None:
        nonlocal article, body
        if article is not None:
            label, no, sub = article
            text = "\n".join(ln.strip() for ln in body if ln.strip())
            out.append(Segment(text, article_path, label, no, sub))
        article, body = None, []

    def flush_loose() -> None:
        if loose:
            out.extend(_chunk_block(loose, stack.path))
            loose.clear()

    for line in lines:
        heading = _heading(line, outline=False)
        if heading is not None:
            flush_article()
            flush_loose()
            stack.push(heading)
            continue
        m = ARTICLE_LINE.match(line)
        ref = parse_article_ref(m.group("label")) if m else None
        if ref is not None:
            flush_article()
            flush_loose()
            article = (format_article(*ref), ref[0], ref[1])
            article_path = stack.path
            body = [line]
        elif article is not None:
            body.append(line)
        else:
            loose.append(line)
    flush_article()
    flush_loose()
    return out


# ---------------------------------------------------------------- free text

def _segment_free(lines: list[str]) -> list[Segment]:
    stack = _PathStack()
    out: list[Segment] = []
    block: list[str] = []
    for line in lines:
        heading = _heading(line, outline=True)
        if heading is None:
            block.append(line)
            continue
        out.extend(_chunk_block(block, stack.path, heading_in_index=True))
        block = []
        stack.push(heading)
    out.extend(_chunk_block(block, stack.path, heading_in_index=True))
    return out


def _chunk_block(lines: list[str], path: str, heading_in_index: bool = False) -> list[Segment]:
    """Sentence-bounded chunks of TARGET_MIN..TARGET_MAX characters as read (pinyin
    annotations do not count), preferring to end at paragraph boundaries. A paragraph that is
    mostly garbled becomes a chunk of its own so it can be reported and left out of the index
    without taking good text with it."""
    paragraphs = [_collapse_spaces(ln) for ln in lines if _MEANINGFUL.search(ln)]
    chunks: list[str] = []
    run: list[str] = []
    for para in paragraphs:
        if mostly_garbled(para):
            chunks.extend(_chunk_paragraphs(run))
            run = []
            chunks.extend(_hard_cut(para, TARGET_MAX))
        else:
            run.append(para)
    chunks.extend(_chunk_paragraphs(run))
    return [Segment(c, path, None, None, heading_in_index=heading_in_index) for c in chunks if _MEANINGFUL.search(c)]


def _chunk_paragraphs(paragraphs: list[str]) -> list[str]:
    units: list[tuple[str, int, bool, bool]] = []  # (piece, length as read, starts a paragraph, an item)
    for para in paragraphs:
        # Items are also enumerated inside one paragraph ("…重点抓好以下工作。一是…。二是…").
        for i, piece in enumerate(split_sentences(para, TARGET_MAX)):
            units.append((piece, reading_length(piece), i == 0, _ITEM.match(piece.lstrip()) is not None))
    chunks: list[tuple[str, int]] = []
    current, size = "", 0
    current_is_paragraph_start = current_is_item = False
    for piece, length, new_paragraph, new_item in units:
        joiner = "\n" if new_paragraph and current else ""
        if current and (size + len(joiner) + length > TARGET_MAX
                        or (new_paragraph and size >= TARGET_MIN)
                        or (new_item and size >= ITEM_MIN)):
            chunks.append((current, size))
            current, size, joiner = "", 0, ""
        if not current:
            current_is_paragraph_start = new_paragraph
            current_is_item = new_item
        current += joiner + piece
        size += len(joiner) + length
    if current:
        # A short tail reads better with the chunk before it than on its own.
        joiner = "\n" if current_is_paragraph_start else ""
        # An enumerated item (the last stage of a schedule) stays on its own (see _ITEM).
        if chunks and size < TARGET_MIN // 2 and chunks[-1][1] + size + 1 <= TARGET_MAX and not (
                current_is_item and size >= ITEM_MIN):
            chunks[-1] = (chunks[-1][0] + joiner + current, chunks[-1][1] + size + 1)
        else:
            chunks.append((current, size))
    return [c for c, _ in chunks]


def _collapse_spaces(line: str) -> str:
    return re.sub(r"[ \t\u3000]+", " ", line).strip()


def split_sentences(text: str, max_len: int = TARGET_MAX) -> list[str]:
    """Sentences of ``text``; a sentence longer than ``max_len`` is split at ；, then at
    ，/、/：, and only as a last resort at ``max_len`` characters."""
    out: list[str] = []
    for sentence in _pieces(_SENTENCE, text):
        if reading_length(sentence) <= max_len:
            out.append(sentence)
            continue
        for clause in _pack(_pieces(_CLAUSE, sentence), max_len):
            if reading_length(clause) <= max_len:
                out.append(clause)
                continue
            for phrase in _pack(_pieces(_PHRASE, clause), max_len):
                out.extend(_hard_cut(phrase, max_len))
    # Punctuation-only pieces ("”。") belong to the sentence before them.
    merged: list[str] = []
    for piece in out:
        if merged and not _MEANINGFUL.search(piece):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def _pieces(pattern: re.Pattern[str], text: str) -> list[str]:
    return [m.group(0) for m in pattern.finditer(text) if m.group(0)]


def _pack(pieces: list[str], max_len: int) -> list[str]:
    """Greedily rejoin adjacent pieces up to ``max_len`` so splits stay as few as possible."""
    packed: list[str] = []
    for piece in pieces:
        if packed and reading_length(packed[-1]) + reading_length(piece) <= max_len:
            packed[-1] += piece
        else:
            packed.append(piece)
    return packed


def _hard_cut(text: str, max_len: int) -> list[str]:
    """Cut ``text`` every ``max_len`` characters as read, never inside a pinyin annotation
    (a cut there leaves "(chǔ)" at the start of the next passage)."""
    if reading_length(text) <= max_len:
        return [text]
    spans = dict(pinyin_spans(text))
    pieces: list[str] = []
    start = count = 0
    i = 0
    while i < len(text):
        if i in spans:  # annotations have no reading length and stay with their character
            i = spans[i]
            continue
        if count == max_len:
            pieces.append(text[start:i])
            start, count = i, 0
        count += 1
        i += 1
    pieces.append(text[start:])
    return [p for p in pieces if p]
