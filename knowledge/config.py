"""Configuration from the environment (prefix ``SAFETYBOT_``) and an optional ``.env``.

Settings are the only process-wide state: everything else is built from them and passed
explicitly, so tests can run several isolated instances side by side.
"""
from __future__ import annotations

import os
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from knowledge.faults import StorageUnusable

BUNDLED_MODEL = "bundled:multilingual-e5-small"
# How the embedding model runs: its ONNX export on ONNX Runtime, falling back to torch ("auto"),
# only ONNX Runtime, or only torch (sentence-transformers).
EMBEDDING_BACKENDS = ("auto", "onnx", "torch")


def default_data_dir() -> Path:
    """A per-user data folder (XDG on Linux, ~/Library on macOS, %LOCALAPPDATA% on Windows)."""
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":  # pragma: no cover - platform specific
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "safetybot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAFETYBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    embedding_model: str = BUNDLED_MODEL
    embedding_backend: Literal["auto", "onnx", "torch"] = "auto"
    # Where converted/downloaded models live; defaults to <data_dir>/models. Instances on one
    # machine can share it to avoid keeping several copies of the weights.
    model_dir: Path | None = None
    # Load the bundled laws on first run; off for tests that build their own corpus.
    load_bundled: bool = True
    jurisdiction: str | None = None
    timezone: str = "Asia/Shanghai"
    # Holiday/调休 schedules for years after the bundled ones (JSON in the bundled format).
    holiday_file: Path | None = None
    # Search/answer tuning that deployments may want to adjust without code changes.
    abstain_threshold: float | None = None
    max_question_chars: int = 500
    max_upload_bytes: int = 20 * 1024 * 1024
    # Bounded waits for other processes: a SQLite write waits this long for another writer's
    # transaction; an ingest/remove/status/rules load waits this long for another process's
    # writer lock on the data folder. Then the command is refused with a clear message.
    db_busy_timeout: float = 10.0
    writer_lock_wait: float = 30.0

    # Telegram front end (issue: the bot).
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    # Messages per second the bot sends in all (PTB's AIORateLimiter): Telegram refuses bots that
    # send more than about 30 per second; 0 lifts the limit (a local Bot API server, benchmarks).
    telegram_max_rate: float = Field(default=30.0, ge=0)
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_chat: int | None = None
    allowed_chats: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Webhook mode (`safetybot run --webhook`): Telegram posts to webhook_url, a reverse proxy
    # forwards to webhook_listen:webhook_port, and the secret token proves the post came from Telegram.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8081
    webhook_secret: str | None = None

    # Daily reminders (issue: reminders and escalation), in the configured time zone.
    reminder_time: time = time(9, 0)
    # A run missed at reminder_time (bot down) still goes out until this time, else the next working day.
    reminder_cutoff: time = time(20, 0)
    reminder_due_soon_days: int = Field(default=3, ge=0)      # working days ahead that count as "due soon"
    reminder_review_wait_days: int = Field(default=2, ge=0)   # working days in 待复查 before supervisors hear
    # Working days overdue at which each escalation level fires: "1,5" = level 1 after 1, level 2 after 5.
    escalate_after_days: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [1, 5])
    reminder_workdays_only: bool = True
    # A group digest with nothing overdue or due soon: one all-clear line (true) or no message (false).
    digest_all_clear: bool = True
    # ISO weekday (1 = Monday … 7 = Sunday) of the weekly 挂牌督办 progress nudge.
    listed_weekly_day: int = Field(default=1, ge=1, le=7)
    # Group robots (企业微信/钉钉/飞书). Personal reminders and escalations in unit groups @-mention
    # the responsible official by phone only when the deployment chooses public reminders.
    reminder_mention: bool = False
    # Fernet key encrypting robot webhooks and secrets; default: <data_dir>/channel.key (0600).
    channel_key: str | None = None

    @field_validator("admin_ids", "allowed_chats", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        # Environment variables give "1,2,3"; pydantic-settings would expect JSON.
        if isinstance(value, str):
            return [int(v) for v in value.replace(";", ",").split(",") if v.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("escalate_after_days", mode="before")
    @classmethod
    def _split_days(cls, value: object) -> object:
        if isinstance(value, str):
            value = [int(v) for v in value.replace(";", ",").split(",") if v.strip()]
        if isinstance(value, int):
            value = [value]
        return value

    @field_validator("escalate_after_days", mode="after")
    @classmethod
    def _check_days(cls, value: list[int]) -> list[int]:
        if any(v < 1 for v in value) or value != sorted(set(value)):
            raise ValueError("escalate_after_days: increasing positive working-day counts, e.g. 1,5")
        return value

    @field_validator("reminder_time", "reminder_cutoff", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> object:
        # "9:00" as people write it; pydantic wants "09:00".
        if isinstance(value, str) and len(value.strip().split(":")[0]) == 1:
            return "0" + value.strip()
        return value

    @field_validator("listed_weekly_day", mode="before")
    @classmethod
    def _weekday(cls, value: object) -> object:
        names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        if isinstance(value, str) and value.strip().lower()[:3] in [n[:3] for n in names]:
            return [n[:3] for n in names].index(value.strip().lower()[:3]) + 1
        return value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'safetybot.sqlite3'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.model_dir.expanduser() if self.model_dir else self.data_dir / "models"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def writer_lock_path(self) -> Path:
        return self.data_dir / "writer.lock"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.index_dir, self.models_dir, self.files_dir):
            try:
                path.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise StorageUnusable(
                    f"数据目录中的 {exc.filename or path} 应该是文件夹，现在却是一个文件。"
                    "请把它移走或改名后再试（数据目录：SAFETYBOT_DATA_DIR）。") from exc
            except PermissionError as exc:
                raise StorageUnusable(
                    f"没有权限创建或使用文件夹 {path}。请检查权限，或用 SAFETYBOT_DATA_DIR 指定一个可写的数据目录。"
                ) from exc
