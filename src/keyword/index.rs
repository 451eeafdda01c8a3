//! The on-disk keyword index: one tantivy document per chunk (chunk id, paragraph id, document
//! id, simplified text analysed by [`JiebaTokenizer`]), BM25 search, deletion by document.
//!
//! Changes become visible and durable together at [`KeywordIndex::commit`] (tantivy swaps its
//! `meta.json` atomically), so a document whose chunks were added but not committed is never
//! searchable, and after a crash the index holds exactly the last committed state. Every commit
//! records the analyzer version and dictionary fingerprint; an index written with other
//! analysis rules, another schema, or that cannot be read is reset to empty on open
//! ([`OpenState::Reset`]) so the caller rebuilds it from its store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STRING};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{doc, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Term, TERMINATED};

use super::analyzer::{JiebaTokenizer, ANALYZER_VERSION, TOKENIZER_NAME};
use super::collect::{rank_hits, AllMatches, KeywordHit, CHUNK_ID_FIELD, PARAGRAPH_ID_FIELD};
use super::dictionary::Segmenter;
use super::highlight::{highlight_spans, Span};
use super::query::KeywordQuery;
use super::KeywordError;

/// Raw-indexed field: the document id, for deletion and reconciliation.
const DOCUMENT_ID_FIELD: &str = "document_id";
/// Analysed text field.
const TEXT_FIELD: &str = "text";

/// Memory the single indexing thread may buffer before flushing a segment (tantivy's minimum
/// is 15 MB).
const WRITER_MEMORY_BYTES: usize = 32_000_000;

/// One chunk to index.
#[derive(Debug, Clone, Copy)]
pub struct KeywordChunk<'a> {
    /// Chunk id (unique across the index).
    pub chunk_id: u64,
    /// Id of the chunk's paragraph.
    pub paragraph_id: i64,
    /// The chunk's simplified text (what is embedded).
    pub text: &'a str,
}

/// How [`KeywordIndex::open`] found the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenState {
    /// There was no index: a new empty one was created.
    Created,
    /// An index written with the same analysis rules was opened.
    Opened,
    /// An index existed but could not be used (the reason says why); it was replaced by an
    /// empty one.
    Reset(String),
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    chunk_id: Field,
    paragraph_id: Field,
    document_id: Field,
    text: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let chunk_id = b.add_u64_field(CHUNK_ID_FIELD, NumericOptions::default().set_fast());
    let paragraph_id = b.add_i64_field(PARAGRAPH_ID_FIELD, NumericOptions::default().set_fast());
    let document_id = b.add_text_field(DOCUMENT_ID_FIELD, STRING);
    let indexing = TextFieldIndexing::default().set_tokenizer(TOKENIZER_NAME).set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = b.add_text_field(TEXT_FIELD, TextOptions::default().set_indexing_options(indexing));
    (b.build(), Fields { chunk_id, paragraph_id, document_id, text })
}

/// The keyword index of one data directory.
pub struct KeywordIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    tokenizer: JiebaTokenizer,
    marker: String,
    state: OpenState,
}

impl std::fmt::Debug for KeywordIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordIndex").field("dir", &self.dir).field("state", &self.state).finish()
    }
}

/// Opens an existing index and checks it is usable; `Err` carries the reason to reset it.
fn open_existing(dir: &Path, expected: &Schema, marker: &str) -> Result<Index, String> {
    let index = Index::open_in_dir(dir).map_err(|e| format!("cannot open: {e}"))?;
    if &index.schema() != expected {
        return Err("its schema differs from this version's".into());
    }
    let payload = index.load_metas().map_err(|e| format!("cannot read its metadata: {e}"))?.payload;
    if payload.as_deref() != Some(marker) {
        return Err(format!("it was written with other analysis rules ({}, now {marker})", payload.as_deref().unwrap_or("unrecorded")));
    }
    Ok(index)
}

impl KeywordIndex {
    /// Opens (or creates) the index in `dir`, analysing with `segmenter`'s dictionaries.
    /// An unusable existing index is replaced by an empty one ([`OpenState::Reset`]); a lock
    /// held by another live process is an error.
    pub fn open(dir: &Path, segmenter: Arc<Segmenter>) -> Result<KeywordIndex, KeywordError> {
        let (schema, fields) = schema();
        let marker = format!("simtheme-keyword analyzer={ANALYZER_VERSION} dictionary={}", segmenter.fingerprint());
        std::fs::create_dir_all(dir)?;
        let existing = Index::exists(&MmapDirectory::open(dir)?).map_err(|e| KeywordError::Index(e.into()))?;
        let (index, state) = if existing {
            match open_existing(dir, &schema, &marker) {
                Ok(index) => (index, OpenState::Opened),
                Err(reason) => {
                    std::fs::remove_dir_all(dir)?;
                    std::fs::create_dir_all(dir)?;
                    (Index::create_in_dir(dir, schema.clone())?, OpenState::Reset(reason))
                }
            }
        } else {
            (Index::create_in_dir(dir, schema.clone())?, OpenState::Created)
        };
        let tokenizer = JiebaTokenizer::new(segmenter);
        index.tokenizers().register(TOKENIZER_NAME, TextAnalyzer::from(tokenizer.clone()));
        let options =
            IndexWriterOptions::builder().num_worker_threads(1).num_merge_threads(1).memory_budget_per_thread(WRITER_MEMORY_BYTES).build();
        // The writer's threads analyse stored chunks and merge segments: started from a
        // lowered thread, they inherit its priority and give way to searches.
        let writer: IndexWriter = crate::priority::spawn_lowered(crate::priority::BACKGROUND, || index.writer_with_options(options))?;
        let reader = match index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into() {
            Ok(reader) => reader,
            Err(e) if state == OpenState::Opened => {
                // Segments named by meta.json are missing or damaged: start over.
                drop(writer);
                drop(index);
                std::fs::remove_dir_all(dir)?;
                let mut again = Self::open(dir, Arc::clone(tokenizer.segmenter()))?;
                again.state = OpenState::Reset(format!("cannot read its segments: {e}"));
                return Ok(again);
            }
            Err(e) => return Err(e.into()),
        };
        let this = KeywordIndex { dir: dir.to_path_buf(), index, reader, writer: Mutex::new(writer), fields, tokenizer, marker, state };
        if this.state != OpenState::Opened {
            this.commit()?; // records the marker right away
        }
        Ok(this)
    }

    /// How the directory was found at open.
    pub fn open_state(&self) -> &OpenState {
        &self.state
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stages a document's chunks, replacing any chunks already indexed under `document_id`.
    /// Invisible until [`KeywordIndex::commit`].
    pub fn add_document(&self, document_id: &str, chunks: &[KeywordChunk<'_>]) -> Result<(), KeywordError> {
        let writer = self.writer();
        writer.delete_term(Term::from_field_text(self.fields.document_id, document_id));
        for c in chunks {
            writer.add_document(doc!(
                self.fields.chunk_id => c.chunk_id,
                self.fields.paragraph_id => c.paragraph_id,
                self.fields.document_id => document_id,
                self.fields.text => c.text,
            ))?;
        }
        Ok(())
    }

    /// Stages the deletion of every chunk of `document_id` (a no-op when it is not indexed).
    pub fn delete_document(&self, document_id: &str) {
        self.writer().delete_term(Term::from_field_text(self.fields.document_id, document_id));
    }

    /// Stages the deletion of everything (before a rebuild).
    pub fn delete_all(&self) -> Result<(), KeywordError> {
        self.writer().delete_all_documents()?;
        Ok(())
    }

    /// Makes the staged changes durable and visible, all at once.
    pub fn commit(&self) -> Result<(), KeywordError> {
        let mut writer = self.writer();
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&self.marker);
        prepared.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Discards the staged changes (back to the last commit).
    pub fn rollback(&self) -> Result<(), KeywordError> {
        self.writer().rollback()?;
        Ok(())
    }

    /// Committed chunks.
    pub fn chunk_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Committed documents with their chunk counts, for reconciliation with the store.
    pub fn documents(&self) -> Result<BTreeMap<String, u64>, KeywordError> {
        let searcher = self.reader.searcher();
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.document_id)?;
            let mut terms = inverted.terms().stream()?;
            while terms.advance() {
                let mut postings = inverted.read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)?;
                let mut alive = 0u64;
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    alive += u64::from(!segment.is_deleted(doc));
                    doc = postings.advance();
                }
                if alive > 0 {
                    *out.entry(String::from_utf8_lossy(terms.key()).into_owned()).or_default() += alive;
                }
            }
        }
        Ok(out)
    }

    /// Parses user text into a query with this index's analysis.
    pub fn parse_query(&self, text: &str) -> Result<KeywordQuery, KeywordError> {
        KeywordQuery::parse(text, &mut self.tokenizer.clone())
    }

    /// The best `limit` committed chunks for `query` among those `accept` lets through, by
    /// BM25 score then chunk id. Exact: every match is scored before filtering.
    pub fn search(&self, query: &KeywordQuery, limit: usize, accept: &dyn Fn(u64) -> bool) -> Result<Vec<KeywordHit>, KeywordError> {
        let searcher = self.reader.searcher();
        let hits = searcher.search(&*query.to_tantivy(self.fields.text), &AllMatches)?;
        Ok(rank_hits(hits, limit, accept))
    }

    /// Character spans of `query`'s terms in `text` (a chunk's or paragraph's simplified text).
    pub fn highlight(&self, query: &KeywordQuery, text: &str) -> Vec<Span> {
        highlight_spans(&mut self.tokenizer.clone(), query, text)
    }

    /// Bytes the index occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }

    /// Words of the user dictionaries the analyzer uses.
    pub fn segmenter_words(&self) -> usize {
        self.tokenizer.segmenter().user_words().len()
    }

    /// The underlying tantivy index (benches, diagnostics).
    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}
