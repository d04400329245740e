"""Encoding with an exported model on ONNX Runtime and the ``tokenizers`` library: no torch.

The export folder (see :mod:`index.onnx_export`) holds ``model.onnx``, the tokenizer the
sentence-transformers model used (``tokenizer.json``) and ``encoder.json``, which records how the
sentence-transformers pipeline around the transformer works (prompts, truncation length, pooling),
so this module reproduces ``SentenceTransformer.encode(..., normalize_embeddings=True)``.
Texts are tokenized by :class:`index.tokenizer_subset.SubsetTokenizer`, which loads in half the
time and gives the same ids.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.tokenizer_subset import SubsetTokenizer

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
POOLING_MODES = ("mean", "cls")


@dataclass(frozen=True)
class EncoderConfig:
    """What ``encoder.json`` records about the sentence-transformers pipeline."""

    dim: int
    max_seq_length: int
    pooling: str  # one of POOLING_MODES
    input_names: list[str]
    pad_id: int
    do_lower_case: bool = False
    prompts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> EncoderConfig:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def read_config(folder: Path) -> dict:
    return json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))


class OnnxEncoder:
    """One exported model in an ONNX Runtime session; thread-safe (ORT sessions are)."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.config = EncoderConfig.from_json(read_config(self.folder))
        self._threads = threads or os.cpu_count() or 1
        self._counting_tokenizer = None  # untruncated; built on first use (ingest only)
        # Loading takes a few seconds (mostly reading the 470 MB graph, with the GIL released);
        # start-up goes on meanwhile (indexes, jieba, database) and the first encode waits for it.
        self._loaded: tuple | None = None
        self._load_error: BaseException | None = None
        self._loader = threading.Thread(target=self._load, name="onnx-model-load", daemon=True)
        self._loader.start()

    def _load(self) -> None:
        try:
            import onnxruntime as ort

            tokenizer = SubsetTokenizer(self.folder / TOKENIZER_FILE, self.config.max_seq_length)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            # Idle workers spinning for the next op steal the CPU that search, other requests and
            # other processes need on a small shared machine.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(str(self.folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
            self._loaded = (tokenizer, session)
        except BaseException as exc:  # re-raised in the caller's thread at first use
            self._load_error = exc

    def _ready(self) -> tuple:
        if self._loaded is None:
            self._loader.join()
            if self._load_error is not None:
                raise self._load_error
        assert self._loaded is not None
        return self._loaded

    @property
    def _tokenizer(self) -> SubsetTokenizer:
        return self._ready()[0]

    @property
    def dim(self) -> int:
        return self.config.dim

    @property
    def max_tokens(self) -> int:
        return self.config.max_seq_length

    def prompt(self, name: str) -> str:
        return self.config.prompts.get(name, "")

    def _texts(self, texts: list[str], prompt: str) -> list[str]:
        texts = [prompt + t for t in texts]
        return [t.lower() for t in texts] if self.config.do_lower_case else texts

    def encode(self, texts: list[str], prompt: str = "", batch_size: int = 32) -> np.ndarray:
        """(n, dim) float32, L2-normalised, in the order of ``texts``."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(self._texts(list(texts), prompt))
        # Longest first, as sentence-transformers does, so each batch pads little.
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            out[chunk] = self._run([encodings[i] for i in chunk])
        return out

    def _run(self, encodings: list[list[int]]) -> np.ndarray:
        width = max(len(e) for e in encodings)
        ids = np.full((len(encodings), width), self.config.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding)] = encoding
            mask[row, :len(encoding)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._ready()[1].run(None, {name: feed[name] for name in self.config.input_names})[0]
        if self.config.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)

    def count_tokens(self, text: str, prompt: str = "") -> int:
        if self._counting_tokenizer is None:
            self._counting_tokenizer = SubsetTokenizer(self.folder / TOKENIZER_FILE, truncation=None)
        return len(self._counting_tokenizer.encode_batch(self._texts([text], prompt))[0])
