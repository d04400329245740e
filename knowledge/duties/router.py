"""Is a question asking *who* is responsible? Such questions go to the duty rules, others to retrieval."""
from __future__ import annotations

import re

from knowledge.textnorm import normalize

# Each pattern asks for a duty-holder; matched on the normalised (Simplified, half-width) text.
_WHO_PATTERNS = [
    r"谁",  # 谁负责 / 由谁 / 归谁管 / 谁担责 / 责任人是谁 / 谁来查 / 找谁
    r"哪(?:个|些|一|家|级|一级)?(?:级)?(?:政府|部门|主管部门|监管部门|机构|机关)",
    r"哪(?:个|家)单位",  # but not 哪些单位 (asks which kinds of units an obligation covers)
    r"什么(?:部门|单位|机构|机关|人员)(?:负责|管|来管|监管|审批|批|查|检查|调查|督办|发证|核发|颁发|认定)",
    r"(?:归|属于)哪",
    r"(?:有|负)(?:哪些|什么|何)[^，。？?]{0,8}?职责",  # 有哪些安全生产职责
    r"(?:管什么|管哪些|管些什么|管啥|负责什么|负责哪些|负责啥|有什么职责|有哪些职责|有何职责|什么职责|哪些职责|职责是什么|职责有哪些|职责分工|责任主体|责任人|主体责任是什么)",
    # English: "who" opening a question or clause, not the relative pronoun ("a worker who …").
    r"(?:^|[,.;:?!]\s*)(?:so\s+|then\s+|and\s+)?who(?:se)?\b",
    r"\bwho\s+(?:is|are|will\s+be|would\s+be)\s+(?:responsible|in\s+charge|liable|accountable)",
    r"\bwhich\s+(?:department|agency|authority|authorities|body|bodies|government|office|unit|organ)",
    r"\bresponsible\s+for\b|\bin\s+charge\s+of\b|\bresponsibilit(?:y|ies)\s+of\b",
]
_WHO_RE = re.compile("|".join(f"(?:{p})" for p in _WHO_PATTERNS), re.IGNORECASE)
# "谁" inside these words does not ask for a person.
_NOT_WHO_RE = re.compile(r"无论谁|不管谁|谁都|谁也")
# Asking how a body is composed, not who holds a duty ("事故调查组由哪些部门组成").
_COMPOSITION_RE = re.compile(r"哪些(?:部门|单位|人员|机构)(?:组成|参加|参与)")


def is_who_question(text: str) -> bool:
    """True for questions such as 谁负责电焊作业、九小场所归哪个部门管、who is responsible for …"""
    norm = normalize(text or "").lower()
    if not norm:
        return False
    cleaned = _NOT_WHO_RE.sub("", norm)
    if _COMPOSITION_RE.search(cleaned):
        return False
    return bool(_WHO_RE.search(cleaned))
