"""Read-only views returned by the ledger service (shared by the CLI and the chat bot)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from knowledge.ledger.basis import BasisSuggestion, DutyLayer, MajorHazardFlag


class View:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass
class UnitView(View):
    id: int
    name: str
    kind: str
    code: str | None
    parent_id: int | None
    parent_name: str | None
    full_name: str
    depth: int


@dataclass
class OfficialView(View):
    id: int
    name: str
    unit_id: int
    unit_name: str
    role: str
    phone: str | None
    supervisor_id: int | None
    chat_linked: bool
    active: bool


@dataclass
class HazardSummary(View):
    number: str
    description: str
    unit: str
    responsible_unit: str
    responsible_official: str | None
    level: str
    status: str
    found_on: date
    deadline: date
    overdue: bool
    days_left: int | None
    supervising_unit: str | None
    listed_supervision: bool
    closed_on: date | None
    version: int


@dataclass
class EventView(View):
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None
    changes: dict | None


@dataclass
class ExtensionView(View):
    id: int
    requested_at: datetime
    requested_by: str
    reason: str
    old_deadline: date
    new_deadline: date
    status: str
    decided_by: str | None
    decision_note: str | None


@dataclass
class EscalationView(View):
    """An escalation level that fired for the item (reminders of overdue items up the chain)."""

    level: int
    fired_on: date
    recipients: str | None


@dataclass
class AttachmentView(View):
    id: int
    filename: str
    stored_path: str
    sha256: str
    size: int
    mime: str
    uploaded_by: str


@dataclass
class BasisView(View):
    kind: str
    document: str
    article: str | None
    excerpt: str | None
    attached_by: str


@dataclass
class HazardView(HazardSummary):
    location: str | None = None
    category: str | None = None
    source: str = "检查"
    measures: str | None = None
    funds: Decimal | None = None
    major_suspected: bool = False
    created_by: str = ""
    history: list[EventView] = field(default_factory=list)
    extensions: list[ExtensionView] = field(default_factory=list)
    attachments: list[AttachmentView] = field(default_factory=list)
    basis: list[BasisView] = field(default_factory=list)
    escalations: list[EscalationView] = field(default_factory=list)


@dataclass
class CreateResult(View):
    item: HazardView
    suggestions: list[BasisSuggestion]
    duty_layers: list[DutyLayer]
    major_flags: list[MajorHazardFlag]


@dataclass
class StatsRow(View):
    unit_id: int | None
    unit: str
    total: int = 0
    open: int = 0
    overdue: int = 0
    closed: int = 0
    closed_on_time: int = 0
    closed_late: int = 0
    days_to_close_sum: int = 0
    rank: int | None = None

    @property
    def rectification_rate(self) -> float | None:
        return self.closed / self.total if self.total else None

    @property
    def overdue_rate(self) -> float | None:
        return (self.overdue + self.closed_late) / self.total if self.total else None

    @property
    def avg_days_to_close(self) -> float | None:
        return self.days_to_close_sum / self.closed if self.closed else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["days_to_close_sum"]
        data["rectification_rate"] = self.rectification_rate
        data["overdue_rate"] = self.overdue_rate
        data["avg_days_to_close"] = self.avg_days_to_close
        return data


@dataclass
class StatsReport(View):
    unit: str
    start: date
    end: date
    as_of: date
    rows: list[StatsRow]
    total: StatsRow

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit, "start": self.start, "end": self.end, "as_of": self.as_of,
            "rows": [r.to_dict() for r in self.rows], "total": self.total.to_dict(),
        }


@dataclass
class ImportProblem(View):
    row: int
    message: str


@dataclass
class ImportReport(View):
    file: str
    rows_read: int
    created: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems
