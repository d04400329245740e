"""Legal-basis suggestions for new hazard items, from the retrieval index and the duty rules.

Implements knowledge.ledger.basis.BasisSuggester. Both sources are passed as factories so that a
ledger operation that never asks for suggestions never loads the embedding model.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from knowledge.ledger.basis import BasisSuggestion, DutyLayer

if TYPE_CHECKING:  # imported by every ledger command; the retrieval stack loads only when asked
    from index.knowledge_base import KnowledgeBase
    from knowledge.duties.answer import DutyAnswerer

SUGGESTIONS = 3


class KnowledgeSuggester:
    def __init__(self, knowledge: Callable[[], KnowledgeBase], duties: Callable[[], DutyAnswerer]) -> None:
        self._knowledge = knowledge
        self._duties = duties

    def suggest(self, description: str) -> list[BasisSuggestion]:
        answer = self._knowledge().answer(description[: self._knowledge().settings.max_question_chars])
        if answer.abstained:
            return []
        return [
            BasisSuggestion(document=c.document, article=c.article, excerpt=c.excerpt, score=round(c.score, 4))
            for c in answer.citations[:SUGGESTIONS]
        ]

    def duty_layers(self, description: str) -> list[DutyLayer]:
        answer = self._duties().answer(description)
        if answer is None:
            return []
        return [DutyLayer(layer=d.layer, subject=d.party, basis=d.basis[0].label() if d.basis else None)
                for d in answer.duties]
