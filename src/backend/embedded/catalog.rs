//! In-memory map from chunk ids to their paragraph and document, with the document
//! metadata filters need (year, tags). Lets search filters run without touching storage.
//!
//! A search resolves its filter once ([`Catalog::prepare`]): every document gets a pass /
//! fail bit by its slot, so checking a chunk is one integer-keyed lookup and one bit, and the
//! share of chunks a filter passes is a sum over documents. At a million chunks, checking
//! each chunk against the filter by document id took most of a filtered search's time.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashMap;

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
    /// Slot of the document in the catalog.
    slot: u32,
}

/// A known document.
#[derive(Debug, Clone)]
struct DocEntry {
    id: String,
    info: DocInfo,
    /// Chunks of this document in the catalog.
    chunks: usize,
}

/// Chunk → paragraph → document map, kept in step with the store.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    chunks: FxHashMap<u64, ChunkOwner>,
    /// Document id → its slot in `docs`.
    slots: HashMap<String, u32>,
    /// Documents by slot; `None` for a free slot.
    docs: Vec<Option<DocEntry>>,
    /// Free slots, reused first.
    free: Vec<u32>,
    /// Paragraph id → its chunk ids (the reverse of `chunks`).
    paragraph_chunks: FxHashMap<i64, Vec<u64>>,
}

impl Catalog {
    /// Adds (or replaces) a document and its chunks.
    pub fn add_document(&mut self, document: &str, info: DocInfo, chunks: impl IntoIterator<Item = (i64, i64)>) {
        let slot = self.set_document(document, info);
        for (chunk, paragraph) in chunks {
            self.add_chunk_at(chunk as u64, paragraph, slot);
        }
    }

    /// Adds one chunk of a document (known, or recorded now with no year and no tags).
    pub fn add_chunk(&mut self, chunk: i64, paragraph: i64, document: &str) {
        let slot = match self.slots.get(document) {
            Some(&slot) => slot,
            None => self.set_document(document, DocInfo { year: None, tags: Vec::new() }),
        };
        self.add_chunk_at(chunk as u64, paragraph, slot);
    }

    fn add_chunk_at(&mut self, chunk: u64, paragraph: i64, slot: u32) {
        if let Some(old) = self.chunks.insert(chunk, ChunkOwner { paragraph, slot }) {
            self.forget_paragraph_chunk(old.paragraph, chunk);
            self.count(old.slot, -1);
        }
        self.count(slot, 1);
        self.paragraph_chunks.entry(paragraph).or_default().push(chunk);
    }

    fn count(&mut self, slot: u32, by: isize) {
        if let Some(Some(doc)) = self.docs.get_mut(slot as usize) {
            doc.chunks = doc.chunks.saturating_add_signed(by);
        }
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

    /// Records a document's metadata; returns its slot.
    pub fn set_document(&mut self, document: &str, info: DocInfo) -> u32 {
        if let Some(&slot) = self.slots.get(document) {
            if let Some(Some(doc)) = self.docs.get_mut(slot as usize) {
                doc.info = info;
            }
            return slot;
        }
        let entry = Some(DocEntry { id: document.to_string(), info, chunks: 0 });
        let slot = match self.free.pop() {
            Some(slot) => {
                self.docs[slot as usize] = entry;
                slot
            }
            None => {
                self.docs.push(entry);
                (self.docs.len() - 1) as u32
            }
        };
        self.slots.insert(document.to_string(), slot);
        slot
    }

    /// Forgets a document and the given chunks.
    pub fn remove_document(&mut self, document: &str, chunks: &[i64]) {
        for c in chunks {
            if let Some(old) = self.chunks.remove(&(*c as u64)) {
                self.forget_paragraph_chunk(old.paragraph, *c as u64);
                self.count(old.slot, -1);
            }
        }
        if let Some(slot) = self.slots.remove(document) {
            // Chunks of the document not named here would still point at the slot: keep it
            // out of reuse until none do.
            let orphans = self.docs[slot as usize].as_ref().map_or(0, |d| d.chunks);
            self.docs[slot as usize] = None;
            if orphans == 0 {
                self.free.push(slot);
            }
        }
    }

    /// Owner of a chunk.
    pub fn owner(&self, chunk: u64) -> Option<&ChunkOwner> {
        self.chunks.get(&chunk)
    }

    /// Metadata of a document.
    pub fn document(&self, id: &str) -> Option<&DocInfo> {
        self.entry_of(id).map(|d| &d.info)
    }

    fn entry_of(&self, id: &str) -> Option<&DocEntry> {
        self.slots.get(id).and_then(|&slot| self.docs[slot as usize].as_ref())
    }

    /// Ids of the documents known.
    pub fn document_ids(&self) -> HashSet<String> {
        self.slots.keys().cloned().collect()
    }

    /// True when the document is known.
    pub fn has_document(&self, id: &str) -> bool {
        self.slots.contains_key(id)
    }

    /// Number of chunks known.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The filter and exclusions of one search, resolved against the documents once.
    pub fn prepare(&self, filter: &ParagraphFilter, exclude: &Exclusions) -> PreparedFilter<'_> {
        let pass = self.docs.iter().map(|d| d.as_ref().is_some_and(|d| filter.accepts(&d.id, d.info.year, &d.info.tags))).collect();
        let excluded_slot = exclude.document.as_deref().and_then(|id| self.slots.get(id).copied());
        PreparedFilter { catalog: self, pass, excluded_paragraph: exclude.paragraph, excluded_slot }
    }

    /// Does the chunk pass the filter and the exclusions? (One chunk; a search checking
    /// many uses [`Catalog::prepare`].)
    pub fn accepts(&self, chunk: u64, filter: &ParagraphFilter, exclude: &Exclusions) -> bool {
        let Some(owner) = self.chunks.get(&chunk) else { return false };
        let Some(Some(doc)) = self.docs.get(owner.slot as usize) else { return false };
        if exclude.paragraph == Some(owner.paragraph) || exclude.document.as_deref() == Some(doc.id.as_str()) {
            return false;
        }
        filter.accepts(&doc.id, doc.info.year, &doc.info.tags)
    }

    /// Fraction of chunks a filter lets through (for choosing exact vs approximate search).
    pub fn selectivity(&self, filter: &ParagraphFilter) -> f64 {
        if filter.is_empty() {
            return 1.0;
        }
        self.prepare(filter, &Exclusions::default()).selectivity()
    }
}

/// A search's filter resolved against the catalog: one pass bit per document slot.
pub struct PreparedFilter<'a> {
    catalog: &'a Catalog,
    pass: Vec<bool>,
    excluded_paragraph: Option<i64>,
    excluded_slot: Option<u32>,
}

impl PreparedFilter<'_> {
    /// Does the chunk pass the filter and the exclusions?
    pub fn accepts(&self, chunk: u64) -> bool {
        let Some(owner) = self.catalog.chunks.get(&chunk) else { return false };
        self.pass.get(owner.slot as usize).copied().unwrap_or(false)
            && self.excluded_paragraph != Some(owner.paragraph)
            && self.excluded_slot != Some(owner.slot)
    }

    /// Fraction of the catalog's chunks whose document passes the filter (1 for an empty
    /// catalog); exclusions are not counted.
    pub fn selectivity(&self) -> f64 {
        let total = self.catalog.chunks.len();
        if total == 0 {
            return 1.0;
        }
        let passing: usize =
            self.catalog.docs.iter().zip(&self.pass).filter(|(_, &p)| p).map(|(d, _)| d.as_ref().map_or(0, |d| d.chunks)).sum();
        passing as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::YearFilter;

    fn info(year: i32, tags: &[&str]) -> DocInfo {
        DocInfo { year: Some(year), tags: tags.iter().map(|t| t.to_string()).collect() }
    }

    fn years(from: i32, to: i32) -> ParagraphFilter {
        ParagraphFilter { years: Some(YearFilter { from: Some(from), to: Some(to), ..Default::default() }), ..Default::default() }
    }

    /// The prepared filter agrees with the per-chunk check on every chunk, exclusions
    /// included, and its selectivity counts chunks, not documents.
    #[test]
    fn a_prepared_filter_answers_as_the_per_chunk_check() {
        let mut c = Catalog::default();
        c.add_document("a", info(2001, &["x"]), [(1, 10), (2, 10), (3, 11)]);
        c.add_document("b", info(2005, &[]), [(4, 20)]);
        c.add_document("c", info(2010, &["x"]), [(5, 30), (6, 31)]);
        let filters = [
            ParagraphFilter::default(),
            years(2000, 2006),
            ParagraphFilter { tags: vec!["x".into()], ..Default::default() },
            ParagraphFilter { document_ids: vec!["b".into(), "c".into()], ..Default::default() },
        ];
        let exclusions = [
            Exclusions::default(),
            Exclusions { paragraph: Some(10), document: None },
            Exclusions { paragraph: None, document: Some("c".into()) },
        ];
        for f in &filters {
            for e in &exclusions {
                let prepared = c.prepare(f, e);
                for chunk in 0..8 {
                    assert_eq!(prepared.accepts(chunk), c.accepts(chunk, f, e), "chunk {chunk}, {f:?}, {e:?}");
                }
            }
        }
        assert_eq!(c.selectivity(&ParagraphFilter::default()), 1.0);
        assert!((c.selectivity(&years(2000, 2006)) - 4.0 / 6.0).abs() < 1e-12);
        assert!((c.selectivity(&years(2010, 2010)) - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(c.selectivity(&years(1990, 1991)), 0.0);
    }

    /// Removing and replacing documents keeps counts, owners and slots right; a freed slot
    /// is reused without the new document inheriting the old one's chunks.
    #[test]
    fn removal_and_reuse_keep_the_catalog_consistent() {
        let mut c = Catalog::default();
        c.add_document("old", info(1999, &[]), [(1, 1), (2, 1)]);
        c.add_document("keep", info(2020, &[]), [(3, 2)]);
        c.remove_document("old", &[1, 2]);
        assert!(!c.has_document("old") && c.owner(1).is_none() && c.chunks_of_paragraph(1).is_empty());
        assert_eq!(c.chunk_count(), 1);
        c.add_document("new", info(1999, &[]), [(4, 3)]);
        assert_eq!(c.document("new"), Some(&info(1999, &[])));
        let f = years(1999, 1999);
        assert!(c.prepare(&f, &Exclusions::default()).accepts(4));
        assert!(!c.prepare(&f, &Exclusions::default()).accepts(1));
        assert!((c.selectivity(&f) - 0.5).abs() < 1e-12);
        // a chunk moved to another document counts for the new one only
        c.add_chunk(3, 2, "new");
        assert!((c.selectivity(&f) - 1.0).abs() < 1e-12);
        assert_eq!(c.document_ids(), HashSet::from(["keep".to_string(), "new".to_string()]));
        // metadata set again changes what passes
        c.set_document("new", info(2030, &[]));
        assert_eq!(c.selectivity(&f), 0.0);
    }
}
