//! The error type of storage backends: what went wrong, classified by who can fix it. The
//! engine maps each variant to one of its own; nothing here knows about gRPC.

use crate::backend::embedded::index::IndexError;
use crate::backend::embedded::store::StoreError;

/// Errors of [`super::Backend`] operations.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The request is malformed; the message says what to change.
    #[error("{0}")]
    InvalidArgument(String),
    /// A document or paragraph the request names is not stored.
    #[error("{0}")]
    NotFound(String),
    /// The storage service cannot be reached or refused to answer now (retry later); the
    /// message names the service (e.g. the Qdrant URL).
    #[error("{0}")]
    Unavailable(String),
    /// Stored data is damaged (corrupt database file, vector, payload).
    #[error("{0}")]
    DataLoss(String),
    /// The stored corpus was built for another model or dimension, or another layout.
    #[error("{0}")]
    Incompatible(String),
    /// A fault inside the backend; not the caller's doing.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for BackendError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => BackendError::NotFound(m),
            StoreError::InvalidArgument(m) => BackendError::InvalidArgument(m),
            StoreError::Corrupt(m) => BackendError::DataLoss(m),
            e if e.is_busy() => BackendError::Unavailable(format!("storage is busy: {e}; retry")),
            other => BackendError::Internal(format!("storage: {other}")),
        }
    }
}

impl From<IndexError> for BackendError {
    fn from(e: IndexError) -> Self {
        BackendError::Internal(format!("index: {e}"))
    }
}

impl From<crate::priority::BackgroundPanic> for BackendError {
    fn from(e: crate::priority::BackgroundPanic) -> Self {
        BackendError::Internal(format!("storage task failed: {e}"))
    }
}

impl From<tokio::task::JoinError> for BackendError {
    fn from(e: tokio::task::JoinError) -> Self {
        BackendError::Internal(format!("storage task failed: {e}"))
    }
}
