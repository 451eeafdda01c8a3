//! Durable storage of documents, paragraphs, chunks and chunk vectors in SQLite (WAL).
//!
//! One [`Store`] wraps one SQLite connection. It is `Send` but not `Sync`:
//! put it behind a `Mutex` and call it from `spawn_blocking`. Every write is a
//! single `BEGIN IMMEDIATE` transaction, so a document is either completely
//! present or absent, including after a crash.

mod catalog;
mod error;
mod export;
mod read;
mod schema;
mod text_reads;
mod types;
mod validate;
mod vector;
mod write;

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
pub(crate) mod test_support;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

pub use error::StoreError;
pub use schema::SCHEMA_VERSION;
pub use types::{ChunkRecord, StoreDelete, StoreInsert};

// The records the store shares with every backend (visible to the submodules).
use crate::backend::{DocumentRecord, ExportedDocument, ModelStats, ParagraphRecord, StoreStats, YearCount};

/// File name of the database inside the data directory.
pub const DB_FILE_NAME: &str = "simtheme.sqlite3";

/// Durable corpus storage backed by one SQLite connection.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) `data_dir/simtheme.sqlite3`, creating
    /// `data_dir` too, configures WAL / `synchronous=FULL` / foreign keys /
    /// busy timeout, and migrates the schema to [`SCHEMA_VERSION`].
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DB_FILE_NAME);
        let mut conn = Connection::open(&path)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn, path })
    }

    /// Opens a second, read-only connection to the database of an already opened store
    /// (`PRAGMA query_only`). In WAL mode its reads neither wait for nor block a write
    /// transaction on the main connection: searches read through it while pages are stored.
    pub fn open_reader(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(DB_FILE_NAME);
        let conn =
            Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(schema::BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(Store { conn, path })
    }

    /// Path of the SQLite database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counter bumped (persistently, in the same transaction) by every
    /// successful insert and delete; never decreases. Use it for cache
    /// invalidation and index staleness fingerprints.
    pub fn corpus_version(&self) -> Result<u64, StoreError> {
        let v: Option<i64> = self.conn.query_row("SELECT value FROM meta WHERE key = 'corpus_version'", [], |r| r.get(0)).optional()?;
        match v {
            Some(v) if v >= 0 => Ok(v as u64),
            Some(v) => Err(StoreError::Corrupt(format!("negative corpus_version {v}"))),
            None => Err(StoreError::Corrupt("corpus_version missing from meta".into())),
        }
    }

    /// True when no document is stored.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let any: bool = self.conn.query_row("SELECT EXISTS (SELECT 1 FROM documents)", [], |r| r.get(0))?;
        Ok(!any)
    }

    /// Runs `PRAGMA integrity_check` and `PRAGMA foreign_key_check`; returns
    /// `Corrupt` with SQLite's report when either finds a problem.
    pub fn check_integrity(&self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let report: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        if report != ["ok"] {
            return Err(StoreError::Corrupt(report.join("; ")));
        }
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        let violations = stmt.query_map([], |_| Ok(()))?.count();
        if violations > 0 {
            return Err(StoreError::Corrupt(format!("{violations} foreign key violations")));
        }
        Ok(())
    }
}

/// Converts a stored integer into a `u32`, or reports corruption.
fn to_u32(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} out of range: {v}")))
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    /// The reader connection sees committed data, reads while the main connection holds a
    /// write transaction open (without waiting for it), and cannot write.
    #[test]
    fn reader_reads_during_a_write_transaction_and_cannot_write() {
        let (tmp, store) = open();
        let reader = Store::open_reader(tmp.path()).unwrap();
        assert!(reader.is_empty().unwrap());
        store.conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO meta (key, value) VALUES ('probe', 1);").unwrap();
        let started = std::time::Instant::now();
        assert_eq!(reader.corpus_version().unwrap(), store.corpus_version().unwrap());
        let probe: Option<i64> = reader.conn.query_row("SELECT value FROM meta WHERE key = 'probe'", [], |r| r.get(0)).optional().unwrap();
        assert_eq!(probe, None, "uncommitted row visible to the reader");
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "reader waited for the writer");
        store.conn.execute_batch("COMMIT").unwrap();
        let probe: Option<i64> = reader.conn.query_row("SELECT value FROM meta WHERE key = 'probe'", [], |r| r.get(0)).optional().unwrap();
        assert_eq!(probe, Some(1));
        assert!(reader.conn.execute("DELETE FROM meta WHERE key = 'probe'", []).is_err());
    }

    #[test]
    fn open_creates_dir_and_sets_pragmas() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested/data");
        let store = Store::open(&dir).unwrap();
        assert!(dir.join(DB_FILE_NAME).exists());
        let mode: String = store.conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store.conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        let sync: i64 = store.conn.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        assert!(store.is_empty().unwrap());
        assert_eq!(store.corpus_version().unwrap(), 0);
        store.check_integrity().unwrap();
    }

    #[test]
    fn open_rejects_non_database_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(DB_FILE_NAME), vec![0x42u8; 4096]).unwrap();
        let err = Store::open(tmp.path()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }

    #[test]
    fn open_rejects_newer_schema() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let store = Store::open(tmp.path()).unwrap();
            store.conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        }
        assert!(matches!(Store::open(tmp.path()), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn reopen_after_drop_keeps_data() {
        let tmp = tempfile::tempdir().unwrap();
        let doc = make_doc("d1", Some(2001), 3, 2);
        let vecs = make_vectors(&doc, 8, 1.0);
        let chunk_ids = {
            let mut store = Store::open(tmp.path()).unwrap();
            match store.insert_document(&doc, &vecs, MODEL).unwrap() {
                StoreInsert::Inserted { chunk_ids, .. } => chunk_ids,
                other => panic!("{other:?}"),
            }
        };
        let store = Store::open(tmp.path()).unwrap();
        assert!(store.contains_document("d1").unwrap());
        assert_eq!(store.corpus_version().unwrap(), 1);
        let all = store.all_chunk_vectors(MODEL).unwrap();
        assert_eq!(all.iter().map(|(id, _)| *id).collect::<Vec<_>>(), chunk_ids);
        assert_eq!(all.into_iter().map(|(_, v)| v).collect::<Vec<_>>(), vecs);
        store.check_integrity().unwrap();
    }

    /// Timing only: `cargo test --release -- --ignored --nocapture bench_`.
    #[test]
    #[ignore]
    fn bench_insert_1000_documents() {
        for sync in ["FULL", "NORMAL"] {
            let tmp = tempfile::tempdir().unwrap();
            let mut store = Store::open(tmp.path()).unwrap();
            store.conn.pragma_update(None, "synchronous", sync).unwrap();
            let docs: Vec<_> = (0..1000).map(|i| make_doc(&format!("doc{i:05}"), Some(2000 + i % 25), 8, 2)).collect();
            let vecs: Vec<_> = docs.iter().map(|d| make_vectors(d, 384, 0.1)).collect();
            let t = std::time::Instant::now();
            for (d, v) in docs.iter().zip(&vecs) {
                store.insert_document(d, v, MODEL).unwrap();
            }
            let insert = t.elapsed();
            let t = std::time::Instant::now();
            let all = store.all_chunk_vectors(MODEL).unwrap();
            let load = t.elapsed();
            let t = std::time::Instant::now();
            let paras = store.all_paragraphs().unwrap();
            let para_load = t.elapsed();
            let t = std::time::Instant::now();
            let stats = store.stats().unwrap();
            let stats_t = t.elapsed();
            let t = std::time::Instant::now();
            for i in 0..100 {
                store.delete_document(&format!("doc{i:05}")).unwrap();
            }
            let del = t.elapsed();
            let size = std::fs::metadata(store.path()).unwrap().len()
                + std::fs::metadata(store.path().with_extension("sqlite3-wal")).map_or(0, |m| m.len());
            eprintln!(
                "synchronous={sync}: insert 1000 docs (16k chunks x 384) {insert:?}; \
                 all_chunk_vectors({}) {load:?}; all_paragraphs({}) {para_load:?}; stats {stats_t:?} ({} docs); \
                 delete 100 docs {del:?}; db+wal {} MB",
                all.len(),
                paras.len(),
                stats.documents,
                size / 1_000_000
            );
        }
    }

    #[test]
    fn store_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Store>();
    }
}
