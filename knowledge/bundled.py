"""The bundled statutory corpus (``knowledge/corpus/laws/``) and whether a data dir holds it.

A digest of the corpus files is written to the data dir once they are loaded, so a front end can
tell without opening the indexes (and loading the model) whether the first-run load is done.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus" / "laws"
MARKER = "bundled.sha256"


def corpus_digest(directory: Path = CORPUS_DIR) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.glob("*.md")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def is_loaded(data_dir: Path, digest: str | None = None) -> bool:
    """Whether ``data_dir`` holds the current bundled corpus."""
    marker = data_dir / MARKER
    return marker.exists() and marker.read_text().strip() == (digest or corpus_digest())


def mark_loaded(data_dir: Path, digest: str) -> None:
    (data_dir / MARKER).write_text(digest)
