//! Keyword (BM25) search through a backend: the request, its paragraph-level results and the
//! keyword index figures. The query arrives parsed ([`KeywordQuery`]), so every backend sees
//! the same terms; `must_contain` is a filter like years or tags.

use crate::keyword::{KeywordError, KeywordQuery, MustContain};

use super::{BackendError, Exclusions, ParagraphFilter, ParagraphRecord};

/// A filtered keyword search.
#[derive(Debug, Clone)]
pub struct KeywordSearch {
    /// The parsed query.
    pub query: KeywordQuery,
    /// Paragraphs wanted (>= 1).
    pub k: usize,
    /// Candidate restrictions.
    pub filter: ParagraphFilter,
    /// Paragraph / document left out.
    pub exclude: Exclusions,
    /// Terms every paragraph must contain.
    pub must_contain: MustContain,
    /// The query's embedding, when the caller wants each hit's cosine (best chunk) and a
    /// cosine threshold applied.
    pub vector: Option<Vec<f32>>,
    /// With `vector`: paragraphs whose best-chunk cosine is below this are skipped (as in
    /// [`super::DenseQuery::min_score`]; <= -1 keeps everything).
    pub min_score: f32,
}

/// One paragraph found by keyword search.
#[derive(Debug, Clone)]
pub struct KeywordParagraphHit {
    /// The paragraph and its document metadata.
    pub paragraph: ParagraphRecord,
    /// BM25 score of its best-matching chunk.
    pub score: f32,
    /// Cosine of its best chunk to [`KeywordSearch::vector`], when given.
    pub cosine: Option<f32>,
    /// Character span of the best-matching chunk within `paragraph.text`.
    pub span: (u32, u32),
}

/// Result of a [`KeywordSearch`]: best BM25 first, ties by paragraph id.
#[derive(Debug, Clone, Default)]
pub struct KeywordHits {
    /// The hits (at most `k`; only paragraphs sharing a term with the query).
    pub hits: Vec<KeywordParagraphHit>,
}

/// Figures of a backend's keyword index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordIndexStats {
    /// Documents indexed.
    pub documents: u64,
    /// Chunks indexed.
    pub chunks: u64,
    /// Bytes on disk.
    pub size_bytes: u64,
    /// Documents re-indexed or removed at open to agree with the store.
    pub reconciled_at_start: u64,
    /// Words of the user dictionaries.
    pub user_dictionary_words: u64,
}

impl From<KeywordError> for BackendError {
    fn from(e: KeywordError) -> Self {
        if e.is_invalid_argument() {
            BackendError::InvalidArgument(e.to_string())
        } else {
            BackendError::Internal(e.to_string())
        }
    }
}
