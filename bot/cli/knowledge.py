"""`safetybot` commands for the knowledge base: ingest, docs, remove, status, ask, chat, eval.

``docs``, ``remove`` and ``status`` work on the database alone: they never load the model or the
indexes. The indexes are a cache of the passages table and drop removed passages the next time
they are opened (``IndexStore.sync``; a running bot does so within ``SYNC_INTERVAL_S``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import current_actor, format_option, table
from bot.runtime import Runtime
from knowledge.db import transaction
from knowledge.models import DUPLICATE_POLICIES, DocStatus

if TYPE_CHECKING:
    from index.knowledge_base import IngestReport


def _runtime(ctx: click.Context) -> Runtime:
    runtime: Runtime = ctx.obj
    return runtime


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--title", help="文件标题（默认：网页的标题，或文件名）；标题相同即作为新版本替换旧版本。")
@click.option("--kind", help="类别：law 法律、regulation 行政法规、local_regulation 地方性法规、rule 规章、"
                             "policy 政策文件、notice 通知、speech 讲话、news 新闻、other 其他。")
@click.option("--duplicate", type=click.Choice(list(DUPLICATE_POLICIES)), default="refuse", show_default=True,
              help="内容已以其他标题载入时：refuse 拒绝、replace 替换原文件、keep 两份都保留。")
@format_option
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], title: str | None, kind: str | None, duplicate: str,
           fmt: str) -> None:
    """载入文件到知识库（.md .txt .html .docx .pdf；UTF-8 或 GBK 编码）。"""
    from knowledge.readers import IngestError

    kb = _runtime(ctx).knowledge
    reports, failed = [], 0
    for path in paths:
        try:
            report = kb.ingest(path, current_actor(), title=title if len(paths) == 1 else None, kind=kind,
                               duplicate=duplicate)
            reports.append(report.to_json())
            if fmt == "text":
                click.echo(_describe(report))
        except IngestError as exc:
            failed += 1
            reports.append({"source": path.name, "outcome": "failed", "error": exc.message, "code": exc.code})
            if fmt == "text":
                click.echo(f"✗ {path.name}: {exc.message}", err=True)
    if fmt == "json":
        click.echo(json.dumps(reports, ensure_ascii=False, indent=2))
    if failed:
        ctx.exit(1)


def _describe(report: IngestReport) -> str:
    outcome = {"new": "新增", "replaced": "已替换旧版本", "unchanged": "内容未变化"}[report.outcome]
    line = f"✓ 《{report.title}》{outcome}：共 {report.passages} 段，新增 {report.added} 段，移除 {report.removed} 段"
    if report.cleaning_summary():
        line += f"\n  {report.cleaning_summary()}"
    if report.replaced_duplicate:
        line += f"\n  已替换内容相同的《{report.replaced_duplicate}》"
    if report.duplicate_of:
        line += f"\n  注意：与《{report.duplicate_of}》内容相同，两份都已保留"
    if report.problems:
        line += "\n  发现问题：\n" + "\n".join(f"  - {p}" for p in report.problems)
    return line


@click.command()
@format_option
@click.pass_context
def docs(ctx: click.Context, fmt: str) -> None:
    """列出已载入的文件及其状态。"""
    from knowledge.documents import list_documents
    from knowledge.parse import KIND_LABELS

    runtime: Runtime = ctx.obj
    with runtime.sessions() as session:
        rows = list_documents(session)
    data = [{"title": d.title, "kind": d.kind, "status": d.status, "jurisdiction": d.jurisdiction,
             "version": d.version, "issuing_body": d.issuing_body,
             "published_on": d.published_on.isoformat() if d.published_on else None, "passages": n,
             "source": d.source_name, "loaded_at": d.loaded_at.isoformat(),
             "loaded_by": d.loaded_by, "bundled": d.bundled} for d, n in rows]
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    lines = table(("标题", "状态", "类别", "地区", "条文段数", "版本/发布日期", "发文机关"),
                  [(d["title"], d["status"], KIND_LABELS.get(d["kind"], d["kind"]), d["jurisdiction"], d["passages"],
                    d["version"] or d["published_on"] or "", d["issuing_body"] or "")
                   for d in data], right=(4,))
    if data:
        click.echo("\n".join(lines))
    note = ""
    if runtime.settings.load_bundled and not (runtime.settings.data_dir / "bundled.sha256").exists():
        note = "（内置法规尚未载入，第一次提问或运行 safetybot chat 时自动载入）"
    click.echo(f"共 {len(data)} 份文件{note}")


@click.command()
@click.argument("title")
@click.pass_context
def remove(ctx: click.Context, title: str) -> None:
    """删除一份文件及其全部条文（记入审计日志）。"""
    from knowledge.documents import remove_document

    # The database only (no index to load), but still one writer at a time: an ingest in another
    # process must not save an index that this removal has just made stale.
    with ctx.obj.writer_lock(), transaction(ctx.obj.sessions) as session:
        removed = remove_document(session, title, current_actor())
    if removed is None:
        raise click.ClickException(f"没有名为《{title}》的文件。可用 safetybot docs 查看已载入的文件。")
    click.echo(f"已删除《{title}》及其 {len(removed)} 段条文。")


@click.command()
@click.argument("title")
@click.argument("status", type=click.Choice(list(DocStatus.ALL)))
@click.pass_context
def status(ctx: click.Context, title: str, status: str) -> None:
    """把文件标记为 现行有效 / 已修订 / 已废止（只引用现行有效的文件）。"""
    from knowledge.documents import set_status

    with ctx.obj.writer_lock(), transaction(ctx.obj.sessions) as session:
        found = set_status(session, title, status, current_actor())
    if not found:
        raise click.ClickException(f"没有名为《{title}》的文件。可用 safetybot docs 查看已载入的文件。")
    click.echo(f"《{title}》已标记为{status}。")


@click.command()
@click.argument("question")
@format_option
@click.pass_context
def ask(ctx: click.Context, question: str, fmt: str) -> None:
    """回答法规问题并注明出处（“谁负责”的问题按职责规则回答）。"""
    from bot.router import route_answer
    from index.knowledge_base import QuestionError

    runtime = _runtime(ctx)
    try:
        result = route_answer(runtime, question)
    except QuestionError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2) if fmt == "json" else result.to_text())


CHAT_HELP = """\
我能做的事：
· 回答安全生产法规问题，并注明出处。例如：动火作业要办什么手续？
· 回答“谁负责”：按企业、部门、属地、党政领导各层列出责任主体和依据。例如：电焊作业谁负责？
· 查看条文原文。例如：安全生产法第四十三条
输入 help、帮助 或 ? 再次显示本说明；输入 exit 或 退出（或按 Ctrl+C）离开。"""
HELP_WORDS = {"help", "/help", "帮助", "?", "？", "h"}
EXIT_WORDS = {"exit", "quit", "q", "退出", "/exit", "/quit"}


@click.command()
@click.pass_context
def chat(ctx: click.Context) -> None:
    """在终端里与助手对话（不需要 Telegram）。"""
    from bot.router import route_answer
    from index.knowledge_base import QuestionError

    runtime = _runtime(ctx)
    runtime.knowledge  # load before the first prompt so the first answer is fast
    click.echo("安全生产助手。直接输入问题后回车；输入 help 或 帮助 查看我能做什么，输入 exit 或 退出 离开。")
    while True:
        try:
            question = click.prompt("问", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            return
        word = question.strip().lower()
        if word in EXIT_WORDS:
            return
        if not word:
            continue
        if word in HELP_WORDS:
            click.echo(CHAT_HELP + "\n")
            continue
        try:
            click.echo(route_answer(runtime, question).to_text())
        except QuestionError as exc:
            click.echo(exc.message)
        click.echo()


@click.command("eval")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@format_option
@click.option("--misses", is_flag=True, help="列出标准答案条文不在前 5 条结果中的问题。")
@click.pass_context
def eval_command(ctx: click.Context, file: Path, fmt: str, misses: bool) -> None:
    """用问题集（JSONL，含标准答案条文）评估检索质量：召回率、MRR、耗时。"""
    from index.evaluation import evaluate_file

    result = evaluate_file(_runtime(ctx).knowledge, file)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.to_text(show_misses=misses))


def register(main: click.Group) -> None:
    for command in (ingest, docs, remove, status, ask, chat, eval_command):
        main.add_command(command)
