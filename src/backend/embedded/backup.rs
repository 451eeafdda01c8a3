//! Online backup and restore of an embedded data directory.
//!
//! The corpus lives in one SQLite database. Every document is written in one transaction, with
//! its paragraphs, chunks and vectors. A backup is `VACUUM INTO` from a read-only connection:
//! SQLite copies one read snapshot, so the copy holds every document committed before the
//! backup began and none half. Writers go on meanwhile (WAL mode). Next to the copy,
//! `backup.json` records its SHA-256, size and counts.
//!
//! The vector index dump and the keyword index are derived from the database. They are not
//! copied, because a copy taken while the server writes could be torn. After a restore, the next
//! start rebuilds both from the stored vectors and texts; nothing is re-embedded.
//!
//! A restore checks the whole backup first: the manifest, the file's digest and size,
//! `PRAGMA integrity_check`, and the counts. Only then does it install the database.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::store::{DB_FILE_NAME, SCHEMA_VERSION};

/// The manifest's file name in a backup directory.
pub const MANIFEST: &str = "backup.json";
/// Version of the backup layout this build writes and reads.
pub const FORMAT: u32 = 1;

/// What a backup holds, written next to the database copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Backup layout version ([`FORMAT`]).
    pub format: u32,
    /// simtheme version that wrote it.
    pub simtheme: String,
    /// Seconds since 1970 when the copy was taken.
    pub created_unix: u64,
    /// Database file name in the backup directory.
    pub database: String,
    /// SHA-256 of the database file, hex.
    pub sha256: String,
    /// Size of the database file, bytes.
    pub bytes: u64,
    /// Schema version of the database.
    pub schema_version: i32,
    /// Corpus version at the copy.
    pub corpus_version: u64,
    /// Models with vectors stored, with their dimensions.
    pub models: Vec<(String, u32)>,
    /// Documents stored.
    pub documents: u64,
    /// Paragraphs stored.
    pub paragraphs: u64,
    /// Chunks (vectors) stored.
    pub chunks: u64,
}

/// Why a backup or restore did not happen; the message says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackupError(String);

fn err(message: impl Into<String>) -> BackupError {
    BackupError(message.into())
}

fn sql(context: &str) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |e| err(format!("{context}: {e}"))
}

/// SHA-256 (hex) and size of a file.
fn digest(path: &Path) -> Result<(String, u64), BackupError> {
    let mut file = std::fs::File::open(path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Counts and versions of the database at `path` (opened read-only).
fn describe(path: &Path) -> Result<Manifest, BackupError> {
    let name = path.display().to_string();
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql(&name))?;
    let count = |table: &str| -> Result<u64, BackupError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(sql(&name))
    };
    let corpus_version: Option<i64> =
        conn.query_row("SELECT value FROM meta WHERE key = 'corpus_version'", [], |r| r.get(0)).optional().map_err(sql(&name))?;
    let mut stmt = conn.prepare("SELECT model_id, dim FROM models ORDER BY model_id").map_err(sql(&name))?;
    let models = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u32))).map_err(sql(&name))?;
    let models = models.collect::<Result<Vec<_>, _>>().map_err(sql(&name))?;
    Ok(Manifest {
        format: FORMAT,
        simtheme: env!("CARGO_PKG_VERSION").to_string(),
        created_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        database: DB_FILE_NAME.to_string(),
        sha256: String::new(),
        bytes: 0,
        schema_version: conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql(&name))?,
        corpus_version: corpus_version.unwrap_or(0) as u64,
        models,
        documents: count("documents")?,
        paragraphs: count("paragraphs")?,
        chunks: count("chunks")?,
    })
}

/// Takes a consistent copy of the live data directory `data_dir` into `dest` (created; it must
/// not hold a backup already). Safe while a server writes to `data_dir`.
pub fn backup(data_dir: &Path, dest: &Path) -> Result<Manifest, BackupError> {
    let db = data_dir.join(DB_FILE_NAME);
    if !db.is_file() {
        return Err(err(format!(
            "{} holds no simtheme database ({DB_FILE_NAME}); give the --data-dir of the corpus to back up",
            data_dir.display()
        )));
    }
    if dest.join(MANIFEST).exists() {
        return Err(err(format!("{} already holds a backup; give a new directory", dest.display())));
    }
    std::fs::create_dir_all(dest).map_err(|e| err(format!("cannot create {}: {e}", dest.display())))?;
    let partial = dest.join(format!("{DB_FILE_NAME}.partial"));
    let _ = std::fs::remove_file(&partial);
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql(&db.display().to_string()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(sql("busy timeout"))?;
    let target = partial.to_str().ok_or_else(|| err(format!("{} is not UTF-8", partial.display())))?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(sql(&format!("copying {}", db.display())))?;
    drop(conn);
    let mut manifest = describe(&partial)?;
    (manifest.sha256, manifest.bytes) = digest(&partial)?;
    let final_db = dest.join(DB_FILE_NAME);
    std::fs::rename(&partial, &final_db).map_err(|e| err(format!("cannot rename {}: {e}", partial.display())))?;
    write_manifest(dest, &manifest)?;
    Ok(manifest)
}

fn write_manifest(dest: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let text = serde_json::to_string_pretty(manifest).map_err(|e| err(format!("cannot encode the manifest: {e}")))?;
    let tmp = dest.join(format!("{MANIFEST}.partial"));
    std::fs::write(&tmp, text).map_err(|e| err(format!("cannot write {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, dest.join(MANIFEST)).map_err(|e| err(format!("cannot write the manifest in {}: {e}", dest.display())))
}

/// Checks the backup in `dir` completely (manifest, digest, size, SQLite integrity, counts) and
/// returns its manifest; the error names what is wrong.
pub fn verify(dir: &Path) -> Result<Manifest, BackupError> {
    let manifest_path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        err(format!("{} is not a simtheme backup: cannot read {MANIFEST} ({e}); make one with `simtheme backup --to DIR`", dir.display()))
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| err(format!("{} is damaged: {e}", manifest_path.display())))?;
    if manifest.format != FORMAT {
        return Err(err(format!("the backup has format {}, this simtheme reads format {FORMAT}", manifest.format)));
    }
    if manifest.schema_version > SCHEMA_VERSION {
        return Err(err(format!(
            "the backup's database has schema {} and this simtheme knows up to {SCHEMA_VERSION}: restore it with a newer simtheme",
            manifest.schema_version
        )));
    }
    let db = dir.join(&manifest.database);
    let (sha256, bytes) = digest(&db)?;
    if (sha256.as_str(), bytes) != (manifest.sha256.as_str(), manifest.bytes) {
        return Err(err(format!(
            "{} does not match {MANIFEST}: {bytes} bytes with SHA-256 {}…, the manifest says {} bytes with {}…; the copy is damaged or was changed",
            db.display(),
            &sha256[..12],
            manifest.bytes,
            &manifest.sha256[..manifest.sha256.len().min(12)]
        )));
    }
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql(&db.display().to_string()))?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(sql("integrity check"))?;
    if check != "ok" {
        return Err(err(format!("{} fails SQLite's integrity check: {check}", db.display())));
    }
    drop(conn);
    let found = describe(&db)?;
    let counts = |m: &Manifest| (m.documents, m.paragraphs, m.chunks, m.corpus_version);
    if counts(&found) != counts(&manifest) {
        return Err(err(format!(
            "{} holds {} documents, {} paragraphs, {} chunks (corpus version {}), the manifest says {} / {} / {} ({})",
            db.display(),
            found.documents,
            found.paragraphs,
            found.chunks,
            found.corpus_version,
            manifest.documents,
            manifest.paragraphs,
            manifest.chunks,
            manifest.corpus_version
        )));
    }
    Ok(manifest)
}

/// Derived state of a data directory, rebuilt from the database at start.
fn derived(data_dir: &Path) -> Vec<PathBuf> {
    ["index", "keyword"].iter().map(|d| data_dir.join(d)).filter(|p| p.exists()).collect()
}

/// Checks the backup in `from` ([`verify`]) and installs it as the corpus of `data_dir`. Stop
/// any server on `data_dir` first. A `data_dir` that already holds a database is refused unless
/// `replace`; then its database is kept as `simtheme.sqlite3.before-restore`. The vector and
/// keyword indexes are removed and are rebuilt at the next start.
pub fn restore(from: &Path, data_dir: &Path, replace: bool) -> Result<Manifest, BackupError> {
    let manifest = verify(from)?;
    let db = data_dir.join(DB_FILE_NAME);
    std::fs::create_dir_all(data_dir).map_err(|e| err(format!("cannot create {}: {e}", data_dir.display())))?;
    let incoming = data_dir.join(format!("{DB_FILE_NAME}.restoring"));
    std::fs::copy(from.join(&manifest.database), &incoming).map_err(|e| err(format!("cannot copy into {}: {e}", incoming.display())))?;
    if digest(&incoming)?.0 != manifest.sha256 {
        let _ = std::fs::remove_file(&incoming);
        return Err(err(format!("the copy in {} differs from the backup; check the disk and try again", data_dir.display())));
    }
    if db.exists() {
        if !replace {
            let _ = std::fs::remove_file(&incoming);
            return Err(err(format!(
                "{} already holds a corpus; restore into a new directory, or stop its server and pass --replace (the current database is kept as {DB_FILE_NAME}.before-restore)",
                data_dir.display()
            )));
        }
        // fold the write-ahead log into the old database before it is set aside
        let old = Connection::open(&db).map_err(sql(&db.display().to_string()))?;
        old.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(sql("checkpoint of the current database"))?;
        drop(old);
        std::fs::rename(&db, data_dir.join(format!("{DB_FILE_NAME}.before-restore")))
            .map_err(|e| err(format!("cannot set {} aside: {e}", db.display())))?;
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(data_dir.join(format!("{DB_FILE_NAME}{suffix}")));
        }
    }
    for path in derived(data_dir) {
        std::fs::remove_dir_all(&path).map_err(|e| err(format!("cannot remove the old {}: {e}", path.display())))?;
    }
    std::fs::rename(&incoming, &db).map_err(|e| err(format!("cannot install {}: {e}", db.display())))?;
    Ok(manifest)
}

#[cfg(test)]
mod tests;
