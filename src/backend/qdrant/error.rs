//! Qdrant client errors as backend errors, naming the server so an operator knows what is down.

use qdrant_client::QdrantError;
use tonic::Code;

use crate::backend::BackendError;

/// Maps a client error of a call to `url`; `what` names the operation.
pub fn map(url: &str, what: &str, e: QdrantError) -> BackendError {
    match e {
        // The client reports a refused or broken connection as INTERNAL "Failed to connect ...".
        QdrantError::ResponseError { status } if is_transport_failure(&status) => {
            BackendError::Unavailable(format!("Qdrant at {url} cannot be reached ({what}): {}; retry when it is back", status.message()))
        }
        QdrantError::ResponseError { status } => match status.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
                BackendError::Unavailable(format!("Qdrant at {url} is unavailable ({what}): {}; retry when it is back", status.message()))
            }
            Code::NotFound => BackendError::NotFound(format!("Qdrant at {url}: {what}: {}", status.message())),
            Code::InvalidArgument => BackendError::InvalidArgument(format!("Qdrant at {url} refused {what}: {}", status.message())),
            Code::Unauthenticated | Code::PermissionDenied => {
                BackendError::Unavailable(format!("Qdrant at {url} refused {what}: {} (check --qdrant-api-key)", status.message()))
            }
            _ => BackendError::Internal(format!("Qdrant at {url}: {what}: {} {}", status.code(), status.message())),
        },
        QdrantError::ResourceExhaustedError { retry_after_seconds, .. } => {
            BackendError::Unavailable(format!("Qdrant at {url} is overloaded ({what}); retry after {retry_after_seconds} s"))
        }
        other => BackendError::Unavailable(format!("Qdrant at {url} cannot be reached ({what}): {other}")),
    }
}

/// True for statuses that describe the connection, not the request.
fn is_transport_failure(status: &tonic::Status) -> bool {
    let m = status.message().to_ascii_lowercase();
    status.code() == Code::Internal
        && ["failed to connect", "transport error", "connection refused", "connection reset", "broken pipe", "tcp connect"]
            .iter()
            .any(|p| m.contains(p))
}

/// A payload that does not decode: stored data written by something else.
pub fn bad_payload(url: &str, what: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::DataLoss(format!("Qdrant at {url}: {what} has a payload simtheme cannot read: {e}"))
}
