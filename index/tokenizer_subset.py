"""A tokenizer that loads a fraction of a large Unigram vocabulary and still encodes exactly.

The bundled model's tokenizer has 250,002 pieces for a hundred languages; loading them takes
about a second with the GIL held, the largest single cost of a cold ``safetybot ask``. Chinese,
ASCII and their punctuation need fewer than half of them. A Unigram tokenizer can only use
pieces that occur in the text, so for a text made of such characters, a tokenizer holding every
piece made of them segments exactly like the full one (same pieces, same scores, the same
unknown-piece penalty, which depends on the lowest score and is kept by keeping that piece).
Its ids are mapped back to the full vocabulary's. Any other text goes to the full tokenizer,
loaded when first needed.

The subset is derived from ``tokenizer.json`` once, stored beside it, and redone when the file
changes. Tokenizers that are not of this kind are used whole.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# The characters a subset covers: ASCII, Latin-1, general and CJK punctuation, CJK ideographs
# (with extension A), full-width forms, and SentencePiece's word marker.
_COVERED_RANGES = ((0x00, 0xFF), (0x2000, 0x206F), (0x2581, 0x2581), (0x3000, 0x303F), (0x3400, 0x4DBF),
                   (0x4E00, 0x9FFF), (0xFF00, 0xFFEF))
_UNCOVERED = re.compile("[^" + "".join(f"\\U{lo:08X}-\\U{hi:08X}" for lo, hi in _COVERED_RANGES) + "]")
SUBSET_REVISION = 1
_CHECK_TEXTS = (
    "query: 动火作业谁审批？",
    "passage: 生产经营单位的主要负责人是本单位安全生产第一责任人，对本单位的安全生产工作全面负责。",
    "工廠發生火災，誰應該負責？ ＡＢＣ公司２０２４年度  Who is responsible?  é ½ 㐀 \t",
)


def _covered(piece: str) -> bool:
    return _UNCOVERED.search(piece) is None


class SubsetTokenizer:
    """``encode_batch`` like the ``tokenizers.Tokenizer`` in ``path``, as lists of ids.

    ``truncation``: the longest encoding in tokens (special tokens included), or None."""

    def __init__(self, path: Path, truncation: int | None) -> None:
        self.path = Path(path)
        self._truncation = truncation
        self._full = None
        self._full_lock = threading.Lock()
        self._subset = None
        self._to_full: np.ndarray | None = None
        try:
            loaded = _load_subset(self.path) or _build_subset(self.path)
        except (OSError, ValueError, KeyError) as exc:
            log.info("tokenizer %s used whole: %s", self.path, exc)
            loaded = None
        if loaded is not None:
            self._subset, self._to_full = self._configured(loaded[0]), loaded[1]
        else:
            self._full = self._load_full()

    def _configured(self, tokenizer):  # noqa: ANN001, ANN202 - tokenizers.Tokenizer, imported lazily
        tokenizer.no_padding()
        if self._truncation is None:
            tokenizer.no_truncation()
        else:
            tokenizer.enable_truncation(self._truncation)
        return tokenizer

    def _load_full(self):  # noqa: ANN202
        from tokenizers import Tokenizer

        return self._configured(Tokenizer.from_file(str(self.path)))

    def _full_tokenizer(self):  # noqa: ANN202
        with self._full_lock:
            if self._full is None:
                self._full = self._load_full()
            return self._full

    @property
    def uses_subset(self) -> bool:
        return self._subset is not None

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if self._subset is None:
            return [e.ids for e in self._full_tokenizer().encode_batch(list(texts))]
        normalize: Callable[[str], str] = self._subset.normalizer.normalize_str
        inside = [i for i, t in enumerate(texts) if _UNCOVERED.search(normalize(t)) is None]
        out: list[list[int]] = [[] for _ in texts]
        if inside:
            assert self._to_full is not None
            for i, encoding in zip(inside, self._subset.encode_batch([texts[i] for i in inside]), strict=True):
                out[i] = self._to_full[encoding.ids].tolist()
        if len(inside) < len(texts):
            outside = sorted(set(range(len(texts))) - set(inside))
            for i, encoding in zip(outside, self._full_tokenizer().encode_batch([texts[i] for i in outside]),
                                   strict=True):
                out[i] = encoding.ids
        return out


def _files(path: Path) -> tuple[Path, Path, Path]:
    stem = path.name.removesuffix(".json")
    return (path.with_name(f"{stem}.subset.json"), path.with_name(f"{stem}.subset-ids.npy"),
            path.with_name(f"{stem}.subset-meta.json"))


def _stamp(path: Path) -> dict:
    stat = path.stat()
    return {"revision": SUBSET_REVISION, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _temporary(path: Path) -> Path:
    """A name beside ``path`` that no other process or thread writing the same file uses."""
    return path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def _write_meta(meta_path: Path, stamp: dict) -> None:
    tmp = _temporary(meta_path)
    tmp.write_text(json.dumps(stamp), encoding="utf-8")
    os.replace(tmp, meta_path)  # a reader never sees a half-written stamp


def _load_subset(path: Path) -> tuple[object, np.ndarray] | None:
    from tokenizers import Tokenizer

    subset, ids, meta = _files(path)
    try:
        stored = json.loads(meta.read_text(encoding="utf-8"))
        current = _stamp(path)
        if any(stored.get(key) != current[key] for key in ("revision", "size")):
            return None
        if stored.get("mtime_ns") != current["mtime_ns"]:
            # A copied or restored model folder keeps the content but not the mtime (cp -r, some
            # backups): hashing the file (tens of ms) spares rebuilding the subset (seconds).
            if stored.get("sha256") != _digest(path):
                return None
            try:
                _write_meta(meta, {**current, "sha256": stored["sha256"]})
            except OSError:
                pass  # a read-only folder: the hash is compared again next time
        return Tokenizer.from_file(str(subset)), np.load(ids)
    except (OSError, ValueError):
        return None


def _build_subset(path: Path) -> tuple[object, np.ndarray] | None:
    """Derive the subset of the tokenizer in ``path`` and store it beside it; None when the
    tokenizer is not a Unigram one whose specials and lowest-scoring piece a subset can keep."""
    from tokenizers import Tokenizer

    stamp = {**_stamp(path), "sha256": _digest(path)}
    data = json.loads(path.read_text(encoding="utf-8"))
    model = data.get("model", {})
    if model.get("type") != "Unigram" or model.get("byte_fallback"):
        return None
    vocab = model["vocab"]
    specials = {t["id"] for t in data.get("added_tokens", [])}
    unk_id = model.get("unk_id")
    lowest = min(range(len(vocab)), key=lambda i: vocab[i][1])
    keep = [i for i, (piece, _) in enumerate(vocab)
            if i in specials or i == unk_id or i == lowest or _covered(piece)]
    position = {full: sub for sub, full in enumerate(keep)}
    processor = data.get("post_processor") or {}
    if processor and processor.get("type") != "TemplateProcessing":
        return None
    fixed = {i for token in processor.get("special_tokens", {}).values() for i in token["ids"]}
    if unk_id is not None:
        fixed.add(unk_id)
    if any(position.get(i) != i for i in fixed):
        return None  # the post-processor's or the unknown piece's id would change
    model["vocab"] = [vocab[i] for i in keep]
    for token in data.get("added_tokens", []):
        token["id"] = position[token["id"]]
    subset_tokenizer = Tokenizer.from_str(json.dumps(data, ensure_ascii=False))
    to_full = np.asarray(keep, dtype=np.int64)
    whole = Tokenizer.from_file(str(path))
    for text in _CHECK_TEXTS:
        if _UNCOVERED.search(whole.normalizer.normalize_str(text)) is None and \
                to_full[subset_tokenizer.encode(text).ids].tolist() != whole.encode(text).ids:
            log.warning("tokenizer %s: its subset encodes differently; using it whole", path)
            return None
    subset_path, ids_path, meta_path = _files(path)
    tmp = _temporary(subset_path)
    subset_tokenizer.save(str(tmp))
    os.replace(tmp, subset_path)
    tmp = _temporary(ids_path)
    with open(tmp, "wb") as handle:  # np.save on a path would append ".npy" to the temporary name
        np.save(handle, to_full)
    os.replace(tmp, ids_path)
    _write_meta(meta_path, stamp)  # last: a reader never takes a half-written subset for current
    log.info("tokenizer %s: subset of %d of %d pieces stored", path, len(keep), len(vocab))
    return Tokenizer.from_file(str(subset_path)), to_full
