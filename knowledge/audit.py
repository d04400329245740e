"""Writing the audit log; callers pass the session of the change so both commit together."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from knowledge.models import AuditLog


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    entry = AuditLog(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    session.add(entry)
    return entry
