"""The hazard-rectification ledger (隐患整改台账): models, service, import/export, statistics.

Front ends use ``LedgerService`` with an ``Actor``; see ``knowledge/ledger/service.py``.
"""
from knowledge.ledger.basis import BasisSuggester, BasisSuggestion, DutyLayer
from knowledge.ledger.clock import Clock, FixedClock
from knowledge.ledger.errors import ConcurrentChange, LedgerError, NotFound, PermissionDenied
from knowledge.ledger.permissions import Actor
from knowledge.ledger.queries import HazardFilter
from knowledge.ledger.service import HazardInput, LedgerService

__all__ = [
    "Actor", "BasisSuggester", "BasisSuggestion", "Clock", "ConcurrentChange", "DutyLayer", "FixedClock",
    "HazardFilter", "HazardInput", "LedgerError", "LedgerService", "NotFound", "PermissionDenied",
]
