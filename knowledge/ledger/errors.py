"""Refusals raised by the ledger service; ``message`` is the polite Chinese text shown to the user."""
from __future__ import annotations


class LedgerError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermissionDenied(LedgerError):
    """The actor may not do this; ``message`` says why."""


class NotFound(LedgerError):
    pass


class ConcurrentChange(LedgerError):
    """Someone else changed the item between reading and writing it."""
