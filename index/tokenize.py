"""Chinese tokenisation for the keyword index: jieba with a domain dictionary, stop words dropped.

Each index gets its own ``jieba.Tokenizer`` so that user words added at run time (e.g. from a
newly loaded document's terms) never leak into other instances through jieba's global state.
"""
from __future__ import annotations

import logging
import re
import threading
from functools import cached_property
from pathlib import Path

import jieba

# jieba logs "Building prefix dict…" (four lines) at DEBUG to stderr on every start: noise to a user.
jieba.setLogLevel(logging.WARNING)

DATA_DIR = Path(__file__).parent / "data"
USER_DICT = DATA_DIR / "userdict.txt"

# Function words and question words carry no topical signal in either statutes or questions.
STOP_WORDS = frozenset(
    """
    的 了 吗 呢 吧 啊 呀 么 嘛 哦 和 与 及 以及 或 或者 而 并 并且 是 在 对 为 把 被 将 由 从 向 于 以 之 其 该 这 那
    这个 那个 这些 那些 哪 哪个 哪些 哪里 什么 怎么 怎样 怎么办 如何 多少 几 是否 是不是 能不能 能否 可以 可不可以 要不要
    会 会不会 要 需要 应该 还 还是 也 都 就 又 再 很 最 更 有 有没有 没有 没 不 不是 所 所称 等 等等 我 我们 你 你们 他 她 它 他们
    一个 个 些 上 下 中 里 里面 后 前 时 时候 之后 以后 以前 之前 请问 一下 一次 能 吗？ 呢？ 啥 咋 咋办 干 干活 搞 弄 给
    规定 法律 条例 办法 依照 按照 根据 本法 本条例 下列 情形 之一 有关 相关 应当 依法
    the a an of to in on for is are be by and or what which who whom how does do can must with as at from after
    """.split()
)

_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


class Tokenizer:
    """Search-mode jieba tokens (long words and their sub-words) minus stop words and punctuation."""

    def __init__(self, extra_words: list[str] | None = None) -> None:
        self._extra = list(extra_words or [])
        self._lock = threading.Lock()

    @cached_property
    def _jieba(self) -> jieba.Tokenizer:
        tok = jieba.Tokenizer()
        tok.initialize()
        tok.load_userdict(str(USER_DICT))
        for word in self._extra:
            tok.add_word(word, freq=20000)
        return tok

    def add_words(self, words: list[str]) -> None:
        with self._lock:
            for word in words:
                self._jieba.add_word(word, freq=20000)

    def words(self, text: str) -> list[str]:
        """Dictionary-only segmentation (no HMM guessing of new words), punctuation included."""
        with self._lock:
            return list(self._jieba.cut(text, HMM=False))

    def tokens(self, text: str) -> list[str]:
        with self._lock:  # jieba's tokenizer is not thread-safe while its dictionary changes
            raw = list(self._jieba.cut_for_search(text.lower()))
        return [t for t in (w.strip() for w in raw) if t and t not in STOP_WORDS and _TOKEN_OK.search(t)]
