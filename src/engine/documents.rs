//! Reading and deleting stored documents and paragraphs.

use crate::backend::{DeletedDocument, DocumentRecord, DocumentRef, ParagraphRecord, ParagraphVector};

use super::{Engine, EngineError};

impl Engine {
    /// One stored paragraph with its document's metadata.
    pub async fn paragraph(&self, id: i64) -> Result<ParagraphRecord, EngineError> {
        Ok(self.backend().paragraph(id).await?)
    }

    /// One stored paragraph with its vector (the normalised mean of its chunk vectors).
    pub async fn paragraph_vector(&self, id: i64) -> Result<ParagraphVector, EngineError> {
        Ok(self.backend().paragraph_vector(id).await?)
    }

    /// Up to `limit` documents ordered by id, strictly after `after`.
    pub async fn list_documents(&self, after: Option<String>, limit: usize) -> Result<Vec<DocumentRecord>, EngineError> {
        Ok(self.backend().list_documents(after, limit).await?)
    }

    /// Deletes a document (by id or key) with its paragraphs and vectors; `NotFound` naming
    /// the id or key when none is stored under it.
    pub async fn delete_document(&self, by: DocumentRef) -> Result<DeletedDocument, EngineError> {
        let id = match by {
            DocumentRef::Id(id) if id.trim().is_empty() => return Err(EngineError::InvalidArgument("document_id is empty".into())),
            DocumentRef::Id(id) => id,
            by @ DocumentRef::Key(_) => self.document(by).await?.id,
        };
        Ok(self.backend().delete_document(&id).await?)
    }

    /// One stored document by id or key; `NotFound` naming the id or key when none is stored.
    pub async fn document(&self, by: DocumentRef) -> Result<DocumentRecord, EngineError> {
        let missing = match &by {
            DocumentRef::Id(id) if id.trim().is_empty() => return Err(EngineError::InvalidArgument("document_id is empty".into())),
            DocumentRef::Key(key) if key.trim().is_empty() => return Err(EngineError::InvalidArgument("key is empty".into())),
            DocumentRef::Id(id) => format!("no document with id {id}; ListDocuments shows the stored ones"),
            DocumentRef::Key(key) => format!("no document with key \"{key}\"; it was never added or was deleted"),
        };
        self.backend().document(by).await?.ok_or(EngineError::NotFound(missing))
    }
}

/// Documents a page holds when the request names no size.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Most documents one page may hold.
pub const MAX_PAGE_SIZE: usize = 500;

/// One page of [`Engine::documents_page`].
#[derive(Debug, Clone)]
pub struct DocumentPage {
    /// Documents ordered by id.
    pub documents: Vec<DocumentRecord>,
    /// True when documents follow the last one.
    pub more: bool,
}

impl Engine {
    /// The page of `size` documents (0: [`DEFAULT_PAGE_SIZE`]; at most [`MAX_PAGE_SIZE`])
    /// ordered by id, strictly after `after`.
    pub async fn documents_page(&self, after: Option<String>, size: usize) -> Result<DocumentPage, EngineError> {
        let size = match size {
            0 => DEFAULT_PAGE_SIZE,
            n if n > MAX_PAGE_SIZE => {
                return Err(EngineError::InvalidArgument(format!("page_size {n} is above the maximum of {MAX_PAGE_SIZE}")));
            }
            n => n,
        };
        let mut documents = self.list_documents(after, size + 1).await?;
        let more = documents.len() > size;
        documents.truncate(size);
        Ok(DocumentPage { documents, more })
    }
}

/// Paragraphs a page of [`Engine::paragraphs_page`] holds when the request names no size.
pub const DEFAULT_PARAGRAPH_PAGE: usize = 100;

/// One page of a document's paragraphs, in reading order.
#[derive(Debug, Clone)]
pub struct ParagraphPage {
    /// Paragraphs ordered by position.
    pub paragraphs: Vec<ParagraphRecord>,
    /// Position of the last paragraph when more follow it.
    pub next_after: Option<u32>,
    /// Stored paragraphs of the document.
    pub total: usize,
}

impl Engine {
    /// The page of `size` paragraphs (0: [`DEFAULT_PARAGRAPH_PAGE`]; at most [`MAX_PAGE_SIZE`])
    /// of document `id` by position, strictly after position `after`. `NotFound` when the
    /// document is not stored; `ResourceExhausted` above `max_reuse_paragraphs` paragraphs.
    pub async fn paragraphs_page(&self, id: &str, after: Option<u32>, size: usize) -> Result<ParagraphPage, EngineError> {
        if id.trim().is_empty() {
            return Err(EngineError::InvalidArgument("document_id is empty; ListDocuments gives the ids".into()));
        }
        let size = match size {
            0 => DEFAULT_PARAGRAPH_PAGE,
            n if n > MAX_PAGE_SIZE => {
                return Err(EngineError::InvalidArgument(format!("page_size {n} is above the maximum of {MAX_PAGE_SIZE}")));
            }
            n => n,
        };
        let limit = self.config().max_reuse_paragraphs;
        let filter = crate::backend::ParagraphFilter { document_ids: vec![id.to_string()], ..Default::default() };
        let found = self.backend().paragraph_vectors(filter, limit.saturating_add(1)).await?;
        if found.len() > limit {
            return Err(EngineError::ResourceExhausted(format!(
                "document {id} holds more than {limit} paragraphs, the most it may hold to be listed; raise --max-reuse-paragraphs"
            )));
        }
        if found.is_empty() {
            return Err(EngineError::NotFound(format!("document {id} is not stored; ListDocuments gives the ids")));
        }
        let total = found.len();
        let mut paragraphs: Vec<ParagraphRecord> =
            found.into_iter().map(|v| v.paragraph).filter(|p| after.is_none_or(|a| p.position > a)).collect();
        paragraphs.sort_by_key(|p| p.position);
        let more = paragraphs.len() > size;
        paragraphs.truncate(size);
        let next_after = if more { paragraphs.last().map(|p| p.position) } else { None };
        Ok(ParagraphPage { paragraphs, next_after, total })
    }
}
