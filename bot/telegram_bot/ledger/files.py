"""Evidence photos and files sent in chat: what a message carries, and fetching it for the ledger."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, Message
from telegram.error import BadRequest

from knowledge.ledger import LedgerError

NAME_CHARS = 100


@dataclass(frozen=True)
class Evidence:
    """A photo or document a user sent; kept by file id until the ledger needs the bytes."""

    file_id: str
    name: str
    size: int | None


def evidence_of(message: Message) -> Evidence | None:
    if message.photo:
        photo = message.photo[-1]  # the largest size Telegram made
        return Evidence(photo.file_id, f"照片_{photo.file_unique_id}.jpg", photo.file_size)
    if message.document:
        doc = message.document
        # Only the last path component, so a crafted name cannot point outside the temp folder.
        name = Path((doc.file_name or "").replace("\\", "/")).name.strip()[:NAME_CHARS] or f"附件_{doc.file_unique_id}"
        return Evidence(doc.file_id, name, doc.file_size)
    return None


async def download(bot: Bot, evidence: Evidence, directory: Path, max_bytes: int) -> Path:
    """Fetch ``evidence`` into ``directory``; a LedgerError with a user message if it cannot be."""
    if evidence.size is not None and evidence.size > max_bytes:
        raise LedgerError(f"文件“{evidence.name}”超过 {max_bytes // 1048576} MB，无法保存，请压缩后重发。")
    try:
        file = await bot.get_file(evidence.file_id)
    except BadRequest:
        # Telegram lets bots download at most 20 MB; anything else here is an expired file id.
        raise LedgerError(f"无法下载文件“{evidence.name}”（可能超过 20 MB 或已失效），请压缩后重新发送。") from None
    path = directory / evidence.name
    await file.download_to_drive(path)
    return path
