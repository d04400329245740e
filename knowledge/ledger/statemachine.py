"""The status flow 待整改 → 整改中 → 待复查 → 已销号 and which action is allowed in which status."""
from __future__ import annotations

from dataclasses import dataclass

from knowledge.ledger.errors import LedgerError
from knowledge.ledger.models import Status

P, I, R, C = Status.PENDING, Status.IN_PROGRESS, Status.AWAITING_REVIEW, Status.CLOSED


@dataclass(frozen=True)
class Transition:
    label: str
    allowed_from: frozenset[str]
    to: str | None  # None: the status does not change


TRANSITIONS: dict[str, Transition] = {
    "progress": Transition("报送整改进展", frozenset({P, I}), I),
    "request_review": Transition("申请复查", frozenset({P, I}), R),
    "review_pass": Transition("复查通过并销号", frozenset({R}), C),
    "review_fail": Transition("复查不通过", frozenset({R}), I),
    "reopen": Transition("重新打开", frozenset({C}), I),
    "request_extension": Transition("申请延期", frozenset({P, I}), None),
    "decide_extension": Transition("审批延期", frozenset({P, I, R}), None),
    "assign": Transition("交办/变更责任", frozenset({P, I, R}), None),
    "edit": Transition("修改隐患信息", frozenset({P, I, R}), None),
    "attach": Transition("上传附件", frozenset({P, I, R}), None),
}

# How each recorded action reads in a history listing.
ACTION_LABELS: dict[str, str] = {
    "create": "登记", "import": "导入", "basis": "添加依据",
    "acknowledge": "已知悉", "escalate": "逾期升级提醒",
    **{name: t.label for name, t in TRANSITIONS.items()},
}


def check(action: str, status: str, number: str) -> str:
    """The status after ``action``; a clear refusal if the current status does not allow it."""
    t = TRANSITIONS[action]
    if status not in t.allowed_from:
        allowed = "、".join(f"“{s}”" for s in Status.ALL if s in t.allowed_from)
        raise LedgerError(f"隐患 {number} 当前状态为“{status}”，不能{t.label}（仅限{allowed}状态）。")
    return t.to or status
