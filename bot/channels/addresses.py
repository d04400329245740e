"""Where a reminder goes: the channel addresses of its recipient.

Officials are reached in their private Telegram chat (the account bound with /bind); a unit's
group digest goes to every chat linked to the unit (``/linkgroup``, any channel kind); the admin
summary goes to the admin chat, or else to each admin's private chat. Who cannot be reached is
returned as ``Unreachable`` for the admin summary.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.config import Settings
from knowledge.ledger.models import Official
from knowledge.reminders.messages import RecipientKind, Reminder, Unreachable

TELEGRAM = "telegram"
NOT_BOUND = "未绑定"

# (session, unit id) -> [(channel kind, address)] of the chats linked to the unit.
GroupLinks = Callable[[Session, int], Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class Addressed:
    channel: str
    address: str
    reminder: Reminder


class AddressBook:
    def __init__(self, settings: Settings, group_links: GroupLinks | None = None) -> None:
        self.settings = settings
        self.group_links = group_links

    def admin_addresses(self) -> list[tuple[str, str]]:
        if self.settings.admin_chat is not None:
            return [(TELEGRAM, str(self.settings.admin_chat))]
        return [(TELEGRAM, str(admin)) for admin in self.settings.admin_ids]

    def resolve(self, session: Session, reminders: Sequence[Reminder]) -> tuple[list[Addressed], list[Unreachable]]:
        official_ids = {r.recipient.official_id for r in reminders
                        if r.recipient.kind == RecipientKind.OFFICIAL and r.recipient.official_id is not None}
        chats: dict[int, int | None] = {}
        ids = sorted(official_ids)
        for start in range(0, len(ids), 1000):
            rows = session.execute(select(Official.id, Official.chat_user_id, Official.active)
                                   .where(Official.id.in_(ids[start:start + 1000]))).all()
            chats.update({r.id: r.chat_user_id if r.active else None for r in rows})
        addressed: list[Addressed] = []
        unreachable: dict[tuple[str, str], list[str]] = {}
        for reminder in reminders:
            recipient = reminder.recipient
            if recipient.kind == RecipientKind.OFFICIAL:
                chat = chats.get(recipient.official_id) if recipient.official_id is not None else None
                targets = [(TELEGRAM, str(chat))] if chat is not None else []
                reason = NOT_BOUND
            elif recipient.kind == RecipientKind.GROUP:
                # Linking a group is optional: a unit without one is not "unreachable".
                targets = list(self.group_links(session, recipient.unit_id)) \
                    if self.group_links is not None and recipient.unit_id is not None else []
                reason = ""
            else:
                targets = self.admin_addresses()
                reason = NOT_BOUND
            if not targets and reason and reminder.items:
                unreachable.setdefault((recipient.name, reason), []).extend(reminder.item_numbers)
            addressed += [Addressed(channel, address, reminder) for channel, address in targets]
        return addressed, [Unreachable(name, reason, tuple(dict.fromkeys(items)))
                           for (name, reason), items in unreachable.items()]
