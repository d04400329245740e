"""Encryption at rest and masking of robot keys and signing secrets.

A database dump, a backup or a shared PostgreSQL must not hand out working robot webhooks, so
webhook URLs and secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). The key is
``SAFETYBOT_CHANNEL_KEY`` when set (required when several machines share one database) or a key
file ``<data dir>/channel.key`` created on first use with mode 0600.
"""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from knowledge.config import Settings
from knowledge.ledger.errors import LedgerError

KEY_FILE = "channel.key"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.channel_key:
            try:
                return cls(settings.channel_key.encode())
            except ValueError:
                raise LedgerError("SAFETYBOT_CHANNEL_KEY 格式不正确：应为 Fernet 密钥（44 个字符的 base64）。") from None
        return cls(_key_file(settings.data_dir / KEY_FILE))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise LedgerError(
                "无法解密群机器人配置：加密密钥与保存时不同（检查 SAFETYBOT_CHANNEL_KEY 或数据目录中的 channel.key）。"
            ) from None


def _key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def mask(value: str, keep: int = 4) -> str:
    """``abcdef123456`` → ``****3456``: enough to tell robots apart, useless to an attacker."""
    value = value.strip()
    if len(value) <= keep * 2:
        return "****"
    return "****" + value[-keep:]
