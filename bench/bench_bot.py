"""Bot round trip under load: update in → reply out, measured on the fake Telegram server.

    python bench/bench_bot.py [--users 20] [--rounds 10] [--flat-rounds 5] [--data-dir DIR] [--backend auto|onnx|torch]
                              [--max-rate 30]

Starts the fake Bot API server (tests/fake_telegram) in this process and the real bot as a
separate process (`safetybot run`, long polling), exactly as deployed. N users ask in their own
private chats. Latency runs from the moment the update is queued on the server until the bot's
sendMessage reaches it. Two phases:

- paced: each user reads the answer for 1-3 s (uniformly random) before asking again, so N
  people are using the bot at the same time, as in a busy duty group;
- flat out: each user asks again the instant the answer arrives (N requests always in flight),
  which shows the saturation throughput. With the bot's default limit of 30 messages per second
  (Telegram's limit for bots, enforced by PTB's AIORateLimiter) that limit is what saturates:
  20 requests in flight then wait at least 20/30 s each once the limiter's burst is spent.
  ``--max-rate 0`` lifts it, to show what the machine itself can answer.

Prints p50/p95/max and throughput per phase, and the bot process's peak RSS.
The data dir (bundled laws, indexes) is built on first use under bench/out/.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_telegram import FakeTelegram  # noqa: E402

# Everyday questions in the styles users type; answered from the bundled laws (some by the duty rules).
QUESTIONS = [
    "动火作业谁审批？", "事故发生后多久要上报？", "企业主要负责人有哪些安全生产职责？", "特种作业人员要持证上岗吗",
    "有限空间作业要注意什么", "危险化学品储存有什么要求", "重大事故隐患怎么处理", "安全生产许可证有效期几年",
    "电梯使用前要办理什么登记", "消防安全重点单位有哪些职责", "安全生产法第四十一条", "电焊作业安全谁负责？",
    "从业人员发现事故隐患应该怎么办", "安全培训没做会怎么处罚", "生產經營單位應當建立什麼制度", "事故调查报告多久提交",
    "建筑施工企业要配备专职安全员吗", "燃气经营许可证", "wei hua pin 仓库 防火间距", "Who approves hot work permits?",
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident set size of a process, from /proc (Linux)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    kb = lambda key: float(fields[key].strip().split()[0])  # noqa: E731
    return kb("VmHWM") / 1024, kb("VmRSS") / 1024


async def user_loop(server: FakeTelegram, chat, user, rounds: int, rng: random.Random,  # type: ignore[no-untyped-def]
                    latencies: list[float], think: tuple[float, float] = (0.0, 0.0)) -> None:
    await asyncio.sleep(rng.uniform(*think))  # users do not all start in the same millisecond
    for _ in range(rounds):
        mark = server.mark()
        question = rng.choice(QUESTIONS)
        started = time.monotonic()
        server.user_message(chat, user, question)
        reply = await server.wait_for("sendMessage", lambda p: p["chat_id"] == chat.id, since=mark, timeout=60)
        latencies.append((reply.at - started) * 1000)
        await asyncio.sleep(rng.uniform(*think))


async def phase(server: FakeTelegram, chats, users, rounds: int, think: tuple[float, float],  # type: ignore[no-untyped-def]
                bot_pid: int) -> tuple[list[float], float, float, float]:
    latencies: list[float] = []
    bot_cpu, own_cpu = cpu_seconds(bot_pid), cpu_seconds(os.getpid())
    rngs = [random.Random(n) for n in range(len(users))]
    t0 = time.monotonic()
    await asyncio.gather(*(user_loop(server, c, u, rounds, r, latencies, think)
                           for c, u, r in zip(chats, users, rngs, strict=True)))
    return (latencies, time.monotonic() - t0, cpu_seconds(bot_pid) - bot_cpu, cpu_seconds(os.getpid()) - own_cpu)


def report(name: str, latencies: list[float], elapsed: float, bot_cpu: float, own_cpu: float, users: int) -> None:
    values = np.asarray(latencies)
    print(f"{name}: {users} users, {len(values)} round trips in {elapsed:.1f} s ({len(values) / elapsed:.1f}/s); "
          f"ms p50 {np.percentile(values, 50):.0f}  p95 {np.percentile(values, 95):.0f}  max {values.max():.0f}; "
          f"CPU per question: bot {bot_cpu / len(values) * 1000:.0f} ms, fake server + users {own_cpu / len(values) * 1000:.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10, help="questions per user, paced phase")
    parser.add_argument("--flat-rounds", type=int, help="questions per user, flat-out phase (default: rounds / 2)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "out" / "bundled")
    parser.add_argument("--model-dir", type=Path, help="SAFETYBOT_MODEL_DIR for the bot (default: in the data dir)")
    parser.add_argument("--max-rate", type=float, default=30.0,
                        help="the bot's SAFETYBOT_TELEGRAM_MAX_RATE: 30 is Telegram's limit; 0 lifts it, "
                             "to measure what the machine can answer")
    parser.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto",
                        help="SAFETYBOT_EMBEDDING_BACKEND for the bot")
    args = parser.parse_args()

    async with FakeTelegram() as server:
        users = [server.user(f"用户{n}") for n in range(args.users)]
        chats = [server.private_chat(u) for u in users]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYBOT_")}
        env.update({
            "SAFETYBOT_DATA_DIR": str(args.data_dir), "SAFETYBOT_TELEGRAM_TOKEN": server.token,
            "SAFETYBOT_TELEGRAM_API_URL": server.base_url, "SAFETYBOT_TELEGRAM_FILE_URL": server.base_file_url,
            "SAFETYBOT_ADMIN_IDS": ",".join(str(u.id) for u in users),
            "SAFETYBOT_EMBEDDING_BACKEND": args.backend,
            "SAFETYBOT_TELEGRAM_MAX_RATE": str(args.max_rate),
        })
        if args.model_dir:
            env["SAFETYBOT_MODEL_DIR"] = str(args.model_dir)
        log_path = ROOT / "bench" / "out" / "bench_bot.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            safetybot = Path(sys.executable).parent / "safetybot"
            started = time.monotonic()
            bot = await asyncio.create_subprocess_exec(str(safetybot), "run", env=env, cwd=log_path.parent,
                                                       stdout=log, stderr=log)
            try:
                await server.wait_for("setMyCommands", timeout=1800)
                print(f"bot ready in {time.monotonic() - started:.1f} s (includes first-run indexing if any)")
                warm: list[float] = []
                await user_loop(server, chats[0], users[0], 3, random.Random(0), warm)

                paced = await phase(server, chats, users, args.rounds, (1.0, 3.0), bot.pid)
                flat_out = await phase(server, chats, users, args.flat_rounds or max(1, args.rounds // 2), (0.0, 0.0),
                                       bot.pid)
                peak, current = peak_rss_mb(bot.pid)
            finally:
                bot.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(bot.wait(), timeout=30)
                except TimeoutError:
                    bot.kill()
    report("paced (1-3 s reading time)", *paced, args.users)
    report("flat out (no pause)       ", *flat_out, args.users)
    print(f"embedding backend: {args.backend}; bot sends at most {args.max_rate:g} messages/s (0: unlimited); "
          "targets: p50 <= 150 ms, p95 <= 400 ms")
    print(f"bot process RSS: peak {peak:.0f} MB, now {current:.0f} MB   (target <= 1024 MB)")


if __name__ == "__main__":
    asyncio.run(main())
