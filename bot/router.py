"""One entry point for questions: who-questions go to the duty rules, everything else to cited retrieval."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.runtime import Runtime
from index.answer import Answer
from knowledge.duties.answer import DutyAnswer
from knowledge.duties.router import is_who_question


@dataclass
class RoutedAnswer:
    question: str
    route: str  # "duties" | "retrieval" | "reference"
    answer: Answer
    duties: DutyAnswer | None = None

    def to_text(self) -> str:
        # A duty answer already lists its basis articles with excerpts.
        return self.duties.to_text() if self.duties is not None else self.answer.answer

    def to_json(self) -> dict[str, Any]:
        data = self.answer.to_json()
        data["route"] = self.route
        if self.duties is not None:
            data["answer"] = self.to_text()
            data["abstained"] = False
            data["duties"] = self.duties.to_json()
        return data


def route_answer(runtime: Runtime, question: str) -> RoutedAnswer:
    kb = runtime.knowledge
    retrieval = kb.answer(question)  # validates the question too
    if retrieval.kind == "reference":
        return RoutedAnswer(question, "reference", retrieval)
    if is_who_question(question):
        duty = runtime.duties.answer(question)
        if duty is not None:
            return RoutedAnswer(question, "duties", retrieval, duty)
        retrieval.answer = "尚未登记与该问题对应的职责规则，以下为相关法规条文：\n" + retrieval.answer \
            if not retrieval.abstained else retrieval.answer
    return RoutedAnswer(question, "retrieval", retrieval)
