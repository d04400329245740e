"""Export a local sentence-transformers model to ONNX once, and reuse the export.

``ensure_onnx_export`` runs in the serving process and never imports torch: when the cached
export is missing or was made from other source files, it runs ``python -m index.onnx_export``
in a child process. The child loads the model with torch, exports the transformer (legacy
TorchScript exporter, eager attention so ONNX Runtime's BERT optimizer can fuse it), applies
ONNX Runtime's transformer fusions, and accepts the result only if ``OnnxEncoder`` reproduces
``SentenceTransformer.encode`` on probe texts (same tokens, cosine >= MIN_COSINE). Running it in a
child keeps torch and the export's memory peak (about 2.5 GB) out of the serving process.

A model whose pipeline cannot be reproduced (extra modules, other pooling, ...) is recorded as
rejected with the reason, so later starts fall back to torch at once until the source changes.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Iterator

from index.onnx_encoder import CONFIG_FILE, MODEL_FILE, POOLING_MODES, TOKENIZER_FILE

# Bump when the exporter's output changes: old exports are then redone.
EXPORT_REVISION = 2
MIN_COSINE = 0.9999
FINGERPRINT_SPAN = 1 << 20
EXPORT_TIMEOUT_S = 1800
REJECTED_EXIT = 3  # the child's exit code for "this model cannot be exported" (reason in encoder.json)

log = logging.getLogger(__name__)

PROBE_TEXTS = [
    "动火作业谁审批？",
    "生产经营单位的主要负责人是本单位安全生产第一责任人，对本单位的安全生产工作全面负责。",
    "重大事故隐患排除前或者排除过程中无法保证安全的，应当从危险区域内撤出作业人员。",
    "工廠發生火災，誰應該負責？",
    "ＡＢＣ公司２０２４年度安全生产检查报告",
    "Who is responsible for workplace safety in a factory?",
    "燃气泄漏了先干啥",
    # longer than any model's window: checks truncation
    "第九十五条　生产经营单位发生生产安全事故，对负有责任的生产经营单位除要求其依法承担相应的赔偿等责任外，"
    "由应急管理部门依照下列规定处以罚款：（一）发生一般事故的，处三十万元以上一百万元以下的罚款；" * 12,
]


class OnnxUnavailable(RuntimeError):
    """The model cannot run on ONNX Runtime here; the message says why (for a log line)."""


class ExportRejected(Exception):
    """The model's pipeline cannot be reproduced by ``OnnxEncoder`` (deterministic, cached)."""


def source_fingerprint(source: Path) -> str:
    """Changes when a file of the source folder, the exporter or ONNX Runtime changes.

    Each file contributes its name, size and the hash of its first and last MiB: cheap for
    gigabyte weights, stable across copies (unlike mtimes), and any retrained or re-converted
    weights change those bytes.
    """
    digest = hashlib.sha256()
    digest.update(f"r{EXPORT_REVISION}|ort {metadata.version('onnxruntime')}".encode())
    for path in sorted(source.rglob("*")):
        if path.is_file():
            size = path.stat().st_size
            digest.update(f"|{path.relative_to(source).as_posix()}:{size}:".encode())
            with open(path, "rb") as handle:
                digest.update(handle.read(FINGERPRINT_SPAN))
                if size > FINGERPRINT_SPAN:
                    handle.seek(max(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN))
                    digest.update(handle.read())
    return digest.hexdigest()


def _current(target: Path, fingerprint: str) -> dict | None:
    try:
        config = json.loads((target / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if config.get("fingerprint") == fingerprint else None


@contextmanager
def _export_lock(models_dir: Path) -> Iterator[None]:
    """One export at a time per models dir (each peaks at several GB)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no cross-process lock
        yield
        return
    with open(models_dir / ".onnx-export.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_onnx_export(source: Path, target: Path) -> Path:
    """The ONNX export of the sentence-transformers folder ``source``, made into ``target`` if
    missing or stale. Raises ``OnnxUnavailable`` when the model cannot be exported."""
    source, target = Path(source), Path(target)
    if find_spec("onnxruntime") is None:
        raise OnnxUnavailable("onnxruntime is not installed")
    fingerprint = source_fingerprint(source)
    config = _current(target, fingerprint)
    if config is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _export_lock(target.parent):
            config = _current(target, fingerprint)  # another process may have exported meanwhile
            if config is None:
                config = _export_in_child(source, target, fingerprint)
    if config.get("rejected"):
        raise OnnxUnavailable(config["rejected"])
    return target


def _export_in_child(source: Path, target: Path, fingerprint: str) -> dict:
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        started = time.perf_counter()
        log.info("exporting %s to ONNX (first use; about a minute)", source)
        env = dict(os.environ, HF_HUB_OFFLINE="1")
        package_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        done = subprocess.run(
            [sys.executable, "-m", "index.onnx_export", str(source), str(temp), fingerprint],
            env=env, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S,
        )
        if done.returncode not in (0, REJECTED_EXIT):
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            raise OnnxUnavailable(f"ONNX export failed (exit {done.returncode}): {tail}")
        config = json.loads((temp / CONFIG_FILE).read_text(encoding="utf-8"))
        for path in (temp, *temp.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)  # mkdtemp is private; the model is not secret
        if target.exists():
            shutil.rmtree(target)
        os.rename(temp, target)
        if config.get("rejected"):
            log.info("%s cannot be exported to ONNX: %s", source, config["rejected"])
        else:
            log.info("exported %s to %s in %.1f s (min cosine to torch %.6f)", source, target,
                     time.perf_counter() - started, config["min_cosine"])
        return config
    except subprocess.TimeoutExpired as exc:
        raise OnnxUnavailable(f"ONNX export took longer than {EXPORT_TIMEOUT_S} s") from exc
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)


# ----------------------------------------------------------------------------- the child


def _pipeline_config(model) -> dict:  # noqa: ANN001 - a SentenceTransformer
    """What OnnxEncoder needs to know about ``model``, or ExportRejected if it cannot mimic it."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ExportRejected(f"pipeline {kinds} is not Transformer+Pooling(+Normalize)")
    transformer, pooling = modules[0], modules[1]
    pooling_config = pooling.get_config_dict()
    mode = pooling_config.get("pooling_mode")
    if mode not in POOLING_MODES:
        raise ExportRejected(f"pooling mode {mode!r} is not supported")
    if mode == "mean" and not pooling_config.get("include_prompt", True):
        raise ExportRejected("pooling that excludes the prompt is not supported")
    for length in (getattr(transformer, "query_length", None), getattr(transformer, "document_length", None)):
        if length not in (None, model.max_seq_length):
            raise ExportRejected("separate query/document lengths are not supported")
    tokenizer = transformer.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ExportRejected("the tokenizer is not a fast (tokenizers) tokenizer")
    inputs = [n for n in tokenizer.model_input_names if n in ("input_ids", "attention_mask", "token_type_ids")]
    if inputs[:2] != ["input_ids", "attention_mask"] or len(inputs) != len(tokenizer.model_input_names):
        raise ExportRejected(f"model inputs {tokenizer.model_input_names} are not supported")
    if tokenizer.pad_token_id is None:
        raise ExportRejected("the tokenizer has no padding token")
    return {
        "dim": int(pooling_config.get("embedding_dimension") or transformer.get_embedding_dimension()),
        "max_seq_length": int(model.max_seq_length),
        "pooling": mode,
        "input_names": inputs,
        "pad_id": int(tokenizer.pad_token_id),
        "do_lower_case": bool(getattr(transformer, "do_lower_case", False)),
        "prompts": {k: v for k, v in (model.prompts or {}).items() if isinstance(v, str)},
    }


def _export_graph(model, config: dict, path: Path) -> None:  # noqa: ANN001
    import torch

    auto_model = model[0].auto_model.eval()
    try:
        # The fusions below recognise the eager attention pattern, not SDPA's.
        auto_model.set_attn_implementation("eager")
    except Exception as exc:  # noqa: BLE001 - older transformers or models without the switch
        log.info("keeping the default attention implementation: %s", exc)
    names = config["input_names"]

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    dummy = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    with torch.inference_mode():
        torch.onnx.export(Hidden(), dummy, str(path), input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)


def _optimise(raw: Path, optimised: Path, hf_config) -> bool:  # noqa: ANN001
    """ONNX Runtime's transformer fusions (attention, layer norm, GELU); False if not applicable."""
    if hf_config.model_type not in ("bert", "xlm-roberta", "roberta"):
        return False
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(str(raw), model_type="bert", num_heads=hf_config.num_attention_heads,
                               hidden_size=hf_config.hidden_size, opt_level=0, use_gpu=False)
    optimized.save_model_to_file(str(optimised))
    return True


def _agreement(model, out: Path, config: dict) -> float:  # noqa: ANN001
    """Min cosine between OnnxEncoder and SentenceTransformer on the probes, with every prompt;
    ExportRejected if the tokenizers library tokenises differently from the model's tokenizer."""
    from index.onnx_encoder import OnnxEncoder

    encoder = OnnxEncoder(out)
    hf_tokenizer = model[0].tokenizer
    worst = 1.0
    for prompt_name in [None, *config["prompts"]]:
        prefix = config["prompts"].get(prompt_name, "") if prompt_name else ""
        texts = [prefix + t for t in PROBE_TEXTS]
        expected = hf_tokenizer(texts if not config["do_lower_case"] else [t.lower() for t in texts],
                                truncation=True, max_length=config["max_seq_length"])["input_ids"]
        got = encoder._tokenizer.encode_batch(encoder._texts(PROBE_TEXTS, prefix))
        if [list(x) for x in expected] != got:
            raise ExportRejected("the tokenizers library tokenises differently from the model's tokenizer")
        reference = model.encode(PROBE_TEXTS, prompt_name=prompt_name, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        ours = encoder.encode(PROBE_TEXTS, prefix, batch_size=3)  # several batches, uneven padding
        worst = min(worst, float((reference * ours).sum(axis=1).min()))
    return worst


def export(source: str, out: Path, fingerprint: str) -> dict:
    """Export ``source`` into the empty folder ``out``; always writes ``encoder.json``."""
    config: dict = {"fingerprint": fingerprint, "source": source, "export_revision": EXPORT_REVISION}
    try:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(source, device="cpu", local_files_only=True)
        config.update(_pipeline_config(model))
        model[0].tokenizer.backend_tokenizer.save(str(out / TOKENIZER_FILE))
        raw, optimised = out / "raw.onnx", out / "optimised.onnx"
        _export_graph(model, config, raw)
        candidates = [optimised, raw] if _optimise(raw, optimised, model[0].auto_model.config) else [raw]
        failures = []
        for candidate in candidates:
            _save_with_external_weights(candidate, out / MODEL_FILE)
            _write(out, config)
            cosine = _agreement(model, out, config)
            if cosine >= MIN_COSINE:
                config.update(min_cosine=cosine, optimised=candidate == optimised)
                break
            failures.append(f"{candidate.stem}: min cosine {cosine:.6f}")
        else:
            raise ExportRejected("ONNX output differs from torch (" + "; ".join(failures) + ")")
        raw.unlink()
        optimised.unlink(missing_ok=True)
    except ExportRejected as exc:
        config = {"fingerprint": fingerprint, "source": source, "rejected": str(exc)}
        for path in out.iterdir():
            path.unlink()
    _write(out, config)
    return config


def _save_with_external_weights(source: Path, target: Path) -> None:
    """The graph in ``target`` and its weights beside it in ``<target>.data``: ONNX Runtime then maps
    the weights from the file instead of copying them out of a parsed protobuf, which halves the
    serving process's memory (0.46 instead of 0.88 GB at peak) and loads faster."""
    import onnx

    model = onnx.load(str(source))
    onnx.save_model(model, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=target.name + ".data", size_threshold=1024)


def _write(out: Path, config: dict) -> None:
    (out / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    source, out, fingerprint = argv
    config = export(source, Path(out), fingerprint)
    return REJECTED_EXIT if config.get("rejected") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
