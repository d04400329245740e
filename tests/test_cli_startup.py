"""Commands that do not search must not import the retrieval stack (torch, faiss, jieba, the model).

Each command runs in a fresh Python process, exactly as ``safetybot ...`` does, and reports which
heavy modules it imported. The index directory is marked as built, so the ledger is wired with its
basis suggester, as on a machine where questions have been asked before.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HEAVY = ("torch", "sentence_transformers", "transformers", "faiss", "jieba", "index.embedding_model",
         "index.knowledge_base", "index.index_store", "telegram", "matplotlib")

# Runs commands one after another in one process and reports, after each, the heavy modules loaded.
PROBE = """
import json, sys
from click.testing import CliRunner
from bot.cli import main

heavy = json.loads(sys.argv[1])
report = []
for args in json.loads(sys.argv[2]):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    loaded = sorted(m for m in heavy if m in sys.modules)
    report.append({"args": args, "exit": result.exit_code, "output": result.output, "loaded": loaded})
print(json.dumps(report, ensure_ascii=False))
"""


def _probe(commands: list[list[str]], data_dir: Path, cwd: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SAFETYBOT_DATA_DIR": str(data_dir),
           "SAFETYBOT_LOAD_BUNDLED": "true"}
    env.pop("SAFETYBOT_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(HEAVY), json.dumps(commands)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def ledger_data(tmp_path: Path) -> Path:
    """A data dir with a unit, an official and one hazard item, and an index marked as built."""
    data = tmp_path / "data"
    setup = [
        ["units", "add", "示范市", "--kind", "市"],
        ["officials", "add", "张三", "--unit", "示范市", "--role", "supervisor"],
        ["hazards", "add", "-d", "配电箱门未关闭，线路裸露", "--unit", "示范市", "--deadline", "5个工作日"],
    ]
    report = _probe(setup, data, tmp_path)
    assert all(r["exit"] == 0 for r in report), report
    (data / "index").mkdir(parents=True, exist_ok=True)
    (data / "index" / "meta.json").write_text('{"model_id": "x", "passages": 0}', encoding="utf-8")
    return data


NON_SEARCH = [
    ["docs"],
    ["status", "没有这份文件", "已废止"],
    ["remove", "没有这份文件"],
    ["units", "list"],
    ["officials", "list"],
    ["officials", "add", "李四", "--unit", "示范市"],
    ["hazards", "list"],
    ["hazards", "show", "__FIRST__"],
    ["hazards", "update", "__FIRST__", "--note", "已关闭配电箱门"],
    ["hazards", "extend", "__FIRST__", "--to", "10个工作日", "--reason", "等待配件"],
    ["hazards", "stats"],
    ["hazards", "template", "模板.xlsx"],
    ["hazards", "export", "台账.xlsx"],
    ["duties", "list"],
    ["duties", "show", "没有这条规则"],
    ["reminders", "plan", "--date", "2026-03-02"],
    ["reminders", "log", "--date", "2026-03-02"],
    ["units", "chats"],
    ["--help"],
    ["hazards", "add", "--help"],
]


def test_non_search_commands_do_not_import_the_retrieval_stack(ledger_data: Path, tmp_path: Path) -> None:
    listed = _probe([["hazards", "list", "--format", "json"]], ledger_data, tmp_path)[0]
    number = json.loads(listed["output"])["items"][0]["number"]
    commands = [[number if a == "__FIRST__" else a for a in args] for args in NON_SEARCH]
    report = _probe(commands, ledger_data, tmp_path)
    for entry in report:
        assert entry["loaded"] == [], f"{entry['args']} imported {entry['loaded']}"
    by_command = {" ".join(r["args"][:2]): r for r in report}
    # The commands did their work (not just exited early): the probe is meaningful.
    assert "没有名为《没有这份文件》的文件" in by_command["remove 没有这份文件"]["output"]
    assert number in by_command["hazards list"]["output"]
    assert "已记录" in by_command["hazards update"]["output"]
    assert (tmp_path / "模板.xlsx").exists() and (tmp_path / "台账.xlsx").exists()


def test_the_heavy_list_names_the_retrieval_stack(tmp_path: Path) -> None:
    """The check above can fail: what a search command imports is on the list."""
    code = "import sys, json, index.knowledge_base; print(json.dumps(sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, json.dumps(HEAVY)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"faiss", "jieba", "index.knowledge_base"} <= set(loaded), out.stderr
