"""Turn a file into plain text: format detection, encoding detection, extraction.

Every refusal is an ``IngestError`` whose message tells the user, in Chinese, what is
wrong with the file and what to do about it.
"""
from __future__ import annotations

import hashlib
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.cleaning import HAN, is_garbled
from knowledge.textnorm import strip_control_chars

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".docx", ".pdf"})
_TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
_HINTS = {
    ".doc": "旧版 Word（.doc）文件请用 Word 或 WPS 另存为 .docx 后再上传。",
    ".wps": "WPS 文字文件请另存为 .docx 后再上传。",
    ".rtf": "RTF 文件请另存为 .docx 或 .txt 后再上传。",
    ".xls": "表格文件不能作为文档导入，请把正文另存为 .docx 或 .txt。",
    ".xlsx": "表格文件不能作为文档导入，请把正文另存为 .docx 或 .txt。",
    ".ofd": "OFD 文件请先转换为 PDF（需带文字层）或 .docx。",
    ".jpg": "图片需要先做文字识别（OCR），请上传识别后的 .docx 或 .txt。",
    ".jpeg": "图片需要先做文字识别（OCR），请上传识别后的 .docx 或 .txt。",
    ".png": "图片需要先做文字识别（OCR），请上传识别后的 .docx 或 .txt。",
}
_SUPPORTED_LIST = "TXT、Markdown、HTML、Word（.docx）、PDF（带文字层）"

# Magic numbers of formats that are sometimes renamed to .txt by mistake.
_MAGIC = (
    (b"%PDF", "PDF"), (b"PK\x03\x04", "压缩包或 Office 文档"), (b"\xd0\xcf\x11\xe0", "旧版 Office 文档"),
    (b"\x89PNG", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"), (b"GIF8", "GIF 图片"),
    (b"\x7fELF", "程序文件"), (b"MZ", "程序文件"), (b"Rar!", "RAR 压缩包"), (b"\x1f\x8b", "gzip 压缩包"),
    (b"7z\xbc\xaf", "7z 压缩包"),
)
_MEANINGFUL = re.compile(rf"[{HAN}A-Za-z0-9]")
# pypdf reports recoverable damage through logging; with no handler configured Python would print
# it on the terminal before our own message. It still reaches the application's log handlers.
logging.getLogger("pypdf").addHandler(logging.NullHandler())
_PDF_MIN_CHARS_PER_PAGE = 10


class IngestError(Exception):
    """A file that cannot be ingested; ``message`` is user-facing Chinese, ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RawDocument:
    path: Path
    format: str  # "md" | "txt" | "html" | "docx" | "pdf"
    text: str
    encoding: str | None
    raw_bytes_hash: str
    # Title found inside the file (HTML <title>, docx/PDF metadata); a hint only.
    title_hint: str | None = None
    # Non-fatal findings in Chinese, e.g. PDF pages without a text layer.
    warnings: list[str] = field(default_factory=list)


def read_document(path: Path, *, max_bytes: int) -> RawDocument:
    """Read ``path`` into text. Raises IngestError for anything that is not usable text."""
    path = Path(path)
    name = path.name
    if path.is_dir():
        raise IngestError("directory", f"“{name}”是一个文件夹，不是文件。请指定其中的文件，例如 {name}/*.docx。")
    if not path.is_file():
        raise IngestError("not_found", f"找不到文件“{name}”，请确认文件路径。")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        hint = _HINTS.get(suffix, f"目前支持的格式：{_SUPPORTED_LIST}。")
        shown = suffix or "（无扩展名）"
        raise IngestError("unsupported", f"不支持的文件类型 {shown}（{name}）。{hint}")
    # Size first: never pull a huge upload into memory just to refuse it.
    size = path.stat().st_size
    if size == 0:
        raise IngestError("empty", f"文件“{name}”是空的（0 字节），请检查后重新上传。")
    if size > max_bytes:
        raise IngestError(
            "too_large",
            f"文件“{name}”大小为 {_human_size(size)}，超过上限 {_human_size(max_bytes)}。"
            "请拆分成几个较小的文件后分别上传。",
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if suffix in _TEXT_SUFFIXES:
        _refuse_binary(data, name)
        text, encoding = decode_text(data, name)
        fmt = "md" if suffix in (".md", ".markdown") else "txt"
        raw = RawDocument(path, fmt, _normalise_newlines(text), encoding, digest)
    elif suffix in (".html", ".htm"):
        _refuse_binary(data, name)
        raw = _read_html(path, data, digest)
    elif suffix == ".docx":
        raw = _read_docx(path, data, digest)
    else:
        raw = _read_pdf(path, data, digest)
    cleaned = strip_control_chars(raw.text)
    if len(cleaned) != len(raw.text):
        raw.warnings.append(f"已删除 {len(raw.text) - len(cleaned)} 个不可见的控制字符（如 NUL），其余内容照常导入")
    raw.text = cleaned
    if not _MEANINGFUL.search(raw.text):
        raise IngestError("no_text", f"文件“{name}”中没有可用的文字内容，请确认文件内容后重新上传。")
    return raw


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} 字节"


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


def _refuse_binary(data: bytes, name: str) -> None:
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 with BOM is text even though it is full of NUL bytes
    for magic, label in _MAGIC:
        if head.startswith(magic):
            raise IngestError(
                "unsupported",
                f"文件“{name}”的扩展名是文本，但内容实际是{label}，不是文字文件。请确认文件类型，改用正确的扩展名后再上传。",
            )
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or controls > len(head) * 0.05:
        raise IngestError(
            "unsupported",
            f"文件“{name}”的内容是二进制数据，不是文字文件。请上传 {_SUPPORTED_LIST} 格式的文件。",
        )


# ---------------------------------------------------------------- encodings

_CANDIDATES = ("utf-8", "gb18030", "big5")


def decode_text(data: bytes, name: str = "文件", declared: str | None = None) -> tuple[str, str]:
    """Decode bytes as UTF-8, GB18030/GBK or Big5, rejecting decodings that yield garbage.

    GB18030 accepts almost any byte sequence, so a successful decode proves nothing:
    the result must also look like real text (see ``cleaning.is_garbled``).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    candidates = list(_CANDIDATES)
    if declared:
        declared = _canonical_encoding(declared)
        if declared in candidates:
            candidates.remove(declared)
        candidates.insert(0, declared)
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if _plausible(text):
            return text, encoding
    # A few bad bytes (a truncated or partly damaged file) should not lose the whole
    # document: decode leniently and let the garble check flag the damaged passages.
    for encoding in candidates:
        try:
            text = data.decode(encoding, errors="replace")
        except LookupError:
            continue
        if text.count("\ufffd") <= max(3, len(text) // 1000) and _plausible(text, lenient=True):
            return text, encoding
    best = _charset_normalizer_guess(data)
    if best is not None:
        return best
    raise IngestError(
        "encoding",
        f"无法识别“{name}”的文字编码（已尝试 UTF-8、GBK/GB18030、Big5），或解码后是乱码。"
        "请用记事本或 WPS 把文件另存为 UTF-8 编码后重新上传。",
    )


def _canonical_encoding(name: str) -> str:
    name = name.strip().lower().replace("_", "-")
    if name in ("gb2312", "gbk", "gb-2312", "x-gbk", "cp936", "gb18030"):
        return "gb18030"  # supersets: a GB2312 label often hides GBK characters
    if name in ("utf8", "utf-8"):
        return "utf-8"
    if name in ("big5", "big5-hkscs", "cp950"):
        return "big5"
    return name


def _plausible(text: str, *, lenient: bool = False) -> bool:
    sample = text[:20000]
    if not lenient and "\ufffd" in sample:
        return False
    # Judge by paragraphs: one damaged paragraph in a good file is reported later,
    # but a wrong codec garbles nearly all of them.
    paragraphs = [p for p in sample.split("\n") if _MEANINGFUL.search(p)]
    if not paragraphs:
        return True
    garbled = sum(1 for p in paragraphs if is_garbled(p.replace("\ufffd", "")))
    return garbled <= len(paragraphs) * 0.3


def _charset_normalizer_guess(data: bytes) -> tuple[str, str] | None:
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    if match is None or match.encoding is None:
        return None
    text = str(match)
    if "\ufffd" in text or not _plausible(text):
        return None
    return text, match.encoding


# ---------------------------------------------------------------- HTML

_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed",
              "nav", "aside", "form", "button", "select", "input", "textarea", "head")
_BLOCK_TAGS = ("p", "div", "section", "article", "main", "li", "ul", "ol", "table", "tr", "blockquote",
               "pre", "dd", "dt", "dl", "figure", "figcaption", "center", "address", "body")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)


_CHROME_NAME = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|menu|breadcrumbs?|crumbs?|footer|share|copyright|sidebar|toolbar)(?:$|[-_\s])", re.I
)


def _is_chrome(tag: object) -> bool:
    """Site chrome marked by class or id (div class="nav"), common on government sites."""
    attrs = getattr(tag, "attrs", None)
    if not attrs or getattr(tag, "name", "") in ("html", "body", "article", "main"):
        return False
    names = " ".join([attrs.get("id", "") or ""] + list(attrs.get("class", []) or []))
    return bool(names) and _CHROME_NAME.search(names) is not None


def _read_html(path: Path, data: bytes, digest: str) -> RawDocument:
    from bs4 import BeautifulSoup

    declared = _META_CHARSET.search(data[:4096])
    text, encoding = decode_text(data, path.name, declared.group(1).decode("ascii") if declared else None)
    soup = BeautifulSoup(text, "lxml")
    title_tag = soup.find("title")
    h1 = soup.find("h1")
    named = h1 or title_tag
    title_hint = named.get_text(" ", strip=True) or None if named is not None else None
    doomed = soup.find_all(_DROP_TAGS) + soup.find_all(_is_chrome)
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()
    # Page headers and footers hold site banners and copyright lines; keep those that
    # belong to an article (an article's own header carries its title).
    for tag in soup.find_all(("header", "footer")):
        if tag.find_parent("article") is None:
            tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            heading = tag.get_text(" ", strip=True)
            tag.replace_with(f"\n{'#' * level} {heading}\n" if heading else "\n")
    for tag in soup.find_all(("td", "th")):
        tag.insert_after("\t")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = [re.sub(r" *\t[\t ]*", "\t", re.sub(r"[ \u00a0\u3000]+", " ", ln)).strip()
             for ln in soup.get_text().split("\n")]
    body = "\n".join(ln for ln in lines if ln)
    if not _MEANINGFUL.search(body):
        raise IngestError(
            "no_text",
            f"网页“{path.name}”去掉脚本、样式和导航后没有正文内容。请打开网页复制正文，另存为 .txt 后上传。",
        )
    return RawDocument(path, "html", body, encoding, digest, title_hint=title_hint)


# ---------------------------------------------------------------- docx

def _read_docx(path: Path, data: bytes, digest: str) -> RawDocument:
    from docx import Document as open_docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not zipfile.is_zipfile(path):
        raise IngestError(
            "unsupported",
            f"“{path.name}”不是有效的 .docx 文件（可能是旧版 .doc 改了扩展名，或文件已损坏）。"
            "请用 Word 或 WPS 另存为 .docx 后重新上传。",
        )
    try:
        doc = open_docx(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for broken packages
        raise IngestError(
            "unsupported",
            f"无法打开 Word 文件“{path.name}”：{_docx_problem(exc)}。请用 Word 或 WPS 重新另存为 .docx 后上传。",
        ) from exc
    lines: list[str] = []
    body = doc.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, doc)
            text = para.text.strip()
            if text:
                lines.append(_docx_heading_prefix(para.style.name if para.style is not None else "") + text)
        elif tag == "tbl":
            for row in Table(child, doc).rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = cell.text.strip()
                    # Merged cells repeat the same object; keep their text once.
                    if value and (not cells or cells[-1] != value):
                        cells.append(value)
                if cells:
                    lines.append("\t".join(cells))
    title = (doc.core_properties.title or "").strip() or None
    return RawDocument(path, "docx", "\n".join(lines), None, digest, title_hint=title)


def _docx_problem(exc: Exception) -> str:
    """What is wrong with a .docx package, in words (python-docx only says KeyError, ValueError…)."""
    if isinstance(exc, KeyError):
        return "文件不完整，缺少 Word 文档必需的组成部分（可能下载或复制时中断，或被其他软件改坏）"
    if isinstance(exc, zipfile.BadZipFile):
        return "文件的压缩结构已损坏"
    if isinstance(exc, ValueError) and "content type" in str(exc).lower():
        return "文件不是 Word 文档（可能是其他 Office 文件改了扩展名）"
    if type(exc).__name__ == "XMLSyntaxError":
        return "文档内部的内容格式已损坏"
    return "文件结构已损坏"


def _docx_heading_prefix(style: str) -> str:
    style = style.strip()
    if style.lower() in ("title", "标题"):
        return "# "
    m = re.match(r"^(?:heading|标题)\s*(\d)$", style, re.IGNORECASE)
    if m:
        # Heading 1 sits below the document title.
        return "#" * min(6, int(m.group(1)) + 1) + " "
    return ""


# ---------------------------------------------------------------- PDF

def _read_pdf(path: Path, data: bytes, digest: str) -> RawDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        raise IngestError("unsupported", f"“{path.name}”不是有效的 PDF 文件，请确认文件类型后重新上传。")
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("unsupported", f"PDF 文件“{path.name}”已加密，请去除密码保护后重新上传。")
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        truncated = b"%%EOF" not in data[-2048:]
        reason = "文件不完整（结尾缺失，可能下载或复制时中断）" if truncated else "文件已损坏"
        raise IngestError(
            "unsupported", f"无法读取 PDF 文件“{path.name}”：{reason}。请重新导出或重新下载完整的文件后上传。"
        ) from exc
    if not pages:
        raise IngestError("no_text", f"PDF 文件“{path.name}”没有任何页面。")
    counts = [len(_MEANINGFUL.findall(p)) for p in pages]
    if sum(counts) < _PDF_MIN_CHARS_PER_PAGE * len(pages) and max(counts) < 50:
        raise IngestError(
            "no_text_layer",
            f"PDF 文件“{path.name}”没有文字层（可能是扫描件或图片）。请先做文字识别（OCR），"
            "或上传带文字的 PDF / Word 版本。",
        )
    warnings = [
        f"PDF 第{i}页没有文字层（可能是扫描图片），该页内容未导入"
        for i, count in enumerate(counts, start=1) if count < _PDF_MIN_CHARS_PER_PAGE
    ]
    text = "\n".join(_unwrap_pdf_lines(p) for p in pages)
    title: str | None = None
    try:
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title).strip() or None
    except Exception:  # metadata is optional and often malformed; it is only a hint
        title = None
    return RawDocument(path, "pdf", text, None, digest, title_hint=title, warnings=warnings)


_LINE_START_BLOCK = re.compile(
    r"^(?:第[0-9一二三四五六七八九十百千零〇]+[编章节条條]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十0-9]+[)）]|\d+[.、．])"
)
# Spaces between Chinese characters are layout artefacts, except the one that separates
# "第一条" from its text, which segmentation relies on.
_CJK_SPACE = re.compile(rf"(?<=[{HAN}，。；：、（）“”])(?<![条條章节编])[ ]+(?=[{HAN}，。；：、（）“”])")


def _unwrap_pdf_lines(page_text: str) -> str:
    """Join visual line breaks inside paragraphs, which PDF text extraction keeps."""
    out: list[str] = []
    for raw in page_text.split("\n"):
        line = _CJK_SPACE.sub("", raw.strip())
        if not line:
            continue
        starts_block = _LINE_START_BLOCK.match(line) is not None
        if out and not starts_block and not out[-1].endswith(("。", "！", "？", "：", "；", "!", "?")) \
                and len(out[-1]) >= 20:
            out[-1] += line
        else:
            out.append(line)
    return "\n".join(out)
