//! Connection setup (pragmas) and schema migrations keyed on `PRAGMA user_version`.

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Schema version this build writes and understands.
pub const SCHEMA_VERSION: i32 = 2;

/// How long a statement waits for a lock held by another connection.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migration `i` upgrades a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[MIGRATION_1, MIGRATION_2];

/// Version 1: the initial schema.
///
/// * `AUTOINCREMENT` on paragraph and chunk ids guarantees ids are never
///   reused after a delete, so a stale HNSW index can never resolve an old
///   chunk id to a different chunk.
/// * Per-document counts are denormalised onto `documents` (documents are
///   immutable) so listings need no aggregation and consistency can be checked.
/// * Vectors are little-endian f32 blobs; `dim` is repeated per chunk so every
///   blob can be length-checked on read.
const MIGRATION_1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('corpus_version', 0);

CREATE TABLE models (
    model_id TEXT PRIMARY KEY NOT NULL,
    dim      INTEGER NOT NULL CHECK (dim > 0)
) STRICT;

CREATE TABLE documents (
    id              TEXT PRIMARY KEY NOT NULL,
    origin          TEXT NOT NULL,
    title           TEXT,
    source          TEXT,
    date            TEXT,
    year            INTEGER,
    tags            TEXT NOT NULL DEFAULT '[]',
    paragraph_count INTEGER NOT NULL,
    chunk_count     INTEGER NOT NULL,
    duplicate_count INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX documents_year ON documents (year);

CREATE TABLE paragraphs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    heading     TEXT,
    text        TEXT NOT NULL,
    simplified  TEXT NOT NULL,
    UNIQUE (document_id, position)
) STRICT;

CREATE TABLE chunks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    paragraph_id INTEGER NOT NULL REFERENCES paragraphs (id) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,
    start_char   INTEGER NOT NULL,
    end_char     INTEGER NOT NULL,
    text         TEXT NOT NULL,
    model_id     TEXT NOT NULL REFERENCES models (model_id),
    dim          INTEGER NOT NULL,
    vector       BLOB NOT NULL,
    UNIQUE (paragraph_id, ordinal)
) STRICT;
CREATE INDEX chunks_model ON chunks (model_id);

CREATE TABLE duplicates (
    id           INTEGER PRIMARY KEY,
    document_id  TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    of_position  INTEGER NOT NULL,
    block_index  INTEGER NOT NULL,
    text         TEXT NOT NULL
) STRICT;
CREATE INDEX duplicates_document ON duplicates (document_id);
";

/// Version 2: document keys.
///
/// * `key`: the caller's key, unique among documents that hold one.
/// * `replaced_by`: set (and `key` cleared) in the transaction that stores a new version of
///   the key. The old version stays readable until the embedded backend has swapped its
///   catalog and no search started before the swap is still running; then it is deleted. A
///   row with `replaced_by` found at open is the remains of an interrupted replacement and is
///   deleted then.
const MIGRATION_2: &str = "
ALTER TABLE documents ADD COLUMN key TEXT;
ALTER TABLE documents ADD COLUMN replaced_by TEXT;
CREATE UNIQUE INDEX documents_key ON documents (key) WHERE key IS NOT NULL;
CREATE INDEX documents_replaced ON documents (replaced_by) WHERE replaced_by IS NOT NULL;
";

/// Applies connection pragmas: WAL journal, `synchronous=FULL`, foreign keys,
/// busy timeout.
///
/// `FULL` rather than `NORMAL`: in WAL mode `NORMAL` survives process crashes
/// but may lose the last commits on power loss / OS crash. A lost commit would
/// roll `corpus_version` back, and a later insert could then reuse a version
/// number an index fingerprint already saw with different contents. `FULL`
/// costs one WAL fsync per commit, which is small next to embedding a document.
pub fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt(format!("could not enable WAL journal mode (got {mode})")));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    let fk: i64 = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    if fk != 1 {
        return Err(StoreError::Corrupt("could not enable foreign keys".into()));
    }
    Ok(())
}

/// Brings the schema up to [`SCHEMA_VERSION`] in one immediate transaction.
///
/// Fails with [`StoreError::Corrupt`] when the file was written by a newer
/// build (its `user_version` is above [`SCHEMA_VERSION`]).
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if !(0..=SCHEMA_VERSION).contains(&current) {
        return Err(StoreError::Corrupt(format!(
            "database schema version {current} is not supported by this build \
             (supports up to {SCHEMA_VERSION})"
        )));
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", from as i32 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_cover_every_version() {
        assert_eq!(MIGRATIONS.len(), SCHEMA_VERSION as usize);
    }

    #[test]
    fn migrate_is_idempotent_and_rejects_newer_versions() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::Corrupt(_))));
    }
}
