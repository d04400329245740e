"""What an admin reads about an upload: who may upload, the ingest report, a failure."""
from __future__ import annotations

from pathlib import Path

from telegram import User

from bot.telegram_bot.html_text import bold, esc, plain_lines
from index.knowledge_base import IngestReport
from knowledge.faults import as_fault

NOT_ADMIN_UPLOAD = "抱歉，只有管理员可以上传文件入库。如需收录文件，请联系管理员。"
RULES_SUFFIXES = frozenset({".yaml", ".yml", ".csv", ".xlsx", ".xlsm"})
OUTCOMES = {
    "new": "✅ 已新增《{title}》",
    "replaced": "✅ 已用新版本替换《{title}》",
    "unchanged": "《{title}》内容与已收录的版本相同，未做修改。",
}


def audit_actor(user: User) -> str:
    return f"telegram:{user.id} {user.full_name}"


def report_lines(report: IngestReport) -> list[str]:
    lines = [bold(OUTCOMES.get(report.outcome, "《{title}》已处理").format(title=report.title))]
    if report.replaced_duplicate:
        lines.append(esc(f"内容相同的原文档《{report.replaced_duplicate}》已删除，由本文件取代。"))
    if report.duplicate_of:
        lines.append(esc(f"注意：与《{report.duplicate_of}》内容相同，两份都已保留。"))
    lines.append(esc(f"共 {report.passages} 段：新增 {report.added} 段，移除 {report.removed} 段。"))
    if report.cleaning_summary():
        lines.append(esc(report.cleaning_summary()))
    if report.problems:
        lines.append(esc(f"⚠️ 发现 {len(report.problems)} 处问题："))
        lines += [esc(f"· {problem}") for problem in report.problems]
    if report.outcome in ("new", "replaced"):
        lines.append(esc("现在就可以针对该文件提问了。"))
    return lines


def failure_reason(exc: BaseException) -> str:
    """Why an upload failed unexpectedly, as the admin is told: the environment fault in words,
    or that the error was logged."""
    fault = as_fault(exc)
    return fault.message if fault else "处理时发生内部错误，错误已记录。"


def failure_lines(name: str, reason: str) -> list[str]:
    lines = [bold(f"❌ 《{name}》未能入库"), *plain_lines(reason), esc("已收录的文件不受影响，仍可正常查询。")]
    if Path(name).suffix.lower() in RULES_SUFFIXES:
        lines.append(esc("如果这是职责规则表，请重新发送并在说明中写 /rules。"))
    return lines
