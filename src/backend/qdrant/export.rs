//! Batched reads for callers that ask about many documents at once: which of a list of ids are
//! stored (one call), and whole documents with their vectors, a page at a time (two scrolls per
//! page), for copying a corpus into another backend.

use std::collections::{BTreeMap, HashMap, HashSet};

use qdrant_client::qdrant::{Condition, GetPointsBuilder, PointId};

use super::filter::of_kind;
use super::read::{decode, dense_vector, list_documents, scroll_all};
use super::schema::{document_point_id, ChunkPayload, DocumentPayload, DuplicatePayload, KIND_CHUNK, KIND_DUPLICATE};
use super::Inner;
use crate::backend::{BackendError, ExportedDocument};
use crate::corpus::{DuplicateOccurrence, PreparedChunk, PreparedDocument, PreparedParagraph};

/// Those of `ids` with no committed document, in the order given, each once: one point lookup
/// for all of them. Like [`super::read::document`], an id is found by its document point.
pub async fn missing_documents(inner: &Inner, ids: &[String]) -> Result<Vec<String>, BackendError> {
    let mut seen = HashSet::new();
    let unique: Vec<&String> = ids.iter().filter(|id| seen.insert(id.as_str())).collect();
    let points: Vec<PointId> =
        unique.iter().filter_map(|id| document_point_id(id)).collect::<HashSet<u64>>().into_iter().map(PointId::from).collect();
    let mut present = HashSet::new();
    if !points.is_empty() {
        let got = inner
            .client
            .get_points(GetPointsBuilder::new(inner.collection(), points).with_payload(true))
            .await
            .map_err(inner.err("looking up documents"))?;
        for p in got.result {
            let d: DocumentPayload = decode(inner, "a document point", p.payload)?;
            if let Some(point) = document_point_id(&d.document_id).filter(|_| !d.pending) {
                present.insert(point);
            }
        }
    }
    Ok(unique.into_iter().filter(|id| !document_point_id(id).is_some_and(|p| present.contains(&p))).cloned().collect())
}

/// Up to `limit` committed documents after `after` (id order), read back whole.
pub async fn export_documents(inner: &Inner, after: Option<&str>, limit: usize) -> Result<Vec<ExportedDocument>, BackendError> {
    let page = list_documents(inner, after, limit).await?;
    if page.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = page.iter().map(|d| d.id.clone()).collect();
    // (document, position) -> (paragraph id, heading, text, simplified, ordinal -> (chunk, vector))
    type Paragraph = (i64, Option<String>, String, String, BTreeMap<u32, (PreparedChunk, Vec<f32>)>);
    let mut paragraphs: HashMap<String, BTreeMap<u32, Paragraph>> = HashMap::new();
    let mut chunk_filter = of_kind(KIND_CHUNK);
    chunk_filter.must.push(Condition::matches("document_id", ids.clone()));
    for p in scroll_all(inner, chunk_filter, true).await? {
        let v = dense_vector(inner, &p)?;
        let c: ChunkPayload = decode(inner, "a chunk point", p.payload)?;
        let chunk = PreparedChunk { start: c.start, end: c.end, text: c.chunk_text };
        paragraphs
            .entry(c.document_id)
            .or_default()
            .entry(c.position)
            .or_insert_with(|| (c.paragraph_id, c.heading, c.text, c.simplified, BTreeMap::new()))
            .4
            .insert(c.ordinal, (chunk, v));
    }
    let mut duplicates: HashMap<String, Vec<DuplicateOccurrence>> = HashMap::new();
    let mut duplicate_filter = of_kind(KIND_DUPLICATE);
    duplicate_filter.must.push(Condition::matches("document_id", ids));
    for p in scroll_all(inner, duplicate_filter, false).await? {
        let d: DuplicatePayload = decode(inner, "a duplicate point", p.payload)?;
        duplicates.entry(d.document_id).or_default().push(DuplicateOccurrence {
            of_position: d.of_position,
            block_index: d.block_index,
            text: d.text,
        });
    }
    let mut out = Vec::with_capacity(page.len());
    for d in page {
        let mut prepared = Vec::new();
        let mut paragraph_ids = Vec::new();
        let mut vectors = Vec::new();
        for (position, (pid, heading, text, simplified, chunks)) in paragraphs.remove(&d.id).unwrap_or_default() {
            let mut cs = Vec::with_capacity(chunks.len());
            for (chunk, v) in chunks.into_values() {
                cs.push(chunk);
                vectors.push(v);
            }
            prepared.push(PreparedParagraph { position, heading, text, simplified, chunks: cs });
            paragraph_ids.push(pid);
        }
        let mut dups = duplicates.remove(&d.id).unwrap_or_default();
        dups.sort_by_key(|x| x.block_index);
        if prepared.len() != d.paragraphs as usize || vectors.len() != d.chunks as usize || dups.len() != d.duplicates as usize {
            return Err(BackendError::Internal(format!(
                "document {} in {}: {} paragraphs, {} chunks and {} duplicates found, {}, {} and {} recorded",
                d.id,
                inner.url(),
                prepared.len(),
                vectors.len(),
                dups.len(),
                d.paragraphs,
                d.chunks,
                d.duplicates
            )));
        }
        let document = PreparedDocument {
            id: d.id,
            key: d.key,
            origin: d.origin,
            title: d.title,
            source: d.source,
            date: d.date,
            year: d.year,
            tags: d.tags,
            paragraphs: prepared,
            duplicates: dups,
        };
        out.push(ExportedDocument { document, paragraph_ids, vectors, created_at: d.created_at });
    }
    Ok(out)
}
