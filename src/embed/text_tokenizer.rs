//! The model's `tokenizer.json`, loaded so that a SentencePiece (Unigram) vocabulary takes
//! ~12 MB instead of ~230 MB: such files run through `tokenizers`' normalizers,
//! pre-tokenizers and added-token handling with [`CompactUnigram`] as the model; any other
//! model type (WordPiece, BPE, ...) loads as a plain `tokenizers::Tokenizer`.

use std::path::Path;

use tokenizers::{DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper, Tokenizer, TokenizerImpl};

use super::unigram::CompactUnigram;

/// A `tokenizers` pipeline around [`CompactUnigram`].
pub type CompactTokenizer = TokenizerImpl<CompactUnigram, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>;

/// A loaded `tokenizer.json`.
pub enum TextTokenizer {
    /// A Unigram vocabulary, on the compact model.
    Unigram(Box<CompactTokenizer>),
    /// Any other model, as `tokenizers` loads it.
    Other(Box<Tokenizer>),
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextTokenizer::Unigram(t) => f.debug_tuple("Unigram").field(t.get_model()).finish(),
            TextTokenizer::Other(_) => f.write_str("Other"),
        }
    }
}

impl TextTokenizer {
    /// Reads a `tokenizer.json`, with padding and truncation turned off.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        Self::from_json(&text)
    }

    /// Parses the text of a `tokenizer.json`, with padding and truncation turned off.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut tokenizer = match serde_json::from_str::<CompactTokenizer>(text) {
            Ok(t) => TextTokenizer::Unigram(Box::new(t)),
            // Not a Unigram model (or not valid at all: then this reports why).
            Err(_) => TextTokenizer::Other(Box::new(text.parse::<Tokenizer>().map_err(|e| e.to_string())?)),
        };
        match &mut tokenizer {
            TextTokenizer::Unigram(t) => {
                t.with_padding(None);
                t.with_truncation(None).map_err(|e| e.to_string())?;
            }
            TextTokenizer::Other(t) => {
                t.with_padding(None);
                t.with_truncation(None).map_err(|e| e.to_string())?;
            }
        }
        Ok(tokenizer)
    }

    /// The id of a token (added tokens included).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        match self {
            TextTokenizer::Unigram(t) => t.token_to_id(token),
            TextTokenizer::Other(t) => t.token_to_id(token),
        }
    }

    /// Token ids of `text`, without special tokens.
    pub fn encode_ids(&self, text: &str) -> Result<Vec<u32>, String> {
        let encoding = match self {
            TextTokenizer::Unigram(t) => t.encode(text, false),
            TextTokenizer::Other(t) => t.encode(text, false),
        };
        encoding.map(|e| e.get_ids().to_vec()).map_err(|e| e.to_string())
    }
}
