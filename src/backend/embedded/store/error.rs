//! The single error type of the store.

use rusqlite::ffi::ErrorCode;

/// Everything that can go wrong in [`crate::backend::embedded::store::Store`].
///
/// Suggested gRPC mapping: `NotFound` → `NOT_FOUND`, `InvalidArgument` →
/// `INVALID_ARGUMENT`, `Corrupt` → `DATA_LOSS`, `Sqlite` → `INTERNAL`
/// (or `UNAVAILABLE` when [`StoreError::is_busy`] is true), `Io` → `INTERNAL`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The requested document, paragraph or chunk does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller passed data the store refuses (nothing was written).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Stored data is inconsistent or unreadable (bad vector blob, bad JSON,
    /// unsupported schema version, SQLite reporting corruption).
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// Any other SQLite failure.
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    /// Filesystem failure (e.g. creating the data directory).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// True when SQLite gave up waiting for a lock (`SQLITE_BUSY`/`SQLITE_LOCKED`);
    /// the operation may be retried.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(e) if matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked)
            )
        )
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Sqlite(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_corruption_codes_map_to_corrupt() {
        let e = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOTADB), None);
        assert!(matches!(StoreError::from(e), StoreError::Corrupt(_)));
        let busy = StoreError::from(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None));
        assert!(busy.is_busy());
        let other = StoreError::from(rusqlite::Error::QueryReturnedNoRows);
        assert!(matches!(other, StoreError::Sqlite(_)) && !other.is_busy());
    }
}
