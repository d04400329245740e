"""Evidence files (photos, documents) stored content-addressed under the data dir.

The type is recognised from the file's first bytes, not its name, so a renamed executable is
refused. Files are stored as ``files/ledger/ab/<sha256><ext>``; the same content is kept once.
"""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from knowledge.ledger.errors import LedgerError

_ZIP_KINDS = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
_OLE_KINDS = {".doc": "application/msword", ".xls": "application/vnd.ms-excel"}
ALLOWED = "图片（JPG、PNG、GIF、WEBP、BMP、TIFF）或文档（PDF、Word、Excel、WPS）"


@dataclass(frozen=True)
class StoredFile:
    filename: str
    stored_path: str
    sha256: str
    size: int
    mime: str


def sniff(head: bytes, suffix: str) -> tuple[str, str] | None:
    """(mime, extension) of an allowed image or document, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", ".jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", ".png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", ".gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if head[:2] == b"BM":
        return "image/bmp", ".bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff", ".tif"
    if head.startswith(b"%PDF-"):
        return "application/pdf", ".pdf"
    if head.startswith(b"PK\x03\x04") and suffix in _ZIP_KINDS:
        return _ZIP_KINDS[suffix], suffix
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        ext = suffix if suffix in _OLE_KINDS or suffix == ".wps" else ".doc"
        return _OLE_KINDS.get(ext, "application/octet-stream"), ext
    return None


def check(path: Path, max_bytes: int) -> tuple[str, str, int]:
    """Validate a file before anything is written: (mime, extension, size)."""
    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"找不到附件文件“{path.name}”。")
    size = path.stat().st_size
    if size == 0:
        raise LedgerError(f"附件“{path.name}”是空文件。")
    if size > max_bytes:
        raise LedgerError(
            f"附件“{path.name}”大小为{size / 1048576:.1f} MB，超过上限{max_bytes / 1048576:.0f} MB。"
        )
    with path.open("rb") as fh:
        head = fh.read(16)
    kind = sniff(head, path.suffix.lower())
    if kind is None:
        raise LedgerError(f"附件“{path.name}”不是可接受的文件类型，只接受{ALLOWED}。")
    return kind[0], kind[1], size


def store(path: Path, files_dir: Path, max_bytes: int) -> StoredFile:
    mime, ext, size = check(path, max_bytes)
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    rel = Path("ledger") / sha[:2] / f"{sha}{ext}"
    target = files_dir / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    return StoredFile(Path(path).name[:255], str(rel), sha, size, mime)
