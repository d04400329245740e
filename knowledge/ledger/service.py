"""All ledger operations in one object. The CLI and the chat bot call ``LedgerService`` methods
with an ``Actor``; permission checks, item history and audit records happen inside each operation's
transaction.

The operations are grouped by subject in separate modules and stacked into this class:
``base`` (plumbing) → ``organisation`` (units, officials, binding) → ``hazards`` (items, status
flow, statistics) → ``hazard_import`` (spreadsheet import).
"""
from __future__ import annotations

from knowledge.ledger.hazard_import import ImportService
from knowledge.ledger.hazards import HazardInput

__all__ = ["HazardInput", "LedgerService"]


class LedgerService(ImportService):
    """The ledger: ``LedgerService(sessions, settings, clock=None, suggester=None, prefix="YH")``."""
