//! Reading and deleting stored documents and paragraphs.

use crate::backend::{DeletedDocument, DocumentRecord, ParagraphRecord, ParagraphVector};

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

    /// Deletes a document with its paragraphs and vectors.
    pub async fn delete_document(&self, id: &str) -> Result<DeletedDocument, EngineError> {
        if id.trim().is_empty() {
            return Err(EngineError::InvalidArgument("document_id is empty".into()));
        }
        Ok(self.backend().delete_document(id).await?)
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
