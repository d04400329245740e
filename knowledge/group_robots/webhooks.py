"""What a webhook URL of each platform looks like, and where its key sits.

Official forms (from each platform's robot documentation):
- 企业微信 ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``
- 钉钉 ``https://oapi.dingtalk.com/robot/send?access_token=TOKEN``
- 飞书 ``https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN``

The host is not pinned to the official one (private deployments and the tests' fake servers
use their own), but plain http is only accepted for loopback addresses, because the key
travels in the URL.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from knowledge.group_robots.models import RobotKind
from knowledge.group_robots.secret_box import mask
from knowledge.ledger.errors import LedgerError

EXAMPLES = {
    RobotKind.WECOM: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
    RobotKind.DINGTALK: "https://oapi.dingtalk.com/robot/send?access_token=…",
    RobotKind.FEISHU: "https://open.feishu.cn/open-apis/bot/v2/hook/…",
}
_KEY = re.compile(r"^[A-Za-z0-9._~-]{8,200}$")


@dataclass(frozen=True)
class ParsedWebhook:
    url: str
    key: str
    masked: str


def parse_webhook(kind: RobotKind, url: str) -> ParsedWebhook:
    url = (url or "").strip()
    parts = urlsplit(url)
    bad = LedgerError(f"{kind.label}机器人地址格式不对，应形如 {EXAMPLES[kind]}")
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
        raise bad
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise LedgerError("机器人地址须使用 https（密钥在地址中，明文传输会泄露）。")
    query = parse_qs(parts.query)
    if kind is RobotKind.WECOM and parts.path.endswith("/cgi-bin/webhook/send"):
        key = _single(query.get("key"))
    elif kind is RobotKind.DINGTALK and parts.path.endswith("/robot/send"):
        key = _single(query.get("access_token"))
    elif kind is RobotKind.FEISHU and "/open-apis/bot/v2/hook/" in parts.path and not parts.query:
        key = parts.path.rsplit("/", 1)[-1]
    else:
        raise bad
    if not key or not _KEY.match(key):
        raise bad
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if kind is RobotKind.FEISHU:
        masked = base[: -len(key)] + mask(key)
    else:
        name = "key" if kind is RobotKind.WECOM else "access_token"
        masked = f"{base}?{name}={mask(key)}"
    return ParsedWebhook(url=url, key=key, masked=masked)


def _single(values: list[str] | None) -> str:
    return values[0].strip() if values and len(values) == 1 else ""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
