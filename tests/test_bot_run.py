"""`safetybot run` as a user starts it: a separate process talking to the fake Telegram."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from bot_support import plain
from click.testing import CliRunner
from fake_telegram import FakeTelegram

from bot.cli import main


def test_run_without_token_explains_how_to_get_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run"], env={"SAFETYBOT_TELEGRAM_TOKEN": "",
                                                    "SAFETYBOT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "@BotFather" in result.output and "safetybot chat" in result.output


@pytest.mark.slow
async def test_safetybot_run_process_answers_and_stops_cleanly(
        tg_server: FakeTelegram, bundled_copy: Path, models_dir: Path, tmp_path: Path) -> None:
    admin = tg_server.user("安委办值班员")
    chat = tg_server.private_chat(admin)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SAFETYBOT_")}
    env.update({
        "SAFETYBOT_DATA_DIR": str(bundled_copy), "SAFETYBOT_MODEL_DIR": str(models_dir),
        "SAFETYBOT_TELEGRAM_TOKEN": tg_server.token, "SAFETYBOT_TELEGRAM_API_URL": tg_server.base_url,
        "SAFETYBOT_TELEGRAM_FILE_URL": tg_server.base_file_url, "SAFETYBOT_ADMIN_IDS": str(admin.id),
    })
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log:
        # The console script pip installed next to this interpreter, as a user runs it.
        safetybot = Path(sys.executable).parent / "safetybot"
        process = await asyncio.create_subprocess_exec(
            str(safetybot), "run", env=env, cwd=tmp_path, stdout=log, stderr=log)
        try:
            try:
                await tg_server.wait_for("setMyCommands", timeout=180)
            except AssertionError:
                raise AssertionError(log_path.read_text(errors="replace")[-3000:]) from None
            mark = tg_server.mark()
            tg_server.user_message(chat, admin, "事故发生后单位负责人多长时间内要报告？")
            reply = await tg_server.wait_for("sendMessage", lambda p: p["chat_id"] == chat.id, since=mark, timeout=60)
            assert "《" in plain(reply) and "第" in plain(reply)
            process.send_signal(signal.SIGINT)
            code = await asyncio.wait_for(process.wait(), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    output = log_path.read_text(errors="replace")
    assert code == 0, output
    assert "Starting the bot (long polling)" in output
