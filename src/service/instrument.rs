//! [`Instrumented`] wraps the SimThemeService handlers: it passes every call through unchanged and
//! reads the answers for the edge: TEI-style timing headers (`x-embed-ms`, `x-search-ms`, `x-queue-ms`),
//! tokens embedded and hits for the request log, search paths and ingest results for metrics.
//! gRPC and HTTP/JSON both call this wrapper, so both get the same headers and figures.

use std::sync::Arc;
use std::time::Instant;

use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::metrics::Metrics;
use super::Handlers;
use crate::proto::{self, sim_theme_service_server::SimThemeService};

/// What a finished call tells the request log, carried in the response's extensions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallFacts {
    /// Tokens embedded for the request's texts.
    pub tokens: Option<u64>,
    /// Hits returned (NearestParagraphs).
    pub hits: Option<usize>,
}

/// The handlers plus edge bookkeeping.
#[derive(Clone)]
pub struct Instrumented {
    inner: Handlers,
    metrics: Arc<Metrics>,
}

impl Instrumented {
    /// Wraps `inner`, recording into `metrics`.
    pub fn new(inner: Handlers, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

fn set_ms<T>(resp: &mut Response<T>, name: &'static str, ms: f64) {
    if let Ok(v) = MetadataValue::try_from(format!("{ms:.3}")) {
        resp.metadata_mut().insert(name, v);
    }
}

fn facts<T>(resp: &mut Response<T>, facts: CallFacts) {
    resp.extensions_mut().insert(facts);
}

fn ingest_results(metrics: &Metrics, results: Option<&[proto::DocumentResult]>) {
    for d in results.unwrap_or_default() {
        metrics.ingested(d.status().as_str_name());
    }
}

#[tonic::async_trait]
impl SimThemeService for Instrumented {
    async fn nearest_paragraphs(
        &self,
        request: Request<proto::NearestParagraphsRequest>,
    ) -> Result<Response<proto::NearestParagraphsResponse>, Status> {
        let mut resp = self.inner.nearest_paragraphs(request).await?;
        let r = resp.get_ref();
        let (embed_ms, search_ms, hits, tokens, queue_ms) = (r.embed_ms, r.search_ms, r.hits.len(), r.query_tokens as u64, r.queue_ms);
        self.metrics.searched(&r.search_path, hits);
        if tokens > 0 {
            self.metrics.embedded("NearestParagraphs", 1, tokens);
        }
        set_ms(&mut resp, "x-embed-ms", embed_ms);
        set_ms(&mut resp, "x-search-ms", search_ms);
        set_ms(&mut resp, "x-queue-ms", queue_ms);
        facts(&mut resp, CallFacts { tokens: Some(tokens), hits: Some(hits) });
        Ok(resp)
    }

    async fn similarity(&self, request: Request<proto::SimilarityRequest>) -> Result<Response<proto::SimilarityResponse>, Status> {
        let started = Instant::now();
        let mut resp = self.inner.similarity(request).await?;
        let tokens = resp.get_ref().tokens_a as u64 + resp.get_ref().tokens_b as u64;
        self.metrics.embedded("Similarity", 2, tokens);
        // The call is the embedding of both texts (queue wait included) plus one dot product.
        set_ms(&mut resp, "x-embed-ms", started.elapsed().as_secs_f64() * 1e3);
        facts(&mut resp, CallFacts { tokens: Some(tokens), hits: None });
        Ok(resp)
    }

    async fn embed(&self, request: Request<proto::EmbedRequest>) -> Result<Response<proto::EmbedResponse>, Status> {
        let mut resp = self.inner.embed(request).await?;
        let r = resp.get_ref();
        let tokens: u64 = r.vectors.iter().map(|v| v.tokens as u64).sum();
        let (texts, embed_ms, queue_ms) = (r.vectors.len() as u64, r.embed_ms, r.queue_ms);
        self.metrics.embedded("Embed", texts, tokens);
        set_ms(&mut resp, "x-embed-ms", embed_ms);
        set_ms(&mut resp, "x-queue-ms", queue_ms);
        facts(&mut resp, CallFacts { tokens: Some(tokens), hits: None });
        Ok(resp)
    }

    async fn get_paragraph(&self, request: Request<proto::GetParagraphRequest>) -> Result<Response<proto::GetParagraphResponse>, Status> {
        self.inner.get_paragraph(request).await
    }

    async fn list_documents(
        &self,
        request: Request<proto::ListDocumentsRequest>,
    ) -> Result<Response<proto::ListDocumentsResponse>, Status> {
        self.inner.list_documents(request).await
    }

    async fn delete_document(
        &self,
        request: Request<proto::DeleteDocumentRequest>,
    ) -> Result<Response<proto::DeleteDocumentResponse>, Status> {
        self.inner.delete_document(request).await
    }

    async fn stats(&self, request: Request<proto::StatsRequest>) -> Result<Response<proto::StatsResponse>, Status> {
        self.inner.stats(request).await
    }

    async fn add_documents(&self, request: Request<proto::AddDocumentsRequest>) -> Result<Response<proto::AddDocumentsResponse>, Status> {
        let r = self.inner.add_documents(request).await;
        ingest_results(&self.metrics, r.as_ref().ok().map(|resp| resp.get_ref().results.as_slice()));
        r
    }

    async fn stream_documents(
        &self,
        request: Request<Streaming<proto::StreamDocumentsRequest>>,
    ) -> Result<Response<proto::StreamDocumentsResponse>, Status> {
        let r = self.inner.stream_documents(request).await;
        ingest_results(&self.metrics, r.as_ref().ok().map(|resp| resp.get_ref().results.as_slice()));
        r
    }

    async fn cluster_themes(
        &self,
        request: Request<proto::ClusterThemesRequest>,
    ) -> Result<Response<proto::ClusterThemesResponse>, Status> {
        self.inner.cluster_themes(request).await
    }

    async fn themes_over_time(
        &self,
        request: Request<proto::ThemesOverTimeRequest>,
    ) -> Result<Response<proto::ThemesOverTimeResponse>, Status> {
        self.inner.themes_over_time(request).await
    }

    async fn compare_years(&self, request: Request<proto::CompareYearsRequest>) -> Result<Response<proto::CompareYearsResponse>, Status> {
        self.inner.compare_years(request).await
    }

    async fn assign_theme(&self, request: Request<proto::AssignThemeRequest>) -> Result<Response<proto::AssignThemeResponse>, Status> {
        self.inner.assign_theme(request).await
    }

    async fn theme_tree(&self, request: Request<proto::ThemeTreeRequest>) -> Result<Response<proto::ThemeTreeResponse>, Status> {
        self.inner.theme_tree(request).await
    }

    async fn text_reuse(&self, request: Request<proto::TextReuseRequest>) -> Result<Response<proto::TextReuseResponse>, Status> {
        self.inner.text_reuse(request).await
    }

    async fn list_paragraphs(
        &self,
        request: Request<proto::ListParagraphsRequest>,
    ) -> Result<Response<proto::ListParagraphsResponse>, Status> {
        self.inner.list_paragraphs(request).await
    }

    async fn get_document(&self, request: Request<proto::GetDocumentRequest>) -> Result<Response<proto::GetDocumentResponse>, Status> {
        self.inner.get_document(request).await
    }
}
