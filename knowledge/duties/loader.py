"""Reading rule files (YAML, CSV, XLSX) and validating them completely before anything is written.

A file is accepted as a whole or not at all: every row is parsed and checked against the
knowledge base first, and only a file without a single error reaches the repository.
"""
from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.duties.schema import NATIONAL, RuleIn, local_region, normalize_document, parse_rule
from knowledge.models import Document, Passage
from knowledge.textnorm import normalize

MAX_ROWS = 20_000
MAX_ERRORS_SHOWN = 50
COLUMNS: tuple[str, ...] = (
    "id", "topic", "aliases", "keywords", "layer", "party", "duty", "basis", "evidence",
    "law_wording", "jurisdiction", "note",
)
REQUIRED_COLUMNS = ("id", "topic", "layer", "party", "duty", "basis")
# Chinese headers are accepted too: admins fill spreadsheets in Chinese.
_HEADER_ALIASES = {
    "编号": "id", "主题": "topic", "别名": "aliases", "关键词": "keywords", "层级": "layer",
    "责任主体": "party", "职责": "duty", "依据": "basis", "法律依据": "basis", "原文摘录": "evidence",
    "法条原称": "law_wording", "适用地区": "jurisdiction", "备注": "note",
}
_BASIS_RE = re.compile(
    r"《?(?P<doc>[^《》；;|\n]+?)》?\s*(?P<art>第\s*[0-9零〇一二两三四五六七八九十百千]+\s*条(?:\s*之\s*[0-9一二三四五六七八九十]+)?)"
)
_SPLIT_RE = re.compile(r"[|｜\n]")


@dataclass(frozen=True)
class RowError:
    row: str  # "第12行" / "第3条规则（第40行）" / "文件"
    message: str

    def __str__(self) -> str:
        return f"{self.row}：{self.message}"


class RulesFileError(Exception):
    """A rules file that cannot be loaded; ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} 处错误")
        self.errors = errors

    def to_text(self, limit: int = MAX_ERRORS_SHOWN) -> str:
        lines = [f"文件未加载，共发现 {len(self.errors)} 处错误（未做任何修改）："]
        lines += [f"- {e}" for e in self.errors[:limit]]
        if len(self.errors) > limit:
            lines.append(f"……另有 {len(self.errors) - limit} 处错误未列出")
        return "\n".join(lines)


@dataclass
class ParsedRow:
    row: str
    rule: RuleIn


@dataclass
class RawRow:
    row: str
    data: dict[str, Any]
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- reading files


# A rules file is a few hundred rules written out; anchors/aliases are allowed for sharing a basis
# list, but an "alias bomb" (aliases of aliases, expanding to billions of nodes) is refused after the
# document is composed (aliases are shared nodes then, nothing is expanded yet) and before anything
# is constructed from it.
MAX_YAML_ALIASES = 1000
MAX_YAML_NODES = 200_000  # nodes after expanding every alias; the bundled rules have about 10 000


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml parses ~10x faster
    """Remembers the line of each mapping so errors can point at it."""


def _expanded_size(node: yaml.Node, sizes: dict[int, int], aliases: list[int]) -> int:
    """Number of nodes ``node`` stands for once aliases are expanded (memoised: bombs share nodes).

    A node reached a second time is an alias of an anchored node, so aliases are counted here too
    (the C loader composes without calling back into Python).
    """
    key = id(node)
    if key in sizes:
        aliases[0] += 1
        if aliases[0] > MAX_YAML_ALIASES:
            raise RulesFileError([RowError(
                f"第{node.start_mark.line + 1}行",
                f"YAML 别名（*引用）超过 {MAX_YAML_ALIASES} 个，文件不像规则表，已拒绝")])
        return sizes[key]
    sizes[key] = 1  # a recursive alias counts once instead of looping
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes, aliases) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes, aliases) + _expanded_size(v, sizes, aliases) for k, v in node.value)
    sizes[key] = total
    return total


def _load_yaml(text: str) -> Any:
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}, [0]) > MAX_YAML_NODES:
            raise RulesFileError([RowError(
                "文件", f"YAML 展开后超过 {MAX_YAML_NODES} 个元素（可能是恶意的别名嵌套），已拒绝")])
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_TOPIC_FIELDS = ("topic", "aliases", "keywords", "jurisdiction", "note")


def read_yaml(text: str) -> list[RawRow]:
    """Grouped form ``topics: [{topic, aliases, keywords, rules: [...]}]`` or flat ``rules: [...]``."""
    try:
        doc = _load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行" if mark else "文件"
        raise RulesFileError([RowError(where, "YAML 格式错误，无法解析")]) from exc
    if isinstance(doc, list):
        doc = {"rules": doc}
    if not isinstance(doc, dict) or not ({"topics", "rules"} & doc.keys()):
        raise RulesFileError([RowError("文件", "YAML 文件应包含 topics: 或 rules: 列表")])
    rows: list[RawRow] = []
    for group in doc.get("topics") or []:
        if not isinstance(group, dict):
            rows.append(RawRow("topics", {}, ["主题条目格式不正确"]))
            continue
        inherited = {k: group[k] for k in _TOPIC_FIELDS if k in group}
        unknown = set(group) - set(_TOPIC_FIELDS) - {"rules", "__line__"}
        for item in group.get("rules") or []:
            if not isinstance(item, dict):
                rows.append(RawRow(f"第{group.get('__line__', '?')}行", {}, ["规则条目格式不正确"]))
                continue
            data = {**inherited, **item}
            rows.append(_yaml_row(data, [f"未知字段“{k}”" for k in sorted(unknown)]))
    for item in doc.get("rules") or []:
        if not isinstance(item, dict):
            rows.append(RawRow("rules", {}, ["规则条目格式不正确"]))
            continue
        rows.append(_yaml_row(dict(item), []))
    return rows


def _yaml_row(data: dict[str, Any], problems: list[str]) -> RawRow:
    line = data.pop("__line__", "?")
    if isinstance(data.get("basis"), list):
        data["basis"] = [
            {k: v for k, v in b.items() if k != "__line__"} if isinstance(b, dict) else b for b in data["basis"]
        ]
    if isinstance(data.get("basis"), str):
        try:
            data["basis"] = parse_basis_text(data["basis"], data.pop("evidence", None))
        except ValueError as exc:
            problems = [*problems, str(exc)]
    return RawRow(f"第{line}行", data, problems)


def parse_basis_text(text: str, evidence: str | None = None) -> list[dict[str, Any]] | str:
    """"《安全生产法》第四十三条|《消防法》第21条" → basis list; evidence aligned by position."""
    refs = [
        {"document": m.group("doc").strip().lstrip("、，,；; "), "article": m.group("art")}
        for m in _BASIS_RE.finditer(text or "")
    ]
    if not refs:
        return text  # left as text so that validation reports it
    ev = [e.strip() for e in _SPLIT_RE.split(evidence or "")] if (evidence or "").strip() else []
    if ev and len(ev) != len(refs):
        raise ValueError(f"原文摘录(evidence) 有 {len(ev)} 段，依据有 {len(refs)} 条，数量应一致（用 | 分隔）")
    for ref, phrase in zip(refs, ev):
        ref["evidence"] = phrase or None
    return refs


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM) first; Excel on Chinese Windows saves CSV as GBK."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RulesFileError([RowError("文件", "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV")])


def _map_header(header: Iterable[Any]) -> tuple[list[str | None], list[RowError]]:
    names: list[str | None] = []
    unknown: list[str] = []
    for cell in header:
        text = "" if cell is None else str(cell).strip()
        key = text.split("(")[0].split("（")[0].strip()
        key = _HEADER_ALIASES.get(key, key.lower())
        if not text:
            names.append(None)
        elif key in COLUMNS:
            names.append(key)
        else:
            names.append(None)
            unknown.append(text)
    errors = []
    if unknown:
        errors.append(RowError("第1行（表头）", f"未知列：{'、'.join(unknown)}；允许的列：{'、'.join(COLUMNS)}"))
    present = [n for n in names if n]
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        errors.append(RowError("第1行（表头）", f"缺少必需列：{'、'.join(missing)}"))
    dupes = sorted({n for n in present if present.count(n) > 1})
    if dupes:
        errors.append(RowError("第1行（表头）", f"列重复：{'、'.join(dupes)}"))
    return names, errors


def _table_rows(records: Iterable[tuple[int, list[Any]]], header: list[Any]) -> list[RawRow]:
    names, errors = _map_header(header)
    if errors:
        raise RulesFileError(errors)
    rows: list[RawRow] = []
    for number, values in records:
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise RulesFileError([RowError("文件", f"规则超过 {MAX_ROWS} 条上限，请拆分后分批加载")])
        data: dict[str, Any] = {}
        problems: list[str] = []
        # Values under no (or an empty) header cell would be silently lost.
        unnamed = [v for i, v in enumerate(values) if (i >= len(names) or names[i] is None)
                   and v is not None and str(v).strip()]
        if unnamed:
            problems.append("该行的单元格多于表头的列数")
        for name, value in zip(names, values):
            if name:
                data[name] = None if value is None else str(value).strip()
        try:
            data["basis"] = parse_basis_text(data.get("basis") or "", data.pop("evidence", None))
        except ValueError as exc:
            problems.append(str(exc))
        rows.append(RawRow(f"第{number}行", data, problems))
    return rows


def read_csv(raw: bytes) -> list[RawRow]:
    text = decode_text(raw)
    # The header decides the delimiter: sniffing the body is fooled by ";" inside duty texts.
    header_line = text.split("\n", 1)[0]
    dialect: Any = csv.excel if "," in header_line else csv.excel_tab if "\t" in header_line else None
    if dialect is None:
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=";")
        except csv.Error:
            dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise RulesFileError([RowError("文件", "文件为空")]) from None
    return _table_rows(((i, row) for i, row in enumerate(reader, start=2)), header)


def read_xlsx(raw: bytes) -> list[RawRow]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise RulesFileError([RowError("文件", "无法读取 XLSX 文件（文件损坏或不是 Excel 格式）")]) from exc
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise RulesFileError([RowError("文件", "工作表为空")])
        return _table_rows(((i, list(r)) for i, r in enumerate(it, start=2)), list(header))
    finally:
        wb.close()


def read_rules_file(path: Path, max_bytes: int | None = None) -> list[RawRow]:
    if not path.is_file():
        raise RulesFileError([RowError("文件", f"找不到文件：{path}")])
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise RulesFileError([RowError("文件", f"文件超过 {max_bytes // (1024 * 1024)} MB 上限")])
    raw = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return read_yaml(decode_text(raw))
    if suffix == ".csv":
        return read_csv(raw)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(raw)
    raise RulesFileError([RowError("文件", f"不支持的文件类型“{suffix}”，请使用 YAML、CSV 或 XLSX")])


# ---------------------------------------------------------------- validation


@dataclass
class ArticleIndex:
    """Article texts of the knowledge base, keyed by (document title, article)."""

    titles: dict[str, str]  # normalised title -> stored title
    texts: dict[tuple[str, str], str]  # (stored title, article) -> normalised, space-free text

    def resolve(self, document: str) -> str | None:
        return self.titles.get(normalize_document(normalize(document)))

    def text(self, title: str, article: str) -> str | None:
        return self.texts.get((title, article))


_NOT_WORD = re.compile(r"[\s\W_]+")


def compact(text: str, *, normalized: bool = False) -> str:
    """Normalised text without whitespace or punctuation, so evidence survives reformatting."""
    return _NOT_WORD.sub("", text if normalized else normalize(text))


def article_index(session: Session, documents: Iterable[str] | None = None) -> ArticleIndex:
    titles = {normalize_document(normalize(t)): t for (t,) in session.execute(select(Document.title))}
    wanted: set[str] | None = None
    if documents is not None:
        wanted = {titles[k] for d in documents if (k := normalize_document(normalize(d))) in titles}
    query = (
        select(Document.title, Passage.article, Passage.norm_text)
        .join(Passage, Passage.document_id == Document.id)
        .where(Passage.article.is_not(None))
        .order_by(Passage.document_id, Passage.ordinal)
    )
    if wanted is not None:
        query = query.where(Document.title.in_(sorted(wanted)))
    parts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for title, article, text in session.execute(query):
        if article is not None:  # filtered in the query; keeps the key type exact
            parts[(title, article)].append(text)
    # An article may be split over several passages; evidence may sit in any of them.
    texts = {key: compact("".join(chunks), normalized=True) for key, chunks in parts.items()}
    return ArticleIndex(titles, texts)


def validate_rows(session: Session, rows: list[RawRow]) -> list[ParsedRow]:
    """All rows parsed and checked against the knowledge base; raises with every error found."""
    errors: list[RowError] = []
    parsed: list[ParsedRow] = []
    for raw in rows:
        errors += [RowError(raw.row, p) for p in raw.problems]
        if raw.problems:
            continue
        rule, problems = parse_rule(raw.data)
        errors += [RowError(raw.row, p) for p in problems]
        if rule is not None:
            parsed.append(ParsedRow(raw.row, rule))
    if not rows:
        errors.append(RowError("文件", "文件中没有任何规则"))
    if len(rows) > MAX_ROWS:
        raise RulesFileError([RowError("文件", f"规则超过 {MAX_ROWS} 条上限，请拆分后分批加载")])

    first_seen: dict[str, str] = {}
    for item in parsed:
        if item.rule.id in first_seen:
            errors.append(RowError(item.row, f"编号“{item.rule.id}”与{first_seen[item.rule.id]}重复"))
        else:
            first_seen[item.rule.id] = item.row

    index = article_index(session, {b.document for p in parsed for b in p.rule.basis})
    for item in parsed:
        errors += [RowError(item.row, m) for m in check_basis(item.rule, index)]
    if errors:
        # Report in file order, whatever check found the problem.
        order = {raw.row: i for i, raw in enumerate(rows)}
        errors.sort(key=lambda e: order.get(e.row, -1))
        raise RulesFileError(errors)
    return [ParsedRow(p.row, _with_stored_titles(p.rule, index)) for p in parsed]


def check_basis(rule: RuleIn, index: ArticleIndex) -> list[str]:
    problems: list[str] = []
    regions: set[str | None] = set()
    for ref in rule.basis:
        title = index.resolve(ref.document)
        if title is None:
            problems.append(f"依据《{ref.document}》不在知识库中，请先加载该法规")
            continue
        regions.add(local_region(title))
        text = index.text(title, ref.article)
        if text is None:
            problems.append(f"依据《{title}》{ref.article}在知识库中不存在")
            continue
        if ref.evidence and compact(ref.evidence) not in text:
            problems.append(f"原文摘录“{ref.evidence}”未在《{title}》{ref.article}中找到")
    local = {r for r in regions if r}
    if local and None not in regions and rule.jurisdiction == NATIONAL:
        problems.append(f"依据为地方性法规，适用地区应填写“{'、'.join(sorted(local))}”而不是“全国”")
    return problems


def _with_stored_titles(rule: RuleIn, index: ArticleIndex) -> RuleIn:
    """The rule citing documents by their stored titles ("中华人民共和国安全生产法" → as stored)."""
    basis = [b.model_copy(update={"document": index.resolve(b.document) or b.document}) for b in rule.basis]
    return rule.model_copy(update={"basis": basis})
