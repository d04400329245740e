"""飞书 custom group robot (自定义机器人使用指南, open.feishu.cn).

- POST ``…/open-apis/bot/v2/hook/TOKEN`` with JSON; answer ``{"code": 0, "msg": "success"}``.
- With 签名校验 the body carries ``timestamp`` (seconds, within an hour) and
  ``sign = base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b""))``.
- Rich text: ``msg_type: "post"`` with ``content.post.zh_cn`` {title, content: [[elements]]}.
- Request body at most 20 KB (code 9499 Bad Request beyond).
- 100 requests per minute and 5 per second per robot; code 11232 when throttled. 飞书 asks
  senders to avoid the :00 and :30 marks (system load), so sends wait out the first minute
  after them.
- code 19001 (access token invalid), 19021 (signature mismatch or stale timestamp), 19022 (IP
  not allowed), 19024 (keyword missing): the robot's configuration must be fixed.
- A custom robot can @ users only by open_id/user_id, which the ledger does not hold (phones
  only); names are written in bold instead, without a notification.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from bot.channels.pacer import QuietMarks, RateWindow
from bot.channels.robot_text import RobotText, fit, utf8_len
from bot.channels.webhook_robot import RobotLimits, WebhookRobotChannel
from knowledge.group_robots.service import RobotTarget

BODY_BYTES = 20 * 1000   # 20 KB; the decimal reading, to stay on the safe side
SIGNATURE_ROOM = 120     # timestamp and sign are added after sizing


def sign(timestamp: int, secret: str) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuChannel(WebhookRobotChannel):
    kind = "feishu"
    label = "飞书"
    default_limits = RobotLimits(windows=(RateWindow(5, 1.0), RateWindow(100, 60.0)), penalty=60.0,
                                 quiet=QuietMarks((0, 30), 60.0))
    throttled_codes = frozenset({11232})
    broken_codes = frozenset({19001, 19021, 19022, 19024})

    def answer_code(self, body: dict[str, Any]) -> tuple[object, str]:
        # Older answers carry StatusCode/StatusMessage instead of code/msg.
        return body.get("code", body.get("StatusCode")), str(body.get("msg", body.get("StatusMessage", "")))

    def payload(self, text: RobotText) -> dict[str, Any]:
        return fit(lambda k: _post(text, k), _body_bytes, len(text.items), BODY_BYTES - SIGNATURE_ROOM)

    def request(self, target: RobotTarget, payload: dict[str, Any], now: float) -> tuple[str, dict[str, Any]]:
        if not target.secret:
            return target.url, payload
        timestamp = int(now)
        return target.url, {"timestamp": str(timestamp), "sign": sign(timestamp, target.secret), **payload}


def _body_bytes(payload: dict[str, Any]) -> int:
    return utf8_len(json.dumps(payload, ensure_ascii=False))


def _post(text: RobotText, shown: int) -> dict[str, Any]:
    rows: list[list[dict[str, Any]]] = [[{"tag": "text", "text": line}] for line in text.summary]
    for i, block in enumerate(text.items[:shown]):
        row: list[dict[str, Any]] = [{"tag": "text", "text": f"{i + 1}. {block.text}"}]
        if block.phone and block.name:
            row.append({"tag": "text", "text": f" 请 {block.name} 办理", "style": ["bold"]})
        rows.append(row)
    if more := text.more_line(shown):
        rows.append([{"tag": "text", "text": more}])
    if text.footer:
        rows.append([{"tag": "text", "text": text.footer}])
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": text.title, "content": rows}}}}
