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
