"""Encoding concurrent questions together.

Questions arrive from several worker threads at once (a bot in busy group chats). Encoding them
one by one makes each wait for all the others; the model encodes a batch of 20 short questions in
about a third of the time of 20 single calls. ``QueryBatcher`` lets the first caller encode, and
everyone who arrives meanwhile is encoded together in the next batch. An idle system adds no delay.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

MAX_BATCH = 32


@dataclass
class _Request:
    text: str
    done: threading.Event = field(default_factory=threading.Event)
    vector: np.ndarray | None = None
    error: BaseException | None = None
    lead: bool = False  # this caller's thread runs the next batch


class QueryBatcher:
    def __init__(self, encode: Callable[[Sequence[str]], np.ndarray], max_batch: int = MAX_BATCH) -> None:
        self._encode = encode
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._busy = False

    def encode(self, text: str) -> np.ndarray:
        request = _Request(text)
        with self._lock:
            self._queue.append(request)
            if not self._busy:
                self._busy = request.lead = True
        if not request.lead:
            request.done.wait()
        if request.lead and request.vector is None and request.error is None:
            self._run_batch()
        if request.error is not None:
            raise request.error
        assert request.vector is not None
        return request.vector

    def _run_batch(self) -> None:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            vectors = self._encode([r.text for r in batch])
            for request, vector in zip(batch, vectors, strict=True):
                request.vector = vector
        except BaseException as exc:  # every waiter must wake up, with the error
            for request in batch:
                request.error = exc
        with self._lock:
            successor = self._queue[0] if self._queue else None
            if successor is not None:
                successor.lead = True  # hand over; _busy stays set
            else:
                self._busy = False
        for request in batch:
            request.done.set()
        if successor is not None:
            successor.done.set()
