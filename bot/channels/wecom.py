"""企业微信 group robot (群机器人, developer.work.weixin.qq.com/document/path/91770).

- POST ``…/cgi-bin/webhook/send?key=KEY`` with JSON; answer ``{"errcode": 0, "errmsg": "ok"}``.
- ``markdown`` content up to 4096 bytes (errcode 40058 beyond) — digests; markdown cannot
  @-mention, so reminders that mention officials are ``text`` (up to 2048 bytes) with
  ``mentioned_mobile_list``.
- 20 messages per minute per robot; errcode 45009 (api freq out of limit) when exceeded.
- errcode 93000 (invalid webhook url): the key is wrong or the robot was removed.
- No request signing: the key in the URL is the only credential.
"""
from __future__ import annotations

from typing import Any

from bot.channels.pacer import RateWindow
from bot.channels.robot_text import RobotText, fit, utf8_len
from bot.channels.webhook_robot import RobotLimits, WebhookRobotChannel

MARKDOWN_BYTES = 4096
TEXT_BYTES = 2048


class WeComChannel(WebhookRobotChannel):
    kind = "wecom"
    label = "企业微信"
    default_limits = RobotLimits(windows=(RateWindow(20, 60.0),), penalty=60.0)
    throttled_codes = frozenset({45009})
    broken_codes = frozenset({93000})
    busy_codes = frozenset({-1})

    def payload(self, text: RobotText) -> dict[str, Any]:
        if text.mentions:
            return fit(lambda k: _text(text, k), lambda p: utf8_len(p["text"]["content"]),
                       len(text.items), TEXT_BYTES)
        return fit(lambda k: _markdown(text, k), lambda p: utf8_len(p["markdown"]["content"]),
                   len(text.items), MARKDOWN_BYTES)


def _markdown(text: RobotText, shown: int) -> dict[str, Any]:
    lines = [f"### {text.title}", *text.summary]
    lines += [f"> {i + 1}. {block.text}" for i, block in enumerate(text.items[:shown])]
    if more := text.more_line(shown):
        lines.append(more)
    if text.footer:
        lines.append(text.footer)
    return {"msgtype": "markdown", "markdown": {"content": "\n".join(lines)}}


def _text(text: RobotText, shown: int) -> dict[str, Any]:
    blocks = text.items[:shown]
    lines = [f"【{text.title}】", *text.summary]
    lines += [f"{i + 1}. {b.text}" for i, b in enumerate(blocks)]
    if more := text.more_line(shown):
        lines.append(more)
    phones = list(dict.fromkeys(b.phone for b in blocks if b.phone))
    return {"msgtype": "text", "text": {"content": "\n".join(lines), "mentioned_mobile_list": phones}}
