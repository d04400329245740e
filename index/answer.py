"""Turning ranked passages into a cited answer, or an honest abstention."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from index.query import AnalyzedQuery
from index.tokenize import Tokenizer
from knowledge.textnorm import normalize

EXCERPT_CHARS = 160
RELATED = 4
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


def best_sentences(text: str, query: AnalyzedQuery, tokenizer: Tokenizer, limit: int = EXCERPT_CHARS) -> str:
    """The sentence(s) of ``text`` that share the most query terms, in their original order."""
    body, sentences = _split_sentences(text, tokenizer)
    if not sentences:
        return body[:limit]
    scored = []
    for i, (_, tokens) in enumerate(sentences):
        scored.append((sum(w for t, w in query.terms.items() if t in tokens), i))
    scored.sort(key=lambda x: (-x[0], x[1]))
    chosen = [scored[0][1]]
    for _, i in scored[1:]:
        if sum(len(sentences[j][0]) for j in chosen) + len(sentences[i][0]) > limit:
            break
        chosen.append(i)
    excerpt = "".join(sentences[i][0] for i in sorted(chosen))
    return excerpt if len(excerpt) <= limit else excerpt[: limit - 1] + "…"


@lru_cache(maxsize=8192)
def _split_sentences(text: str, tokenizer: Tokenizer) -> tuple[str, tuple[tuple[str, frozenset[str]], ...]]:
    # Segmenting every sentence of ten cited passages was half the cost of an answer; the same
    # articles are cited again and again, so their sentences are tokenized once.
    body = _ARTICLE_PREFIX.sub("", text).replace("\n", "")
    sentences = [s.strip() for s in _SENTENCES.findall(body) if s.strip()]
    return body, tuple((s, frozenset(tokenizer.tokens(normalize(s)))) for s in sentences)


def compose(question: str, citations: list[Citation]) -> Answer:
    if not citations:
        return Answer(question, f"{NOT_FOUND}\n{NOT_FOUND_HINT}", True, [])
    top = citations[0]
    label = f"（{top.label}）" if top.label else ""
    lines = [f"依据{top.reference}{label}：", f"“{top.excerpt}”"]
    related = [c for c in citations[1 : 1 + RELATED]]
    if related:
        lines.append("")
        lines.append("相关条文：")
        lines.extend(f"· {c.reference}{f'（{c.label}）' if c.label else ''}" for c in related)
    return Answer(question, "\n".join(lines), False, citations)


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
