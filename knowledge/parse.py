"""File → parsed, cleaned, segmented document with metadata; the input of ingestion.

Pure functions: nothing here touches the database. ``parse_document`` handles uploads,
``parse_bundled`` the laws shipped in ``knowledge/corpus/laws`` with the metadata
recorded in their SOURCES.md.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from knowledge import bundled
from knowledge.cleaning import index_text, readable, strip_boilerplate, strip_pinyin
from knowledge.garbled import find_runs, mostly_garbled
from knowledge.places import document_place
from knowledge.textnorm import to_simplified
from knowledge.numerals import cn_to_int
from knowledge.readers import IngestError, RawDocument, read_document
from knowledge.segment import Segment, segment

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
INFO_END = "<!-- INFO END -->"

KIND_LABELS: dict[str, str] = {
    "law": "法律",
    "regulation": "行政法规",
    "local_regulation": "地方性法规",
    "rule": "规章",
    "judicial_interpretation": "司法解释",
    "policy": "政策文件",
    "notice": "通知公告",
    "speech": "讲话",
    "news": "新闻报道",
    "other": "其他",
}
KINDS = tuple(KIND_LABELS)
# SOURCES.md categories and other Chinese names users may type.
_KIND_ALIASES = {
    "法律": "law", "行政法规": "regulation", "地方性法规": "local_regulation", "部门规章": "rule",
    "规章": "rule", "地方政府规章": "rule", "司法解释": "judicial_interpretation", "政策": "policy",
    "政策文件": "policy", "通知": "notice", "通知公告": "notice", "讲话": "speech", "新闻": "news",
    "新闻报道": "news", "其他": "other",
}

_PROVINCES = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省",
    "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区",
    "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)
_SHORT_PROVINCE = re.compile(r"^(北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北"
                             r"|湖南|广东|海南|四川|贵州|云南|陕西|甘肃|青海|内蒙古|广西|西藏|宁夏|新疆|香港|澳门)")
_CITY = re.compile(r"^([\u4e00-\u9fff]{2,4}?(?:市|自治州))")
_ORG_SUFFIX = r"(?:国务院|人民政府|委员会|办公厅|办公室|管理局|总局|监察局|应急管理部|[部厅局委院署处会])"
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CN_DATE = re.compile(r"([一二三四五六七八九〇零]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_EFFECTIVE = re.compile(
    r"自\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|[一二三四五六七八九〇零]{4}年[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日)"
    r"\s*起(?:施行|实施|执行|生效)"
)


@dataclass
class ParsedSegment:
    text: str            # display form: boilerplate removed, otherwise as in the file
    index_text: str      # no pinyin, Simplified, normalised: what gets embedded and BM25-indexed
    path: str
    article: str | None
    article_no: int | None
    article_sub: int = 0
    garbled: bool = False  # garbled passages are reported in ``problems`` and must not be indexed


@dataclass
class ParsedDocument:
    title: str
    full_title: str | None
    kind: str
    issuing_body: str | None
    version: str | None
    effective_date: date | None
    jurisdiction: str
    source_name: str
    content_hash: str
    segments: list[ParsedSegment]
    problems: list[str] = field(default_factory=list)
    bundled: bool = False
    published_on: date | None = None
    # What cleaning took out or fixed, for the ingest summary: boilerplate lines by kind
    # (BOILERPLATE_KINDS), garbled runs found / repaired / cut.
    boilerplate: dict[str, int] = field(default_factory=dict)
    garbled_runs: int = 0
    repaired_runs: int = 0


def parse_document(
    path: Path,
    *,
    title: str | None = None,
    kind: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedDocument:
    """Read, clean and segment an uploaded file. Raises IngestError for unusable files."""
    path = Path(path)
    wanted_kind = _validate_kind(kind) if kind else None
    raw = read_document(path, max_bytes=max_bytes)
    return _build(raw, title=(title or "").strip() or None, kind=wanted_kind)


def bundled_corpus_dir() -> Path:
    return bundled.CORPUS_DIR


@dataclass(frozen=True)
class _SourceRow:
    file: str
    category: str
    source_path: str
    version: str


def parse_bundled() -> Iterator[ParsedDocument]:
    """The bundled laws, in SOURCES.md order, with kind and version from that table."""
    corpus = bundled_corpus_dir()
    rows = _read_sources(corpus / "SOURCES.md")
    listed = {row.file for row in rows}
    extra = sorted(p.name for p in corpus.glob("*.md") if p.name != "SOURCES.md" and p.name not in listed)
    for row in rows + [_SourceRow(name, "", "", "") for name in extra]:
        path = corpus / row.file
        raw = read_document(path, max_bytes=DEFAULT_MAX_BYTES)
        # Editorial notes of the corpus ("> 节选说明：…") are not statute text.
        raw.text = "\n".join(ln for ln in raw.text.split("\n") if not ln.startswith(">"))
        kind = _kind_from_category(row.category) if row.category else None
        doc = _build(raw, title=path.stem, kind=kind)
        doc.bundled = True
        doc.source_name = f"LawRefBook/Laws：{row.source_path}" if row.source_path else f"随附法规库：{row.file}"
        version_date = _iso_date(row.version)
        if version_date is not None:
            doc.version = row.version
            doc.effective_date = version_date
        if row.category.startswith("部门规章") and not doc.issuing_body:
            # Source layout is 部门规章/<ministry>/<file>.
            parts = row.source_path.strip("`").split("/")
            doc.issuing_body = parts[1] if len(parts) > 2 else None
        yield doc


def _read_sources(path: Path) -> list[_SourceRow]:
    rows: list[_SourceRow] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].endswith(".md"):
            rows.append(_SourceRow(cells[0], cells[1], cells[2].strip("`"), cells[4]))
    return rows


def _kind_from_category(category: str) -> str | None:
    # "法律（节选）" is still a law.
    for name, kind in _KIND_ALIASES.items():
        if category.startswith(name):
            return kind
    return None


def _validate_kind(kind: str) -> str:
    value = kind.strip()
    if value in KIND_LABELS:
        return value
    if value in _KIND_ALIASES:
        return _KIND_ALIASES[value]
    options = "、".join(f"{k}（{v}）" for k, v in KIND_LABELS.items())
    raise IngestError("kind", f"文档类别“{kind}”无效，可选：{options}。")


# ---------------------------------------------------------------- building

def _build(raw: RawDocument, *, title: str | None, kind: str | None) -> ParsedDocument:
    """``title`` None: the page's headline names the document (else the file name)."""
    name = raw.path.name
    header_lines, body = _split_header(raw.text)
    body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
    page = strip_boilerplate(body)
    display = page.text
    full_title = _full_title(header_lines, display) or raw.title_hint
    headline = readable(page.headline or full_title or "").lstrip("#").strip() or None
    stem_kind = kind or guess_kind(raw.path.stem, full_title, display)
    if not title and stem_kind in _STATUTE_KINDS - {"policy"}:
        # A statute keeps the short name it is saved under (安全生产法): questions name it so,
        # and a new version replaces it by that name.
        title = raw.path.stem
    title = title or _usable_title(headline) or _usable_title(_hint_title(raw.title_hint)) or raw.path.stem
    body_text = _drop_headline(display, page.headline or full_title)
    pieces = segment(body_text)
    if not pieces:
        raise IngestError("no_text", f"文件“{name}”去除网页导航、版权信息等无关内容后没有可用的正文，请检查文件内容。")
    names = {readable(n).lstrip("#").strip() for n in (title, full_title, headline, page.headline) if n}
    segments = [_parsed(p, names) for p in pieces]
    problems = list(raw.warnings)
    # Runs inside a paragraph that is debris as a whole are reported with that paragraph below.
    runs = [r for line in body_text.split("\n") if not mostly_garbled(line)
            for r in find_runs(strip_pinyin(line))]
    repaired = sum(1 for r in runs if r.repair is not None)
    if runs:
        problems.append(f"发现 {len(runs)} 处乱码片段：{repaired} 处已按正确编码还原，"
                        f"{len(runs) - repaired} 处无法还原，已从索引和引用中去除（原文保留）")
    for i, seg in enumerate(segments, start=1):
        if seg.garbled:
            where = f"第{i}段" + (f"（{seg.article}）" if seg.article else "")
            preview = re.sub(r"\s+", " ", seg.text)[:20]
            problems.append(f"{where}疑似乱码（{preview}…），未编入索引")
    if all(s.garbled for s in segments):
        raise IngestError(
            "encoding",
            f"文件“{name}”的内容几乎全部是乱码，无法编入索引。请确认文件编码（建议另存为 UTF-8）后重新上传。",
        )
    naming = full_title or title
    resolved_kind = kind or guess_kind(title, full_title, display)
    if resolved_kind == "other" and page.removed.get("meta"):
        resolved_kind = "news"  # a page with a 作者/来源/发布时间 bar is a news item
    issuing_body = _issuing_body(naming, header_lines, display, resolved_kind)
    if issuing_body is None and page.source and resolved_kind not in _STATUTE_KINDS:
        issuing_body = readable(page.source)
    if issuing_body:
        issuing_body = to_simplified(issuing_body)  # shown in Simplified like the rest of the page
    return ParsedDocument(
        title=title,
        full_title=full_title,
        kind=resolved_kind,
        issuing_body=issuing_body,
        version=_version(header_lines),
        effective_date=_effective_date(display) if resolved_kind in _STATUTE_KINDS else None,
        jurisdiction=_jurisdiction(title, full_title, headline, display, resolved_kind),
        source_name=name,
        content_hash=content_hash(s.index_text for s in segments),
        segments=segments,
        problems=problems,
        published_on=page.published or _published_on(display, resolved_kind),
        boilerplate=dict(page.removed),
        garbled_runs=len(runs),
        repaired_runs=repaired,
    )


def _hint_title(hint: str | None) -> str | None:
    """An HTML <title> is "headline_栏目_站点" or "headline - 站点"; the headline is the first part."""
    if not hint:
        return None
    return readable(re.split(r"\s*(?:_|\s-\s|\||｜)\s*", hint)[0]).strip() or None


def _usable_title(text: str | None) -> str | None:
    if not text or len(text) > 120:
        return None
    return text


def _drop_headline(display: str, headline: str | None) -> str:
    """The headline names the document; as a first line it would become a passage of its own
    that matches every question about the page."""
    if not headline:
        return display
    lines = display.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if line.strip().lstrip("#").strip() == headline.strip():
            return "\n".join(lines[:i] + lines[i + 1:])
        return display
    return display


_NATIONAL_KINDS = frozenset({"law", "regulation", "judicial_interpretation"})
_PAGE_KINDS = frozenset({"news", "speech", "notice", "policy", "other"})


def _jurisdiction(title: str, full_title: str | None, headline: str | None, display: str, kind: str) -> str:
    """The region of a document: a province or city named at the start of its title, or for news,
    speeches and notices the division (from the gazetteer) that its title or lead paragraph names."""
    region = jurisdiction_of(title, full_title, kind)
    # Statutes keep the region as their title names it ("深圳市"): that is what a deployment's
    # SAFETYBOT_JURISDICTION is compared with.
    if kind in _NATIONAL_KINDS or (region != "全国" and kind not in _PAGE_KINDS):
        return region
    texts = [to_simplified(t) for t in (title, full_title, headline) if t]
    if kind in _PAGE_KINDS:
        texts.append(to_simplified(strip_pinyin(display[:300])))
    place = document_place(*texts)
    if place is None:
        return region
    if region != "全国" and region not in place.path:
        return region
    return place.path


_DATE_LINE = re.compile(r"^[（(]?\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*[)）]?$")


def _published_on(display: str, kind: str) -> date | None:
    """A speech's "（2024年3月14日）" under its title, or a notice's date under its signature."""
    if kind in _NATIONAL_KINDS:
        return None
    lines = [ln.strip() for ln in display.split("\n") if ln.strip()]
    for line in lines[:6] + lines[-3:]:
        m = _DATE_LINE.match(line)
        if m:
            return _first_date(m.group(1))
    return None


_STATUTE_KINDS = frozenset({"law", "regulation", "local_regulation", "rule", "judicial_interpretation", "policy"})


def _parsed(seg: Segment, document_names: Collection[str] = ()) -> ParsedSegment:
    # The headings a passage sits under are indexed with it (Segment.heading_in_index), except
    # the document's own title when the page repeats it as a top heading: the title is about the
    # whole document (the searcher weighs it per document) and only dilutes the passage.
    heading = " / ".join(h for h in seg.path.split(" / ") if h.strip() not in document_names) \
        if seg.heading_in_index else ""
    return ParsedSegment(
        text=seg.text,
        index_text=index_text(f"{heading}\n{seg.text}" if heading else seg.text),
        path=seg.path,
        article=seg.article,
        article_no=seg.article_no,
        article_sub=seg.article_sub,
        garbled=mostly_garbled(seg.text),
    )


def content_hash(index_texts: Iterable[str]) -> str:
    """Hash of the normalised passages, blind to encoding, line endings, spacing and script,
    so a re-saved copy of the same document is recognised; passage boundaries do not count."""
    canonical = "".join(re.sub(r"\s+", "", text) for text in index_texts)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _split_header(text: str) -> tuple[list[str], str]:
    """Split off the metadata block that ends with ``<!-- INFO END -->`` (title, revisions)."""
    if INFO_END not in text:
        return [], text
    header, body = text.split(INFO_END, 1)
    return [ln.strip() for ln in header.split("\n") if ln.strip()], body


def _full_title(header_lines: list[str], body: str) -> str | None:
    """The "# title" of the header or body, else a short first line that reads like a title."""
    for line in header_lines:
        if line.startswith("# "):
            return line[2:].strip()
    for line in body.split("\n"):
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^#\s+(.+)$", line)
        if m:
            return strip_pinyin(m.group(1)).strip()
        if len(line) <= 60 and not re.search(r"[。；！？，]", line) and not line.startswith("第"):
            return strip_pinyin(line)
        return None
    return None


# ---------------------------------------------------------------- metadata guesses

def guess_kind(title: str, full_title: str | None, text: str = "") -> str:
    """Best guess of the document kind from its title and opening text."""
    name = to_simplified(full_title or title)
    title = to_simplified(title)
    text = to_simplified(text[:300])
    # The kind is named at the end: "关于印发《……办法》的通知" is a notice, not a rule.
    bare = re.sub(r"《[^》]*》", "", f"{title} {name}")
    bare_name = re.sub(r"[（(][^）)]*[）)]\s*$", "", re.sub(r"《[^》]*》", "", name)).strip()
    head = text[:300]
    if (re.search(r"最高人民法院|最高人民检察院", name) and re.search(r"解释|批复|规定", bare)) or "司法解释" in title:
        return "judicial_interpretation"
    if re.search(r"讲话|致辞|发言|讲稿|报告会上", bare):
        return "speech"
    if re.search(r"通知|通报|公告|通告|函$|批复", bare):
        return "notice"
    if (re.search(r"新闻|报道|记者|召开|举行|举办|部署|调研|督导|暗访|发布会|约谈", bare)
            or re.search(r"记者|讯[（(]|讯\s|通讯员", head)):
        return "news"
    if re.search(r"意见|方案|规划|纲要|要点|计划|决定|措施|指引|指南", bare_name):
        return "policy"
    if bare_name.endswith("法") and not bare_name.endswith(("办法", "方法", "做法", "规范", "算法")):
        return "law"
    local = _province(bare_name) is not None or _CITY.match(bare_name) is not None
    if bare_name.endswith("条例"):
        return "local_regulation" if local else "regulation"
    if re.search(r"(规定|办法|细则|规则|标准|制度)$", bare_name):
        return "regulation" if bare_name.startswith("国务院") else "rule"
    return "other"


def _province(name: str) -> str | None:
    for province in _PROVINCES:
        if name.startswith(province):
            return province
    m = _SHORT_PROVINCE.match(name)
    if m:
        return next(p for p in _PROVINCES if p.startswith(m.group(1)))
    return None


def jurisdiction_of(title: str, full_title: str | None = None, kind: str = "other") -> str:
    """"全国", or the province/city a local document applies to (from its title)."""
    for name in (full_title, title):
        if not name:
            continue
        name = name.removeprefix("中华人民共和国")
        province = _province(name)
        if province:
            return province
        if kind not in ("law", "regulation", "judicial_interpretation"):
            m = _CITY.match(name)
            if m and _plausible_place(m.group(1)):
                return m.group(1)
    return "全国"


def _plausible_place(name: str) -> bool:
    # "在全市…", "本市…", "某某市…", "超大城市…" start titles but name no place.
    return not re.search(r"[全本我各该此某在于的和与及对做城都]", name[:-1])


def _issuing_body(name: str, header_lines: list[str], text: str, kind: str) -> str | None:
    m = re.match(rf"^(.{{2,40}}?{_ORG_SUFFIX})关于", name)
    if m:
        return m.group(1)
    for line in reversed(header_lines[1:] if header_lines and header_lines[0].startswith("#") else header_lines):
        body = _body_in_line(line)
        if body:
            return body
    if kind == "law":
        return "全国人民代表大会常务委员会"
    if kind == "regulation":
        return "国务院"
    # Notices and speeches are signed off at the end: "XX市应急管理局\n2024年3月1日".
    tail = [ln.strip() for ln in text.split("\n") if ln.strip()][-4:]
    for i, line in enumerate(tail[:-1]):
        if (len(line) <= 30 and re.search(rf"{_ORG_SUFFIX}$", line) and not re.search(r"[。，；：]", line)
                and (_DATE.search(tail[i + 1]) or _CN_DATE.search(tail[i + 1]))):
            return line
    return None


def _body_in_line(line: str) -> str | None:
    """The enacting body named in a revision line of the header."""
    line = _DATE.sub(" ", re.sub(r"第[一二三四五六七八九十百零〇\d]+届", "", line))
    m = re.search(r"全国人民代表大会(?:常务委员会)?", line)
    if m:
        return m.group(0)
    m = re.search(r"[\u4e00-\u9fff]{2,8}?(?:省|市|自治区)人民代表大会(?:常务委员会)?", line)
    if m:
        return m.group(0)
    m = re.search(r"([\u4e00-\u9fff]{2,20}?)令第", line)
    if m:
        return m.group(1).removeprefix("中华人民共和国")
    if "国务院" in line:
        return "国务院"
    return None


def _version(header_lines: list[str]) -> str | None:
    """Date of the last revision line in the header, as YYYY-MM-DD."""
    for line in reversed(header_lines):
        d = _first_date(line)
        if d:
            return d.isoformat()
    return None


def _first_date(text: str) -> date | None:
    m = _DATE.search(text)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _CN_DATE.search(text)
        if m:
            return date(cn_to_int(m.group(1)), cn_to_int(m.group(2)), cn_to_int(m.group(3)))
    except ValueError:
        return None
    return None


def _effective_date(text: str) -> date | None:
    """The "自…起施行" date; the last one, since final provisions close a statute."""
    matches = _EFFECTIVE.findall(text)
    return _first_date(matches[-1]) if matches else None


def _iso_date(value: str) -> date | None:
    m = _ISO_DATE.match(value.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
