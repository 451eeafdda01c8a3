//! Storing and deleting documents: pending points first, then one commit by document id.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use qdrant_client::qdrant::{
    Condition, DeletePointsBuilder, Filter, NamedVectors, PointStruct, SetPayloadPointsBuilder, UpsertPointsBuilder, Vector,
};
use qdrant_client::Payload;
use serde::Serialize;

use super::filter::of_kind;
use super::read;
use super::schema::{
    chunk_point_id, document_point_id, duplicate_point_id, paragraph_id, sample_key, spaced_chars, ChunkPayload, DocumentFields,
    DocumentPayload, DuplicatePayload, DENSE, KEYWORDS, KIND_CHUNK, KIND_DOCUMENT, KIND_DUPLICATE,
};
use super::setup::bump_version;
use super::Inner;
use crate::backend::{BackendError, DeletedDocument, InsertOutcome};
use crate::corpus::PreparedDocument;
use crate::keyword::sparse::{chunk_terms, chunk_vector};
use crate::keyword::{shared_segmenter, JiebaTokenizer};

/// Points per upsert call.
const UPSERT_BATCH: usize = 256;
/// Pending points older than this are left over from a writer that died; they are removed at
/// start-up (no live write takes this long).
const STALE_PENDING_SECS: i64 = 3_600;

/// Ids kept from another store by `simtheme migrate`.
#[derive(Debug, Clone)]
pub struct MigratedIds {
    /// Paragraph id of each paragraph, in document order.
    pub paragraph_ids: Vec<i64>,
    /// Original insertion time, unix seconds.
    pub created_at: i64,
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn payload_of<T: Serialize>(value: &T) -> Result<Payload, BackendError> {
    let json = serde_json::to_value(value).map_err(|e| BackendError::Internal(format!("encoding a payload: {e}")))?;
    Payload::try_from(json).map_err(|e| BackendError::Internal(format!("encoding a payload: {e}")))
}

fn no_vectors() -> HashMap<String, Vec<f32>> {
    HashMap::new()
}

/// Builds every point of a document, all marked pending, the document point first.
fn points_of(doc: &PreparedDocument, vectors: &[Vec<f32>], ids: Option<&MigratedIds>) -> Result<Vec<PointStruct>, BackendError> {
    let chunk_count: usize = doc.paragraphs.iter().map(|p| p.chunks.len()).sum();
    if vectors.len() != chunk_count {
        return Err(BackendError::InvalidArgument(format!("{} vectors for {chunk_count} chunks", vectors.len())));
    }
    if let Some(ids) = ids {
        if ids.paragraph_ids.len() != doc.paragraphs.len() {
            return Err(BackendError::InvalidArgument("one paragraph id per paragraph is needed".into()));
        }
    }
    let doc_point = document_point_id(&doc.id)
        .ok_or_else(|| BackendError::InvalidArgument(format!("document id '{}' is not 16 hex digits", doc.id)))?;
    let mut points = Vec::with_capacity(chunk_count + doc.duplicates.len() + 1);
    let mut vectors = vectors.iter();
    let mut analyzer = JiebaTokenizer::new(shared_segmenter());
    let meta = DocumentFields::of(doc);
    for (i, p) in doc.paragraphs.iter().enumerate() {
        let pid = ids.map_or_else(|| paragraph_id(&doc.id, p.position), |m| m.paragraph_ids[i]);
        let chars = spaced_chars(&p.simplified);
        for (ordinal, c) in p.chunks.iter().enumerate() {
            let v = vectors.next().ok_or_else(|| BackendError::Internal("fewer vectors than chunks".into()))?;
            let tokens = analyzer.analyze(&c.text);
            let payload = ChunkPayload {
                kind: KIND_CHUNK.into(),
                document_id: doc.id.clone(),
                paragraph_id: pid,
                position: p.position,
                ordinal: ordinal as u32,
                first_chunk: ordinal == 0,
                start: c.start,
                end: c.end,
                chunk_text: c.text.clone(),
                text: p.text.clone(),
                simplified: p.simplified.clone(),
                heading: p.heading.clone(),
                meta: meta.clone(),
                sample_key: sample_key(pid),
                terms: chunk_terms(&tokens),
                chars: chars.clone(),
                pending: true,
            };
            let mut named = NamedVectors::default().add_vector(DENSE, Vector::new_dense(v.clone()));
            let keywords = chunk_vector(&tokens);
            if !keywords.is_empty() {
                named = named.add_vector(KEYWORDS, Vector::new_sparse(keywords.indices, keywords.values));
            }
            points.push(PointStruct::new(chunk_point_id(&doc.id, p.position, ordinal as u32), named, payload_of(&payload)?));
        }
    }
    for d in &doc.duplicates {
        let payload = DuplicatePayload {
            kind: KIND_DUPLICATE.into(),
            document_id: doc.id.clone(),
            of_position: d.of_position,
            block_index: d.block_index,
            text: d.text.clone(),
            pending: true,
        };
        points.push(PointStruct::new(duplicate_point_id(&doc.id, d.block_index), no_vectors(), payload_of(&payload)?));
    }
    let payload = DocumentPayload {
        kind: KIND_DOCUMENT.into(),
        document_id: doc.id.clone(),
        origin: doc.origin.clone(),
        meta,
        paragraphs: doc.paragraphs.len() as u32,
        chunks: chunk_count as u32,
        duplicates: doc.duplicates.len() as u32,
        created_at: ids.map_or_else(now_secs, |m| m.created_at),
        pending: true,
    };
    // The document point goes first: a writer that dies part-way leaves a pending document
    // point (with its time) by which the remains are found and removed.
    points.insert(0, PointStruct::new(doc_point, no_vectors(), payload_of(&payload)?));
    Ok(points)
}

/// Stores a document: all points pending, then one commit; `AlreadyPresent` when committed.
pub async fn put(
    inner: &Inner,
    doc: &PreparedDocument,
    vectors: &[Vec<f32>],
    ids: Option<&MigratedIds>,
) -> Result<InsertOutcome, BackendError> {
    if read::document(inner, &doc.id).await?.is_some() {
        return Ok(InsertOutcome::AlreadyPresent { document_id: doc.id.clone() });
    }
    let points = points_of(doc, vectors, ids)?;
    let paragraph_ids = match ids {
        Some(m) => m.paragraph_ids.clone(),
        None => doc.paragraphs.iter().map(|p| paragraph_id(&doc.id, p.position)).collect(),
    };
    for batch in points.chunks(UPSERT_BATCH) {
        inner
            .client
            .upsert_points(UpsertPointsBuilder::new(inner.collection(), batch.to_vec()).wait(true))
            .await
            .map_err(inner.err("storing a document"))?;
    }
    let commit = HashMap::from([("pending".to_string(), qdrant_client::qdrant::Value::from(false))]);
    let of_doc = Filter::must([Condition::matches("document_id", doc.id.clone())]);
    inner
        .client
        .set_payload(SetPayloadPointsBuilder::new(inner.collection(), commit).points_selector(of_doc).wait(true))
        .await
        .map_err(inner.err("committing a document"))?;
    let replaced = match &doc.key {
        Some(key) => remove_older_versions(inner, key, &doc.id).await?,
        None => None,
    };
    bump_version(inner).await?;
    let chunks = vectors.len() as u32;
    Ok(InsertOutcome::Inserted {
        document_id: doc.id.clone(),
        paragraphs: doc.paragraphs.len() as u32,
        chunks,
        duplicates: doc.duplicates.len() as u32,
        paragraph_ids,
        replaced,
    })
}

/// After a keyed document's commit: deletes every committed version of `key` but the newest
/// (see [`super::versions`]). Every writer does this after its commit, so of concurrent
/// replacements the last to commit sees all the others and one version is left: the newest,
/// which may be another writer's (then this one's is deleted here too). Returns the first
/// version deleted that is not `mine`.
async fn remove_older_versions(inner: &Inner, key: &str, mine: &str) -> Result<Option<String>, BackendError> {
    let mut replaced = None;
    for (id, _) in read::versions_of(inner, key).await?.into_iter().skip(1) {
        delete_points_of(inner, &id, "removing a replaced version").await?;
        if id != mine && replaced.is_none() {
            replaced = Some(id);
        }
    }
    Ok(replaced)
}

/// Deletes every point of a document; `NotFound` when it is not stored.
pub async fn delete(inner: &Inner, id: &str) -> Result<DeletedDocument, BackendError> {
    let Some(doc) = read::document(inner, id).await? else {
        return Err(BackendError::NotFound(format!("document {id}")));
    };
    let paragraph_ids = read::paragraph_ids_of(inner, id).await?;
    delete_points_of(inner, id, "deleting a document").await?;
    bump_version(inner).await?;
    Ok(DeletedDocument { document_id: id.to_string(), paragraphs: doc.paragraphs, paragraph_ids, chunks: doc.chunks })
}

/// Removes documents whose writer died before committing (pending for over an hour).
pub async fn remove_stale_pending(inner: &Inner) -> Result<(), BackendError> {
    let mut pending = of_kind(KIND_DOCUMENT);
    pending.must_not.clear();
    pending.must.push(Condition::matches("pending", true));
    let stale: Vec<String> = read::documents_matching(inner, pending)
        .await?
        .into_iter()
        .filter(|d| now_secs() - d.created_at > STALE_PENDING_SECS)
        .map(|d| d.document_id)
        .collect();
    for id in stale {
        tracing::warn!(document = %id, "removing a document whose ingestion never completed");
        delete_points_of(inner, &id, "removing an incomplete document").await?;
    }
    Ok(())
}

/// Deletes every point (chunks, duplicates, the document point) of document `id`.
async fn delete_points_of(inner: &Inner, id: &str, what: &str) -> Result<(), BackendError> {
    let of_doc = Filter::must([Condition::matches("document_id", id.to_string())]);
    inner.client.delete_points(DeletePointsBuilder::new(inner.collection()).points(of_doc).wait(true)).await.map_err(inner.err(what))?;
    Ok(())
}
