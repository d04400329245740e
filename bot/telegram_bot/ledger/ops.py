"""Blocking ledger work behind the chat handlers (always called through ``run_blocking``).

The ledger itself checks permissions, the status flow and item versions on every write; this
module adds what a chat screen needs on top: which buttons to offer a user, and the same checks
*before* a guided step starts, so nobody types a note only to be refused at the end.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select

from knowledge.ledger import Actor, HazardInput, LedgerService
from knowledge.ledger import attachments as att
from knowledge.ledger.models import Role, Status, Unit
from knowledge.ledger.permissions import require_can_create
from knowledge.ledger.views import (
    CreateResult,
    ExtensionView,
    HazardSummary,
    HazardView,
    StatsReport,
)

LIST_LIMIT = 20
# Wide enough to take every open item, and it makes the ledger list them by due date.
ANY_DUE = 36500

# Chat action → (ledger status-flow step, what the permission message calls it).
STEPS = {
    "prog": ("progress", "报送整改进展"),
    "ext": ("request_extension", "申请延期"),
    "rev": ("request_review", "申请复查"),
    "ok": ("review_pass", "复查销号"),
    "no": ("review_fail", "复查"),
}
PASS_NOTE = "复查通过，予以销号。"


@dataclass
class Screen:
    """An item as one user sees it: the details and the buttons they may press."""

    view: HazardView
    actions: list[str]


@dataclass
class Target:
    """The item a guided step works on, as it was when the step started."""

    number: str
    version: int
    deadline: date


@dataclass
class Section:
    title: str
    items: list[HazardSummary]
    total: int


@dataclass
class Overview:
    today: date
    sections: list[Section] = field(default_factory=list)


# Chat action codes (short, for callback data) ↔ ledger status-flow steps.
ACTION_STEPS = {action: step for action, (step, _) in STEPS.items()}
STEP_ACTIONS = {step: action for action, step in ACTION_STEPS.items()}


def screen(ledger: LedgerService, actor: Actor, number: str) -> Screen:
    view = ledger.get(actor, number)
    return Screen(view, [STEP_ACTIONS[step] for step in ledger.offered_steps(actor, view.number)])


def precheck(ledger: LedgerService, actor: Actor, number: str, action: str, version: int | None) -> Target:
    """Raise the ledger's own refusal (stale screen, permission, status) for ``action`` now."""
    step, what = STEPS[action]
    item = ledger.check_step(actor, number, step, what, expected_version=version)
    return Target(item.number, item.version, item.deadline)


def check_files(ledger: LedgerService, files: Sequence[Path]) -> None:
    for path in files:
        att.check(path, ledger.settings.max_upload_bytes)


def progress(ledger: LedgerService, actor: Actor, number: str, note: str, files: Sequence[Path],
             version: int | None) -> HazardView:
    if not note.strip() and files:
        return ledger.attach(actor, number, files)  # evidence only, as `hazards update --file`
    return ledger.update_progress(actor, number, note, files, expected_version=version)


def request_review(ledger: LedgerService, actor: Actor, number: str, note: str, files: Sequence[Path],
                   version: int | None) -> HazardView:
    # Files are checked first: a refused file must not leave the item waiting for review without it.
    check_files(ledger, files)
    view = ledger.request_review(actor, number, note, expected_version=version)
    if files:
        view = ledger.attach(actor, number, files)
    return view


def request_extension(ledger: LedgerService, actor: Actor, number: str, deadline: str | date, reason: str,
                      version: int | None) -> ExtensionView:
    return ledger.request_extension(actor, number, deadline, reason, expected_version=version)


def review(ledger: LedgerService, actor: Actor, number: str, passed: bool, note: str,
           version: int | None) -> HazardView:
    return ledger.review(actor, number, passed, note, expected_version=version)


def create(ledger: LedgerService, actor: Actor, data: HazardInput, files: Sequence[Path]) -> CreateResult:
    check_files(ledger, files)
    result = ledger.create_hazard(actor, data)
    if files:
        result.item = ledger.attach(actor, result.item.number, files)
    return result


def unit_choice(ledger: LedgerService, actor: Actor, text: str) -> tuple[str, str]:
    """("#id", full name) of the unit ``text`` names, refused now if the actor may not report there.

    The permission test is the one ``create_hazard`` applies (a supervisor's item is supervised by
    its own unit), so an official learns at this step, not after the whole dialogue.
    """
    with ledger.sessions() as s:
        unit = ledger.resolve_unit(s, text)
        supervising = s.get(Unit, actor.unit_id) if actor.role == Role.SUPERVISOR and actor.unit_id else None
        require_can_create(actor, unit, supervising)
        ids = [int(p) for p in unit.path.strip("/").split("/") if p]
        names = dict(s.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())
        return f"#{unit.id}", "/".join(names.get(i, "?") for i in ids)


def _section(ledger: LedgerService, actor: Actor, title: str, **kw: object) -> Section:
    flt = ledger.filter_for(statuses=Status.OPEN, due_within=ANY_DUE, limit=LIST_LIMIT, **kw)  # type: ignore[arg-type]
    items = ledger.list_hazards(actor, flt)
    total = len(items) if len(items) < LIST_LIMIT else ledger.count_hazards(actor, flt)
    return Section(title, items, total)


def overview(ledger: LedgerService, actor: Actor) -> Overview:
    """Open items for /hazards: mine, my unit's (with sub-units), and those my unit supervises."""
    result = Overview(ledger.today())
    if actor.official_id is not None:
        result.sections.append(_section(ledger, actor, "我负责的未销号隐患", official=actor.official_id))
    if actor.unit_id is not None:
        result.sections.append(_section(ledger, actor, f"{actor.unit_name}（含下属单位）未销号隐患",
                                        unit=actor.unit_id))
        if actor.role in (Role.SUPERVISOR, Role.ADMIN):
            result.sections.append(_section(ledger, actor, f"{actor.unit_name}督办的未销号隐患",
                                            supervising_unit=actor.unit_id))
    if not result.sections:  # an administrator without a unit of their own
        result.sections.append(_section(ledger, actor, "全部未销号隐患"))
    return result


def stats(ledger: LedgerService, actor: Actor, period: str | None, unit: str | None) -> StatsReport:
    start, end = ledger.period(period)
    return ledger.stats(actor, unit, start, end)

