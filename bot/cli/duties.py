"""`safetybot duties load|template|list|show|remove|suggest|check|sync` and `safetybot who QUESTION`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot.cli.common import current_actor, emit, format_option
from bot.runtime import Runtime
from knowledge.db import transaction
from knowledge.duties.answer import DutyAnswerer
from knowledge.duties.loader import RulesFileError
from knowledge.duties.models import DutyRule
from knowledge.duties.repository import get_rule, list_rules, remove_rule, rule_history
from knowledge.duties.schema import LAYERS, canonical_layer
from knowledge.duties.service import check_stored_rules, ensure_bundled_rules, load_rules_file

NO_RULE_NOTE = "未登记覆盖该问题的职责规则。"


class DutiesCliError(click.ClickException):
    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{self.message}", err=True)


def _runtime(ctx: click.Context) -> Runtime:
    runtime = ctx.find_object(Runtime)
    if runtime is None:  # pragma: no cover - always set by main()
        raise DutiesCliError("内部错误：未初始化运行环境。")
    return runtime


def _basis_text(basis: list[dict[str, Any]]) -> str:
    return "、".join(f"《{b['document']}》{b['article']}" for b in basis)


def _rule_json(row: DutyRule) -> dict[str, Any]:
    return {
        "id": row.id, "topic": row.topic, "aliases": row.aliases, "keywords": row.keywords,
        "layer": row.layer, "party": row.party, "duty": row.duty, "basis": row.basis,
        "law_wording": row.law_wording, "jurisdiction": row.jurisdiction, "note": row.note,
        "source": row.source, "version": row.version, "updated_at": row.updated_at, "updated_by": row.updated_by,
    }


@click.group("duties")
def duties() -> None:
    """职责规则（谁负责）：加载、查看、删除、从法规中建议。"""


@duties.command("load")
@click.argument("file", type=click.Path(path_type=Path))
@format_option
@click.pass_context
def load_cmd(ctx: click.Context, file: Path, fmt: str) -> None:
    """加载 YAML/CSV/XLSX 规则文件（整份校验，有错则不做任何修改）。"""
    runtime = _runtime(ctx)
    try:
        with runtime.writer_lock():
            result = load_rules_file(runtime.sessions, file, actor=current_actor(),
                                     max_bytes=runtime.settings.max_upload_bytes)
    except RulesFileError as exc:
        if fmt == "json":
            emit({"ok": False, "errors": [{"row": e.row, "message": e.message} for e in exc.errors]}, fmt, "")
        else:
            click.echo(exc.to_text(), err=True)
        ctx.exit(1)
        return
    emit({"ok": True, **result.to_json()}, fmt, f"已加载 {file.name}：{result.summary()}。")


@duties.command("template")
@click.argument("path", type=click.Path(path_type=Path), default=Path("duties_template.xlsx"))
def template_cmd(path: Path) -> None:
    """生成带示例的 XLSX 规则模板。"""
    from knowledge.duties.template import write_template

    write_template(path)
    click.echo(f"已生成模板：{path}（第一个工作表为规则，“说明”工作表解释各列）。")


@duties.command("list")
@click.option("--topic", help="按主题筛选（包含该文字）。")
@click.option("--layer", help="按层级筛选：" + "、".join(LAYERS))
@click.option("--jurisdiction", help="按适用地区筛选，如 全国、北京市。")
@format_option
@click.pass_context
def list_cmd(ctx: click.Context, topic: str | None, layer: str | None, jurisdiction: str | None, fmt: str) -> None:
    """列出职责规则。"""
    if layer:
        try:
            layer = canonical_layer(layer)
        except ValueError as exc:
            raise DutiesCliError(str(exc)) from None
    with _runtime(ctx).sessions() as session:
        rows = list_rules(session, topic=topic, layer=layer, jurisdiction=jurisdiction)
    lines = [
        f"{r.id} | {r.topic} | {r.layer} | {r.party} | {_basis_text(r.basis)}"
        + ("" if r.jurisdiction == "全国" else f" | {r.jurisdiction}") + f" | v{r.version}"
        for r in rows
    ]
    text = "\n".join(lines + [f"共 {len(rows)} 条。"]) if rows else "没有符合条件的规则。"
    emit([_rule_json(r) for r in rows], fmt, text)


@duties.command("show")
@click.argument("rule_id")
@format_option
@click.pass_context
def show_cmd(ctx: click.Context, rule_id: str, fmt: str) -> None:
    """显示一条规则及其历史版本。"""
    with _runtime(ctx).sessions() as session:
        row = get_rule(session, rule_id)
        history = rule_history(session, rule_id)
    if row is None and not history:
        raise DutiesCliError(f"没有编号为“{rule_id}”的规则。")
    data = {"rule": _rule_json(row) if row else None,
            "history": [{"version": h.version, "change": h.change, "changed_at": h.changed_at,
                         "changed_by": h.changed_by, "data": h.data} for h in history]}
    lines = []
    if row is None:
        lines.append(f"规则“{rule_id}”已删除。")
    else:
        lines += [
            f"编号：{row.id}（第 {row.version} 版，来源：{row.source}，{row.updated_by} 更新于 {row.updated_at:%Y-%m-%d %H:%M}）",
            f"主题：{row.topic}", f"别名：{'、'.join(row.aliases) or '—'}", f"层级：{row.layer}",
            f"责任主体：{row.party}" + (f"（法条原称“{row.law_wording}”）" if row.law_wording else ""),
            f"职责：{row.duty}", f"依据：{_basis_text(row.basis)}", f"适用地区：{row.jurisdiction}",
        ]
        if row.note:
            lines.append(f"备注：{row.note}")
    for h in history:
        action = "删除" if h.change == "remove" else "被替换"
        lines.append(f"历史：第 {h.version} 版 {action}于 {h.changed_at:%Y-%m-%d %H:%M}（{h.changed_by}）")
    emit(data, fmt, "\n".join(lines))


@duties.command("remove")
@click.argument("rule_id")
@click.option("--yes", is_flag=True, help="不再确认。")
@click.pass_context
def remove_cmd(ctx: click.Context, rule_id: str, yes: bool) -> None:
    """删除一条规则（保留历史，记入审计日志）。"""
    runtime = _runtime(ctx)
    with runtime.sessions() as session:
        row = get_rule(session, rule_id)
    if row is None:
        raise DutiesCliError(f"没有编号为“{rule_id}”的规则。")
    if not yes and not click.confirm(f"确定删除规则“{rule_id}”（{row.topic} / {row.party}）？"):
        click.echo("已取消。")
        return
    with transaction(runtime.sessions) as session:
        removed = remove_rule(session, rule_id, actor=current_actor())
    click.echo(f"已删除规则“{rule_id}”。" if removed else f"规则“{rule_id}”已不存在。")


@duties.command("suggest")
@click.argument("document")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="把候选规则写入 YAML 文件。")
@click.option("--limit", type=click.IntRange(1, 2000), default=200, show_default=True, help="最多提出多少条。")
@format_option
@click.pass_context
def suggest_cmd(ctx: click.Context, document: str, output: Path | None, limit: int, fmt: str) -> None:
    """从已加载的法规中提出候选规则，供审核（不会自动发布）。"""
    from knowledge.duties.suggest import candidates_yaml, suggest_rules

    title = document.strip().strip("《》")
    with _runtime(ctx).sessions() as session:
        candidates = suggest_rules(session, title, limit=limit)
    if candidates is None:
        raise DutiesCliError(f"知识库中没有《{title}》，请先加载该文件。")
    text_yaml = candidates_yaml(candidates, title)
    if output:
        output.write_text(text_yaml, encoding="utf-8")
    summary = f"从《{title}》找到 {len(candidates)} 条候选规则" + (f"，已写入 {output}" if output else "")
    summary += "。请审核并填写 topic 后再用 `safetybot duties load` 加载；未加载前不会生效。"
    if fmt == "json":
        emit({"document": title, "candidates": [c.to_rule() for c in candidates],
              "output": str(output) if output else None}, fmt, "")
    else:
        click.echo(summary if output else text_yaml + "\n# " + summary)


@duties.command("check")
@format_option
@click.pass_context
def check_cmd(ctx: click.Context, fmt: str) -> None:
    """检查已登记规则的依据是否仍在知识库中（法规被删除或替换后使用）。"""
    with _runtime(ctx).sessions() as session:
        problems = check_stored_rules(session)
    text = ("发现以下问题：\n" + "\n".join(f"- {p}" for p in problems)) if problems else "所有规则的依据均有效。"
    emit({"ok": not problems, "problems": problems}, fmt, text)
    if problems:
        ctx.exit(1)


@duties.command("sync")
@format_option
@click.pass_context
def sync_cmd(ctx: click.Context, fmt: str) -> None:
    """把随附的职责规则同步到数据库（启动时也会自动执行）。"""
    result = ensure_bundled_rules(_runtime(ctx).sessions, actor=current_actor())
    if result.errors:
        text = "随附规则未加载（未做任何修改）：\n" + "\n".join(f"- {e}" for e in result.errors[:20])
    else:
        text = (f"随附规则：新增 {len(result.added)} 条，更新 {len(result.updated)} 条，删除 {len(result.removed)} 条，"
                f"保留管理员修改 {len(result.kept_local)} 条。")
    emit(result.to_json(), fmt, text)
    if result.errors:
        ctx.exit(1)


def _answerer(runtime: Runtime) -> DutyAnswerer:
    """``runtime.duties`` loads the bundled laws and rules first; with ``load_bundled`` off the
    deployment manages its own corpus and the rules already in the database are used."""
    if runtime.settings.load_bundled:
        return runtime.duties
    return DutyAnswerer(runtime.sessions, runtime.settings.jurisdiction)


@click.command("who")
@click.argument("question")
@format_option
@click.pass_context
def who_cmd(ctx: click.Context, question: str, fmt: str) -> None:
    """谁负责：按层级列出责任主体及法律依据，如 safetybot who "电焊作业"。"""
    runtime = _runtime(ctx)
    question = question.strip()
    if not question:
        raise DutiesCliError("请输入要查询的作业、场所或事项，例如：电焊作业。")
    if len(question) > runtime.settings.max_question_chars:
        raise DutiesCliError(f"问题过长（最多 {runtime.settings.max_question_chars} 字）。")
    answer = _answerer(runtime).answer(question)
    if answer is not None:
        emit(answer.to_json(), fmt, answer.to_text())
        return
    # No rule covers the topic: say so, then fall back to cited retrieval.
    fallback = runtime.knowledge.answer(question)
    data: dict[str, Any] = {"topic": None, "matched_topics": [], "duties": [], "overlaps": [], "note": NO_RULE_NOTE,
            "fallback": fallback.to_json()}
    emit(data, fmt, f"{NO_RULE_NOTE}以下为法规检索结果：\n{fallback.answer}")


def register(main: click.Group) -> None:
    """Attach this module's commands to the main group."""
    main.add_command(duties)
    main.add_command(who_cmd)
