"""End to end: the hazard ledger in chat (bind, lists, guided steps, buttons, statistics), driving
the real PTB application against the fake Telegram server, on SQLite and (if configured) PostgreSQL."""
from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from bot_support import BotDriver, bot_settings, plain, running_bot
from fake_telegram import ApiCall, FakeChat, FakeTelegram, FakeUser
from fake_telegram.models import UploadedFile
from ledger_support import Org, build_org

from knowledge.config import Settings
from knowledge.ledger import HazardInput, LedgerService
from knowledge.ledger.models import Status
from knowledge.ledger.views import HazardView

pytestmark = pytest.mark.slow  # the bot opens its (empty) knowledge base with the real embedder

# Enough of each format for the ledger's content sniffing; Telegram does not look inside user photos.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(200))
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(120))
PDF = b"%PDF-1.4\n% evidence\n" + bytes(64)
NUMBER = re.compile(r"YH-\d{4}-\d{4}")


@dataclass
class Env:
    driver: BotDriver
    server: FakeTelegram
    org: Org
    group: FakeChat
    boss: FakeUser      # bot admin (SAFETYBOT_ADMIN_IDS), not bound to an official
    zhang: FakeUser     # 张三, official of 东街道
    zhao: FakeUser      # 赵六, official of 西街道
    li: FakeUser        # 李四, supervisor at 甲区/应急管理局
    qian: FakeUser      # 钱七, supervisor at 乙区
    stranger: FakeUser  # nobody

    @property
    def ledger(self) -> LedgerService:
        return self.driver.runtime.ledger

    def view(self, number: str) -> HazardView:
        return self.ledger.get(self.org.admin, number)

    def today(self) -> date:
        return self.ledger.today()

    async def send(self, chat: FakeChat, user: FakeUser, text: str, **kw: Any) -> list[ApiCall]:
        return await self.driver.send(chat, user, text, **kw)

    async def send_photo(self, chat: FakeChat, user: FakeUser, data: bytes, **kw: Any) -> list[ApiCall]:
        mark = self.server.mark()
        self.server.photo_message(chat, user, data, **kw)
        return await self.driver.replies(chat, mark)

    async def press(self, chat: FakeChat, user: FakeUser, message: ApiCall, data: str, *,
                    expect_reply: bool = True) -> tuple[dict[str, Any], list[ApiCall]]:
        """Press a button: (the callback answer's params, the messages the bot sent to ``chat``)."""
        mark = self.server.mark()
        calls = await self.driver.press(user, message, data)
        answer = next(c for c in calls if c.method == "answerCallbackQuery")
        if not expect_reply:
            await self.driver.silent(chat, mark, 0.5)
            return answer.params, []
        return answer.params, await self.driver.replies(chat, mark)

    def buttons(self, call: ApiCall) -> list[tuple[str, str | None]]:
        return self.server.buttons(call)


@pytest.fixture
async def env(tg_server: FakeTelegram, settings: Settings, tmp_path: Path, models_dir: Path,
              embedder: Any) -> AsyncIterator[Env]:
    # The bundled holiday calendar ends with 2026; a weekday-only schedule for this year and the
    # next keeps "N个工作日" countable whenever the tests run (years already covered are unchanged).
    holidays = tmp_path / "holidays.json"
    year = date.today().year
    holidays.write_text(json.dumps({str(y): {"holidays": [], "workdays": []} for y in (year, year + 1)}))
    server = tg_server
    boss = server.user("王主任", "wang_boss")
    users = [server.user(name) for name in ("张三", "赵六", "李四", "钱七", "路人")]
    group = server.group_chat("东街道安全生产群", admins=[boss])
    bot = bot_settings(server, tmp_path / "data", models_dir, database_url=settings.database_url,
                       load_bundled=False, admin_ids=[boss.id], allowed_chats=[group.id], holiday_file=holidays)
    async with running_bot(server, bot, embedder=embedder) as driver:
        org = build_org(driver.runtime.sessions, bot, today=driver.runtime.ledger.today())
        for user in users[:4]:
            org.svc.redeem_bind_code(org.svc.issue_bind_code(org.admin, user.first_name), user.id)
        yield Env(driver, server, org, group, boss, *users)


def actions(view: HazardView) -> list[str]:
    return [e.action for e in view.history]


def text_of(calls: list[ApiCall]) -> str:
    return "\n".join(plain(c) for c in calls)


async def test_report_with_photo_then_progress_review_and_close_by_buttons_in_a_group(env: Env) -> None:
    g, server = env.group, env.server
    server.privacy_mode = True  # the bot only sees commands and replies to it, as in a real group
    r = await env.send(g, env.li, "/report")
    assert "第1步" in plain(r[-1])
    r = await env.send(g, env.li, "二楼仓库安全出口被货物堵塞", reply_to=r[-1])
    assert "所在单位" in plain(r[-1])
    r = await env.send(g, env.li, "东街道 二楼仓库", reply_to=r[-1])
    r = await env.send(g, env.li, "5个工作日", reply_to=r[-1])
    deadline = env.ledger.calendar.add_workdays(env.today(), 5)
    assert deadline.isoformat() in plain(r[-1])
    r = await env.send_photo(g, env.li, JPEG, reply_to=r[-1])
    confirm = r[-1]
    assert "请确认登记" in plain(confirm) and "东街道，二楼仓库" in plain(confirm)
    assert ("确认登记", "r:ok") in env.buttons(confirm)

    answer, r = await env.press(g, env.li, confirm, "r:ok")
    number = NUMBER.search(plain(r[-1])).group()  # type: ignore[union-attr]
    assert f"已登记隐患 {number}" in plain(r[-1])
    view = env.view(number)
    assert (view.unit, view.location, view.deadline) == ("东街道", "二楼仓库", deadline)
    assert view.supervising_unit == "应急管理局" and view.status == Status.PENDING  # the reporter's unit supervises
    assert len(view.attachments) == 1
    assert (env.driver.runtime.settings.files_dir / view.attachments[0].stored_path).read_bytes() == JPEG

    # 张三 of 东街道 opens it in the group and reports progress through the button.
    r = await env.send(g, env.zhang, f"/hazard {number}")
    assert [label for label, _ in env.buttons(r[-1])] == ["更新进度", "申请延期", "申请复查"]
    answer, r = await env.press(g, env.zhang, r[-1], f"h:prog:{number}:{view.version}")
    prompt = r[-1]
    assert "整改进展" in plain(prompt) and plain(prompt).startswith("张三")  # names who is asked
    assert prompt.params["reply_markup"]["force_reply"] is True
    r = await env.send(g, env.zhang, "已清理一半货物", reply_to=prompt)
    assert "当前状态：整改中" in plain(r[-1])
    view = env.view(number)
    assert view.status == Status.IN_PROGRESS and view.history[-1].note == "已清理一半货物"

    # 申请复查 from the buttons under that answer, with an evidence photo.
    answer, r = await env.press(g, env.zhang, r[-1], f"h:rev:{number}:{view.version}")
    r = await env.send(g, env.zhang, "货物已全部清走，通道畅通", reply_to=r[-1])
    assert "照片或文件" in plain(r[-1])
    r = await env.send_photo(g, env.zhang, PNG, reply_to=r[-1])
    assert "等待督办单位复查" in plain(r[-1])
    view = env.view(number)
    assert view.status == Status.AWAITING_REVIEW and len(view.attachments) == 2

    # 李四 (the supervising unit) closes it with 复查通过.
    r = await env.send(g, env.li, f"/hazard {number}")
    assert [label for label, _ in env.buttons(r[-1])] == ["复查通过(销号)", "复查不通过"]
    answer, r = await env.press(g, env.li, r[-1], f"h:ok:{number}:{view.version}")
    assert answer["text"] == "已销号"
    assert f"{number} 复查通过，已销号（{env.today().isoformat()}）" in plain(r[-1])
    assert env.buttons(r[-1]) == []
    view = env.view(number)
    assert view.status == Status.CLOSED and view.closed_on == env.today()
    assert actions(view) == ["create", "attach", "progress", "request_review", "attach", "review_pass"]
    assert {a.mime for a in view.attachments} == {"image/jpeg", "image/png"}


async def test_an_official_cannot_review_or_work_on_another_units_item(env: Env) -> None:
    g, org = env.group, env.org
    number = org.item()  # 东街道 / 张三, supervised by 甲区/应急管理局
    org.svc.request_review(org.zhang, number, "已整改")
    before = env.view(number)
    r = await env.send(g, env.li, f"/hazard {number}")  # the supervisor's screen shows the review buttons
    screen = r[-1]
    refusals = (
        (env.zhao, f"h:ok:{number}:{before.version}", "须由督办单位或管理员办理"),
        (env.zhang, f"h:ok:{number}:{before.version}", "须由督办单位或管理员办理"),
        (env.qian, f"h:ok:{number}:{before.version}", "不在您所在单位的督办范围内"),
        (env.zhao, f"h:no:{number}:{before.version}", "须由督办单位或管理员办理"),
    )
    for user, data, reason in refusals:
        answer, _ = await env.press(g, user, screen, data, expect_reply=False)
        assert reason in answer["text"] and answer["show_alert"] is True

    other = org.item(description="加油站油罐区静电接地损坏", unit="西街道", responsible_official="赵六",
                     supervising_unit="乙区")
    r = await env.send(g, env.zhang, f"/done {other} 已整改完毕")
    assert "由“西街道”负责整改，不是您或您所在单位的事项" in plain(r[-1])
    r = await env.send(g, env.zhao, f"/hazard {other}")
    answer, _ = await env.press(g, env.zhang, r[-1], f"h:prog:{other}:{env.view(other).version}", expect_reply=False)
    assert "不是您或您所在单位的事项" in answer["text"]

    after = env.view(number)
    assert (after.status, after.version, actions(after)) == (Status.AWAITING_REVIEW, before.version, actions(before))
    assert actions(env.view(other)) == ["create"]


async def test_pressing_the_same_button_twice_changes_the_item_once(env: Env) -> None:
    number = env.org.item()
    chat = env.server.private_chat(env.zhang)
    r = await env.send(chat, env.zhang, f"/hazard {number}")
    screen, data = r[-1], f"h:rev:{number}:{env.view(number).version}"
    answer, r = await env.press(chat, env.zhang, screen, data)
    assert "整改完成情况" in plain(r[-1])
    r = await env.send(chat, env.zhang, "已全部整改完毕")
    r = await env.send(chat, env.zhang, "跳过")
    assert "当前状态：待复查" in plain(r[-1])

    answer, _ = await env.press(chat, env.zhang, screen, data, expect_reply=False)
    assert "已被他人更新" in answer["text"]
    view = env.view(number)
    assert view.status == Status.AWAITING_REVIEW and actions(view).count("request_review") == 1

    supervisor = env.server.private_chat(env.li)
    r = await env.send(supervisor, env.li, f"/hazard {number}")
    screen, data = r[-1], f"h:ok:{number}:{view.version}"
    answer, r = await env.press(supervisor, env.li, screen, data)
    assert answer["text"] == "已销号"
    answer, _ = await env.press(supervisor, env.li, screen, data, expect_reply=False)
    assert "已被他人更新" in answer["text"] and "已销号" in answer["text"]
    assert actions(env.view(number)).count("review_pass") == 1


async def test_hazards_lists_my_items_and_my_units_with_overdue_marked(env: Env) -> None:
    org, today = env.org, env.today()
    overdue = org.at(today - timedelta(days=10)).create_hazard(org.admin, HazardInput(
        description="配电箱柜门损坏无法关闭", unit="东街道", deadline="3天", responsible_official="张三",
        supervising_unit="甲区/应急管理局")).item.number
    mine = org.item(description="消防通道堆放杂物")
    unit_items = [org.item(description=f"{i}号仓库灭火器过期未更换", responsible_official=None) for i in range(21)]
    elsewhere = org.item(description="加油站油罐区静电接地损坏", unit="西街道", responsible_official="赵六",
                         supervising_unit="乙区")
    closed = org.item(description="楼梯扶手松动")
    org.svc.request_review(org.zhang, closed, "已加固")
    org.svc.review(org.li, closed, True, "合格")

    chat = env.server.private_chat(env.zhang)
    text = text_of(await env.send(chat, env.zhang, "/hazards"))
    mine_part, unit_part = text.split("东街道（含下属单位）未销号隐患")
    assert "我负责的未销号隐患（2条）" in mine_part
    overdue_line = next(line for line in mine_part.splitlines() if line.startswith(overdue))
    assert "逾期7天" in overdue_line and "配电箱柜门" in overdue_line
    mine_line = next(line for line in mine_part.splitlines() if line.startswith(mine))
    assert "剩" in mine_line and "逾期" not in mine_line
    assert unit_items[0] not in mine_part
    assert unit_part.startswith("（23条）")
    listed = NUMBER.findall(unit_part)
    assert len(listed) == 20 and listed[0] == overdue  # due-date order: the overdue one first
    assert "另有 3 条未列出" in unit_part
    assert elsewhere not in text and closed not in text

    r = await env.send(env.group, env.stranger, "/hazards")
    assert "/bind" in plain(r[-1]) and "绑定" in plain(r[-1])


async def test_bind_with_an_invalid_and_a_valid_code(env: Env) -> None:
    newcomer = env.server.user("孙八")
    chat = env.server.private_chat(newcomer)
    r = await env.send(chat, newcomer, "/hazards")
    assert "/bind" in plain(r[-1])  # the gate's one polite refusal
    r = await env.send(chat, newcomer, "/bind ABCD2345")
    assert "绑定码无效" in plain(r[-1])
    r = await env.send(env.group, newcomer, "/bind ABCD2345")
    assert "私聊" in plain(r[-1])

    code = env.org.svc.issue_bind_code(env.org.admin, "孙八")
    r = await env.send(chat, newcomer, f"/bind {code}")
    assert "绑定成功" in plain(r[-1]) and "孙八" in plain(r[-1]) and "示例市" in plain(r[-1])
    assert env.ledger.actor_for_chat(newcomer.id).name == "孙八"  # type: ignore[union-attr]
    r = await env.send(chat, newcomer, "/hazards")
    assert "示例市（含下属单位）未销号隐患" in text_of(r)
    r = await env.send(chat, newcomer, f"/bind {code}")
    assert "绑定码无效" in plain(r[-1])  # one use only


async def test_stats_sends_a_table_and_a_chart(env: Env) -> None:
    org = env.org
    closed = org.item()
    org.item(description="消防通道堆放杂物")
    org.item(description="加油站油罐区静电接地损坏", unit="西街道", responsible_official="赵六", supervising_unit="乙区")
    org.svc.request_review(org.zhang, closed, "已清理")
    org.svc.review(org.li, closed, True, "合格")

    mark = env.server.mark()
    r = await env.send(env.group, env.boss, "/stats")
    table = r[0]
    assert "示例市 隐患整改统计" in plain(table)
    assert "<pre>" in table.params["text"]
    rows = [line.split() for line in plain(table).splitlines()]
    assert ["1", "甲区", "2", "1", "0", "50%"] in rows and ["2", "乙区", "1", "1", "0", "0%"] in rows
    photo = await env.server.wait_for("sendPhoto", lambda p: p["chat_id"] == env.group.id, since=mark, timeout=30)
    upload = photo.params["photo"]
    assert isinstance(upload, UploadedFile) and upload.data.startswith(b"\x89PNG")
    assert "示例市 隐患整改排名" in photo.result["caption"]

    r = await env.send(env.group, env.boss, "/stats 下周")
    assert "无法识别的统计期间" in plain(r[-1])


async def test_user_text_is_escaped_when_echoed(env: Env) -> None:
    chat = env.server.private_chat(env.zhang)
    description = "配电箱<b>未接地</b> & 线路裸露 <script>"
    r = await env.send(chat, env.zhang, f"/report {description}")
    assert "所在单位" in plain(r[-1])
    await env.send(chat, env.zhang, "本单位 <i>三号</i>车间")
    await env.send(chat, env.zhang, "10个工作日")
    mark = env.server.mark()
    env.server.document_message(chat, env.zhang, b"MZ\x90\x00 not a photo", "现场.exe")
    r = await env.driver.replies(chat, mark)
    assert "不是可接受的文件类型" in plain(r[-1])  # refused on receipt; the step stays open
    r = await env.send(chat, env.zhang, "跳过")
    assert description in plain(r[-1]) and "东街道，<i>三号</i>车间" in plain(r[-1])
    answer, r = await env.press(chat, env.zhang, r[-1], "r:ok")
    number = NUMBER.search(plain(r[-1])).group()  # type: ignore[union-attr]
    view = env.view(number)
    assert view.description == description and view.responsible_official == "张三" and view.source == "自查"

    note = "已购置<i>接地线</i> & 配电箱"
    r = await env.send(chat, env.zhang, f"/progress {number} {note}")
    assert "已记录" in plain(r[-1])
    done = "已全部<u>整改</u>"
    r = await env.send(chat, env.zhang, f"/done {number} {done}")
    assert "等待督办单位复查" in plain(r[-1])  # a complete one-liner does not ask for evidence
    detail = plain((await env.send(chat, env.zhang, f"/hazard {number}"))[-1])
    assert description in detail and note in detail and done in detail and "<i>三号</i>车间" in detail


async def test_evidence_by_caption_extension_cancel_and_failed_review(env: Env) -> None:
    chat, org = env.server.private_chat(env.zhang), env.org
    number = org.item()

    r = await env.send_photo(chat, env.zhang, JPEG, caption=f"/progress {number} 已清理通道")
    assert "当前状态：整改中" in plain(r[-1]) and "已保存照片/文件 1 个" in plain(r[-1])

    r = await env.send(chat, env.zhang, f"/extend {number}")
    assert "新的整改时限" in plain(r[-1])
    r = await env.send(chat, env.zhang, "下周五")
    assert "无法识别" in plain(r[-1])
    r = await env.send(chat, env.zhang, "5个工作日")
    assert "延期理由" in plain(r[-1])
    old = env.view(number).deadline
    r = await env.send(chat, env.zhang, "设备待到货")
    expected = env.ledger.calendar.add_workdays(old, 5)
    assert f"{old} → {expected}" in plain(r[-1])
    r = await env.send(chat, env.zhang, f"/extend {number} 2 个工作日 还要再等")
    assert "已有一项延期申请待审批" in plain(r[-1])

    r = await env.send(chat, env.zhang, f"/progress {number}")
    assert "整改进展" in plain(r[-1])
    r = await env.send(chat, env.zhang, "取消")
    assert "已取消" in plain(r[-1])
    r = await env.send(chat, env.zhang, "/cancel")
    assert "没有进行中的操作" in plain(r[-1])
    r = await env.send(chat, env.zhang, "/report")
    r = await env.send(chat, env.zhang, "/cancel")
    assert "已取消" in plain(r[-1])

    mark = env.server.mark()
    env.server.document_message(chat, env.zhang, PDF, "整改报告.pdf", caption=f"/done {number} 已全部整改")
    r = await env.driver.replies(chat, mark)
    assert "等待督办单位复查" in plain(r[-1])

    supervisor = env.server.private_chat(env.li)
    r = await env.send(supervisor, env.li, f"/hazard {number}")
    answer, r = await env.press(supervisor, env.li, r[-1], f"h:no:{number}:{env.view(number).version}")
    assert "退回整改的理由" in plain(r[-1])
    r = await env.send(supervisor, env.li, "通道内仍有杂物")
    assert "复查不通过，已退回整改" in plain(r[-1])

    view = env.view(number)
    assert view.status == Status.IN_PROGRESS
    assert actions(view) == ["create", "progress", "request_extension", "request_review", "attach", "review_fail"]
    assert "整改报告.pdf" in [a.filename for a in view.attachments] and len(view.attachments) == 2
    assert view.extensions[0].new_deadline == expected and view.history[-1].note == "通道内仍有杂物"


async def test_an_unfinished_step_expires_quietly(env: Env) -> None:
    number = env.org.item()
    chat = env.server.private_chat(env.zhang)
    r = await env.send(chat, env.zhang, f"/progress {number}")
    assert "整改进展" in plain(r[-1])
    job_queue = env.driver.app.job_queue
    assert job_queue is not None
    timeouts = [job for job in job_queue.jobs() if job.name == "_trigger_timeout"]
    assert len(timeouts) == 1  # conversation_timeout is armed
    mark = env.server.mark()
    await timeouts[0].run(env.driver.app)  # as if the quarter of an hour had passed
    await env.driver.silent(chat, mark, 0.5)
    assert env.driver.app.user_data[env.zhang.id]["ledger.drafts"] == {}

    r = await env.send(chat, env.zhang, "已清理一半货物")
    assert "已记录" not in text_of(r)  # no longer taken as the progress note
    assert actions(env.view(number)) == ["create"]
