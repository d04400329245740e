"""Concurrent questions are encoded together, each caller gets its own vector, errors reach everyone."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.query_batcher import QueryBatcher

QUESTIONS = ["动火作业谁审批", "事故多久上报", "特种设备使用登记", "有限空间作业要求", "危险化学品储存",
             "安全培训学时", "重大事故隐患判定", "消防通道堵塞", "电焊作业持证", "生产经营单位主要负责人职责"]


def test_concurrent_callers_share_batches_and_get_their_own_vectors(embedder) -> None:  # type: ignore[no-untyped-def]
    batches: list[int] = []
    started = threading.Event()

    def encode(texts: Sequence[str]) -> np.ndarray:
        batches.append(len(texts))
        started.set()
        time.sleep(0.05)  # the first batch is still running when the others arrive
        return embedder.encode_queries(list(texts))

    batcher = QueryBatcher(encode)
    with ThreadPoolExecutor(max_workers=len(QUESTIONS)) as pool:
        first = pool.submit(batcher.encode, QUESTIONS[0])
        started.wait(5)
        rest = [pool.submit(batcher.encode, q) for q in QUESTIONS[1:]]
        vectors = [first.result(10)] + [f.result(10) for f in rest]
    assert batches[0] == 1 and sum(batches) == len(QUESTIONS) and len(batches) < len(QUESTIONS)
    expected = embedder.encode_queries(QUESTIONS)
    for got, want in zip(vectors, expected, strict=True):
        assert float(np.dot(got, want)) > 0.9999  # batching does not change a question's vector


def test_an_encoding_error_reaches_every_caller_and_the_batcher_recovers(embedder) -> None:  # type: ignore[no-untyped-def]
    fail = threading.Event()
    fail.set()

    def encode(texts: Sequence[str]) -> np.ndarray:
        if fail.is_set():
            time.sleep(0.05)
            raise RuntimeError("model crashed")
        return embedder.encode_queries(list(texts))

    batcher = QueryBatcher(encode)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(batcher.encode, q) for q in QUESTIONS[:4]]
        for future in futures:
            with pytest.raises(RuntimeError, match="model crashed"):
                future.result(10)
    fail.clear()
    assert batcher.encode(QUESTIONS[0]).shape == (embedder.dim,)
