//! The keyword layer's error type. Tantivy's own errors stay inside [`KeywordError::Index`];
//! callers see one enum and map it by variant (bad query → invalid argument, the rest →
//! internal).

/// Errors of keyword indexing, query parsing, `must_contain` and fusion.
#[derive(Debug, thiserror::Error)]
pub enum KeywordError {
    /// The query text is empty or only whitespace.
    #[error("keyword query is empty; give at least one word or a quoted phrase")]
    EmptyQuery,
    /// The query has text but nothing searchable: only stop words, punctuation or query syntax.
    #[error("keyword query `{0}` has no searchable term (only stop words, punctuation or quotes); add a content word")]
    NoSearchableTerms(String),
    /// Another malformed request parameter (too many terms, bad `must_contain` item, bad
    /// fusion parameter); the message says what to change.
    #[error("{0}")]
    InvalidArgument(String),
    /// A user dictionary could not be read or parsed.
    #[error("user dictionary {origin}: {message}")]
    UserDictionary {
        /// File name (or `built-in`).
        origin: String,
        /// What is wrong, with the line number when known.
        message: String,
    },
    /// The on-disk index failed (I/O, corruption, lock held by another process).
    #[error("keyword index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A file system operation around the index failed.
    #[error("keyword index I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl KeywordError {
    /// True when the caller's input is at fault (the engine maps these to INVALID_ARGUMENT).
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, KeywordError::EmptyQuery | KeywordError::NoSearchableTerms(_) | KeywordError::InvalidArgument(_))
    }
}

impl From<tantivy::directory::error::OpenDirectoryError> for KeywordError {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        KeywordError::Index(e.into())
    }
}
