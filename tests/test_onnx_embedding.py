"""The embedding model on ONNX Runtime: exported once at first use, it embeds and ranks like the
torch path, is reused until its source changes, and models it cannot reproduce run on torch."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from index.embedding_model import ONNX_MODEL_ID_SUFFIX, ONNX_SUFFIX, Embedder, ensure_bundled_model
from index.index_store import windows_of
from index.knowledge_base import KnowledgeBase
from index.onnx_encoder import CONFIG_FILE, MODEL_FILE
from index.vector_index import VectorIndex
from knowledge.config import BUNDLED_MODEL
from knowledge.models import Passage

pytestmark = pytest.mark.slow

QUESTIONS = [
    "动火作业需要谁来审批",
    "企业主要负责人有哪些安全生产职责？",
    "发生生产安全事故后多长时间内要上报",
    "特种作业人员没有证书上岗怎么处罚",
    "重大事故隐患由谁来判定",
    "安全生产费用应该怎么提取和使用",
    "劳务派遣人员的安全培训谁负责",
    "危险化学品仓库要设置哪些安全标志",
    "矿山建设项目的安全设施要经过谁验收",
    "生产经营单位将工程发包给没有资质的单位要担什么责任",
    "乡镇人民政府在安全生产方面有什么职责",
    "从业人员发现直接危及人身安全的紧急情况怎么办",
    "应急预案多久演练一次",
    "消防设施被占用堵塞谁来管",
    "工会在安全生产工作中有什么权利",
    "安全生产责任保险是强制的吗",
    "未成年人能不能从事矿山井下作业",
    "职业病危害因素检测多久做一次",
    "建筑施工单位必须配备专职安全员吗",
    "事故调查报告由谁批复",
    "有限空间作业前要做什么",
    "烟花爆竹批发企业的仓库有什么要求",
    "餐馆用燃气要注意什么安全规定",
    "谎报瞒报事故要受到什么处罚",
    "安全评价机构出具虚假报告怎么处理",
    "生產經營單位的安全生產管理人員有哪些職責",
    "老板不给发劳保用品怎么办",
    "外包队伍出了事故，发包方有没有责任",
    "隐患整改超期了会怎么样",
    "个体工商户算不算生产经营单位",
]


@pytest.fixture(scope="module")
def torch_embedder(models_dir: Path) -> Embedder:
    return Embedder(BUNDLED_MODEL, models_dir, backend="torch")


@pytest.fixture(scope="module")
def passage_texts(bundled: KnowledgeBase) -> list[str]:
    with bundled.sessions() as session:
        return list(session.scalars(select(Passage.norm_text).where(Passage.garbled.is_(False)).order_by(Passage.id)))


def test_bundled_model_runs_on_onnx_runtime_without_torch(models_dir: Path) -> None:
    # A fresh interpreter: loading and encoding with the cached export must not import torch.
    code = (
        "import sys; from index.embedding_model import Embedder; from knowledge.config import BUNDLED_MODEL\n"
        f"e = Embedder(BUNDLED_MODEL, {str(models_dir)!r})\n"
        "v = e.encode_queries(['动火作业谁审批？'])\n"
        "print(e.backend, v.shape, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    Embedder(BUNDLED_MODEL, models_dir)  # export first (if this is the first test to need it)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["onnx", "(1,", "384)", "False", "False"]


def test_onnx_vectors_match_torch(embedder: Embedder, torch_embedder: Embedder, passage_texts: list[str]) -> None:
    assert embedder.backend == "onnx" and torch_embedder.backend == "torch"
    assert embedder.model_id == torch_embedder.model_id + ONNX_MODEL_ID_SUFFIX  # never share cached vectors
    passages = passage_texts[::40][:40]
    cosines = np.concatenate([
        (embedder.encode_queries(QUESTIONS) * torch_embedder.encode_queries(QUESTIONS)).sum(axis=1),
        (embedder.encode_passages(passages) * torch_embedder.encode_passages(passages)).sum(axis=1),
    ])
    assert len(cosines) >= 60
    assert cosines.min() >= 0.9999, f"min cosine {cosines.min():.6f}"
    for text in (QUESTIONS[0], passages[0], passages[0] * 20):
        assert embedder.count_tokens(text) == torch_embedder.count_tokens(text)


def test_onnx_ranks_the_bundled_corpus_like_torch(
    bundled: KnowledgeBase, embedder: Embedder, torch_embedder: Embedder
) -> None:
    with bundled.sessions() as session:
        rows = session.execute(
            select(Passage.id, Passage.norm_text).where(Passage.garbled.is_(False)).order_by(Passage.id)
        ).all()
    owners, numbers, windows = [], [], []
    for pid, text in rows:
        for n, window in enumerate(windows_of(text)):
            owners.append(pid)
            numbers.append(n)
            windows.append(window)
    assert bundled.embedder is embedder
    torch_index = VectorIndex(torch_embedder.dim)
    torch_index.add(owners, numbers, torch_embedder.encode_passages(windows))
    indexes = {"onnx": bundled.store.vectors, "torch": torch_index}
    differing = []
    for question in QUESTIONS:
        tops = {name: index.search(model.encode_queries([question])[0], 10).ids.tolist()
                for (name, index), model in zip(indexes.items(), (embedder, torch_embedder))}
        if tops["onnx"] != tops["torch"]:
            differing.append(question)
    assert differing == []


def test_export_is_reused_and_redone_when_the_source_changes(
    models_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bundled_export = ensure_bundled_model(models_dir).with_name(ensure_bundled_model(models_dir).name + ONNX_SUFFIX)
    Embedder(BUNDLED_MODEL, models_dir)
    before = (bundled_export / MODEL_FILE).stat().st_mtime_ns
    Embedder(BUNDLED_MODEL, models_dir)
    assert (bundled_export / MODEL_FILE).stat().st_mtime_ns == before

    # A deployment's own model (here: the bundled one without prompts), then changed in place.
    own = tmp_path / "own-model"
    shutil.copytree(ensure_bundled_model(models_dir), own)
    prompts_file = own / "config_sentence_transformers.json"
    prompts_file.write_text(json.dumps({"prompts": {"query": "问："}, "default_prompt_name": None}), encoding="utf-8")
    first = Embedder(str(own), tmp_path)
    export = tmp_path / f"own-model{ONNX_SUFFIX}"
    assert first.backend == "onnx" and (export / MODEL_FILE).is_file()
    # sentence-transformers adds an empty "document" prompt of its own; the export records what it uses.
    assert json.loads((export / CONFIG_FILE).read_text(encoding="utf-8"))["prompts"].get("query") == "问："

    prompts_file.write_text(json.dumps({"prompts": {}, "default_prompt_name": None}), encoding="utf-8")
    second = Embedder(str(own), tmp_path)
    assert json.loads((export / CONFIG_FILE).read_text(encoding="utf-8"))["prompts"].get("query", "") == ""
    reference = Embedder(str(own), tmp_path, backend="torch")
    text = "老板跑路了怎么办"
    np.testing.assert_allclose(second.encode_queries([text]), second.encode_passages([text]), atol=1e-6)
    assert float(second.encode_queries([text])[0] @ reference.encode_queries([text])[0]) >= 0.9999


def test_model_that_cannot_be_exported_runs_on_torch(
    models_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    odd = tmp_path / "max-pooling"
    shutil.copytree(ensure_bundled_model(models_dir), odd)
    pooling = json.loads((odd / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    (odd / "1_Pooling" / "config.json").write_text(json.dumps(pooling), encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="index.embedding_model"):
        model = Embedder(str(odd), tmp_path)
    assert model.backend == "torch" and model.model_id == str(odd)
    assert "using torch" in caplog.text and "pooling mode 'max'" in caplog.text
    assert model.encode_queries(["动火作业谁审批？"]).shape == (1, 384)

    # The rejection is remembered: the next start does not try to export again.
    record = (tmp_path / f"max-pooling{ONNX_SUFFIX}" / CONFIG_FILE)
    stamp = record.stat().st_mtime_ns
    Embedder(str(odd), tmp_path)
    assert record.stat().st_mtime_ns == stamp
    with pytest.raises(Exception, match="ONNX"):
        Embedder(str(odd), tmp_path, backend="onnx")
