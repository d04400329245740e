"""钉钉 custom group robot (自定义机器人, open.dingtalk.com "自定义机器人发送群消息").

- POST ``…/robot/send?access_token=TOKEN``; with 加签 the URL also carries ``&timestamp=&sign=``:
  ``sign = urlencode(base64(HmacSHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}")))``, the
  timestamp in milliseconds and within an hour of 钉钉's clock.
- ``markdown`` (``title`` + ``text``) and ``at.atMobiles``; a mention is shown only when the
  text also contains ``@<mobile>``.
- 20 messages per minute per robot; beyond that the robot is throttled for 10 minutes
  (errcode 130101 "send too fast, exceed 20 times per minute"; 410100 in newer answers).
- errcode 310000: signature, keyword or IP-whitelist check failed; 300001/300005/400101 token
  does not exist; 400102 robot stopped; 400106 robot does not exist; 400013 group dissolved.
- Messages above 20000 bytes are refused ("message too long, exceed 20000 bytes").
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import quote_plus

from bot.channels.pacer import RateWindow
from bot.channels.robot_text import RobotText, fit, utf8_len
from bot.channels.webhook_robot import RobotLimits, WebhookRobotChannel
from knowledge.group_robots.service import RobotTarget

TEXT_BYTES = 20000


def sign(timestamp_ms: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


class DingTalkChannel(WebhookRobotChannel):
    kind = "dingtalk"
    label = "钉钉"
    default_limits = RobotLimits(windows=(RateWindow(20, 60.0),), penalty=600.0)
    throttled_codes = frozenset({130101, 410100})
    broken_codes = frozenset({310000, 300001, 300005, 400101, 400102, 400106, 400013})
    busy_codes = frozenset({-1})

    def payload(self, text: RobotText) -> dict[str, Any]:
        return fit(lambda k: _markdown(text, k), lambda p: utf8_len(p["markdown"]["text"]),
                   len(text.items), TEXT_BYTES)

    def request(self, target: RobotTarget, payload: dict[str, Any], now: float) -> tuple[str, dict[str, Any]]:
        if not target.secret:
            return target.url, payload
        timestamp = int(now * 1000)
        return f"{target.url}&timestamp={timestamp}&sign={sign(timestamp, target.secret)}", payload


def _markdown(text: RobotText, shown: int) -> dict[str, Any]:
    blocks = text.items[:shown]
    # 钉钉's markdown joins single line breaks into one paragraph: paragraphs need a blank line.
    paragraphs = [f"### {text.title}", *text.summary]
    items = [f"{i + 1}. {b.text}" + (f" @{b.phone}" if b.phone else "") for i, b in enumerate(blocks)]
    if items:
        paragraphs.append("\n".join(items))  # a markdown list keeps its own line breaks
    paragraphs += [line for line in (text.more_line(shown), text.footer) if line]
    phones = list(dict.fromkeys(b.phone for b in blocks if b.phone))
    return {"msgtype": "markdown", "markdown": {"title": text.title, "text": "\n\n".join(paragraphs)},
            "at": {"atMobiles": phones, "isAtAll": False}}
