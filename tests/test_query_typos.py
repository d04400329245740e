"""Homophone typo repair in questions (TypoRepair): what is repaired, what is left alone."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from index.query import TypoRepair
from index.tokenize import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = ["电梯", "应急预案", "预案", "三防", "三方", "消防", "安全生产", "特种设备"]


def _words(text: str) -> list[str]:
    return Tokenizer().words(text)


def test_a_homophone_one_character_off_a_corpus_word_is_repaired() -> None:
    repair = TypoRepair(VOCABULARY)
    assert repair.repair("电悌坏了谁负责", _words) == {"电悌": "电梯"}
    assert repair.repair("应急预按要备案吗", _words) == {"预按": "预案"}


def test_corpus_words_and_non_homophones_are_left_alone() -> None:
    repair = TypoRepair(VOCABULARY)
    assert repair.repair("三防建设", _words) == {}  # a word the texts use is no typo of 三方
    assert repair.repair("电话坏了", _words) == {}  # 电话 is not pronounced like 电梯


def test_two_equally_likely_corrections_repair_nothing() -> None:
    # 时实 (shi shi) is one character off both 事实 and 时事, which sound the same.
    assert TypoRepair(["事实", "时事"]).repair("时实", _words) == {}
    assert TypoRepair(["事实"]).repair("时实", _words) == {"时实": "事实"}


def test_a_question_without_a_suspect_word_does_not_load_the_pinyin_tables() -> None:
    code = (
        "import sys; from index.query import TypoRepair; from index.tokenize import Tokenizer;"
        "t = Tokenizer(); r = TypoRepair(['电梯', '消防', '安全生产']);"
        "assert r.repair('消防安全生产检查', t.words) == {};"
        "print('pypinyin' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
