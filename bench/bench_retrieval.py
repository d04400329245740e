"""Retrieval benchmarks on 2 cores: warm latency, cold start, ingest throughput, peak RSS.

    python bench/bench_retrieval.py [--questions FILE.jsonl] [--data-dir DIR]
    python bench/bench_retrieval.py --synthetic 100000

The bundled run uses (and on first use builds) a data dir under bench/out/. The synthetic run
builds a corpus of N passages by recombining sentences of the bundled laws; each synthetic passage
gets a vector derived from its source passage's real embedding (stored in the embedding cache),
so the run measures search at that scale without spending an hour embedding text.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.index_store import text_hash, windows_of  # noqa: E402
from index.knowledge_base import KnowledgeBase  # noqa: E402
from knowledge.config import Settings  # noqa: E402
from knowledge.db import make_engine, migrate, session_factory  # noqa: E402

DEFAULT_QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
FALLBACK_QUESTIONS = [
    "动火作业谁审批？", "事故多久内要上报？", "企业主要负责人有哪些安全生产职责？", "特种作业人员要持证上岗吗",
    "有限空间作业要注意什么", "危险化学品储存有什么要求", "重大事故隐患怎么处理", "安全生产许可证有效期几年",
    "电梯使用登记", "消防安全重点单位职责",
]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def load_questions(path: Path | None) -> list[str]:
    path = path or (DEFAULT_QUESTIONS if DEFAULT_QUESTIONS.exists() else None)
    if path is None:
        return FALLBACK_QUESTIONS
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def open_kb(settings: Settings) -> KnowledgeBase:
    settings.ensure_dirs()
    engine = make_engine(settings.db_url)
    migrate(engine)
    kb = KnowledgeBase(settings, session_factory(engine))
    kb.open()
    return kb


def warm_latency(kb: KnowledgeBase, questions: list[str], rounds: int = 3) -> tuple[list[float], list[float]]:
    kb.answer(questions[0])
    search_ms, answer_ms = [], []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            kb.search(q, k=10)
            search_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            kb.answer(q)
            answer_ms.append((time.perf_counter() - t) * 1000)
    return search_ms, answer_ms


def cold_start(data_dir: Path) -> float:
    """Seconds from a fresh process to its first answer, with cached model and indexes."""
    code = ("import time; t=time.perf_counter(); from bot.runtime import Runtime; "
            "a=Runtime().knowledge.answer('动火作业现场要安排专人管理吗'); print(time.perf_counter()-t)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"SAFETYBOT_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    wall = time.perf_counter() - start
    print(f"  in-process (imports + load + answer): {float(out.stdout.strip().splitlines()[-1]):.2f} s")
    return wall


def bench_bundled(args: argparse.Namespace) -> None:
    data_dir = args.data_dir or ROOT / "bench" / "out" / "bundled"
    settings = Settings(data_dir=data_dir, _env_file=None)
    fresh = not (settings.index_dir / "meta.json").exists()
    t = time.perf_counter()
    kb = open_kb(settings)
    opened = time.perf_counter() - t
    n = len(kb.store.keyword)
    if fresh:
        print(f"first run: loaded and indexed {n} passages in {opened:.1f} s = {n / opened:.1f} passages/s "
              "(includes model conversion)")
    else:
        print(f"opened with cached indexes in {opened:.2f} s ({n} passages)")
    questions = load_questions(args.questions)
    search_ms, answer_ms = warm_latency(kb, questions)
    print(f"warm search  ({len(search_ms)} queries): p50 {percentile(search_ms, 50):.1f} ms  "
          f"p95 {percentile(search_ms, 95):.1f} ms")
    print(f"warm answer  ({len(answer_ms)} queries): p50 {percentile(answer_ms, 50):.1f} ms  "
          f"p95 {percentile(answer_ms, 95):.1f} ms")
    print(f"peak RSS of this process: {rss_mb():.0f} MB")
    print(f"cold start to first answer (cached model and indexes): {cold_start(data_dir):.2f} s wall")
    if args.ingest:
        bench_ingest(settings)


def bench_ingest(settings: Settings) -> None:
    """Embedding-bound throughput: a fresh database and cache, the bundled laws loaded from scratch."""
    target = settings.data_dir.parent / "ingest"
    if target.exists():
        import shutil

        shutil.rmtree(target)
    fresh = Settings(data_dir=target, model_dir=settings.models_dir, _env_file=None)
    t = time.perf_counter()
    kb = open_kb(fresh)
    elapsed = time.perf_counter() - t
    n = len(kb.store.keyword)
    print(f"ingest from scratch: {n} passages in {elapsed:.1f} s = {n / elapsed:.1f} passages/s")
    t = time.perf_counter()
    kb.store.sync(kb.sessions)
    (fresh.index_dir / "meta.json").unlink()
    again = open_kb(fresh)
    print(f"re-index the same passages from the embedding cache: {time.perf_counter() - t:.1f} s "
          f"({len(again.store.keyword)} passages, nothing re-embedded)")


def bench_synthetic(args: argparse.Namespace) -> None:
    from sqlalchemy import insert

    from index.index_store import insert_ignoring_duplicates
    from knowledge.models import Document, Passage

    data_dir = args.data_dir or ROOT / "bench" / "out" / f"synthetic-{args.synthetic}"
    base = Settings(data_dir=ROOT / "bench" / "out" / "bundled", _env_file=None)
    source = open_kb(base)  # real passages and their real vectors
    settings = Settings(data_dir=data_dir, model_dir=base.models_dir, load_bundled=False, _env_file=None)
    settings.ensure_dirs()
    engine = make_engine(settings.db_url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions() as s:
        have = s.query(Passage).count()
    if have < args.synthetic:
        print(f"building {args.synthetic} synthetic passages ...")
        with source.sessions() as s:
            rows = s.query(Passage.id, Passage.text, Passage.norm_text).filter(Passage.garbled.is_(False)).all()
        ids = [r.id for r in rows]
        vec_by_id = {}
        for pid, text in ((r.id, r.norm_text) for r in rows):
            vecs, _ = source.store.embed_cached(windows_of(text)[:1], source.sessions)
            vec_by_id[pid] = vecs[0]
        rng = random.Random(7)
        sentences = [s for r in rows for s in r.norm_text.split("。") if len(s) > 8]
        with sessions() as s, s.begin():
            per_doc = 1000
            cache_rows = []
            for d in range(args.synthetic // per_doc):
                doc = Document(title=f"合成文件{d:04d}", kind="policy", source_name="synthetic", content_hash=str(d))
                s.add(doc)
                s.flush()
                passages = []
                for i in range(per_doc):
                    src = rows[rng.randrange(len(rows))]
                    text = src.norm_text[:120] + "。" + "。".join(rng.sample(sentences, 2)) + "。"
                    passages.append({"document_id": doc.id, "ordinal": i, "path": "", "article": None,
                                     "article_no": None, "article_sub": 0, "text": text, "norm_text": text,
                                     "content_hash": hashlib.sha256(text.encode()).hexdigest(), "garbled": False})
                    noise = np.random.default_rng(d * per_doc + i).normal(0, 0.02, 384).astype(np.float32)
                    vec = vec_by_id[src.id] + noise
                    vec /= np.linalg.norm(vec)
                    for window in windows_of(text):
                        cache_rows.append({"content_hash": text_hash(window), "model_id": source.embedder.model_id,
                                           "dim": 384, "vector": vec.tobytes()})
                s.execute(insert(Passage), passages)
            insert_ignoring_duplicates(s, cache_rows)
        del ids
    t = time.perf_counter()
    kb = KnowledgeBase(settings, sessions, embedder=source.embedder)
    kb.open()
    print(f"opened/indexed {len(kb.store.keyword)} passages in {time.perf_counter() - t:.1f} s")
    questions = load_questions(args.questions)
    search_ms, answer_ms = warm_latency(kb, questions, rounds=2)
    print(f"synthetic {len(kb.store.keyword)} passages: warm search p50 {percentile(search_ms, 50):.1f} ms  "
          f"p95 {percentile(search_ms, 95):.1f} ms;  answer p50 {percentile(answer_ms, 50):.1f} ms  "
          f"p95 {percentile(answer_ms, 95):.1f} ms")
    print(f"peak RSS of this process: {rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--synthetic", type=int, default=0, help="passages in a synthetic corpus")
    parser.add_argument("--ingest", action="store_true", help="also measure ingest throughput from scratch")
    args = parser.parse_args()
    if args.synthetic:
        bench_synthetic(args)
    else:
        bench_bundled(args)


if __name__ == "__main__":
    main()
