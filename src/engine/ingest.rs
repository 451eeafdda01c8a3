//! Ingestion: raw page → cleaned, segmented document → chunk vectors → store + index.
//! Each document succeeds or fails on its own; a failure stores nothing of that document.

use std::sync::Arc;

use crate::corpus::{prepare_document, strip_html, DocumentMeta, PreparedDocument};
use crate::embed::Mode;
use crate::store::InsertOutcome;

use super::{DocInfo, Engine, EngineError};

/// How the raw text of a document is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// Plain text (default).
    #[default]
    Text,
    /// Markdown: ingested as text.
    Markdown,
    /// HTML: tags stripped, block elements become line breaks.
    Html,
}

impl Format {
    /// Parses `txt`, `text`, `md`, `markdown`, `html`, `htm` (any case; empty = text).
    pub fn parse(s: &str) -> Result<Format, EngineError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "txt" | "text" | "plain" => Ok(Format::Text),
            "md" | "markdown" => Ok(Format::Markdown),
            "html" | "htm" => Ok(Format::Html),
            other => Err(EngineError::InvalidArgument(format!(
                "unknown format '{other}': use txt, md or html"
            ))),
        }
    }

    /// Guesses the format from a file extension.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "txt" | "text" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }
}

/// One document to ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestInput {
    /// Raw page text.
    pub text: String,
    /// Origin to record (file path, URL, caller name).
    pub name: String,
    /// Caller metadata; overrides detection.
    pub meta: DocumentMeta,
    /// Encoding of `text`.
    pub format: Format,
}

/// Outcome of one document.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestStatus {
    /// Stored now.
    Inserted,
    /// Already stored (same id); nothing changed.
    AlreadyPresent,
    /// Rejected; nothing stored. The message says why.
    Failed(String),
}

/// Per-document report of an ingestion.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestResult {
    /// Position in the request.
    pub index: usize,
    /// What happened.
    pub status: IngestStatus,
    /// Document id ("" when it failed before one existed).
    pub document_id: String,
    /// Paragraphs stored.
    pub paragraphs: u32,
    /// Chunks embedded.
    pub chunks: u32,
    /// Duplicate paragraph occurrences found.
    pub duplicates: u32,
    /// Title (detected or given).
    pub title: Option<String>,
    /// Date (detected or given).
    pub date: Option<String>,
    /// Year of the date.
    pub year: Option<i32>,
}

impl IngestResult {
    fn failed(index: usize, document_id: String, error: &EngineError) -> Self {
        Self::rejected(index, document_id, error.to_string())
    }

    /// A document rejected with `message`; nothing of it was stored.
    pub fn rejected(index: usize, document_id: String, message: String) -> Self {
        IngestResult {
            index,
            status: IngestStatus::Failed(message),
            document_id,
            paragraphs: 0,
            chunks: 0,
            duplicates: 0,
            title: None,
            date: None,
            year: None,
        }
    }

    fn from_doc(index: usize, status: IngestStatus, doc: &PreparedDocument) -> Self {
        IngestResult {
            index,
            status,
            document_id: doc.id.clone(),
            paragraphs: doc.paragraphs.len() as u32,
            chunks: doc.paragraphs.iter().map(|p| p.chunks.len() as u32).sum(),
            duplicates: doc.duplicates.len() as u32,
            title: doc.title.clone(),
            date: doc.date.clone(),
            year: doc.year,
        }
    }
}

impl Engine {
    /// Checks size limits and cleans/segments one document (no embedding yet).
    pub fn prepare(&self, input: &IngestInput) -> Result<PreparedDocument, EngineError> {
        let limit = self.config().max_document_bytes;
        if input.text.len() > limit {
            return Err(EngineError::InvalidArgument(format!(
                "document is {} bytes, above the limit of {limit} bytes; split it or raise max_document_bytes",
                input.text.len()
            )));
        }
        if input.text.trim().is_empty() {
            return Err(EngineError::InvalidArgument("document text is empty".into()));
        }
        let raw = match input.format {
            Format::Html => strip_html(&input.text),
            Format::Text | Format::Markdown => input.text.clone(),
        };
        let name = if input.name.is_empty() { "(unnamed)" } else { input.name.as_str() };
        Ok(prepare_document(&raw, name, &input.meta, &self.config().segment)?)
    }

    /// Ingests documents one after another; never fails as a whole.
    pub async fn ingest(self: &Arc<Self>, inputs: Vec<IngestInput>) -> Vec<IngestResult> {
        let mut results = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.into_iter().enumerate() {
            results.push(self.ingest_one(index, input).await);
        }
        if results.iter().any(|r| r.status == IngestStatus::Inserted) {
            let engine = Arc::clone(self);
            let _ = tokio::task::spawn_blocking(move || engine.persist_index()).await;
        }
        results
    }

    /// Ingests one document; `index` is its position in the caller's batch.
    pub async fn ingest_one(self: &Arc<Self>, index: usize, input: IngestInput) -> IngestResult {
        let engine = Arc::clone(self);
        let prepared = tokio::task::spawn_blocking(move || {
            let doc = engine.prepare(&input)?;
            let present = engine.store().contains_document(&doc.id)?;
            Ok::<_, EngineError>((doc, present))
        })
        .await
        .unwrap_or_else(|e| Err(EngineError::Internal(format!("ingest task failed: {e}"))));
        let (doc, present) = match prepared {
            Ok(x) => x,
            Err(e) => return IngestResult::failed(index, String::new(), &e),
        };
        if present {
            return IngestResult::from_doc(index, IngestStatus::AlreadyPresent, &doc);
        }
        let texts: Vec<String> = doc.paragraphs.iter().flat_map(|p| p.chunks.iter().map(|c| c.text.clone())).collect();
        let vectors = match self.queue().embed(texts, Mode::Passage).await {
            Ok(v) => v.into_iter().map(|e| e.vector).collect::<Vec<_>>(),
            Err(e) => return IngestResult::failed(index, doc.id.clone(), &e.into()),
        };
        let engine = Arc::clone(self);
        tokio::task::spawn_blocking(move || match engine.store_prepared(&doc, &vectors) {
            Ok(status) => IngestResult::from_doc(index, status, &doc),
            Err(e) => IngestResult::failed(index, doc.id.clone(), &e),
        })
        .await
        .unwrap_or_else(|e| IngestResult::failed(index, String::new(), &EngineError::Internal(e.to_string())))
    }

    /// Blocking ingestion for callers outside an async runtime (start-up seeding, CLI).
    pub fn ingest_blocking(self: &Arc<Self>, inputs: Vec<IngestInput>) -> Vec<IngestResult> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
        match rt {
            Ok(rt) => rt.block_on(self.ingest(inputs)),
            Err(e) => {
                let err = EngineError::Internal(format!("cannot start a runtime: {e}"));
                (0..inputs.len()).map(|i| IngestResult::failed(i, String::new(), &err)).collect()
            }
        }
    }

    /// Writes a prepared, embedded document to the store, then to the catalog and index.
    fn store_prepared(&self, doc: &PreparedDocument, vectors: &[Vec<f32>]) -> Result<IngestStatus, EngineError> {
        let model = self.model_name().to_string();
        // The store lock is held until the index is updated, so concurrent ingestions and
        // deletions apply to store and index in the same order.
        let mut store = self.store();
        let chunk_ids = match store.insert_document(doc, vectors, &model)? {
            InsertOutcome::AlreadyPresent { .. } => return Ok(IngestStatus::AlreadyPresent),
            InsertOutcome::Inserted { chunk_ids, .. } => chunk_ids,
        };
        let owners: Vec<(i64, i64)> = store
            .chunk_catalog_of_document(&doc.id)?
            .into_iter()
            .collect();
        self.catalog_mut()
            .add_document(&doc.id, DocInfo { year: doc.year, tags: doc.tags.clone() }, owners);
        let items: Vec<(u64, &[f32])> = chunk_ids.iter().zip(vectors).map(|(id, v)| (*id as u64, v.as_slice())).collect();
        self.index_mut().insert(&items)?;
        self.mark_index_dirty();
        drop(store);
        Ok(IngestStatus::Inserted)
    }

    /// Deletes a document: store first, then catalog and index (tombstones).
    pub fn delete_document(&self, id: &str) -> Result<crate::store::DeletedDocument, EngineError> {
        let mut store = self.store();
        let deleted = store.delete_document(id)?;
        self.catalog_mut().remove_document(id, &deleted.chunk_ids);
        let ids: Vec<u64> = deleted.chunk_ids.iter().map(|c| *c as u64).collect();
        let mut index = self.index_mut();
        index.tombstone(&ids);
        if index.needs_compaction() {
            *index = index.compacted();
        }
        drop(index);
        self.mark_index_dirty();
        Ok(deleted)
    }
}
