//! The engine's error type: what went wrong, classified by who can fix it. The gRPC layer maps
//! each variant to one status code; the CLI prints the message.

use crate::backend::BackendError;
use crate::corpus::CorpusError;
use crate::embed::{EmbedError, QueueError};

/// Errors of engine operations.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request is malformed; the message says what to change.
    #[error("{0}")]
    InvalidArgument(String),
    /// Something the request names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A limit was hit (queue full, too large); retry later or send less.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The server, or this client's share of it, is busy: the same request may succeed in a
    /// moment (queue full, the client's tokens or requests at their limit).
    #[error("{0}")]
    Overloaded(String),
    /// The service is not able to answer now (shutting down, still starting).
    #[error("{0}")]
    Unavailable(String),
    /// The stored corpus cannot be used as configured (another model or dimension); the
    /// message says how to resolve it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Stored data is damaged (corrupt database file or vector).
    #[error("stored data is damaged: {0}")]
    DataLoss(String),
    /// A fault inside simtheme (storage, index or model); not the caller's doing.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<BackendError> for EngineError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::InvalidArgument(m) => EngineError::InvalidArgument(m),
            BackendError::NotFound(m) => EngineError::NotFound(m),
            BackendError::Unavailable(m) => EngineError::Unavailable(m),
            BackendError::DataLoss(m) => EngineError::DataLoss(m),
            BackendError::Incompatible(m) => EngineError::FailedPrecondition(m),
            BackendError::Internal(m) => EngineError::Internal(m),
        }
    }
}

impl From<EmbedError> for EngineError {
    fn from(e: EmbedError) -> Self {
        match e {
            EmbedError::InvalidInput(m) => EngineError::InvalidArgument(m),
            other => EngineError::Internal(format!("embedding: {other}")),
        }
    }
}

impl From<QueueError> for EngineError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Full(_) | QueueError::ClientBusy { .. } => EngineError::Overloaded(e.to_string()),
            QueueError::Stopped => EngineError::Unavailable(e.to_string()),
            QueueError::Failed(_) => EngineError::Internal(e.to_string()),
            QueueError::Embed(inner) => inner.into(),
        }
    }
}

impl From<CorpusError> for EngineError {
    fn from(e: CorpusError) -> Self {
        EngineError::InvalidArgument(e.to_string())
    }
}
