//! Ingestion: raw page → cleaned, segmented document → chunk vectors → store + index.
//! Each document succeeds or fails on its own; a failure stores nothing of that document.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::InsertOutcome;
use crate::corpus::{date_from_name, prepare_document_dated, strip_html, DateSource, Dating, DocumentMeta, PreparedDocument};
use crate::embed::Mode;

use super::{Engine, EngineError};

/// Most characters of a document's name (its file name or the caller's label).
pub const MAX_NAME_CHARS: usize = 1_024;
/// Most characters of a title; a longer detected or front-matter title is cut to this.
pub const MAX_TITLE_CHARS: usize = 1_000;
/// Most characters of a source; a longer detected or front-matter source is cut to this.
pub const MAX_SOURCE_CHARS: usize = 200;
/// Most tags of one document.
pub const MAX_TAGS: usize = 32;
/// Most characters of one tag.
pub const MAX_TAG_CHARS: usize = 64;
/// Most characters of a document key.
pub const MAX_KEY_CHARS: usize = 1_024;

/// Checks what a caller (or a front matter) says about a document against the metadata limits;
/// the message names the field and the limit.
fn check_meta(name: &str, meta: &DocumentMeta) -> Result<(), EngineError> {
    let too_long = |field: &str, value: &str, max: usize| -> Result<(), EngineError> {
        let n = value.chars().count();
        if n > max {
            return Err(EngineError::InvalidArgument(format!("{field} is {n} characters, above the limit of {max}; shorten it")));
        }
        Ok(())
    };
    too_long("name", name, MAX_NAME_CHARS)?;
    too_long("title", meta.title.as_deref().unwrap_or(""), MAX_TITLE_CHARS)?;
    too_long("source", meta.source.as_deref().unwrap_or(""), MAX_SOURCE_CHARS)?;
    too_long("key", meta.key.as_deref().unwrap_or(""), MAX_KEY_CHARS)?;
    if meta.key.as_deref().is_some_and(|k| k.chars().any(char::is_control)) {
        return Err(EngineError::InvalidArgument("key contains a control character (newline, tab, NUL...); remove it".into()));
    }
    check_tags(&meta.tags)
}

fn check_tags(tags: &[String]) -> Result<(), EngineError> {
    if tags.len() > MAX_TAGS {
        return Err(EngineError::InvalidArgument(format!(
            "{} tags, above the limit of {MAX_TAGS}; keep the ones you filter on",
            tags.len()
        )));
    }
    if let Some(t) = tags.iter().find(|t| t.chars().count() > MAX_TAG_CHARS) {
        let shown: String = t.chars().take(20).collect();
        return Err(EngineError::InvalidArgument(format!("tag \"{shown}…\" is longer than {MAX_TAG_CHARS} characters; shorten it")));
    }
    Ok(())
}

fn clip(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text,
    }
}

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
            other => Err(EngineError::InvalidArgument(format!("unknown format '{other}': use txt, md or html"))),
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
///
/// Its date is, in order of precedence: `meta.date` (the caller's), the front matter's `date:`,
/// a date line in the page header, then the date in `name`'s file name when `date_from_name`
/// (see [`crate::corpus::date_from_name`]); otherwise it is undated.
#[derive(Debug, Clone)]
pub struct IngestInput {
    /// Raw page text.
    pub text: String,
    /// Origin to record (file path, URL, caller name).
    pub name: String,
    /// Caller metadata; overrides detection.
    pub meta: DocumentMeta,
    /// Encoding of `text`.
    pub format: Format,
    /// Take the date from `name`'s file name when nothing else dates the document (default
    /// true; false for rows of a CSV/JSONL file, whose file name dates the file, not the row).
    pub date_from_name: bool,
}

impl Default for IngestInput {
    fn default() -> Self {
        IngestInput { text: String::new(), name: String::new(), meta: DocumentMeta::default(), format: Format::Text, date_from_name: true }
    }
}

/// Outcome of one document.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestStatus {
    /// Stored now.
    Inserted,
    /// Stored now, replacing the version of its key with this id.
    Replaced(String),
    /// Already stored (same id); nothing changed.
    AlreadyPresent,
    /// Rejected; nothing stored. The message says why.
    Failed(String),
}

impl IngestStatus {
    /// True when the document was stored now (inserted or replacing its key's version).
    pub fn stored(&self) -> bool {
        matches!(self, IngestStatus::Inserted | IngestStatus::Replaced(_))
    }
}

/// Wall time one document spent in each stage of its ingestion, as the ingesting task
/// measured it (awaits included). The stages run one after another, so their sum never
/// exceeds the document's own wall time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestTimings {
    /// Cleaning and segmentation: size checks, HTML stripping, cleaning, headings, chunks,
    /// duplicates, metadata detection ([`Engine::prepare`]).
    pub cleaning: Duration,
    /// Embedding the chunks: the model, queue wait included.
    pub embedding: Duration,
    /// The backend: the already-present check and storing the document with its vectors,
    /// index entries and keyword index (committed per document).
    pub storage: Duration,
}

impl IngestTimings {
    /// Cleaning + embedding + storage.
    pub fn total(&self) -> Duration {
        self.cleaning + self.embedding + self.storage
    }
}

impl std::ops::AddAssign for IngestTimings {
    fn add_assign(&mut self, other: Self) {
        self.cleaning += other.cleaning;
        self.embedding += other.embedding;
        self.storage += other.storage;
    }
}

/// Awaits `fut`, adding its wall time to `slot`.
async fn timed<T>(slot: &mut Duration, fut: impl Future<Output = T>) -> T {
    let start = Instant::now();
    let out = fut.await;
    *slot += start.elapsed();
    out
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
    /// Where the date came from (`None` when undated).
    pub date_source: Option<DateSource>,
    /// A page-header date set aside because the file name gives another year.
    pub overruled_header_date: Option<String>,
    /// Tokens fed to the model for this document (special tokens and prefixes included; 0
    /// when nothing was embedded).
    pub tokens: u64,
    /// Time spent in each stage (zero for the stages it did not reach).
    pub timings: IngestTimings,
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
            date_source: None,
            overruled_header_date: None,
            tokens: 0,
            timings: IngestTimings::default(),
        }
    }

    fn from_doc(index: usize, status: IngestStatus, doc: &PreparedDocument, dating: &Dating) -> Self {
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
            date_source: dating.source,
            overruled_header_date: dating.overruled_header_date.clone(),
            tokens: 0,
            timings: IngestTimings::default(),
        }
    }

    fn with(self, tokens: u64, timings: IngestTimings) -> Self {
        IngestResult { tokens, timings, ..self }
    }
}

impl Engine {
    /// Checks size limits and cleans/segments one document (no embedding yet).
    pub fn prepare(&self, input: &IngestInput) -> Result<PreparedDocument, EngineError> {
        self.prepare_dated(input).map(|(doc, _)| doc)
    }

    /// [`Engine::prepare`], also saying where the document's date came from.
    pub fn prepare_dated(&self, input: &IngestInput) -> Result<(PreparedDocument, Dating), EngineError> {
        let limit = self.config().max_document_bytes;
        if input.text.len() > limit {
            return Err(EngineError::InvalidArgument(format!(
                "document is {} bytes, above the limit of {limit} bytes; split it or raise --max-document-bytes",
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
        check_meta(&input.name, &input.meta)?;
        let name = if input.name.is_empty() { "(unnamed)" } else { input.name.as_str() };
        let name_date = if input.date_from_name { date_from_name(&input.name) } else { None };
        let (mut doc, dating) = prepare_document_dated(&raw, name, &input.meta, name_date, &self.config().segment)?;
        // front matter tags are the author's metadata too; detected titles and sources are cut
        check_tags(&doc.tags)?;
        doc.title = doc.title.map(|t| clip(t, MAX_TITLE_CHARS));
        doc.source = doc.source.map(|s| clip(s, MAX_SOURCE_CHARS));
        Ok((doc, dating))
    }

    /// Ingests documents one after another; never fails as a whole.
    pub async fn ingest(self: &Arc<Self>, inputs: Vec<IngestInput>) -> Vec<IngestResult> {
        let mut results = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.into_iter().enumerate() {
            results.push(self.ingest_one(index, input).await);
        }
        if results.iter().any(|r| r.status.stored()) {
            if let Err(e) = self.checkpoint().await {
                tracing::warn!("could not checkpoint the backend after ingestion: {e}");
            }
        }
        results
    }

    /// Ingests one document; `index` is its position in the caller's batch. The result
    /// carries the time of each stage ([`IngestTimings`]) and the tokens embedded.
    pub async fn ingest_one(self: &Arc<Self>, index: usize, input: IngestInput) -> IngestResult {
        let mut t = IngestTimings::default();
        let engine = Arc::clone(self);
        // Cleaning runs below the searches' priority (it is ingestion's work, like storing).
        let prepared = timed(&mut t.cleaning, crate::priority::in_background(move || engine.prepare_dated(&input)))
            .await
            .unwrap_or_else(|e| Err(EngineError::Internal(format!("ingest task failed: {e}"))));
        let (doc, dating) = match prepared {
            Ok((doc, source)) => (Arc::new(doc), source),
            Err(e) => return IngestResult::failed(index, String::new(), &e).with(0, t),
        };
        match timed(&mut t.storage, self.backend().contains_document(&doc.id)).await {
            Ok(true) => return IngestResult::from_doc(index, IngestStatus::AlreadyPresent, &doc, &dating).with(0, t),
            Ok(false) => {}
            Err(e) => return IngestResult::failed(index, doc.id.clone(), &e.into()).with(0, t),
        }
        let texts: Vec<String> = doc.paragraphs.iter().flat_map(|p| p.chunks.iter().map(|c| c.text.clone())).collect();
        let (vectors, tokens) = match timed(&mut t.embedding, self.embedder().embed(texts, Mode::Passage)).await {
            Ok(v) => {
                let tokens = v.iter().map(|e| e.tokens as u64).sum();
                (Arc::new(v.into_iter().map(|e| e.vector).collect::<Vec<_>>()), tokens)
            }
            Err(e) => return IngestResult::failed(index, doc.id.clone(), &e.into()).with(0, t),
        };
        let status = match timed(&mut t.storage, self.backend().put_document(Arc::clone(&doc), vectors)).await {
            Ok(InsertOutcome::Inserted { replaced: Some(old), .. }) => IngestStatus::Replaced(old),
            Ok(InsertOutcome::Inserted { .. }) => IngestStatus::Inserted,
            Ok(InsertOutcome::AlreadyPresent { .. }) => IngestStatus::AlreadyPresent,
            Err(e) => return IngestResult::failed(index, doc.id.clone(), &e.into()).with(tokens, t),
        };
        IngestResult::from_doc(index, status, &doc, &dating).with(tokens, t)
    }
}

impl Engine {
    /// Checks the size of a batch of documents: 1 to
    /// [`crate::config::Config::max_documents_per_request`].
    pub fn check_batch(&self, documents: usize) -> Result<(), EngineError> {
        let max = self.config().max_documents_per_request;
        if documents == 0 || documents > max {
            return Err(EngineError::InvalidArgument(format!(
                "send 1 to {max} documents per request (got {documents}; the server's --max-documents-per-request)"
            )));
        }
        Ok(())
    }

    /// Most documents one stream may carry: 100 batches.
    pub fn max_stream_documents(&self) -> usize {
        self.config().max_documents_per_request.saturating_mul(100)
    }

    /// Checks that a stream that already carried `received` documents may carry one more.
    pub fn check_stream_position(&self, received: usize) -> Result<(), EngineError> {
        let max = self.max_stream_documents();
        if received >= max {
            return Err(EngineError::ResourceExhausted(format!(
                "a stream may carry at most {max} documents (100 x the server's --max-documents-per-request); the first {max} were ingested, send the rest in a new stream"
            )));
        }
        Ok(())
    }
}
