//! Sentence embeddings with a BERT encoder (default: multilingual-e5-small) on CPU.
//!
//! Texts are tokenised with the model's own `tokenizer.json`, prefixed with the E5
//! `query: ` / `passage: ` marker, split into windows of at most 510 content tokens
//! (longer texts are never truncated), batched by length under a token budget, run
//! through candle's BERT, mean-pooled over the attention mask and L2-normalised. A text
//! of several windows gets the token-weighted mean of its windows, i.e. mean pooling over
//! the whole text.

mod activation;
mod attention;
#[cfg(target_arch = "x86_64")]
mod attention_avx512;
mod batch;
mod error;
mod fair;
pub mod int8;
pub mod qbert;
pub mod queue;
mod queue_types;
pub mod share;
pub mod source;
pub mod text_embedder;
pub mod text_tokenizer;
pub mod unigram;
mod weights;

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::{BertModel, Config as BertConfig};

pub use batch::{plan_batches, windows, Window};
pub use error::EmbedError;
pub use queue::{EmbedQueue, Foreground, QueueError, QueueOptions, QueueStats};
pub use share::{with_share, ClientShare};
pub use source::{ModelFiles, WeightFile};
pub use text_embedder::{EmbedFuture, FakeEmbedder, TextEmbedder};
pub use text_tokenizer::TextTokenizer;

/// The model directory shipped in the repository, used when no model is given.
pub const DEFAULT_MODEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/multilingual-e5-small");

/// Which E5 prefix a text gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// A search query: prefixed with `query: `.
    Query,
    /// A document passage: prefixed with `passage: `.
    Passage,
}

impl Mode {
    /// The prefix the E5 models were trained with.
    pub fn prefix(self) -> &'static str {
        match self {
            Mode::Query => "query: ",
            Mode::Passage => "passage: ",
        }
    }
}

/// Settings of the embedder.
#[derive(Debug, Clone)]
pub struct EmbedderConfig {
    /// A local model directory or a Hugging Face repo id. Default: the shipped model.
    pub model: String,
    /// Worker threads for inference; 0 means all cores.
    pub threads: usize,
    /// Upper bound of padded tokens (longest window × windows) in one forward pass.
    pub max_batch_tokens: usize,
    /// Run GGUF weights dequantised to f32 through candle-transformers' `BertModel`
    /// instead of the quantised encoder ([`qbert::QuantBert`]). Slower and ~420 MB
    /// larger; kept for comparison and as a fallback. Safetensors weights always run f32.
    pub dequantize: bool,
}

impl Default for EmbedderConfig {
    fn default() -> Self {
        Self { model: DEFAULT_MODEL_DIR.to_string(), threads: 0, max_batch_tokens: 8192, dequantize: false }
    }
}

/// One embedded text.
#[derive(Debug, Clone)]
pub struct Embedding {
    /// Unit-length vector.
    pub vector: Vec<f32>,
    /// Tokens fed to the model for this text, special tokens of every window included.
    pub tokens: usize,
    /// Milliseconds the request waited in the embedding queue before its model call started
    /// (0 when embedded directly, without the queue).
    pub queue_ms: f64,
}

/// Two embeddings are equal when their vectors and token counts are: `queue_ms` is a timing of
/// the request, not part of the result.
impl PartialEq for Embedding {
    fn eq(&self, other: &Self) -> bool {
        self.vector == other.vector && self.tokens == other.tokens
    }
}

/// Texts tokenised and split into model windows ([`Embedder::prepare`]), waiting for
/// [`Embedder::embed_prepared`].
#[derive(Debug, Clone)]
pub struct Prepared {
    windows: Vec<Window>,
    texts: usize,
}

impl Prepared {
    /// Number of texts.
    pub fn texts(&self) -> usize {
        self.texts
    }

    /// Tokens the model will be fed (special tokens of every window included).
    pub fn tokens(&self) -> usize {
        self.windows.iter().map(|w| w.ids.len()).sum()
    }
}

/// The encoder that turns token ids into hidden states.
enum Encoder {
    /// f32 weights through candle-transformers' BERT.
    Dense(BertModel),
    /// GGUF quantised weights through [`qbert::QuantBert`].
    Quantized(qbert::QuantBert),
}

/// A loaded model, ready to embed. Cheap to share behind an `Arc`; `embed` takes `&self`.
pub struct Embedder {
    model: Encoder,
    tokenizer: TextTokenizer,
    device: Device,
    pool: Arc<rayon::ThreadPool>,
    name: String,
    dim: usize,
    max_content: usize,
    bos: u32,
    eos: u32,
    pad: u32,
    max_batch_tokens: usize,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("name", &self.name).field("dim", &self.dim).finish()
    }
}

impl Embedder {
    /// Loads the model named by `config.model` (directory or hub repo id).
    pub fn load(config: &EmbedderConfig) -> Result<Self, EmbedError> {
        let files = source::resolve(&config.model)?;
        Self::from_files(&files, config)
    }

    /// Loads a model from resolved files.
    pub fn from_files(files: &ModelFiles, config: &EmbedderConfig) -> Result<Self, EmbedError> {
        let device = Device::Cpu;
        let load_err =
            |path: &std::path::Path, e: &dyn std::fmt::Display| EmbedError::Load { path: path.to_path_buf(), reason: e.to_string() };
        let cfg_text = std::fs::read_to_string(&files.config).map_err(|e| load_err(&files.config, &e))?;
        let bert_cfg: BertConfig = serde_json::from_str(&cfg_text).map_err(|e| load_err(&files.config, &e))?;
        let raw_cfg: serde_json::Value = serde_json::from_str(&cfg_text).map_err(|e| load_err(&files.config, &e))?;
        let dim = raw_cfg["hidden_size"].as_u64().unwrap_or(0) as usize;
        let max_positions = raw_cfg["max_position_embeddings"].as_u64().unwrap_or(512) as usize;
        if dim == 0 {
            return Err(load_err(&files.config, &"hidden_size missing"));
        }

        let tokenizer = TextTokenizer::from_file(&files.tokenizer).map_err(|e| load_err(&files.tokenizer, &e))?;
        let special = |names: &[&str]| names.iter().find_map(|n| tokenizer.token_to_id(n));
        let bos = special(&["<s>", "[CLS]"]).ok_or_else(|| load_err(&files.tokenizer, &"no <s>/[CLS] token"))?;
        let eos = special(&["</s>", "[SEP]"]).ok_or_else(|| load_err(&files.tokenizer, &"no </s>/[SEP] token"))?;
        let pad = special(&["<pad>", "[PAD]"]).unwrap_or(0);

        let model = match &files.weights {
            WeightFile::Gguf(path) if !config.dequantize => Encoder::Quantized(qbert::QuantBert::load(path)?),
            weights_file => {
                let vb = weights::var_builder(weights_file, &device)?;
                Encoder::Dense(BertModel::load(vb, &bert_cfg).map_err(|e| {
                    let path = match weights_file {
                        WeightFile::Gguf(p) => p.clone(),
                        WeightFile::Safetensors(p) => p.first().cloned().unwrap_or_default(),
                    };
                    load_err(&path, &e)
                })?)
            }
        };

        let threads = if config.threads == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { config.threads };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("simtheme-embed-{i}"))
            .build()
            .map_err(|e| EmbedError::Load { path: files.config.clone(), reason: e.to_string() })?;

        Ok(Self {
            model,
            tokenizer,
            device,
            pool: Arc::new(pool),
            name: files.name.clone(),
            dim,
            max_content: max_positions.saturating_sub(2).max(1),
            bos,
            eos,
            pad,
            max_batch_tokens: config.max_batch_tokens.max(max_positions),
        })
    }

    /// Model name (directory name or repo id).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Content tokens per window (max positions minus the two special tokens).
    pub fn max_window_content(&self) -> usize {
        self.max_content
    }

    /// Threads used for inference.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Content token ids of `prefix + text` (no special tokens, no truncation).
    pub fn content_ids(&self, text: &str, mode: Mode) -> Result<Vec<u32>, EmbedError> {
        let full = format!("{}{}", mode.prefix(), text);
        self.tokenizer.encode_ids(&full).map_err(EmbedError::Tokenizer)
    }

    /// Number of tokens the model is fed for `text` (special tokens of every window included).
    pub fn count_tokens(&self, text: &str, mode: Mode) -> Result<usize, EmbedError> {
        let n = self.content_ids(text, mode)?.len();
        let windows = n.div_ceil(self.max_content).max(1);
        Ok(n + 2 * windows)
    }

    /// Embeds texts; the output is in input order. Empty or whitespace-only text is an error.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S], mode: Mode) -> Result<Vec<Embedding>, EmbedError> {
        let prepared = self.prepare(texts, mode)?;
        Ok(self.embed_prepared(&[&prepared])?.remove(0))
    }

    /// Tokenises texts (with the `mode` prefix) and splits them into model windows, without
    /// running the model. Empty or whitespace-only text is an error naming its position.
    pub fn prepare<S: AsRef<str>>(&self, texts: &[S], mode: Mode) -> Result<Prepared, EmbedError> {
        let mut windows_out = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let text = text.as_ref();
            if text.trim().is_empty() {
                return Err(EmbedError::InvalidInput(format!("text #{i} is empty or whitespace only")));
            }
            let ids = self.content_ids(text, mode)?;
            windows_out.extend(windows(i, &ids, self.max_content, self.bos, self.eos));
        }
        Ok(Prepared { windows: windows_out, texts: texts.len() })
    }

    /// Embeds several prepared requests with one batching plan (windows of all of them are
    /// grouped by length into forward passes together); one output list per request, in
    /// order. A text's vector does not depend on what it is batched with.
    pub fn embed_prepared(&self, requests: &[&Prepared]) -> Result<Vec<Vec<Embedding>>, EmbedError> {
        self.embed_prepared_while(requests, &|| true)
    }

    /// [`Embedder::embed_prepared`] that stops with [`EmbedError::Cancelled`] at the first
    /// layer boundary (or batch) where `go_on` says false.
    pub fn embed_prepared_while(
        &self,
        requests: &[&Prepared],
        go_on: &(dyn Fn() -> bool + Sync),
    ) -> Result<Vec<Vec<Embedding>>, EmbedError> {
        let rows: Vec<&[u32]> = requests.iter().flat_map(|p| p.windows.iter().map(|w| w.ids.as_slice())).collect();
        let mut means = self.means_on(&self.pool, &rows, go_on)?.into_iter();
        Ok(requests.iter().map(|p| self.combine(p, &mut means)).collect())
    }

    /// The embeddings of a prepared request from the mean-pooled hidden states of its
    /// windows (taken from `means` in window order): token-weighted mean per text, L2-normalised.
    pub(crate) fn combine(&self, p: &Prepared, means: &mut impl Iterator<Item = Vec<f32>>) -> Vec<Embedding> {
        let mut sums = vec![vec![0f32; self.dim]; p.texts];
        let mut weights = vec![0f32; p.texts];
        let mut tokens = vec![0usize; p.texts];
        for w in &p.windows {
            let mean = means.next().expect("one mean per window");
            for (s, m) in sums[w.text].iter_mut().zip(&mean) {
                *s += w.weight * m;
            }
            weights[w.text] += w.weight;
            tokens[w.text] += w.ids.len();
        }
        sums.into_iter()
            .zip(weights)
            .zip(tokens)
            .map(|((mut v, wsum), tokens)| {
                if wsum > 0.0 {
                    v.iter_mut().for_each(|x| *x /= wsum);
                }
                normalize(&mut v);
                Embedding { vector: v, tokens, queue_ms: 0.0 }
            })
            .collect()
    }

    /// Mean-pooled (not normalised) last hidden states of each window, in input order.
    /// Windows longer than the model's positions are an error.
    pub fn window_means(&self, windows: &[Window]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let rows: Vec<&[u32]> = windows.iter().map(|w| w.ids.as_slice()).collect();
        self.means_of(&rows)
    }

    /// Mean-pooled hidden states of token rows (special tokens included), in input order,
    /// batched by length under the token budget on the inference pool.
    fn means_of(&self, rows: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.means_on(&self.pool, rows, &|| true)
    }

    /// [`Embedder::means_of`] on another thread pool (the queue's bulk lane has its own),
    /// calling `between_layers` after each layer of the quantised encoder (and before each
    /// batch); when it says false, the work stops there with [`EmbedError::Cancelled`].
    pub(crate) fn means_on(
        &self,
        pool: &rayon::ThreadPool,
        rows: &[&[u32]],
        between_layers: &(dyn Fn() -> bool + Sync),
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        if let Some(r) = rows.iter().find(|r| r.len() > self.max_content + 2) {
            return Err(EmbedError::InvalidInput(format!(
                "window of {} tokens exceeds the model's {} positions",
                r.len(),
                self.max_content + 2
            )));
        }
        let lens: Vec<usize> = rows.iter().map(|r| r.len()).collect();
        let mut out = vec![Vec::new(); rows.len()];
        pool.install(|| -> Result<(), EmbedError> {
            for batch in plan_batches(&lens, self.max_batch_tokens) {
                if !between_layers() {
                    return Err(EmbedError::Cancelled);
                }
                let batch_rows: Vec<&[u32]> = batch.iter().map(|&i| rows[i]).collect();
                let means = self.forward_padded(&batch_rows, between_layers)?;
                for (i, m) in batch.into_iter().zip(means) {
                    out[i] = m;
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn forward_padded(&self, rows: &[&[u32]], between_layers: &(dyn Fn() -> bool + Sync)) -> Result<Vec<Vec<f32>>, EmbedError> {
        let model = match &self.model {
            Encoder::Quantized(q) => return q.mean_pooled_with(rows, between_layers),
            Encoder::Dense(m) => m,
        };
        let b = rows.len();
        let t = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut ids = vec![self.pad; b * t];
        let mut mask = vec![0f32; b * t];
        for (r, row) in rows.iter().enumerate() {
            ids[r * t..r * t + row.len()].copy_from_slice(row);
            mask[r * t..r * t + row.len()].iter_mut().for_each(|m| *m = 1.0);
        }
        let ids = Tensor::from_vec(ids, (b, t), &self.device)?;
        let mask = Tensor::from_vec(mask, (b, t), &self.device)?;
        let type_ids = ids.zeros_like()?;
        let hidden = model.forward(&ids, &type_ids, Some(&mask))?; // (b, t, h)
        let summed = hidden.broadcast_mul(&mask.unsqueeze(2)?)?.sum(1)?; // (b, h)
        let counts = mask.sum_keepdim(1)?; // (b, 1)
        let means = summed.broadcast_div(&counts)?.to_dtype(DType::F32)?;
        Ok(means.to_vec2::<f32>()?)
    }
}

/// Scales `v` to unit length (left unchanged when its norm is zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
