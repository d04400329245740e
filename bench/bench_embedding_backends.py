"""The embedding backends side by side in one run: ONNX Runtime (the default) and torch.

    python bench/bench_embedding_backends.py --onnx-data DIR --torch-data DIR [--model-dir DIR]
                                             [--rounds 2] [--ingest N] [--questions FILE.jsonl] [--limit N]

Each data dir is a ready instance (bundled laws indexed) whose index was built with that backend
(a copy of a torch-built data dir is re-indexed with ONNX vectors on its first ONNX open). Rounds
alternate between the backends so both see the same machine load. Prints, per backend:

- question encode (one question per call, as an idle bot does) p50/p95, wall and CPU time;
- warm answer p50/p95 (KnowledgeBase.answer: search, fusion, excerpts, citations), after the
  passages were prepared for quoting as the bot does at start (``KnowledgeBase.prepare``);
- cold ``safetybot ask`` wall time with cached model and indexes (a new process each time), and
  whether torch was imported by it;
- RSS of a process that has loaded the knowledge base and answered;
- with ``--ingest N``: end-to-end indexing of N bundled passages from an empty embedding cache.

Targets (issue 14): encode p50 <= 10 ms; answer p50 <= 15 ms, p95 <= 30 ms; cold ask <= 3 s.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_retrieval import load_questions, open_kb  # noqa: E402
from knowledge.config import Settings  # noqa: E402

BACKENDS = ("onnx", "torch")
COLD_QUESTION = "动火作业现场要安排专人管理吗"


def p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure_in_child(backend: str, data_dir: Path, model_dir: Path | None, questions: list[str]) -> dict:
    """Encode and answer latencies plus RSS, in a fresh process per backend (RSS is per process)."""
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
from bench.bench_retrieval import open_kb
from knowledge.config import Settings
questions = json.loads(sys.stdin.read())
kb = open_kb(Settings(data_dir={str(data_dir)!r}, embedding_backend={backend!r},
                      **({{"model_dir": {str(model_dir)!r}}} if {model_dir is not None} else {{}}), _env_file=None))
embedder = kb.embedder
kb.prepare()  # as the bot does in the background at start
for q in questions[:5]:
    embedder.encode_queries([q]); kb.answer(q)
encode, answer, encode_cpu, answer_cpu = [], [], [], []
for q in questions:
    c = time.process_time(); t = time.perf_counter(); embedder.encode_queries([q])
    encode.append((time.perf_counter() - t) * 1000); encode_cpu.append((time.process_time() - c) * 1000)
    c = time.process_time(); t = time.perf_counter(); kb.answer(q)
    answer.append((time.perf_counter() - t) * 1000); answer_cpu.append((time.process_time() - c) * 1000)
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(json.dumps({{"model_id": embedder.model_id, "encode": encode, "answer": answer,
                  "encode_cpu": encode_cpu, "answer_cpu": answer_cpu,
                  "rss_mb": int(status["VmRSS"].split()[0]) / 1024, "torch": "torch" in sys.modules}}))
"""
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(questions), capture_output=True,
                         text=True, check=True, cwd=ROOT, env=_env(backend, data_dir, model_dir))
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env(backend: str, data_dir: Path, model_dir: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYBOT_")}
    env.update(SAFETYBOT_DATA_DIR=str(data_dir), SAFETYBOT_EMBEDDING_BACKEND=backend,
               PYTHONPATH=os.pathsep.join(x for x in (str(ROOT), env.get("PYTHONPATH")) if x))
    if model_dir is not None:
        env["SAFETYBOT_MODEL_DIR"] = str(model_dir)
    return env


def cold_ask(backend: str, data_dir: Path, model_dir: Path | None) -> tuple[float, bool]:
    """Wall seconds of ``safetybot ask`` in a new process, and whether it imported torch."""
    probe = ("import sys, atexit; atexit.register(lambda: sys.stderr.write(f\"TORCH={'torch' in sys.modules}\\n\"));"
             f"from bot.cli import main; main(['ask', {COLD_QUESTION!r}])")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                         env=_env(backend, data_dir, model_dir))
    wall = time.perf_counter() - started
    if "TORCH=" not in out.stderr:
        raise RuntimeError(out.stderr[-2000:])
    return wall, "TORCH=True" in out.stderr


def ingest(backend: str, source: Path, model_dir: Path, passages: int) -> float:
    """Passages/s indexing ``passages`` bundled passages end to end (windows, BM25, embedding, cache
    writes) into a copy of ``source`` whose embedding cache and indexes were emptied."""
    from sqlalchemy import delete, select

    from knowledge.models import EmbeddingCache, Passage

    with tempfile.TemporaryDirectory(prefix=f"ingest-{backend}-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(source, data, ignore=shutil.ignore_patterns("models", "index"))
        settings = Settings(data_dir=data, model_dir=model_dir, embedding_backend=backend, _env_file=None)
        kb = open_kb(settings)  # builds indexes from the cache: not timed
        with kb.sessions() as session, session.begin():
            session.execute(delete(EmbeddingCache))
        with kb.sessions() as session:
            ids = list(session.scalars(select(Passage.id).where(Passage.garbled.is_(False)).order_by(Passage.id)))
        chunk = ids[:passages]
        kb.store.remove(chunk)
        started = time.perf_counter()
        kb.store.add_ids(kb.sessions, chunk)
        return len(chunk) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx-data", type=Path, required=True)
    parser.add_argument("--torch-data", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, help="shared SAFETYBOT_MODEL_DIR (default: each data dir's own)")
    parser.add_argument("--questions", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N questions")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ingest", type=int, default=0, help="passages to index end to end per backend")
    args = parser.parse_args()
    data = {"onnx": args.onnx_data, "torch": args.torch_data}
    questions = load_questions(args.questions)
    questions = questions[: args.limit] if args.limit else questions
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores, shared)")

    results: dict[str, dict[str, list]] = {b: {"encode": [], "answer": [], "encode_cpu": [], "answer_cpu": [],
                                               "cold": [], "rss": [], "ingest": []}
                                           for b in BACKENDS}
    for round_no in range(args.rounds):
        for backend in BACKENDS if round_no % 2 == 0 else BACKENDS[::-1]:
            r = results[backend]
            m = measure_in_child(backend, data[backend], args.model_dir, questions)
            if not m["model_id"].endswith(":onnx") == (backend == "onnx"):
                raise SystemExit(f"{backend}: model_id {m['model_id']} does not match the backend")
            r["encode"] += m["encode"]
            r["answer"] += m["answer"]
            r["encode_cpu"] += m["encode_cpu"]
            r["answer_cpu"] += m["answer_cpu"]
            r["rss"].append(m["rss_mb"])
            r.setdefault("torch_in_answer_process", []).append(m["torch"])
            wall, torch_imported = cold_ask(backend, data[backend], args.model_dir)
            r["cold"].append(wall)
            r.setdefault("torch_in_cold_ask", []).append(torch_imported)
            if args.ingest:
                model_dir = args.model_dir or data[backend] / "models"
                r["ingest"].append(ingest(backend, data[backend], model_dir, args.ingest))
            print(f"round {round_no + 1} {backend}: encode p50 {p(m['encode'], 50):.1f} ms, answer p50 "
                  f"{p(m['answer'], 50):.1f} ms, cold ask {wall:.2f} s", flush=True)

    print(f"\n{len(questions)} questions x {args.rounds} rounds per backend; load average now "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'':28}{'onnx':>18}{'torch':>18}   target (onnx)")
    rows = [
        ("question encode p50 ms", lambda r: p(r["encode"], 50), "<= 10"),
        ("question encode p95 ms", lambda r: p(r["encode"], 95), ""),
        ("warm answer p50 ms", lambda r: p(r["answer"], 50), "<= 15"),
        ("warm answer p95 ms", lambda r: p(r["answer"], 95), "<= 30"),
        # CPU time (all threads) hardly depends on how busy the shared machine is; wall time does.
        ("encode CPU ms p50", lambda r: p(r["encode_cpu"], 50), ""),
        ("answer CPU ms p50", lambda r: p(r["answer_cpu"], 50), ""),
        ("answer CPU ms p95", lambda r: p(r["answer_cpu"], 95), ""),
        ("cold safetybot ask s (min)", lambda r: min(r["cold"]), "<= 3"),
        ("cold safetybot ask s (max)", lambda r: max(r["cold"]), ""),
        ("answering process RSS MB", lambda r: max(r["rss"]), "<= 1024 (bot)"),
    ]
    if args.ingest:
        rows.append((f"ingest {args.ingest} passages/s", lambda r: float(np.median(r["ingest"])), ">= 26"))
    for name, fn, target in rows:
        print(f"{name:28}{fn(results['onnx']):>18.2f}{fn(results['torch']):>18.2f}   {target}")
    for backend in BACKENDS:
        print(f"{backend}: torch imported by answering process {set(results[backend]['torch_in_answer_process'])}, "
              f"by cold ask {set(results[backend]['torch_in_cold_ask'])}")
    print(f"peak RSS of this driver: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
