"""`safetybot units|officials|hazards ...`: the hazard-rectification ledger on the command line.

Every command goes through ``LedgerService`` with an actor, exactly as the chat bot will. The
CLI runs on the server, so by default it acts as the local administrator; ``hazards --as NAME``
acts as a registered official instead (to try permissions, or to record on someone's behalf).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli.common import current_actor, emit, format_option, table
from bot.runtime import Runtime
from knowledge.ledger import Actor, HazardInput, LedgerError, LedgerService
from knowledge.ledger.basis import BasisSuggestion
from knowledge.ledger.models import Level, Role, Source, Status, UnitKind
from knowledge.ledger.queries import HazardFilter
from knowledge.ledger.statemachine import ACTION_LABELS
from knowledge.ledger.views import HazardSummary, HazardView, StatsReport
from knowledge.reminders.escalation import level_name
from knowledge.reminders.service import ReminderService

F = TypeVar("F", bound=Callable[..., Any])


class LedgerCliError(click.ClickException):
    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{self.message}", err=True)


def ledger_errors(fn: F) -> F:
    """Turn service refusals into a polite message and exit status 1 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LedgerError as exc:
            raise LedgerCliError(exc.message) from None

    return wrapper  # type: ignore[return-value]


def ledger_service(ctx: click.Context) -> LedgerService:
    root = ctx.find_root()
    if "ledger_service" not in root.meta:
        runtime = ctx.find_object(Runtime)
        if runtime is None:  # pragma: no cover - always set by main()
            raise LedgerCliError("内部错误：未初始化运行环境。")
        root.meta["ledger_service"] = runtime.ledger
    return root.meta["ledger_service"]


def ledger_actor(ctx: click.Context) -> Actor:
    ref = ctx.find_root().meta.get("ledger_as")
    if ref:
        return ledger_service(ctx).actor_for(ref)
    return Actor.local_admin(current_actor())


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


# ---------------------------------------------------------------------------------- units
@click.group("units")
def units() -> None:
    """单位管理（市 → 县/区 → 乡镇/街道、部门、企业）。"""


@units.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(UnitKind.ALL), default="其他", show_default=True, help="单位类型。")
@click.option("--parent", help="上级单位（名称、路径“市/区”、编码或 #编号）。")
@click.option("--code", help="单位编码（可选，唯一）。")
@format_option
@click.pass_context
@ledger_errors
def units_add(ctx: click.Context, name: str, kind: str, parent: str | None, code: str | None, fmt: str) -> None:
    """登记一个单位（NAME 为单位名称）。"""
    view = ledger_service(ctx).add_unit(ledger_actor(ctx), name, kind, parent, code)
    emit(view.to_dict(), fmt, f"已登记单位 #{view.id} {view.full_name}（{view.kind}）")


@units.command("list")
@click.option("--under", help="只列出该单位及其下属单位。")
@format_option
@click.pass_context
@ledger_errors
def units_list(ctx: click.Context, under: str | None, fmt: str) -> None:
    """按上下级列出单位。"""
    views = ledger_service(ctx).list_units(ledger_actor(ctx), under)
    lines = [f"{'  ' * v.depth}#{v.id} {v.name}（{v.kind}）{' [' + v.code + ']' if v.code else ''}" for v in views]
    emit([v.to_dict() for v in views], fmt, "\n".join(lines) or "尚未登记任何单位。")


@units.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@format_option
@click.pass_context
@ledger_errors
def units_import(ctx: click.Context, file: Path, fmt: str) -> None:
    """从表格导入单位（列：单位名称、上级单位、类型、编码）。"""
    views = ledger_service(ctx).import_units(ledger_actor(ctx), file)
    emit([v.to_dict() for v in views], fmt, f"已导入 {len(views)} 个单位。")


@units.command("link-chat", context_settings={"ignore_unknown_options": True})  # chat ids are negative
@click.argument("unit")
@click.argument("chat_id")
@click.option("--channel", default="telegram", show_default=True, help="渠道（telegram，或群机器人渠道）。")
@format_option
@click.pass_context
@ledger_errors
def units_link_chat(ctx: click.Context, unit: str, chat_id: str, channel: str, fmt: str) -> None:
    """关联群聊：该群每个工作日收到本单位及下属单位的隐患整改日报。"""
    view = ReminderService(ledger_service(ctx)).link_chat(ledger_actor(ctx), unit, channel, chat_id)
    emit(view.to_dict(), fmt, f"已将群 {view.address} 关联到“{view.unit}”，每个工作日推送整改日报。")


@units.command("unlink-chat", context_settings={"ignore_unknown_options": True})  # chat ids are negative
@click.argument("chat_id")
@click.option("--channel", default="telegram", show_default=True, help="渠道（telegram，或群机器人渠道）。")
@format_option
@click.pass_context
@ledger_errors
def units_unlink_chat(ctx: click.Context, chat_id: str, channel: str, fmt: str) -> None:
    """解除群聊关联（不再推送日报）。"""
    view = ReminderService(ledger_service(ctx)).unlink_chat(ledger_actor(ctx), channel, chat_id)
    emit(view.to_dict(), fmt, f"已解除群 {view.address} 与“{view.unit}”的关联。")


@units.command("chats")
@click.argument("unit", required=False)
@format_option
@click.pass_context
@ledger_errors
def units_chats(ctx: click.Context, unit: str | None, fmt: str) -> None:
    """列出已关联的群聊。"""
    views = ReminderService(ledger_service(ctx)).linked_chats(unit)
    lines = [f"{v.unit}：{v.kind} {v.address}（{v.linked_at:%Y-%m-%d} 由 {v.linked_by} 关联）" for v in views]
    emit([v.to_dict() for v in views], fmt, "\n".join(lines) or "尚未关联任何群聊。")


# ---------------------------------------------------------------------------------- officials
@click.group("officials")
def officials() -> None:
    """人员管理（角色：admin 管理员、supervisor 督办、official 责任人、viewer 只读）。"""


@officials.command("add")
@click.argument("name")
@click.option("--unit", required=True, help="所在单位。")
@click.option("--role", type=click.Choice(Role.ALL), default=Role.OFFICIAL, show_default=True,
              help="角色：admin 管理员、supervisor 督办、official 责任人、viewer 只读。")
@click.option("--phone", help="联系电话。")
@click.option("--supervisor", help="上级人员（姓名或编号）。")
@format_option
@click.pass_context
@ledger_errors
def officials_add(ctx: click.Context, name: str, unit: str, role: str, phone: str | None,
                  supervisor: str | None, fmt: str) -> None:
    """登记一名人员（NAME 为姓名）。"""
    view = ledger_service(ctx).add_official(ledger_actor(ctx), name, unit, role, phone, supervisor)
    emit(view.to_dict(), fmt, f"已登记人员 #{view.id} {view.name}（{view.unit_name}，{Role.LABELS[view.role]}）")


@officials.command("list")
@click.option("--unit", help="只列出该单位及其下属单位的人员。")
@format_option
@click.pass_context
@ledger_errors
def officials_list(ctx: click.Context, unit: str | None, fmt: str) -> None:
    """列出人员及其单位、角色、是否已绑定聊天账号。"""
    views = ledger_service(ctx).list_officials(ledger_actor(ctx), unit)
    rows = [(f"#{v.id}", v.name, v.unit_name, Role.LABELS[v.role], v.phone or "—",
             "已绑定" if v.chat_linked else "未绑定", "在用" if v.active else "已停用") for v in views]
    text = "\n".join(table(("编号", "姓名", "单位", "角色", "电话", "聊天账号", "状态"), rows)) if views else ""
    emit([v.to_dict() for v in views], fmt, text or "尚未登记任何人员。")


@officials.command("update")
@click.argument("ref")
@click.option("--unit", help="调到该单位。")
@click.option("--role", type=click.Choice(Role.ALL), help="改为该角色。")
@click.option("--phone", help="联系电话。")
@click.option("--active/--inactive", default=None, help="启用/停用（停用后不能再操作台账）。")
@format_option
@click.pass_context
@ledger_errors
def officials_update(ctx: click.Context, ref: str, unit: str | None, role: str | None, phone: str | None,
                     active: bool | None, fmt: str) -> None:
    """修改人员信息（REF 为姓名或编号）。"""
    view = ledger_service(ctx).update_official(ledger_actor(ctx), ref, unit=unit, role=role, phone=phone, active=active)
    emit(view.to_dict(), fmt, f"已更新人员 #{view.id} {view.name}")


@officials.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@format_option
@click.pass_context
@ledger_errors
def officials_import(ctx: click.Context, file: Path, fmt: str) -> None:
    """从表格导入人员（列：姓名、所在单位、角色、电话、上级）。"""
    views = ledger_service(ctx).import_officials(ledger_actor(ctx), file)
    emit([v.to_dict() for v in views], fmt, f"已导入 {len(views)} 名人员。")


@officials.command("bind-code")
@click.argument("ref")
@format_option
@click.pass_context
@ledger_errors
def officials_bind_code(ctx: click.Context, ref: str, fmt: str) -> None:
    """发放一次性绑定码（24小时内有效），本人发给机器人即可绑定聊天账号。"""
    code = ledger_service(ctx).issue_bind_code(ledger_actor(ctx), ref)
    emit({"official": ref, "code": code}, fmt, f"绑定码：{code}（24小时内有效，仅可使用一次）")


@officials.command("unbind")
@click.argument("ref")
@format_option
@click.pass_context
@ledger_errors
def officials_unbind(ctx: click.Context, ref: str, fmt: str) -> None:
    """解除人员的聊天账号绑定（并作废未使用的绑定码）。"""
    view = ledger_service(ctx).unlink_chat(ledger_actor(ctx), ref)
    emit(view.to_dict(), fmt, f"已解除 {view.name} 的聊天账号绑定。")


# ---------------------------------------------------------------------------------- hazards
AS_HELP = "以某位已登记人员的身份操作（默认：本机管理员）。"


def _remember_as(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.find_root().meta["ledger_as"] = value


# ``--as`` is accepted before the subcommand (hazards --as 张三 list) and after it (hazards list --as 张三).
as_option = click.option("--as", "as_", metavar="OFFICIAL", help=AS_HELP, expose_value=False,
                         callback=_remember_as)


class _HazardsGroup(click.Group):
    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        as_option(cmd)
        super().add_command(cmd, name)


@click.group("hazards", cls=_HazardsGroup)
@as_option
def hazards() -> None:
    """隐患整改台账：登记、整改、延期、复查、销号、统计、导入导出。"""


_FILTER_OPTIONS = (
    click.option("--unit", help="整改责任单位（含下属单位）。"),
    click.option("--located-in", help="所在单位（含下属单位）。"),
    click.option("--official", help="责任人。"),
    click.option("--status", multiple=True, type=click.Choice(Status.ALL), help="状态，可多次指定。"),
    click.option("--open", "open_only", is_flag=True, help="只要未销号的。"),
    click.option("--level", type=click.Choice(Level.ALL), help="隐患等级。"),
    click.option("--overdue", is_flag=True, help="只要已逾期的。"),
    click.option("--due-within", type=click.IntRange(0, 3650), help="N天内到期（含已逾期）。"),
    click.option("--supervising-unit", help="督办单位。"),
    click.option("--listed", is_flag=True, help="只要挂牌督办的。"),
    click.option("-q", "--text", help="按描述、编号、位置搜索。"),
)


def _filter_options(fn: F) -> F:
    """The selection options shared by ``hazards list`` and ``hazards export`` (see ``_filter``)."""
    for option in reversed(_FILTER_OPTIONS):
        fn = option(fn)
    return fn


def _summary_line(h: HazardSummary) -> str:
    days = h.days_left or 0
    due = "已销号" if h.status == Status.CLOSED else (f"逾期{-days}天" if h.overdue else f"剩{days}天")
    flag = "【挂牌】" if h.listed_supervision else ""
    return (f"{h.number}  [{h.status}|{h.level}]{flag}  {h.responsible_unit}"
            f"{'/' + h.responsible_official if h.responsible_official else ''}  时限{h.deadline}（{due}）  "
            f"{h.description[:40]}")


def _detail(v: HazardView) -> str:
    lines = [
        f"隐患编号：{v.number}（版本 {v.version}）",
        (f"状态：{v.status}{'（逾期）' if v.overdue else ''}    等级：{v.level}"
         f"{'    【可能属于重大事故隐患，请对照判定标准】' if v.major_suspected and v.level != Level.MAJOR else ''}"),
        f"隐患描述：{v.description}",
        f"所在单位：{v.unit}    位置：{v.location or '—'}    类别：{v.category or '—'}",
        f"发现方式：{v.source}    发现日期：{v.found_on}",
        f"整改责任单位：{v.responsible_unit}    责任人：{v.responsible_official or '—'}",
        f"整改措施：{v.measures or '—'}    资金：{v.funds if v.funds is not None else '—'}",
        f"整改时限：{v.deadline}    督办单位：{v.supervising_unit or '—'}    挂牌督办：{'是' if v.listed_supervision else '否'}",
    ]
    if v.closed_on:
        lines.append(f"销号日期：{v.closed_on}")
    if v.basis:
        lines.append("依据：" + "；".join(f"{b.document}{b.article or ''}" for b in v.basis))
    if v.extensions:
        lines.append("延期申请：")
        lines += [f"  {x.requested_by} 申请延至 {x.new_deadline}（{x.reason}）— {x.status}"
                  f"{'：' + x.decision_note if x.decision_note else ''}" for x in v.extensions]
    if v.attachments:
        lines.append("附件：" + "、".join(f"{a.filename}（{a.size}字节）" for a in v.attachments))
    if v.escalations:
        lines.append("逾期升级：" + "；".join(f"{level_name(x.level)} {x.fired_on}（{x.recipients or '—'}）"
                                          for x in v.escalations))
    lines.append("处理记录：")
    for e in v.history:
        arrow = f" {e.from_status or ''}→{e.to_status}" if e.from_status != e.to_status else ""
        action = ACTION_LABELS.get(e.action, e.action)
        lines.append(f"  {e.at:%Y-%m-%d %H:%M} {e.actor} {action}{arrow}{'：' + e.note if e.note else ''}")
    return "\n".join(lines)


@hazards.command("add")
@click.option("-d", "--description", required=True, help="隐患描述。")
@click.option("--unit", required=True, help="隐患所在单位。")
@click.option("--deadline", required=True, help="整改时限：日期（2026-12-31）或“N个工作日”“N个自然日”。")
@click.option("--responsible-unit", help="整改责任单位（默认同所在单位）。")
@click.option("--official", help="责任人（姓名或编号）。")
@click.option("--level", type=click.Choice(Level.ALL), default=Level.ORDINARY, show_default=True, help="隐患等级。")
@click.option("--source", type=click.Choice(Source.ALL), default="检查", show_default=True, help="发现方式。")
@click.option("--found-on", help="发现日期（默认今天）。")
@click.option("--location", help="具体位置。")
@click.option("--category", help="隐患类别，如 消防、用电、有限空间。")
@click.option("--measures", help="整改措施。")
@click.option("--funds", help="整改资金（元）。")
@click.option("--supervising-unit", help="督办单位。")
@click.option("--listed", is_flag=True, help="列入挂牌督办。")
@format_option
@click.pass_context
@ledger_errors
def hazards_add(ctx: click.Context, description: str, unit: str, deadline: str, responsible_unit: str | None,
                official: str | None, level: str, source: str, found_on: str | None, location: str | None,
                category: str | None, measures: str | None, funds: str | None, supervising_unit: str | None,
                listed: bool, fmt: str) -> None:
    """登记一条隐患（会提示可能的法律依据，需另行确认添加）。"""
    result = ledger_service(ctx).create_hazard(ledger_actor(ctx), HazardInput(
        description=description, unit=unit, deadline=deadline, responsible_unit=responsible_unit,
        responsible_official=official, level=level, source=source, found_on=found_on, location=location,
        category=category, measures=measures, funds=funds, supervising_unit=supervising_unit,
        listed_supervision=listed,
    ))
    v = result.item
    lines = [f"已登记隐患 {v.number}，整改时限 {v.deadline}。"]
    if result.major_flags and v.level != Level.MAJOR:
        lines.append("提示：描述与重大事故隐患的情形相似，请对照判定标准核实是否应定为“重大”：")
        lines += [f"  · {f.excerpt}（{f.document}{f.article or ''}）" for f in result.major_flags]
    if result.suggestions:
        labels = local_labels(ctx.find_object(Runtime), [s.document for s in result.suggestions])
        lines.append("可能的依据（确认后用 safetybot hazards basis 添加）：")
        lines += [f"  {i}. {s.document}{s.article or ''}{labels.get(s.document, '')}：{s.excerpt[:60]}"
                  for i, s in enumerate(result.suggestions, 1)]
    emit(result.to_dict(), fmt, "\n".join(lines))


def local_labels(runtime: Runtime, titles: list[str]) -> dict[str, str]:
    """"（北京市地方性法规）" for suggested documents that are local regulations of another region,
    so that nobody cites them as national law (the same rule as answers, knowledge.documents)."""
    from sqlalchemy import select

    from knowledge.documents import in_jurisdiction
    from knowledge.models import Document

    with runtime.sessions() as session:
        docs = session.execute(select(Document.title, Document.kind, Document.jurisdiction)
                               .where(Document.title.in_(titles))).all()
    return {d.title: f"（{d.jurisdiction}地方性法规）" for d in docs
            if d.kind == "local_regulation" and not in_jurisdiction(d.jurisdiction, runtime.settings.jurisdiction)}


@hazards.command("list")
@_filter_options
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True, help="最多列出多少条。")
@format_option
@click.pass_context
@ledger_errors
def hazards_list(ctx: click.Context, unit: str | None, located_in: str | None, official: str | None,
                 status: tuple[str, ...], open_only: bool, level: str | None, overdue: bool,
                 due_within: int | None, supervising_unit: str | None, listed: bool, text: str | None,
                 limit: int, fmt: str) -> None:
    """按条件列出隐患（默认按整改时限排序，最多 100 条）。"""
    svc = ledger_service(ctx)
    flt = _filter(svc, unit, located_in, official, status, open_only, level, overdue, due_within,
                  supervising_unit, listed, text, limit)
    items = svc.list_hazards(ledger_actor(ctx), flt)
    total = svc.count_hazards(ledger_actor(ctx), flt)
    more = f"\n（共 {total} 条，仅显示前 {len(items)} 条）" if total > len(items) else f"\n共 {total} 条。"
    emit({"total": total, "items": [i.to_dict() for i in items]}, fmt,
         ("\n".join(_summary_line(i) for i in items) + more) if items else "没有符合条件的隐患。")


def _filter(svc: LedgerService, unit: str | None, located_in: str | None, official: str | None,
            status: tuple[str, ...], open_only: bool, level: str | None, overdue: bool, due_within: int | None,
            supervising_unit: str | None, listed: bool, text: str | None, limit: int | None) -> HazardFilter:
    statuses = tuple(status) or (Status.OPEN if open_only else ())
    return svc.filter_for(unit=unit, located_in=located_in, official=official, supervising_unit=supervising_unit,
                          statuses=statuses, level=level, overdue=True if overdue else None,
                          due_within=due_within, listed_supervision=True if listed else None, text=text,
                          limit=limit)


@hazards.command("show")
@click.argument("number")
@format_option
@click.pass_context
@ledger_errors
def hazards_show(ctx: click.Context, number: str, fmt: str) -> None:
    """显示一条隐患的全部信息和处理记录（NUMBER 为隐患编号）。"""
    view = ledger_service(ctx).get(ledger_actor(ctx), number)
    emit(view.to_dict(), fmt, _detail(view))


@hazards.command("update")
@click.argument("number")
@click.option("--note", help="整改进展（报送进展）。")
@click.option("--file", "files", multiple=True, type=click.Path(path_type=Path), help="证据照片或文件，可多次指定。")
@click.option("--official", help="改派责任人（督办/管理员）。")
@click.option("--responsible-unit", help="改派整改责任单位（督办/管理员）。")
@click.option("--supervising-unit", help="变更督办单位（督办/管理员）。")
@click.option("--listed/--not-listed", default=None, help="挂牌督办/取消挂牌（督办/管理员）。")
@click.option("--description", help="修改隐患描述（督办/管理员）。")
@click.option("--level", type=click.Choice(Level.ALL), help="修改隐患等级（督办/管理员）。")
@click.option("--location", help="修改具体位置。")
@click.option("--category", help="修改隐患类别。")
@click.option("--measures", help="修改整改措施。")
@click.option("--funds", help="修改整改资金（元）。")
@click.option("--version", "expected_version", type=int, help="只在隐患仍为该版本时修改（防止覆盖他人的更新）。")
@format_option
@click.pass_context
@ledger_errors
def hazards_update(ctx: click.Context, number: str, note: str | None, files: tuple[Path, ...],
                   official: str | None, responsible_unit: str | None, supervising_unit: str | None,
                   listed: bool | None, description: str | None, level: str | None, location: str | None,
                   category: str | None, measures: str | None, funds: str | None,
                   expected_version: int | None, fmt: str) -> None:
    """报送整改进展（--note/--file），或由督办方改派、修改隐患信息。"""
    svc, actor = ledger_service(ctx), ledger_actor(ctx)
    assign = any(v is not None for v in (official, responsible_unit, supervising_unit, listed))
    edit = any(v is not None for v in (description, level, location, category, measures, funds))
    progress = bool(files) or (note is not None and not assign and not edit)
    if progress + assign + edit > 1:
        raise LedgerCliError("报送进展、改派责任、修改信息请分开执行，每次只做一类更新。")
    if progress:
        if note is None:
            view = svc.attach(actor, number, files)
        else:
            view = svc.update_progress(actor, number, note, files, expected_version)
        message = f"已记录 {view.number} 的整改进展，当前状态：{view.status}。"
    elif assign:
        view = svc.assign(actor, number, responsible_unit=responsible_unit, responsible_official=official,
                          supervising_unit=supervising_unit, listed_supervision=listed, note=note,
                          expected_version=expected_version)
        message = f"已变更 {view.number} 的责任/督办信息。"
    elif edit:
        view = svc.edit(actor, number, description=description, level=level, location=location,
                        category=category, measures=measures, funds=funds, note=note,
                        expected_version=expected_version)
        message = f"已修改 {view.number} 的隐患信息。"
    else:
        raise LedgerCliError("请指定要更新的内容，例如 --note “已完成50%” 或 --file 照片.jpg。")
    emit(view.to_dict(), fmt, message)


@hazards.command("extend")
@click.argument("number")
@click.option("--to", "to", help="申请延期至：日期或“N个工作日”（从现时限起算）。")
@click.option("--reason", help="延期理由。")
@click.option("--approve", "decision", flag_value="approve", help="批准待审批的延期申请（督办/管理员）。")
@click.option("--refuse", "decision", flag_value="refuse", help="驳回待审批的延期申请（督办/管理员）。")
@click.option("--note", help="审批意见（驳回时必填）。")
@format_option
@click.pass_context
@ledger_errors
def hazards_extend(ctx: click.Context, number: str, to: str | None, reason: str | None, decision: str | None,
                   note: str | None, fmt: str) -> None:
    """申请延期（--to --reason），或审批延期（--approve/--refuse）。"""
    svc, actor = ledger_service(ctx), ledger_actor(ctx)
    if decision and to:
        raise LedgerCliError("申请延期和审批延期请分开执行。")
    if decision:
        view = svc.decide_extension(actor, number, decision == "approve", note)
        emit(view.to_dict(), fmt, f"已{'批准' if decision == 'approve' else '驳回'}延期申请，{view.number} 的整改时限为 {view.deadline}。")
    elif to:
        ext = svc.request_extension(actor, number, to, reason or "")
        emit(ext.to_dict(), fmt, f"已提交延期申请：{ext.old_deadline} → {ext.new_deadline}，待督办单位审批。")
    else:
        raise LedgerCliError("请用 --to 和 --reason 申请延期，或用 --approve/--refuse 审批。")


@hazards.command("review")
@click.argument("number")
@click.option("--request", "mode", flag_value="request", help="整改完成，申请复查（责任单位）。")
@click.option("--pass", "mode", flag_value="pass", help="复查通过并销号（督办/管理员）。")
@click.option("--fail", "mode", flag_value="fail", help="复查不通过，退回整改（督办/管理员）。")
@click.option("--note", required=True, help="整改情况 / 复查意见。")
@click.option("--version", "expected_version", type=int, help="只在隐患仍为该版本时执行（防止覆盖他人的更新）。")
@format_option
@click.pass_context
@ledger_errors
def hazards_review(ctx: click.Context, number: str, mode: str | None, note: str, expected_version: int | None,
                   fmt: str) -> None:
    """复查：--request 申请复查；--pass 通过并销号；--fail 不通过退回整改。"""
    svc, actor = ledger_service(ctx), ledger_actor(ctx)
    if mode == "request":
        view = svc.request_review(actor, number, note, expected_version)
    elif mode in ("pass", "fail"):
        view = svc.review(actor, number, mode == "pass", note, expected_version)
    else:
        raise LedgerCliError("请指定 --request、--pass 或 --fail。")
    emit(view.to_dict(), fmt, f"{view.number} 当前状态：{view.status}。")


@hazards.command("close")
@click.argument("number")
@click.option("--note", required=True, help="复查意见。")
@click.option("--version", "expected_version", type=int, help="只在隐患仍为该版本时执行（防止覆盖他人的更新）。")
@format_option
@click.pass_context
@ledger_errors
def hazards_close(ctx: click.Context, number: str, note: str, expected_version: int | None, fmt: str) -> None:
    """复查通过并销号（督办/管理员；隐患须处于“待复查”）。"""
    view = ledger_service(ctx).close(ledger_actor(ctx), number, note, expected_version)
    emit(view.to_dict(), fmt, f"{view.number} 已销号（{view.closed_on}）。")


@hazards.command("reopen")
@click.argument("number")
@click.option("--reason", required=True, help="重新打开的原因。")
@click.option("--deadline", help="新的整改时限：日期或“N个工作日”。")
@format_option
@click.pass_context
@ledger_errors
def hazards_reopen(ctx: click.Context, number: str, reason: str, deadline: str | None, fmt: str) -> None:
    """重新打开已销号的隐患（督办/管理员）。"""
    view = ledger_service(ctx).reopen(ledger_actor(ctx), number, reason, deadline)
    emit(view.to_dict(), fmt, f"{view.number} 已重新打开，状态：{view.status}，整改时限 {view.deadline}。")


@hazards.command("basis")
@click.argument("number")
@click.option("--document", required=True, help="文件名称，如 安全生产法。")
@click.option("--article", help="条款，如 第四十一条。")
@click.option("--excerpt", help="条文摘录。")
@click.option("--kind", type=click.Choice(["law", "duty_rule"]), default="law", show_default=True,
              help="依据类型：law 法律条款，duty_rule 职责规则。")
@format_option
@click.pass_context
@ledger_errors
def hazards_basis(ctx: click.Context, number: str, document: str, article: str | None, excerpt: str | None,
                  kind: str, fmt: str) -> None:
    """为隐患添加经确认的依据（法律条款或职责规则）。"""
    view = ledger_service(ctx).attach_basis(ledger_actor(ctx), number, BasisSuggestion(document, article, excerpt or "", 1.0, kind))
    emit(view.to_dict(), fmt, f"已为 {view.number} 添加依据：{document}{article or ''}。")


@hazards.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="只校验，不导入。")
@format_option
@click.pass_context
@ledger_errors
def hazards_import(ctx: click.Context, file: Path, dry_run: bool, fmt: str) -> None:
    """从 FILE（.xlsx/.csv）导入隐患台账：全部校验通过才导入，否则一条也不导入。"""
    report = ledger_service(ctx).import_hazards(ledger_actor(ctx), file, dry_run=dry_run)
    data = {"ok": report.ok, **report.to_dict()}
    if report.problems:
        text = f"“{report.file}”有 {len(report.problems)} 处问题，未导入任何数据：\n" + "\n".join(
            f"  第{p.row}行：{p.message}" if p.row else f"  {p.message}" for p in report.problems)
    elif dry_run:
        text = f"校验通过：{report.rows_read} 行，可导入 {report.rows_read - len(report.skipped)} 条（未导入）。"
    else:
        text = f"已导入 {len(report.created)} 条隐患" + (f"，跳过已存在的 {len(report.skipped)} 条" if report.skipped else "") + "。"
    emit(data, fmt, text)
    if report.problems:
        ctx.exit(1)


@hazards.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@_filter_options
@click.option("--title", help="表格标题（默认：<单位>安全生产隐患整改台账）。")
@format_option
@click.pass_context
@ledger_errors
def hazards_export(ctx: click.Context, file: Path, unit: str | None, located_in: str | None, official: str | None,
                   status: tuple[str, ...], open_only: bool, level: str | None, overdue: bool,
                   due_within: int | None, supervising_unit: str | None, listed: bool, text: str | None,
                   title: str | None, fmt: str) -> None:
    """把隐患整改台账导出为可打印的表格，写入 FILE（.xlsx）。"""
    from knowledge.ledger.exporter import write_ledger

    svc = ledger_service(ctx)
    flt = _filter(svc, unit, located_in, official, status, open_only, level, overdue, due_within,
                  supervising_unit, listed, text, None)
    rows = svc.export_rows(ledger_actor(ctx), flt)
    today = svc.today()
    heading = title or f"{unit or ''}安全生产隐患整改台账"
    path = write_ledger(file, rows, heading, f"截至 {today:%Y年%m月%d日}    共 {len(rows)} 条")
    emit({"file": str(path), "rows": len(rows)}, fmt, f"已导出 {len(rows)} 条到 {path}")


@hazards.command("stats")
@click.option("--unit", help="统计该单位（按其下属单位排名）；默认全部顶层单位。")
@click.option("--period", default="month", show_default=True,
              help="month、last-month、year、all、2026-03、2026 或 2026-01-01..2026-03-31（按发现日期）。")
@click.option("--chart", type=click.Path(path_type=Path), help="同时把排名画成图（PNG）。")
@format_option
@click.pass_context
@ledger_errors
def hazards_stats(ctx: click.Context, unit: str | None, period: str, chart: Path | None, fmt: str) -> None:
    """各单位隐患整改统计与排名（整改率、逾期率、平均整改天数）。"""
    svc = ledger_service(ctx)
    start, end = svc.period(period)
    report = svc.stats(ledger_actor(ctx), unit, start, end)
    data = report.to_dict()
    text = _stats_text(report)
    if chart:
        from knowledge.ledger.chart import draw_ranking

        data["chart"] = str(draw_ranking(report, chart))
        text += f"\n排名图已保存到 {chart}"
    emit(data, fmt, text)


def _stats_text(r: StatsReport) -> str:
    head = f"{r.unit} 隐患整改统计（发现日期 {r.start} 至 {r.end}，截至 {r.as_of}）"
    names = ("排名", "单位", "隐患数", "未销号", "逾期", "已销号", "按期销号", "整改率", "逾期率", "平均整改天数")
    rows = []
    for row in r.rows + [r.total]:
        avg = "—" if row.avg_days_to_close is None else f"{row.avg_days_to_close:.1f}"
        rows.append((row.rank or "—", row.unit, row.total, row.open, row.overdue, row.closed, row.closed_on_time,
                     _pct(row.rectification_rate), _pct(row.overdue_rate), avg))
    return "\n".join([head, *table(names, rows, right=(0, *range(2, len(names))))])


@hazards.command("template")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_context
@ledger_errors
def hazards_template(ctx: click.Context, file: Path) -> None:
    """生成隐患台账导入模板（含填写说明），写入 FILE（.xlsx，如 模板.xlsx）。"""
    from knowledge.ledger.importer import write_template

    click.echo(f"已生成模板：{write_template(file)}")


def register(main: click.Group) -> None:
    """Attach this module's commands to the main group."""
    main.add_command(units)
    main.add_command(officials)
    main.add_command(hazards)

