"""Hazard-item operations: create with basis suggestions, read, the status flow, extensions,
attachments, legal basis and statistics. Every write checks permission and writes the item history
and the audit log in the same transaction as the change."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from knowledge.ledger import attachments as att
from knowledge.ledger import numbering, queries, statemachine
from knowledge.ledger.base import _jsonable
from knowledge.ledger.basis import BasisSuggestion, flag_major_hazard
from knowledge.ledger.errors import (
    ConcurrentChange,
    LedgerError,
    NotFound,
    PermissionDenied,
)
from knowledge.ledger.models import (
    Attachment,
    ExtensionRequest,
    ExtensionStatus,
    Hazard,
    HazardBasis,
    HazardEvent,
    Level,
    Official,
    Role,
    Source,
    Status,
    Unit,
)
from knowledge.ledger.organisation import OrganisationService
from knowledge.ledger.permissions import (
    Actor,
    is_assignee,
    require_assignee,
    require_can_create,
    require_supervisor,
    require_writer,
    supervises,
)
from knowledge.ledger.views import (
    AttachmentView,
    BasisView,
    CreateResult,
    EscalationView,
    EventView,
    ExtensionView,
    HazardSummary,
    HazardView,
    StatsReport,
)
from knowledge.ledger.workdays import parse_date, parse_deadline
from knowledge.reminders.models import Escalation
from knowledge.textnorm import normalize


@dataclass
class HazardInput:
    description: str
    unit: str | int
    deadline: str | date
    responsible_unit: str | int | None = None
    responsible_official: str | int | None = None
    level: str = Level.ORDINARY
    source: str = "检查"
    found_on: date | str | None = None
    location: str | None = None
    category: str | None = None
    measures: str | None = None
    funds: Decimal | str | float | None = None
    supervising_unit: str | int | None = None
    listed_supervision: bool = False


class HazardService(OrganisationService):
    """Hazard items: creation, reading, the status flow, extensions, attachments, basis, statistics."""

    def suggest_basis(self, description: str) -> list[BasisSuggestion]:
        flags = [f.as_suggestion() for f in flag_major_hazard(description)]
        found = self.suggester.suggest(description) if self.suggester else []
        seen, out = set(), []
        for sug in flags + sorted(found, key=lambda x: -x.score):
            key = (sug.document, sug.article)
            if key not in seen:
                seen.add(key)
                out.append(sug)
        return out

    def _resolve_input(self, s: Session, data: HazardInput, today: date, *, importing: bool) -> dict[str, Any]:
        """Validate one item fully (raises LedgerError with the first problem)."""
        description = (data.description or "").strip()
        if len(description) < 4:
            raise LedgerError("隐患描述过短，请具体说明隐患情况。")
        if len(description) > 4000:
            raise LedgerError("隐患描述过长（超过4000字）。")
        unit = self.resolve_unit(s, data.unit)
        resp_unit = self.resolve_unit(s, data.responsible_unit) if data.responsible_unit not in (None, "") else unit
        official = None
        if data.responsible_official not in (None, ""):
            official = self.resolve_official(s, data.responsible_official)
        sup = self.resolve_unit(s, data.supervising_unit) if data.supervising_unit not in (None, "") else None
        level = (data.level or Level.ORDINARY).strip().replace("隐患", "").replace("事故", "")
        if level not in Level.ALL:
            raise LedgerError(f"隐患等级“{data.level}”无效，应为“一般”或“重大”。")
        source = (data.source or "检查").strip()
        if source not in Source.ALL:
            raise LedgerError(f"发现方式“{source}”无效，应为：{'、'.join(Source.ALL)}。")
        if data.found_on in (None, ""):
            found_on = today
        elif isinstance(data.found_on, date):
            found_on = data.found_on
        else:
            found_on = parse_date(str(data.found_on))
        if found_on > today:
            raise LedgerError(f"发现日期{found_on.isoformat()}晚于今天，请核对。")
        # Imported ledgers carry historic (possibly overdue) items: their deadlines count from
        # the date found and may lie in the past, but never before the date found.
        deadline = parse_deadline(data.deadline if data.deadline is not None else "", today, self.calendar,
                                  allow_past=importing, base=found_on if importing else today)
        if deadline < found_on:
            raise LedgerError(f"整改时限{deadline.isoformat()}早于发现日期{found_on.isoformat()}，请核对。")
        funds = None
        if data.funds not in (None, ""):
            try:
                funds = Decimal(str(data.funds).replace(",", "").replace("元", "").strip())
            except InvalidOperation:
                raise LedgerError(f"整改资金“{data.funds}”不是数字。") from None
            if funds < 0:
                raise LedgerError("整改资金不能为负数。")
        return dict(
            description=description, norm_description=normalize(description),
            location=(data.location or None), unit=unit, responsible_unit=resp_unit,
            responsible_official=official, supervising_unit=sup, level=level, source=source,
            found_on=found_on, deadline=deadline, category=data.category or None,
            measures=data.measures or None, funds=funds, listed_supervision=bool(data.listed_supervision),
        )

    def create_hazard(self, actor: Actor, data: HazardInput) -> CreateResult:
        require_writer(actor)
        with self._tx() as s:
            today = self.today()
            v = self._resolve_input(s, data, today, importing=False)
            if actor.role == Role.SUPERVISOR and v["supervising_unit"] is None and actor.unit_id:
                v["supervising_unit"] = s.get(Unit, actor.unit_id)
            require_can_create(actor, v["responsible_unit"], v["supervising_unit"])
            flags = flag_major_hazard(v["description"])
            number = numbering.allocate(s, self.prefix, today.year)[0]
            now = self.clock.now()
            item = Hazard(
                number=number, description=v["description"], norm_description=v["norm_description"],
                location=v["location"], unit_id=v["unit"].id, category=v["category"], level=v["level"],
                source=v["source"], found_on=v["found_on"], responsible_unit_id=v["responsible_unit"].id,
                responsible_official_id=v["responsible_official"].id if v["responsible_official"] else None,
                measures=v["measures"], funds=v["funds"], deadline=v["deadline"],
                supervising_unit_id=v["supervising_unit"].id if v["supervising_unit"] else None,
                listed_supervision=v["listed_supervision"], major_suspected=bool(flags), status=Status.PENDING,
                created_at=now, updated_at=now, created_by=actor.label,
            )
            s.add(item)
            s.flush()
            detail = {k: (x.name if isinstance(x, (Unit, Official)) else x) for k, x in v.items()
                      if k != "norm_description"}
            self._event(s, actor, item, "create", None, Status.PENDING, None, detail, now)
            self._audit(s, actor, "hazard.create", "hazard", number, detail)
            s.flush()
            view = self._view(s, item, today)
        suggestions = self.suggest_basis(view.description)
        layers = self.suggester.duty_layers(view.description) if self.suggester else []
        return CreateResult(view, suggestions, layers, flags)

    # ------------------------------------------------------------------ hazards: read
    def _load(self, s: Session, number: str) -> Hazard:
        key = normalize(str(number)).upper()
        item = s.execute(
            select(Hazard).where(Hazard.number == key).options(
                joinedload(Hazard.unit), joinedload(Hazard.responsible_unit),
                joinedload(Hazard.supervising_unit), joinedload(Hazard.responsible_official))
        ).scalar_one_or_none()
        if item is None:
            raise NotFound(f"未找到编号为“{number}”的隐患。")
        return item

    # ------------------------------------------------------------------ what a front end may offer
    # Status-flow steps taken by the people doing the rectification, and by their supervisors.
    ASSIGNEE_STEPS = ("progress", "request_extension", "request_review")
    SUPERVISOR_STEPS = ("review_pass", "review_fail")

    def offered_steps(self, actor: Actor, number: str) -> list[str]:
        """The steps ``actor`` may take on the item now, for buttons: rectification steps only for
        its assignees, review steps only for its supervisors, no second pending extension."""
        if actor.role == Role.VIEWER:
            return []
        with self.sessions() as s:
            item = self._load(s, number)
            steps: list[str] = []
            if is_assignee(actor, item) and item.status in (Status.PENDING, Status.IN_PROGRESS):
                steps += self.ASSIGNEE_STEPS
                if self._pending_extension(s, item) is not None:
                    steps.remove("request_extension")
            if supervises(actor, item) and item.status == Status.AWAITING_REVIEW:
                steps += self.SUPERVISOR_STEPS
            return steps

    def check_step(self, actor: Actor, number: str, step: str, what: str,
                   expected_version: int | None = None) -> HazardSummary:
        """Raise the refusal ``step`` would meet now (stale version, permission, status) without
        writing anything, so a front end can refuse before asking the user to type a note."""
        with self._change(actor, number, expected_version) as (s, item):
            if step in self.SUPERVISOR_STEPS:
                require_supervisor(actor, item, what)
            else:
                require_assignee(actor, item, what)
            statemachine.check(step, item.status, item.number)
            return self._view(s, item, self.today())

    def get(self, actor: Actor, number: str) -> HazardView:
        with self.sessions() as s:
            return self._view(s, self._load(s, number), self.today(), full=True)

    def list_hazards(self, actor: Actor, flt: queries.HazardFilter) -> list[HazardSummary]:
        with self.sessions() as s:
            return queries.list_hazards(s, flt, self.today())

    def count_hazards(self, actor: Actor, flt: queries.HazardFilter) -> int:
        with self.sessions() as s:
            return queries.count_hazards(s, flt, self.today())

    def filter_for(self, *, unit: str | int | None = None, located_in: str | int | None = None,
                   official: str | int | None = None, supervising_unit: str | int | None = None,
                   **kwargs: Any) -> queries.HazardFilter:
        """A HazardFilter with unit/official references resolved (clear message if unknown)."""
        with self.sessions() as s:
            return queries.HazardFilter(
                unit_id=self.resolve_unit(s, unit).id if unit not in (None, "") else None,
                located_unit_id=self.resolve_unit(s, located_in).id if located_in not in (None, "") else None,
                official_id=self.resolve_official(s, official).id if official not in (None, "") else None,
                supervising_unit_id=(self.resolve_unit(s, supervising_unit).id
                                     if supervising_unit not in (None, "") else None),
                **kwargs,
            )

    def _view(self, s: Session, item: Hazard, today: date, full: bool = False) -> HazardView:
        open_ = item.status != Status.CLOSED
        view = HazardView(
            number=item.number, description=item.description, unit=item.unit.name,
            responsible_unit=item.responsible_unit.name,
            responsible_official=item.responsible_official.name if item.responsible_official else None,
            level=item.level, status=item.status, found_on=item.found_on, deadline=item.deadline,
            overdue=open_ and item.deadline < today, days_left=(item.deadline - today).days if open_ else None,
            supervising_unit=item.supervising_unit.name if item.supervising_unit else None,
            listed_supervision=item.listed_supervision, closed_on=item.closed_on, version=item.version,
            location=item.location, category=item.category, source=item.source, measures=item.measures,
            funds=item.funds, major_suspected=item.major_suspected, created_by=item.created_by,
        )
        if full:
            hid = item.id
            view.history = [EventView(self.clock.local(e.at), e.actor, e.action, e.from_status, e.to_status, e.note, e.changes)
                            for e in s.execute(select(HazardEvent).where(HazardEvent.hazard_id == hid)
                                               .order_by(HazardEvent.id)).scalars()]
            view.extensions = [ExtensionView(x.id, self.clock.local(x.requested_at), x.requested_by, x.reason, x.old_deadline,
                                             x.new_deadline, x.status, x.decided_by, x.decision_note)
                               for x in s.execute(select(ExtensionRequest).where(ExtensionRequest.hazard_id == hid)
                                                  .order_by(ExtensionRequest.id)).scalars()]
            view.attachments = [AttachmentView(a.id, a.filename, a.stored_path, a.sha256, a.size, a.mime,
                                               a.uploaded_by)
                                for a in s.execute(select(Attachment).where(Attachment.hazard_id == hid)
                                                   .order_by(Attachment.id)).scalars()]
            view.basis = [BasisView(b.kind, b.document, b.article, b.excerpt, b.attached_by)
                          for b in s.execute(select(HazardBasis).where(HazardBasis.hazard_id == hid)
                                             .order_by(HazardBasis.id)).scalars()]
            view.escalations = [EscalationView(x.level, x.fired_on, x.recipients)
                                for x in s.execute(select(Escalation).where(Escalation.hazard_id == hid)
                                                   .order_by(Escalation.level)).scalars()]
        return view

    # ------------------------------------------------------------------ hazards: changes
    def _event(self, s: Session, actor: Actor, item: Hazard, action: str, before: str | None, after: str | None,
               note: str | None, changes: dict | None, now: datetime) -> HazardEvent:
        ev = HazardEvent(hazard_id=item.id, at=now, actor=actor.label, action=action, from_status=before,
                         to_status=after, note=note, changes=_jsonable(changes))
        s.add(ev)
        return ev

    @contextmanager
    def _change(self, actor: Actor, number: str, expected_version: int | None) -> Iterator[tuple[Session, Hazard]]:
        with self._tx() as s:
            item = self._load(s, number)
            if expected_version is not None and item.version != expected_version:
                raise ConcurrentChange(
                    f"隐患 {item.number} 在您查看之后已被他人更新（当前状态：{item.status}），请刷新后重试。")
            yield s, item

    def _step(self, s: Session, actor: Actor, item: Hazard, action: str, note: str | None,
              changes: dict | None = None) -> HazardEvent:
        before = item.status
        after = statemachine.check(action, before, item.number)
        # The clock is read only after the item was loaded: a concurrent writer that loaded the
        # same version is caught by the version check when this change is flushed.
        now = self.clock.now()
        item.status = after
        item.updated_at = now
        ev = self._event(s, actor, item, action, before, after, note, changes, now)
        self._audit(s, actor, f"hazard.{action}", "hazard", item.number,
                    {"from": before, "to": after, "note": note, **(changes or {})})
        s.flush()
        return ev

    def _require_note(self, note: str | None, what: str) -> str:
        note = (note or "").strip()
        if not note:
            raise LedgerError(f"请填写{what}。")
        return note

    def update_progress(self, actor: Actor, number: str, note: str, files: Sequence[Path] = (),
                        expected_version: int | None = None) -> HazardView:
        note = self._require_note(note, "整改进展")
        checked = [att.check(Path(f), self.settings.max_upload_bytes) for f in files]  # validate before writing
        del checked
        with self._change(actor, number, expected_version) as (s, item):
            require_assignee(actor, item, "报送整改进展")
            ev = self._step(s, actor, item, "progress", note)
            self._store_files(s, actor, item, files, ev)
            return self._view(s, item, self.today())

    def attach(self, actor: Actor, number: str, files: Sequence[Path]) -> HazardView:
        for f in files:
            att.check(Path(f), self.settings.max_upload_bytes)
        if not files:
            raise LedgerError("请选择要上传的附件。")
        with self._change(actor, number, None) as (s, item):
            require_assignee(actor, item, "上传附件")
            ev = self._step(s, actor, item, "attach", None, {"files": [Path(f).name for f in files]})
            self._store_files(s, actor, item, files, ev)
            return self._view(s, item, self.today())

    def _store_files(self, s: Session, actor: Actor, item: Hazard, files: Sequence[Path], ev: HazardEvent) -> None:
        for f in files:
            stored = att.store(Path(f), self.settings.files_dir, self.settings.max_upload_bytes)
            exists = s.execute(select(Attachment.id).where(Attachment.hazard_id == item.id,
                                                           Attachment.sha256 == stored.sha256)).first()
            if exists:
                continue
            s.add(Attachment(hazard_id=item.id, event_id=ev.id, filename=stored.filename,
                             stored_path=stored.stored_path, sha256=stored.sha256, size=stored.size,
                             mime=stored.mime, uploaded_by=actor.label))
            self._audit(s, actor, "hazard.attachment", "hazard", item.number,
                        {"file": stored.filename, "sha256": stored.sha256, "size": stored.size})

    def request_review(self, actor: Actor, number: str, note: str,
                       expected_version: int | None = None) -> HazardView:
        note = self._require_note(note, "整改完成情况")
        with self._change(actor, number, expected_version) as (s, item):
            require_assignee(actor, item, "申请复查")
            self._step(s, actor, item, "request_review", note)
            return self._view(s, item, self.today())

    def review(self, actor: Actor, number: str, passed: bool, note: str,
               expected_version: int | None = None) -> HazardView:
        """复查: passed → 已销号; failed → back to 整改中 with the finding."""
        note = self._require_note(note, "复查意见" if passed else "复查发现的问题")
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "复查销号" if passed else "复查")
            if item.status == Status.AWAITING_REVIEW and passed:
                pending = self._pending_extension(s, item)
                if pending is not None:
                    pending.status = ExtensionStatus.REFUSED
                    pending.decision_note = "已销号，延期申请自动关闭"
            self._step(s, actor, item, "review_pass" if passed else "review_fail", note)
            if passed:
                now = self.clock.now()
                item.closed_at = now
                item.closed_on = self.clock.local(now).date()
            s.flush()
            return self._view(s, item, self.today())

    def close(self, actor: Actor, number: str, note: str, expected_version: int | None = None) -> HazardView:
        """销号 after a passed 复查 (same as ``review(passed=True)``)."""
        return self.review(actor, number, True, note, expected_version)

    def reopen(self, actor: Actor, number: str, reason: str, deadline: str | date | None = None,
               expected_version: int | None = None) -> HazardView:
        reason = self._require_note(reason, "重新打开的原因")
        today = self.today()
        new_deadline = parse_deadline(deadline, today, self.calendar) if deadline not in (None, "") else None
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "重新打开")
            changes: dict[str, Any] = {"closed_on": [item.closed_on, None]}
            if new_deadline is not None:
                changes["deadline"] = [item.deadline, new_deadline]
                item.deadline = new_deadline
            item.closed_at, item.closed_on = None, None
            self._step(s, actor, item, "reopen", reason, changes)
            return self._view(s, item, today)

    def _pending_extension(self, s: Session, item: Hazard) -> ExtensionRequest | None:
        return s.execute(select(ExtensionRequest).where(
            ExtensionRequest.hazard_id == item.id, ExtensionRequest.status == ExtensionStatus.PENDING)
        ).scalar_one_or_none()

    def request_extension(self, actor: Actor, number: str, new_deadline: str | date, reason: str,
                          expected_version: int | None = None) -> ExtensionView:
        reason = self._require_note(reason, "延期理由")
        with self._change(actor, number, expected_version) as (s, item):
            require_assignee(actor, item, "申请延期")
            statemachine.check("request_extension", item.status, item.number)
            if self._pending_extension(s, item) is not None:
                raise LedgerError(f"隐患 {item.number} 已有一项延期申请待审批，请等待审批结果。")
            today = self.today()
            # "N个工作日" in an extension request means N more days after the current deadline.
            target = parse_deadline(new_deadline, today, self.calendar, base=max(today, item.deadline))
            if target <= item.deadline:
                raise LedgerError(f"申请的新时限{target.isoformat()}不晚于现时限{item.deadline.isoformat()}。")
            if target < today:
                raise LedgerError("申请的新时限早于今天。")
            req = ExtensionRequest(hazard_id=item.id, requested_by=actor.label, reason=reason,
                                   old_deadline=item.deadline, new_deadline=target, requested_at=self.clock.now())
            s.add(req)
            self._step(s, actor, item, "request_extension", reason,
                       {"deadline": [item.deadline, target]})
            s.flush()
            return ExtensionView(req.id, req.requested_at, req.requested_by, req.reason, req.old_deadline,
                                 req.new_deadline, req.status, None, None)

    def decide_extension(self, actor: Actor, number: str, approve: bool, note: str | None = None,
                         expected_version: int | None = None) -> HazardView:
        if not approve:
            note = self._require_note(note, "驳回理由")
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "审批延期")
            req = self._pending_extension(s, item)
            if req is None:
                raise LedgerError(f"隐患 {item.number} 没有待审批的延期申请。")
            req.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
            req.decided_by, req.decided_at, req.decision_note = actor.label, self.clock.now(), note
            changes: dict[str, Any] = {"extension_id": req.id, "approved": approve}
            if approve:
                changes["deadline"] = [item.deadline, req.new_deadline]
                item.deadline = req.new_deadline
            self._step(s, actor, item, "decide_extension", note or ("同意延期" if approve else None), changes)
            return self._view(s, item, self.today())

    def assign(self, actor: Actor, number: str, *, responsible_unit: str | int | None = None,
               responsible_official: str | int | None = None, supervising_unit: str | int | None = None,
               listed_supervision: bool | None = None, note: str | None = None,
               expected_version: int | None = None) -> HazardView:
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "交办或变更责任")
            changes: dict[str, Any] = {}
            if responsible_unit not in (None, ""):
                unit = self.resolve_unit(s, responsible_unit)
                changes["responsible_unit"] = [item.responsible_unit.name, unit.name]
                item.responsible_unit_id, item.responsible_unit = unit.id, unit
            if responsible_official not in (None, ""):
                off = self.resolve_official(s, responsible_official)
                old = item.responsible_official.name if item.responsible_official else None
                changes["responsible_official"] = [old, off.name]
                item.responsible_official_id, item.responsible_official = off.id, off
            if supervising_unit not in (None, ""):
                sup = self.resolve_unit(s, supervising_unit)
                if not actor.is_admin and not actor.within(sup):
                    raise PermissionDenied("只能将督办单位改为您所在单位或其下属单位。")
                old = item.supervising_unit.name if item.supervising_unit else None
                changes["supervising_unit"] = [old, sup.name]
                item.supervising_unit_id, item.supervising_unit = sup.id, sup
            if listed_supervision is not None and listed_supervision != item.listed_supervision:
                changes["listed_supervision"] = [item.listed_supervision, listed_supervision]
                item.listed_supervision = listed_supervision
            if not changes:
                raise LedgerError("没有需要变更的内容。")
            self._step(s, actor, item, "assign", note, changes)
            return self._view(s, item, self.today())

    def edit(self, actor: Actor, number: str, *, description: str | None = None, location: str | None = None,
             level: str | None = None, category: str | None = None, measures: str | None = None,
             funds: str | None = None, note: str | None = None, expected_version: int | None = None) -> HazardView:
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "修改隐患信息")
            changes: dict[str, Any] = {}
            if description is not None:
                if len(description.strip()) < 4:
                    raise LedgerError("隐患描述过短，请具体说明隐患情况。")
                changes["description"] = [item.description, description.strip()]
                item.description, item.norm_description = description.strip(), normalize(description)
            if level is not None:
                if level not in Level.ALL:
                    raise LedgerError("隐患等级应为“一般”或“重大”。")
                changes["level"] = [item.level, level]
                item.level = level
            for name, value in (("location", location), ("category", category), ("measures", measures)):
                if value is not None:
                    changes[name] = [getattr(item, name), value or None]
                    setattr(item, name, value or None)
            if funds is not None:
                try:
                    amount = Decimal(str(funds)) if funds != "" else None
                except InvalidOperation:
                    raise LedgerError(f"整改资金“{funds}”不是数字。") from None
                changes["funds"] = [item.funds, amount]
                item.funds = amount
            if not changes:
                raise LedgerError("没有需要修改的内容。")
            self._step(s, actor, item, "edit", note, changes)
            return self._view(s, item, self.today())

    def attach_basis(self, actor: Actor, number: str, suggestion: BasisSuggestion) -> HazardView:
        """Attach a legal basis the user confirmed (a suggestion or one typed in)."""
        if not (suggestion.document or "").strip():
            raise LedgerError("请填写依据的文件名称。")
        with self._change(actor, number, None) as (s, item):
            require_assignee(actor, item, "添加法律依据")
            if s.execute(select(HazardBasis.id).where(
                    HazardBasis.hazard_id == item.id, HazardBasis.document == suggestion.document,
                    HazardBasis.article == suggestion.article if suggestion.article else HazardBasis.article.is_(None),
            )).first():
                raise LedgerError("该依据已添加过。")
            s.add(HazardBasis(hazard_id=item.id, kind=suggestion.kind, document=suggestion.document,
                              article=suggestion.article, excerpt=suggestion.excerpt, attached_by=actor.label))
            now = self.clock.now()
            item.updated_at = now
            detail = {"document": suggestion.document, "article": suggestion.article}
            self._event(s, actor, item, "basis", item.status, item.status, None, detail, now)
            self._audit(s, actor, "hazard.basis", "hazard", item.number, detail)
            s.flush()
            return self._view(s, item, self.today(), full=True)

    # ------------------------------------------------------------------ statistics
    def stats(self, actor: Actor, unit: str | int | None, start: date, end: date) -> StatsReport:
        with self.sessions() as s:
            if unit not in (None, ""):
                root: int | None = self.resolve_unit(s, unit).id
            else:
                # A deployment usually has one root (the city): rank its districts by default.
                roots = s.execute(select(Unit.id).where(Unit.parent_id.is_(None)).limit(2)).scalars().all()
                root = roots[0] if len(roots) == 1 else None
            return queries.stats(s, root, start, end, self.today())

    def period(self, spec: str | None) -> tuple[date, date]:
        """"month" (this month), "last-month", "year", "all", "2026-03", "2026", or "2026-01-01..2026-03-31"."""
        today = self.today()
        spec = (spec or "month").strip()
        if spec in ("month", "本月"):
            return today.replace(day=1), today
        if spec in ("last-month", "上月"):
            end = today.replace(day=1) - timedelta(days=1)
            return end.replace(day=1), end
        if spec in ("year", "本年"):
            return today.replace(month=1, day=1), today
        if spec in ("all", "全部"):
            return date(1970, 1, 1), today
        if ".." in spec:
            a, b = spec.split("..", 1)
            start, end = parse_date(a), parse_date(b)
            if end < start:
                raise LedgerError("统计期间的结束日期早于开始日期。")
            return start, end
        if len(spec) == 4 and spec.isdigit():
            return date(int(spec), 1, 1), date(int(spec), 12, 31)
        parts = spec.replace("/", "-").split("-")
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            year, month = int(parts[0]), int(parts[1])
            if not 1 <= month <= 12:
                raise LedgerError(f"统计期间“{spec}”无效：月份应在1到12之间。")
            start = date(year, month, 1)
            nxt = date(year + (month == 12), month % 12 + 1, 1)
            return start, nxt - timedelta(days=1)
        raise LedgerError(f"无法识别的统计期间“{spec}”，可用：month、last-month、year、all、2026-03、2026。")

    # ------------------------------------------------------------------ export
    def export_rows(self, actor: Actor, flt: queries.HazardFilter) -> list[dict[str, Any]]:
        """Rows for the printable ledger (all matching items, due-date order)."""
        from knowledge.ledger.exporter import ledger_rows

        with self.sessions() as s:
            return ledger_rows(s, flt, self.today())


