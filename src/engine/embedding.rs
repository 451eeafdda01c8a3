//! Embedding texts for callers with their own index (Embed) and comparing two texts
//! (Similarity): validated here, embedded through the shared queue.

use std::time::Instant;

use crate::embed::{Embedding, Mode};

use super::search::check_text;
use super::{Engine, EngineError};

/// Embedding mode of a request that names none.
pub const DEFAULT_EMBED_MODE: Mode = Mode::Query;

/// Vectors of an [`Engine::embed`] call.
#[derive(Debug, Clone)]
pub struct EmbedOutput {
    /// One embedding per text, in order (unit vectors, tokens, queue wait).
    pub embeddings: Vec<Embedding>,
    /// Milliseconds the call took (queue wait included).
    pub embed_ms: f64,
    /// Milliseconds of it the texts waited in the embedding queue.
    pub queue_ms: f64,
}

/// Result of an [`Engine::similarity`] call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Cosine similarity of the two embeddings, in [-1, 1].
    pub cosine: f32,
    /// Tokens of the first text.
    pub tokens_a: usize,
    /// Tokens of the second text.
    pub tokens_b: usize,
}

impl Engine {
    /// Embeds 1 to [`crate::config::Config::max_embed_texts`] texts of at most
    /// [`crate::config::Config::max_embed_chars`] characters each, as `mode` (`None`:
    /// [`DEFAULT_EMBED_MODE`]).
    pub async fn embed(&self, texts: Vec<String>, mode: Option<Mode>) -> Result<EmbedOutput, EngineError> {
        let cfg = self.config();
        if texts.is_empty() || texts.len() > cfg.max_embed_texts {
            return Err(EngineError::InvalidArgument(format!(
                "send 1 to {} texts (got {}; the server's --max-embed-texts)",
                cfg.max_embed_texts,
                texts.len()
            )));
        }
        for (i, t) in texts.iter().enumerate() {
            check_text(&format!("texts[{i}]"), t, cfg.max_embed_chars, "--max-embed-chars")?;
        }
        let started = Instant::now();
        let embeddings = self.embedder().embed(texts, mode.unwrap_or(DEFAULT_EMBED_MODE)).await?;
        let queue_ms = embeddings.first().map_or(0.0, |e| e.queue_ms);
        Ok(EmbedOutput { embeddings, embed_ms: started.elapsed().as_secs_f64() * 1e3, queue_ms })
    }

    /// The cosine similarity of two texts of at most [`crate::config::Config::max_query_chars`]
    /// characters, both embedded as `mode` (`None`: [`DEFAULT_EMBED_MODE`]).
    pub async fn similarity(&self, a: String, b: String, mode: Option<Mode>) -> Result<Similarity, EngineError> {
        let max = self.config().max_query_chars;
        check_text("text_a", &a, max, "--max-query-chars")?;
        check_text("text_b", &b, max, "--max-query-chars")?;
        let out = self.embedder().embed(vec![a, b], mode.unwrap_or(DEFAULT_EMBED_MODE)).await?;
        let [ea, eb] = out.as_slice() else {
            return Err(EngineError::Internal(format!("the embedder returned {} vectors for 2 texts", out.len())));
        };
        Ok(Similarity { cosine: crate::embed::cosine(&ea.vector, &eb.vector), tokens_a: ea.tokens, tokens_b: eb.tokens })
    }
}
