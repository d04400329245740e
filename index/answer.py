"""Turning ranked passages into a cited answer, or an honest abstention."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from index.query import AnalyzedQuery
from index.tokenize import Tokenizer
from knowledge.textnorm import normalize, normalize_simplified

EXCERPT_CHARS = 160
SKIP = "…"  # marks text left out of a quote
RELATED = 4
SECOND_PART_MARGIN = 0.4  # fused-score distance within which a second article may be quoted too
SECOND_PART_PHRASE = 4
_ARTICLE_PREFIX = re.compile(r"^\s*第[0-9一二三四五六七八九十百千零〇]+[条條](?:之[一二三四五六七八九十]+)?\s*")
_SENTENCES = re.compile(r"[^。；！？!?;\n]+[。；！？!?;]?")

NOT_FOUND = "现有资料中没有找到与该问题直接相关的规定。"
NOT_FOUND_HINT = "可以换个说法再问，或直接查条文，例如：安全生产法 第四十三条。"


@dataclass
class Citation:
    document: str
    article: str | None
    score: float
    excerpt: str
    text: str = field(repr=False, default="")
    path: str = ""
    passage_id: int = 0
    label: str = ""  # e.g. "北京市地方性法规", "已废止"
    article_no: int | None = None  # for quoting two articles in the document's order
    # Search tokens of ``excerpt``, kept from choosing it: comparing what two quotes cover must not
    # segment and convert them again (that was a fifth of an answer's time outside the encoder).
    excerpt_tokens: frozenset[str] | None = field(repr=False, compare=False, default=None)

    @property
    def passage_order(self) -> tuple[int, int]:
        return (self.article_no if self.article_no is not None else 1 << 30, self.passage_id)

    @property
    def reference(self) -> str:
        where = self.article or (self.path.split(" / ")[-1] if self.path else "")
        return f"《{self.document}》{where}"

    def to_json(self) -> dict:
        return {"document": self.document, "article": self.article, "score": round(self.score, 4),
                "excerpt": self.excerpt}


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    kind: str = "retrieval"  # "retrieval" | "reference" | "empty"
    missing_documents: list[str] = field(default_factory=list)  # named by the question, not loaded

    def to_json(self) -> dict:
        data = {"question": self.question, "answer": self.answer, "abstained": self.abstained,
                "citations": [c.to_json() for c in self.citations]}
        if self.missing_documents:
            data["missing_documents"] = self.missing_documents
        return data


_ENUMERATION_CUES = ("哪些", "哪几", "哪三", "哪两", "哪四", "哪五", "几个", "几项", "几类", "几种", "包括", "分别", "列举")
_CLAUSES = re.compile(r"[^，、：,:]+[，、：,:]?")


@dataclass(frozen=True)
class Quote:
    text: str
    tokens: frozenset[str]  # search tokens of ``text``


def _segmented(text: str, tokenizer: Tokenizer) -> Quote:
    return Quote(text, frozenset(tokenizer.tokens(normalize(text))))


def best_sentences(text: str, query: AnalyzedQuery, tokenizer: Tokenizer, limit: int = EXCERPT_CHARS) -> str:
    """The text of ``quote``."""
    return quote(text, query, tokenizer, limit).text


def quote(text: str, query: AnalyzedQuery, tokenizer: Tokenizer, limit: int = EXCERPT_CHARS) -> Quote:
    """A quote of ``text`` around the sentence that shares the most query terms.

    The quote is contiguous text grown from that sentence towards the better-matching
    neighbour; a further matching sentence elsewhere is added after "…", never silently
    joined. A question asking for a list ("哪些", "包括") gets room for the whole enumeration.
    ``text`` is what users read (see ``knowledge.cleaning.readable``).
    """
    body, sentences = _split_sentences(text, tokenizer)
    if not sentences:
        return _segmented(_clip(body, limit), tokenizer)
    if any(cue in query.normalized for cue in _ENUMERATION_CUES):
        limit *= 2
    weights = _local_weights(query, [tokens for _, tokens in sentences])
    scores = [_sentence_score(tokens, weights) for _, tokens in sentences]
    pieces = [s for s, _ in sentences]
    best = max(range(len(pieces)), key=lambda i: (scores[i], -i))
    if len(pieces[best]) > limit:
        return _clip_around(pieces[best], query, tokenizer, limit)
    chosen = _grow(pieces, scores, best, limit)
    used = sum(len(pieces[i]) for i in chosen)
    # One more strongly matching sentence from elsewhere, marked as a skip.
    rest = sorted((i for i in range(len(pieces)) if i not in chosen and scores[i] > 0),
                  key=lambda i: (-scores[i], i))
    for i in rest:
        if scores[i] * 2 >= scores[best] and used + len(pieces[i]) + 1 <= limit:
            chosen.add(i)
            break
    order = sorted(chosen)
    return Quote(_join(pieces, order), frozenset().union(*(sentences[i][1] for i in order)))


def _local_weights(query: AnalyzedQuery, sentences: list[frozenset[str]]) -> dict[str, float]:
    """Query term weights scaled by how rare each term is among the passage's sentences: in a
    report on a fire every sentence says 火灾, only one says 起因."""
    n = len(sentences)
    out = {}
    for term, weight in query.terms.items():
        df = sum(1 for tokens in sentences if term in tokens)
        if df:
            out[term] = weight * math.log(1 + n / df)
    return out


def _sentence_score(tokens: frozenset[str], weights: dict[str, float]) -> float:
    matched = [t for t in weights if t in tokens]
    # "火灾事故" and its parts "火灾", "事故" are one match, not three.
    return sum(weights[t] for t in matched if not any(t != o and t in o for o in matched))


def _score(tokens: frozenset[str], query: AnalyzedQuery) -> float:
    return sum(w for t, w in query.terms.items() if t in tokens)


def _grow(pieces: list[str], scores: list[float], best: int, limit: int) -> set[int]:
    lo = hi = best
    used = len(pieces[best])
    while True:
        options = []
        if lo > 0 and used + len(pieces[lo - 1]) <= limit:
            options.append((scores[lo - 1], 0, lo - 1))
        if hi + 1 < len(pieces) and used + len(pieces[hi + 1]) <= limit:
            options.append((scores[hi + 1], 1, hi + 1))  # ties go forward: a rule reads on
        if not options:
            break
        # Context without any query term is added only while the quote is still short.
        score, _, i = max(options)
        if score <= 0 and used >= limit // 2:
            break
        used += len(pieces[i])
        lo, hi = min(lo, i), max(hi, i)
    return set(range(lo, hi + 1))


def _join(pieces: list[str], chosen: list[int]) -> str:
    out = []
    for n, i in enumerate(chosen):
        if n and i != chosen[n - 1] + 1:
            out.append(SKIP)
        out.append(pieces[i])
    return "".join(out)


def _clip_around(sentence: str, query: AnalyzedQuery, tokenizer: Tokenizer, limit: int) -> Quote:
    """A long sentence: the clauses around its best-matching clause, "…" where cut."""
    clauses = [c for c in _CLAUSES.findall(sentence) if c]
    if len(clauses) <= 1:
        return _segmented(_clip(sentence, limit), tokenizer)
    tokens = [frozenset(tokenizer.tokens(normalize_simplified(c))) for c in clauses]
    scores = [_score(t, query) for t in tokens]
    best = max(range(len(clauses)), key=lambda i: (scores[i], -i))
    if len(clauses[best]) > limit:
        return _segmented(_clip(clauses[best], limit), tokenizer)
    chosen = sorted(_grow(clauses, scores, best, limit - 2))
    text = "".join(clauses[i] for i in chosen)
    if chosen[0] > 0:
        text = SKIP + text
    if chosen[-1] < len(clauses) - 1:
        text = text.rstrip("，、：,:") + SKIP
    return Quote(text, frozenset().union(*(tokens[i] for i in chosen)))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + SKIP


def clip_sentences(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The opening whole sentences of ``text`` up to ``limit`` characters, "…" when more follows."""
    body = _ARTICLE_PREFIX.sub("", text).replace("\n", "")
    if len(body) <= limit:
        return body
    out = ""
    for sentence in _SENTENCES.findall(body):
        if len(out) + len(sentence) > limit - 1:
            break
        out += sentence
    return (out or body[: limit - 1]) + SKIP


QUOTE_CACHE_SIZE = 16384  # passages whose sentences stay segmented (see prepare_quote)


def prepare_quote(text: str, tokenizer: Tokenizer) -> None:
    """Split and segment ``text`` (a passage as users read it) now, so that its first quote
    costs no more than later ones."""
    _split_sentences(text, tokenizer)


@lru_cache(maxsize=QUOTE_CACHE_SIZE)
def _split_sentences(text: str, tokenizer: Tokenizer) -> tuple[str, tuple[tuple[str, frozenset[str]], ...]]:
    # Segmenting every sentence of ten cited passages was half the cost of an answer; the same
    # articles are cited again and again, so their sentences are tokenized once.
    body = _ARTICLE_PREFIX.sub("", text).replace("\n", "")
    sentences = [s.strip() for s in _SENTENCES.findall(body) if s.strip()]
    return body, tuple((s, frozenset(tokenizer.tokens(normalize(s)))) for s in sentences)


def second_part(citations: list[Citation], query: AnalyzedQuery, tokenizer: Tokenizer) -> Citation | None:
    """A runner-up article of the same document that answers another part of the question:
    "事故发生后多久要上报" is answered by the 1-hour rule for the unit (第九条, which says "事故发生后"
    word for word) and the 2-hour rule between levels (第十一条); quoting only one misleads.

    The runner-up must cover question terms the first quote lacks and share a phrase of at
    least SECOND_PART_PHRASE characters with the question."""
    if len(citations) < 2:
        return None
    top = citations[0]

    def covered(c: Citation) -> set[str]:
        tokens = c.excerpt_tokens if c.excerpt_tokens is not None else _segmented(c.excerpt, tokenizer).tokens
        return {t for t in query.terms if t in tokens}

    mine = covered(top)
    best: tuple[int, float, Citation] | None = None
    for c in citations[1:1 + RELATED]:
        if c.document != top.document or c.article is None or c.article == top.article:
            continue
        if c.score < top.score - SECOND_PART_MARGIN:
            continue
        gain = sum(query.terms[t] for t in covered(c) - mine)
        phrase = _shared_phrase(query.dense_text, normalize_simplified(c.excerpt))
        if gain >= 1.0 and phrase >= SECOND_PART_PHRASE and (best is None or (phrase, gain) > best[:2]):
            best = (phrase, gain, c)
    return best[2] if best else None


def _shared_phrase(a: str, b: str) -> int:
    """Length of the longest text that ``a`` and ``b`` share."""
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size


def compose(question: str, citations: list[Citation], also: Citation | None = None) -> Answer:
    """The answer text: the best passage quoted (with ``also``, a second article answering another
    part of the question, quoted after or before it in the document's order), then related ones."""
    if not citations:
        return Answer(question, f"{NOT_FOUND}\n{NOT_FOUND_HINT}", True, [])
    top = citations[0]
    quoted = [top] if also is None else sorted([top, also], key=lambda c: c.passage_order)
    lines = []
    for n, c in enumerate(quoted):
        label = f"（{c.label}）" if c.label else ""
        lines.append(f"{'依据' if n == 0 else ''}{c.reference}{label}：")
        lines.append(f"“{c.excerpt}”")
    related = [c for c in citations[1:] if c is not also][:RELATED]
    if related:
        lines.append("")
        lines.append("相关条文：")
        lines.extend(f"· {c.reference}{f'（{c.label}）' if c.label else ''}" for c in related)
    ordered = quoted + [c for c in citations if c not in quoted]
    return Answer(question, "\n".join(lines), False, ordered)


def not_loaded_answer(answer: Answer, missing: list[str]) -> Answer:
    """Say first that the named documents are not loaded; what follows is only related material."""
    names = "、".join(f"《{name}》" for name in missing)
    head = f"知识库中没有{names}，无法引用其条文。"
    if answer.abstained:
        text = f"{head}\n{answer.answer}"
    else:
        text = f"{head}以下是其他已载入法规中的相关内容，仅供参考：\n\n{answer.answer}"
    return Answer(answer.question, text, answer.abstained, answer.citations, kind=answer.kind,
                  missing_documents=list(missing))


def reference_answer(question: str, citation: Citation) -> Answer:
    label = f"（{citation.label}）" if citation.label else ""
    body = _ARTICLE_PREFIX.sub("", citation.text).strip()
    return Answer(question, f"{citation.reference}{label}\n{body}", False, [citation], kind="reference")
