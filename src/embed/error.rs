//! Errors of the embedding layer.

use std::path::PathBuf;

/// Everything that can go wrong while loading a model or embedding text.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The caller gave text that cannot be embedded (empty, whitespace only, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A model file is missing from a local model directory.
    #[error("model directory {dir} has no {what}; expected config.json, tokenizer.json and model.safetensors or model.gguf")]
    MissingFile {
        /// The directory searched.
        dir: PathBuf,
        /// What was not found there.
        what: String,
    },
    /// A Hugging Face repo could not be resolved (offline and not cached, or download failed).
    #[error("cannot get model '{repo}' from the Hugging Face hub: {reason}")]
    Hub {
        /// The repo id asked for.
        repo: String,
        /// Why it failed, with what to do about it.
        reason: String,
    },
    /// A model file exists but could not be read or understood.
    #[error("cannot load model from {path}: {reason}")]
    Load {
        /// The file at fault.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The tokenizer failed.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// The work was stopped because nobody waits for it any more (its callers have gone).
    #[error("embedding stopped: its callers have gone")]
    Cancelled,
    /// The forward pass failed (a bug or an exhausted resource, not bad input).
    #[error("model inference failed: {0}")]
    Inference(#[from] candle_core::Error),
}
