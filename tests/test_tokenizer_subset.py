"""The subset tokenizer (index.tokenizer_subset) encodes exactly like the model's whole tokenizer."""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from index.tokenizer_subset import SubsetTokenizer
from knowledge.bundled import CORPUS_DIR

pytestmark = pytest.mark.slow

QUESTIONS = ["query: 动火作业谁审批？", "query: 生產經營單位應當建立什麼制度", "query: Who approves hot work permits?",
             "query: wei hua pin 仓库 防火间距", "query: ＧＢ５００１６ 第５.１条", "passage: <s> <mask> ½ é 㐀 䶵"]
OUTSIDE = ["Привет, мир: 安全生产", "مرحبا 安全", "安全 😀 第一", "한국어 안전", "ελληνικά", "𠀀𠀁 生僻字"]


@pytest.fixture(scope="module")
def tokenizer_file(embedder, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A private copy of the bundled model's tokenizer.json (the subset is written beside it)."""
    assert embedder.model_id.endswith(":onnx")
    source = next(models_dir.glob("*-onnx/tokenizer.json"))
    target = tmp_path_factory.mktemp("tokenizer") / "tokenizer.json"
    shutil.copy(source, target)
    return target


def _whole(path: Path, truncation: int | None) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    if truncation:
        tokenizer.enable_truncation(truncation)
    return tokenizer


def _texts() -> list[str]:
    laws = [p.read_text(encoding="utf-8") for p in sorted(CORPUS_DIR.glob("*.md"))]
    paragraphs = [para for text in laws for para in text.split("\n") if para.strip()]
    rng = random.Random(7)
    alphabet = ([chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x3000, 0x3040),
                                  *range(0x4E00, 0x9FA6, 7), *range(0x3400, 0x4DB6, 13), *range(0xFF01, 0xFF5F)]]
                + ["  ", "\t", "\n", "▁", "<s>", "</s>", "<mask>", "<unk>"])
    noise = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))) for _ in range(2000)]
    return QUESTIONS + OUTSIDE + paragraphs[:3000] + noise


def test_the_subset_encodes_every_text_like_the_whole_tokenizer(tokenizer_file: Path) -> None:
    subset = SubsetTokenizer(tokenizer_file, truncation=512)
    assert subset.uses_subset
    texts = _texts()
    assert subset.encode_batch(texts) == [e.ids for e in _whole(tokenizer_file, 512).encode_batch(texts)]
    untruncated = SubsetTokenizer(tokenizer_file, truncation=None)
    long_text = "生产经营单位应当建立健全全员安全生产责任制。" * 80
    assert untruncated.encode_batch([long_text]) == [_whole(tokenizer_file, None).encode(long_text).ids]
    assert len(untruncated.encode_batch([long_text])[0]) > 512


def test_the_subset_is_kept_beside_the_file_and_redone_when_the_file_changes(tokenizer_file: Path,
                                                                            tmp_path: Path) -> None:
    copy = tmp_path / "tokenizer.json"
    shutil.copy(tokenizer_file, copy)
    SubsetTokenizer(copy, truncation=512)
    subset_file = tmp_path / "tokenizer.subset.json"
    meta = tmp_path / "tokenizer.subset-meta.json"
    assert subset_file.stat().st_size < copy.stat().st_size / 1.5
    first, built = meta.read_text(), subset_file.stat().st_mtime_ns
    SubsetTokenizer(copy, truncation=512)
    assert meta.read_text() == first  # reused

    copy.write_bytes(copy.read_bytes())  # the same content with a new mtime, as after `cp -r`
    assert SubsetTokenizer(copy, truncation=512).uses_subset
    assert subset_file.stat().st_mtime_ns == built  # recognised by its hash, not derived again
    assert json.loads(meta.read_text())["mtime_ns"] == copy.stat().st_mtime_ns

    copy.write_text(json.dumps(json.loads(copy.read_text(encoding="utf-8")), indent=1), encoding="utf-8")
    tokenizer = SubsetTokenizer(copy, truncation=512)  # changed content: derived again
    assert tokenizer.uses_subset and subset_file.stat().st_mtime_ns != built
    assert tokenizer.encode_batch(["动火作业谁审批？"]) == [_whole(copy, 512).encode("动火作业谁审批？").ids]


def test_a_tokenizer_that_is_not_unigram_is_used_whole(tmp_path: Path) -> None:
    from tokenizers import models, pre_tokenizers

    plain = Tokenizer(models.WordLevel({"安全": 0, "生产": 1, "[UNK]": 2}, unk_token="[UNK]"))
    plain.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    plain.save(str(path))
    tokenizer = SubsetTokenizer(path, truncation=None)
    assert not tokenizer.uses_subset
    assert tokenizer.encode_batch(["安全 生产 其他"]) == [[0, 1, 2]]
