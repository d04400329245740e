"""Cold-process wall time and peak RSS of everyday `safetybot` commands (median of N runs).

    python bench/bench_cli_startup.py --data ~/.local/share/safetybot [--runs 5]

Targets (issue 12, idle 2-core machine): commands that do not search ≤ 1.5 s and ≤ 150 MB;
``ask``, ``who`` and ``hazards add`` (with legal-basis suggestions) ≤ 4 s to the answer, with the
model converted and the indexes built. ``--data`` is a data dir where the bundled laws are already
indexed (it is copied, never changed); without it one is built first, which takes minutes.
Every run is a new ``python -m bot.cli`` process; wall time and peak RSS come from ``wait4``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.cli.common import pad  # noqa: E402  (display-width padding for the Chinese labels)

NON_SEARCH = [
    ["docs"],
    ["status", "安全生产法", "现行有效"],
    ["remove", "没有这份文件"],
    ["units", "list"],
    ["officials", "list"],
    ["hazards", "list"],
    ["hazards", "show", "{number}"],
    ["hazards", "update", "{number}", "--note", "已整改一半"],
    ["hazards", "stats"],
    ["duties", "list"],
    ["duties", "show", "{rule}"],
]
SEARCH = [
    ["ask", "动火作业需要办理什么审批手续？"],
    ["who", "电焊作业"],
    ["hazards", "add", "-d", "有限空间作业未进行气体检测", "--unit", "示范市", "--deadline", "5个工作日"],
]


def run_once(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one cold process."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):  # 1 is a polite refusal (e.g. no such document): still a full run
            errors.seek(0)
            raise SystemExit(f"{' '.join(args)} failed: {errors.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, check=True)
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a data dir with the bundled laws indexed (copied, not changed)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-search", action="store_true", help="only the commands that do not search")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SAFETYBOT_DATA_DIR": str(data)}
        for name in ("SAFETYBOT_DATABASE_URL", "SAFETYBOT_JURISDICTION"):
            env.pop(name, None)
        if args.data:
            shutil.copytree(args.data, data)
        else:
            print("no --data: building a data dir (model conversion and the bundled laws, minutes) ...")
        # One untimed `ask` finishes whatever a first run does (bundled laws, rules) before timing.
        cli(["ask", "安全生产法第一条"], env, Path(tmp))
        cli(["units", "add", "示范市", "--kind", "市"], env, Path(tmp))
        made = json.loads(cli(["hazards", "add", "-d", "配电箱门未关闭", "--unit", "示范市", "--deadline",
                                "5个工作日", "--format", "json"], env, Path(tmp)))
        rule = json.loads(cli(["duties", "list", "--format", "json"], env, Path(tmp)))[0]["id"]
        fill = {"{number}": made["item"]["number"], "{rule}": rule}

        print(f"cold process, median of {args.runs} runs (load average now {os.getloadavg()[0]:.1f}, "
              f"{os.cpu_count()} CPUs; on a busy machine wall time grows, CPU time much less)")
        print(f"{pad('command', 46)} {'wall s':>7} {'CPU s':>6} {'RSS MB':>7}  target")
        groups = [(NON_SEARCH, (1.5, 150))] + ([] if args.skip_search else [(SEARCH, (4.0, None))])
        for group, target in groups:
            for command in group:
                argv = [fill.get(a, a) for a in command]
                runs = [run_once(argv, env, Path(tmp)) for _ in range(args.runs)]
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                rss = statistics.median(r[2] for r in runs)
                goal = f"≤ {target[0]} s" + (f", ≤ {target[1]} MB" if target[1] else "")
                ok = wall <= target[0] and (target[1] is None or rss <= target[1])
                label = " ".join(argv)[:30]
                print(f"{pad(label, 46)} {wall:7.2f} {cpu:6.2f} {rss:7.0f}  {goal} {'ok' if ok else 'MISSED'}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
