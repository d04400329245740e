"""Where reminders go: the chat destinations linked to units, and destinations that failed for good.

Every channel shares these two lookups, so a group robot (企业微信/钉钉/飞书, issue 13) is just
another ``ChatLink`` row with its own ``kind``; the planner needs no change to include it.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.reminders.messages import Destination
from knowledge.reminders.models import ChatLink, Undeliverable

# The channel of an official's bound chat account (``Official.chat_user_id``).
CHAT_ACCOUNT_KIND = "telegram"


def destinations_of_units(session: Session, unit_ids: Iterable[int] | None = None) -> dict[int, list[Destination]]:
    """The destinations of each linked unit's digest, ``{unit_id: [Destination(kind, address), …]}``,
    in linking order; all linked units when ``unit_ids`` is None. Undeliverable ones included:
    filter them with ``undeliverable_reasons``."""
    stmt = select(ChatLink.unit_id, ChatLink.kind, ChatLink.address).order_by(ChatLink.unit_id, ChatLink.id)
    if unit_ids is not None:
        stmt = stmt.where(ChatLink.unit_id.in_(list(unit_ids)))
    out: dict[int, list[Destination]] = defaultdict(list)
    for uid, kind, address in session.execute(stmt):
        out[uid].append(Destination(kind, address))
    return dict(out)


def undeliverable_reasons(session: Session) -> dict[Destination, str]:
    """Destinations marked undeliverable by the dispatcher, with the reason shown to admins."""
    return {Destination(k, a): r for k, a, r in
            session.execute(select(Undeliverable.kind, Undeliverable.address, Undeliverable.reason))}
