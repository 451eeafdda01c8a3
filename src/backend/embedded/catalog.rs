//! In-memory map from chunk ids to their paragraph and document, with the document
//! metadata filters need (year, tags). Lets search filters run without touching storage.

use std::collections::{HashMap, HashSet};

use crate::backend::{Exclusions, ParagraphFilter};

/// What a filter needs to know about a document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocInfo {
    /// Publication year, if known.
    pub year: Option<i32>,
    /// Caller tags.
    pub tags: Vec<String>,
}

/// Where a chunk belongs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkOwner {
    /// Paragraph id.
    pub paragraph: i64,
    /// Document id.
    pub document: String,
}

/// Chunk → paragraph → document map, kept in step with the store.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    chunks: HashMap<u64, ChunkOwner>,
    docs: HashMap<String, DocInfo>,
    /// Paragraph id → its chunk ids (the reverse of `chunks`).
    paragraph_chunks: HashMap<i64, Vec<u64>>,
}

impl Catalog {
    /// Adds (or replaces) a document and its chunks.
    pub fn add_document(&mut self, document: &str, info: DocInfo, chunks: impl IntoIterator<Item = (i64, i64)>) {
        self.docs.insert(document.to_string(), info);
        for (chunk, paragraph) in chunks {
            self.add_chunk(chunk, paragraph, document);
        }
    }

    /// Adds one chunk of a document already known.
    pub fn add_chunk(&mut self, chunk: i64, paragraph: i64, document: &str) {
        let chunk = chunk as u64;
        if let Some(old) = self.chunks.insert(chunk, ChunkOwner { paragraph, document: document.to_string() }) {
            self.forget_paragraph_chunk(old.paragraph, chunk);
        }
        self.paragraph_chunks.entry(paragraph).or_default().push(chunk);
    }

    fn forget_paragraph_chunk(&mut self, paragraph: i64, chunk: u64) {
        if let Some(list) = self.paragraph_chunks.get_mut(&paragraph) {
            list.retain(|c| *c != chunk);
            if list.is_empty() {
                self.paragraph_chunks.remove(&paragraph);
            }
        }
    }

    /// The chunk ids of a paragraph (empty if unknown), in the order they were added.
    pub fn chunks_of_paragraph(&self, paragraph: i64) -> &[u64] {
        self.paragraph_chunks.get(&paragraph).map_or(&[], Vec::as_slice)
    }

    /// Records a document's metadata.
    pub fn set_document(&mut self, document: &str, info: DocInfo) {
        self.docs.insert(document.to_string(), info);
    }

    /// Forgets a document and the given chunks.
    pub fn remove_document(&mut self, document: &str, chunks: &[i64]) {
        self.docs.remove(document);
        for c in chunks {
            if let Some(old) = self.chunks.remove(&(*c as u64)) {
                self.forget_paragraph_chunk(old.paragraph, *c as u64);
            }
        }
    }

    /// Owner of a chunk.
    pub fn owner(&self, chunk: u64) -> Option<&ChunkOwner> {
        self.chunks.get(&chunk)
    }

    /// Metadata of a document.
    pub fn document(&self, id: &str) -> Option<&DocInfo> {
        self.docs.get(id)
    }

    /// Ids of the documents known.
    pub fn document_ids(&self) -> HashSet<String> {
        self.docs.keys().cloned().collect()
    }

    /// True when the document is known.
    pub fn has_document(&self, id: &str) -> bool {
        self.docs.contains_key(id)
    }

    /// Number of chunks known.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Does the chunk pass the filter and the exclusions?
    pub fn accepts(&self, chunk: u64, filter: &ParagraphFilter, exclude: &Exclusions) -> bool {
        let Some(owner) = self.chunks.get(&chunk) else { return false };
        if exclude.paragraph == Some(owner.paragraph) || exclude.document.as_deref() == Some(owner.document.as_str()) {
            return false;
        }
        let Some(doc) = self.docs.get(&owner.document) else { return false };
        filter.accepts(&owner.document, doc.year, &doc.tags)
    }

    /// Fraction of chunks a filter lets through (for choosing exact vs HNSW search).
    pub fn selectivity(&self, filter: &ParagraphFilter) -> f64 {
        if filter.is_empty() || self.chunks.is_empty() {
            return 1.0;
        }
        let ok_docs: HashSet<&str> =
            self.docs.iter().filter(|(id, d)| filter.accepts(id, d.year, &d.tags)).map(|(id, _)| id.as_str()).collect();
        let passing = self.chunks.values().filter(|o| ok_docs.contains(o.document.as_str())).count();
        passing as f64 / self.chunks.len() as f64
    }
}
