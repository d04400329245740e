"""The objects a front end needs, built once from Settings and shared by CLI and Telegram."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from knowledge.config import Settings
from knowledge.db import make_engine, migrate, session_factory


@dataclass
class Runtime:
    settings: Settings = field(default_factory=Settings)

    @cached_property
    def engine(self) -> Engine:
        self.settings.ensure_dirs()
        engine = make_engine(self.settings.db_url)
        migrate(engine)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
