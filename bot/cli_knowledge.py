"""`safetybot` commands for the knowledge base: ingest, docs, remove, ask, chat, eval."""
from __future__ import annotations

import json
from pathlib import Path

import click

from bot.progress import TerminalProgress
from bot.runtime import Runtime
from index.evaluation import evaluate_file
from index.knowledge_base import DUPLICATE_POLICIES, IngestReport, QuestionError
from knowledge.models import DocStatus
from knowledge.readers import IngestError


def _runtime(ctx: click.Context) -> Runtime:
    runtime: Runtime = ctx.obj
    runtime.progress = TerminalProgress()
    return runtime


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--title", help="Document title (default: file name). Same title = new version.")
@click.option("--kind", help="law / regulation / local_regulation / rule / policy / notice / speech / news / other")
@click.option("--duplicate", type=click.Choice(list(DUPLICATE_POLICIES)), default="refuse",
              help="Content already loaded under another title: refuse (default), replace it, or keep both.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], title: str | None, kind: str | None, duplicate: str,
           fmt: str) -> None:
    """Load documents (.md .txt .html .docx .pdf; UTF-8 or GBK) into the knowledge base."""
    from bot.cli import current_actor

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
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def docs(ctx: click.Context, fmt: str) -> None:
    """List loaded documents with their status."""
    rows = _runtime(ctx).knowledge.list_documents()
    data = [{"title": d.title, "kind": d.kind, "status": d.status, "jurisdiction": d.jurisdiction,
             "version": d.version, "issuing_body": d.issuing_body,
             "published_on": d.published_on.isoformat() if d.published_on else None, "passages": n,
             "source": d.source_name, "loaded_at": d.loaded_at.isoformat(),
             "loaded_by": d.loaded_by, "bundled": d.bundled} for d, n in rows]
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for d in data:
        click.echo(f"{d['title']}\t{d['status']}\t{d['kind']}\t{d['jurisdiction']}\t{d['passages']} 段\t"
                   f"{d['version'] or d['published_on'] or ''}\t{d['issuing_body'] or ''}")
    click.echo(f"共 {len(data)} 份文件")


@click.command()
@click.argument("title")
@click.pass_context
def remove(ctx: click.Context, title: str) -> None:
    """Delete a document from the database and the indexes."""
    from bot.cli import current_actor

    removed = _runtime(ctx).knowledge.remove(title, current_actor())
    if removed is None:
        raise click.ClickException(f"没有名为《{title}》的文件。可用 safetybot docs 查看已载入的文件。")
    click.echo(f"已删除《{title}》及其 {removed} 段条文。")


@click.command()
@click.argument("title")
@click.argument("status", type=click.Choice(list(DocStatus.ALL)))
@click.pass_context
def status(ctx: click.Context, title: str, status: str) -> None:
    """Mark a document 现行有效 / 已修订 / 已废止 (only current documents are cited)."""
    from bot.cli import current_actor

    if not _runtime(ctx).knowledge.set_status(title, status, current_actor()):
        raise click.ClickException(f"没有名为《{title}》的文件。")
    click.echo(f"《{title}》已标记为{status}。")


@click.command()
@click.argument("question")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def ask(ctx: click.Context, question: str, fmt: str) -> None:
    """Answer a question with citations (who-questions go to the duty rules)."""
    from bot.router import route_answer

    runtime = _runtime(ctx)
    try:
        result = route_answer(runtime, question)
    except QuestionError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2) if fmt == "json" else result.to_text())


@click.command()
@click.pass_context
def chat(ctx: click.Context) -> None:
    """Interactive terminal session: try the assistant without Telegram."""
    from bot.router import route_answer

    runtime = _runtime(ctx)
    runtime.knowledge  # load before the first prompt so the first answer is fast
    click.echo("安全生产助手（输入问题，回车提问；输入 exit 退出）")
    while True:
        try:
            question = click.prompt("问", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            return
        if question.strip().lower() in {"exit", "quit", "q", "退出"}:
            return
        if not question.strip():
            continue
        try:
            click.echo(route_answer(runtime, question).to_text())
        except QuestionError as exc:
            click.echo(exc.message)
        click.echo()


@click.command("eval")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--misses", is_flag=True, help="List questions whose gold article is not in the top 5.")
@click.pass_context
def eval_command(ctx: click.Context, file: Path, fmt: str, misses: bool) -> None:
    """Score retrieval on a question file (JSONL with gold articles)."""
    result = evaluate_file(_runtime(ctx).knowledge, file)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.to_text(show_misses=misses))


def register(main: click.Group) -> None:
    for command in (ingest, docs, remove, status, ask, chat, eval_command):
        main.add_command(command)
