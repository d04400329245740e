"""Importing ledger spreadsheets: every row validated first, then all rows written or none."""
from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from knowledge.ledger import importer, numbering
from knowledge.ledger.base import _str
from knowledge.ledger.basis import flag_major_hazard
from knowledge.ledger.errors import LedgerError
from knowledge.ledger.hazards import HazardInput, HazardService
from knowledge.ledger.models import Hazard, HazardEvent, Level, Official, Status, Unit
from knowledge.ledger.permissions import Actor, require_can_create, require_writer
from knowledge.ledger.views import ImportProblem, ImportReport
from knowledge.ledger.workdays import parse_date
from knowledge.textnorm import normalize

STATUS_ALIASES = {"未整改": Status.PENDING, "待整改": Status.PENDING, "整改中": Status.IN_PROGRESS,
                  "正在整改": Status.IN_PROGRESS, "待复查": Status.AWAITING_REVIEW, "待验收": Status.AWAITING_REVIEW,
                  "已销号": Status.CLOSED, "已整改": Status.CLOSED, "已完成": Status.CLOSED, "完成": Status.CLOSED}
YES = {"是", "y", "yes", "true", "1", "挂牌", "√"}
NO = {"否", "n", "no", "false", "0", ""}


class ImportService(HazardService):
    """Spreadsheet import of hazard items (see ``importer`` for reading the sheet)."""

    def import_hazards(self, actor: Actor, path: Path, *, dry_run: bool = False) -> ImportReport:
        """Import a ledger sheet: every row is validated first; all rows are imported or none."""
        require_writer(actor)
        path = Path(path)
        table = importer.read_table(path, importer.HAZARD_HEADINGS, ("description", "unit", "deadline"))
        report = ImportReport(file=path.name, rows_read=len(table.rows))
        today = self.today()
        with self._tx() as s:
            units: dict[Any, Unit] = {}
            officials: dict[Any, Official] = {}
            unit_cache = _Cache(lambda ref: self.resolve_unit(s, ref), units)
            official_cache = _Cache(lambda ref: self.resolve_official(s, ref), officials)
            seen_numbers: dict[str, int] = {}
            seen_seq: dict[str, int] = {}
            seen_keys: dict[str, int] = {}
            pending: list[tuple[int, dict[str, Any]]] = []
            for rownum, row in table.rows:
                try:
                    pending.append((rownum, self._import_row(
                        s, actor, row, rownum, today, unit_cache, official_cache, seen_numbers, seen_seq, seen_keys)))
                except LedgerError as exc:
                    report.problems.append(ImportProblem(rownum, exc.message))
            if not table.rows:
                report.problems.append(ImportProblem(0, "表格中没有数据行。"))
            keys = [v["source_key"] for _, v in pending]
            existing: set[str] = set()
            for i in range(0, len(keys), 500):
                existing.update(k for k in s.execute(select(Hazard.source_key).where(
                    Hazard.source_key.in_(keys[i:i + 500]))).scalars() if k)
            numbers = [v["number"] for _, v in pending if v["number"]]
            taken: set[str] = set()
            for i in range(0, len(numbers), 500):
                taken.update(s.execute(select(Hazard.number).where(Hazard.number.in_(numbers[i:i + 500]))).scalars())
            to_create = []
            for rownum, v in pending:
                if v["source_key"] in existing:
                    report.skipped.append((rownum, f"已导入过（{v['number'] or '同一隐患'}），跳过"))
                elif v["number"] in taken:
                    report.problems.append(ImportProblem(rownum, f"编号{v['number']}已被台账中另一条隐患使用。"))
                else:
                    to_create.append((rownum, v))
            if report.problems or dry_run:
                s.rollback()
                return report
            self._bulk_create(s, actor, to_create, report, path.name)
        return report

    def _import_row(self, s: Session, actor: Actor, row: dict[str, Any], rownum: int, today: date,
                    unit_cache: _Cache, official_cache: _Cache, seen_numbers: dict[str, int],
                    seen_seq: dict[str, int], seen_keys: dict[str, int]) -> dict[str, Any]:
        for required, label in (("description", "隐患描述"), ("unit", "所在单位"), ("deadline", "整改时限")):
            if row.get(required) in (None, ""):
                raise LedgerError(f"“{label}”为空。")
        seq = row.get("seq")
        if seq not in (None, ""):
            key = str(seq).strip().removesuffix(".0")
            if key in seen_seq:
                raise LedgerError(f"序号{key}与第{seen_seq[key]}行重复。")
            seen_seq[key] = rownum
        number = None
        if row.get("number") not in (None, ""):
            number = normalize(str(row["number"])).upper()
            if len(number) > 40:
                raise LedgerError("隐患编号过长。")
            if number in seen_numbers:
                raise LedgerError(f"隐患编号{number}与第{seen_numbers[number]}行重复。")
            seen_numbers[number] = rownum
        data = HazardInput(
            description=str(row["description"]), unit=unit_cache.key(row["unit"]),
            deadline=importer.cell_date(row["deadline"]) or "",
            responsible_unit=unit_cache.key(row.get("responsible_unit")),
            responsible_official=official_cache.key(row.get("responsible_official")),
            level=str(row.get("level") or Level.ORDINARY), source=str(row.get("source") or "检查"),
            found_on=importer.cell_date(row.get("found_on")), location=_str(row.get("location")),
            category=_str(row.get("category")), measures=_str(row.get("measures")), funds=row.get("funds"),
            supervising_unit=unit_cache.key(row.get("supervising_unit")),
        )
        listed = str(row.get("listed") or "").strip().lower()
        if listed not in YES | NO:
            raise LedgerError(f"“挂牌督办”应填“是”或“否”，而不是“{row.get('listed')}”。")
        data.listed_supervision = listed in YES
        v = self._resolve_input_cached(s, data, today, unit_cache, official_cache)
        require_can_create(actor, v["responsible_unit"], v["supervising_unit"])
        status_raw = str(row.get("status") or Status.PENDING).strip()
        status = STATUS_ALIASES.get(status_raw)
        if status is None:
            raise LedgerError(f"整改状态“{status_raw}”无效，应为：{'、'.join(Status.ALL)}。")
        closed_on = None
        if status == Status.CLOSED:
            raw = importer.cell_date(row.get("closed_on"))
            closed_on = (raw if isinstance(raw, date) else parse_date(raw)) if raw else today
            if closed_on < v["found_on"] or closed_on > today:
                raise LedgerError(f"销号日期{closed_on.isoformat()}应在发现日期与今天之间。")
        fingerprint = number or "|".join([
            v["norm_description"], str(v["unit"].id), str(v["responsible_unit"].id), v["found_on"].isoformat()])
        source_key = hashlib.sha256(fingerprint.encode()).hexdigest()
        if source_key in seen_keys:
            raise LedgerError(f"与第{seen_keys[source_key]}行是同一条隐患（描述、单位、发现日期相同）。")
        seen_keys[source_key] = rownum
        v.update(number=number, status=status, closed_on=closed_on, source_key=source_key,
                 note=_str(row.get("note")))
        return v

    def _resolve_input_cached(self, s: Session, data: HazardInput, today: date, units: _Cache,
                              officials: _Cache) -> dict[str, Any]:
        # Resolve references once per distinct value: a 10,000-row sheet names few units.
        unit, resp = units.get(data.unit), units.get(data.responsible_unit) if data.responsible_unit else None
        sup = units.get(data.supervising_unit) if data.supervising_unit else None
        off = officials.get(data.responsible_official) if data.responsible_official else None
        data.unit = unit.id
        data.responsible_unit = resp.id if resp else None
        data.supervising_unit = sup.id if sup else None
        data.responsible_official = off.id if off else None
        return self._resolve_input(s, data, today, importing=True)

    def _bulk_create(self, s: Session, actor: Actor, rows: list[tuple[int, dict[str, Any]]],
                     report: ImportReport, filename: str) -> None:
        now = self.clock.now()
        fresh = [v for _, v in rows if not v["number"]]
        by_year: dict[int, list[dict[str, Any]]] = {}
        for v in fresh:
            by_year.setdefault(v["found_on"].year, []).append(v)
        for year, group in by_year.items():
            for v, num in zip(group, numbering.allocate(s, self.prefix, year, len(group))):
                v["number"] = num
        highest: dict[int, int] = {}
        for _, v in rows:  # numbers in our own format must not be handed out again later
            parts = v["number"].split("-")
            if len(parts) == 3 and parts[0] == self.prefix and parts[1].isdigit() and parts[2].isdigit():
                year, seq = int(parts[1]), int(parts[2])
                highest[year] = max(highest.get(year, 0), seq)
        for year, seq in highest.items():
            numbering.bump_past(s, self.prefix, year, seq)
        values = []
        for _, v in rows:
            closed = v["status"] == Status.CLOSED
            values.append(dict(
                number=v["number"], description=v["description"], norm_description=v["norm_description"],
                location=v["location"], unit_id=v["unit"].id, category=v["category"], level=v["level"],
                source=v["source"], found_on=v["found_on"], responsible_unit_id=v["responsible_unit"].id,
                responsible_official_id=v["responsible_official"].id if v["responsible_official"] else None,
                measures=v["measures"], funds=v["funds"], deadline=v["deadline"],
                supervising_unit_id=v["supervising_unit"].id if v["supervising_unit"] else None,
                listed_supervision=v["listed_supervision"], major_suspected=bool(flag_major_hazard(v["description"])),
                status=v["status"], closed_at=now if closed else None, closed_on=v["closed_on"],
                source_key=v["source_key"], created_at=now, created_by=actor.label, updated_at=now, version=1,
            ))
        for i in range(0, len(values), 1000):
            s.execute(insert(Hazard), values[i:i + 1000])
        ids: dict[str, int] = {}
        numbers = [v["number"] for _, v in rows]
        for i in range(0, len(numbers), 1000):
            ids.update(s.execute(select(Hazard.number, Hazard.id).where(Hazard.number.in_(numbers[i:i + 1000]))).all())
        events = [dict(hazard_id=ids[v["number"]], at=now, actor=actor.label, action="import", from_status=None,
                       to_status=v["status"], note=v["note"], changes={"file": filename, "row": rownum})
                  for rownum, v in rows]
        for i in range(0, len(events), 1000):
            s.execute(insert(HazardEvent), events[i:i + 1000])
        report.created = [v["number"] for _, v in rows]
        self._audit(s, actor, "hazard.import", "hazard", None,
                    {"file": filename, "created": report.created, "skipped": [r for r, _ in report.skipped]})


class _Cache:
    """Memoised reference resolution; errors are remembered too, so each bad name costs one query."""

    def __init__(self, resolve: Any, store: dict[Any, Any]) -> None:
        self.resolve, self.store = resolve, store
        self.errors: dict[Any, str] = {}

    def key(self, value: Any) -> Any:
        if value in (None, ""):
            return None
        return str(value).strip().removesuffix(".0") if isinstance(value, float) else str(value).strip()

    def get(self, ref: Any) -> Any:
        if ref in self.errors:
            raise LedgerError(self.errors[ref])
        if ref not in self.store:
            try:
                self.store[ref] = self.resolve(ref)
            except LedgerError as exc:
                self.errors[ref] = exc.message
                raise
        return self.store[ref]


