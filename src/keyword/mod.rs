//! Keyword search: a BM25 index over jieba tokens (tantivy), query parsing that never fails on
//! syntax, `must_contain` exact-substring filters, highlight spans, and reciprocal-rank fusion
//! with the dense ranking.
//!
//! One concern per file: [`dictionary`] (the shared jieba segmenter and user dictionary, also
//! used by theme labels), [`analyzer`] (tokenization), [`lexer`] (words and quoted phrases),
//! [`query`], [`highlight`], [`must_contain`], [`index`] (the on-disk index), [`collect`]
//! (matches and ranking), [`reconcile`] (agreement with the store), [`fusion`] (RRF).

pub mod analyzer;
pub mod collect;
pub mod dictionary;
mod error;
pub mod fusion;
pub mod highlight;
pub mod index;
pub mod lexer;
pub mod must_contain;
pub mod query;
pub mod reconcile;
pub mod sparse;
pub mod stopwords;

#[cfg(test)]
mod index_tests;

pub use analyzer::JiebaTokenizer;
pub use collect::{best_per_paragraph, KeywordHit, ParagraphKeywordHit};
pub use dictionary::{install_user_dictionary, shared_segmenter, Segmenter};
pub use error::KeywordError;
pub use fusion::{adaptive_keyword_weight, fuse_rrf, Fused, RrfParams, BRIDGED_KEYWORD_WEIGHT, DEFAULT_RRF_K};
pub use highlight::Span;
pub use index::{KeywordChunk, KeywordIndex, OpenState};
pub use must_contain::MustContain;
pub use query::KeywordQuery;
pub use reconcile::{plan_reconciliation, Reconciliation};
