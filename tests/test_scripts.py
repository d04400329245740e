"""scripts/run.sh and scripts/setup.sh, run by bash on a copy of the checkout's layout.

The copy has the real scripts and a stand-in ``.venv`` (a ``safetybot`` that reports where it runs),
so the tests check what the scripts do without installing anything.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "safetybot"
    (root / "scripts").mkdir(parents=True)
    for name in ("run.sh", "setup.sh"):
        shutil.copy2(ROOT / "scripts" / name, root / "scripts" / name)
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(shutil.which("python3") or "/usr/bin/python3")
    (bin_dir / "activate").write_text("")
    fake = bin_dir / "safetybot"
    fake.write_text('#!/bin/sh\necho "cwd=$(pwd)"\nfor a in "$@"; do echo "arg=$a"; done\n')
    fake.chmod(0o755)
    return root


def _stamp(root: Path, extra: str) -> None:
    digest = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    (root / ".venv" / ".safetybot-installed").write_text(f"{digest} {extra}\n")


def _bash(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYBOT_")}
    return subprocess.run(["bash", str(script), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)


def test_run_sh_keeps_the_users_directory(checkout: Path, tmp_path: Path) -> None:
    _stamp(checkout, "")
    elsewhere = tmp_path / "我的文件夹"
    elsewhere.mkdir()
    done = _bash(checkout / "scripts" / "run.sh", "hazards", "template", "模板.xlsx", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"cwd={elsewhere}", "arg=hazards", "arg=template", "arg=模板.xlsx"]
    assert done.stderr == ""  # set up already: nothing to say


def test_run_sh_without_arguments_starts_the_chat(checkout: Path, tmp_path: Path) -> None:
    _stamp(checkout, "")
    done = _bash(checkout / "scripts" / "run.sh", cwd=tmp_path)
    assert done.stdout.splitlines() == [f"cwd={tmp_path}", "arg=chat"]


def test_a_test_install_serves_a_plain_run(checkout: Path, tmp_path: Path) -> None:
    _stamp(checkout, "test")
    done = _bash(checkout / "scripts" / "setup.sh", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_setup_says_what_it_is_doing_when_it_installs(checkout: Path, tmp_path: Path) -> None:
    """A stale stamp starts the installation, which announces itself before pip runs."""
    _stamp(checkout, "an older install")
    bin_dir = checkout / ".venv" / "bin"
    (bin_dir / "activate").write_text(f'PATH="{bin_dir}:$PATH"\n')
    pip = bin_dir / "pip"
    pip.write_text('#!/bin/sh\necho "pip $*" >> "$(dirname "$0")/pip.log"\n')
    pip.chmod(0o755)
    done = _bash(checkout / "scripts" / "setup.sh", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("正在准备运行环境") and "首次安装约需" in lines[0]
    assert [line.strip()[:5] for line in lines[1:4]] == ["[1/3]", "[2/3]", "[3/3]"]
    assert lines[-1].startswith("运行环境已就绪")
    log = (bin_dir / "pip.log").read_text()
    assert "torch==2.13.0" in log and "-e .[postgres]" in log
