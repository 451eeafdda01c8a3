//! Collection snapshots through Qdrant's own API: the Qdrant backend's backups. A snapshot is
//! taken by the Qdrant node while it keeps serving and stays on that node (restore it with
//! Qdrant's snapshot recovery); simtheme creates and lists them.

use super::{client, error, QdrantSettings};
use crate::backend::BackendError;

/// One snapshot of the collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Snapshot name on the node.
    pub name: String,
    /// Size, bytes.
    pub bytes: u64,
    /// Creation time, seconds since 1970 (0 when the node does not say).
    pub created_unix: i64,
    /// SHA-256 of the snapshot file, when the node reports it.
    pub sha256: Option<String>,
}

fn snapshot(d: qdrant_client::qdrant::SnapshotDescription) -> Snapshot {
    Snapshot { name: d.name, bytes: d.size.max(0) as u64, created_unix: d.creation_time.map_or(0, |t| t.seconds), sha256: d.checksum }
}

/// Takes a snapshot of the collection of `settings`; NOT_FOUND when the collection does not exist.
pub async fn create(settings: &QdrantSettings) -> Result<Snapshot, BackendError> {
    let client = client(settings)?;
    let name = settings.collection.clone();
    if !client.collection_exists(&name).await.map_err(|e| error::map(&settings.url, "checking the collection", e))? {
        return Err(BackendError::NotFound(format!("Qdrant at {} has no collection {name}: nothing to snapshot", settings.url)));
    }
    let made = client.create_snapshot(name.as_str()).await.map_err(|e| error::map(&settings.url, "creating a snapshot", e))?;
    made.snapshot_description.map(snapshot).ok_or_else(|| BackendError::Internal("Qdrant answered without a snapshot description".into()))
}

/// The collection's snapshots, oldest first.
pub async fn list(settings: &QdrantSettings) -> Result<Vec<Snapshot>, BackendError> {
    let client = client(settings)?;
    let listed =
        client.list_snapshots(settings.collection.as_str()).await.map_err(|e| error::map(&settings.url, "listing snapshots", e))?;
    let mut out: Vec<Snapshot> = listed.snapshot_descriptions.into_iter().map(snapshot).collect();
    out.sort_by(|a, b| (a.created_unix, &a.name).cmp(&(b.created_unix, &b.name)));
    Ok(out)
}
