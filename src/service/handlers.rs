//! The `simtheme.v1.SimTheme` handlers: validate, call the engine, convert. Model and storage
//! work never runs on the async runtime's threads: embeddings go through the engine's queue
//! worker, searches and reads through `spawn_blocking`, ingestion's cleaning and storing
//! through the lowered background pool ([`crate::priority::in_background`]).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::convert::{self, status};
use super::themes;
use crate::engine::{Engine, QueryInput, SearchRequest};
use crate::proto::{self, sim_theme_server::SimTheme};

/// Where the handlers find the engine once it is loaded.
pub type EngineCell = Arc<OnceLock<Arc<Engine>>>;

/// Implementation of the SimTheme service.
#[derive(Clone)]
pub struct Handlers {
    engine: EngineCell,
}

impl Handlers {
    /// Handlers answering UNAVAILABLE until `engine` is set.
    pub fn new(engine: EngineCell) -> Self {
        Self { engine }
    }

    fn engine(&self) -> Result<Arc<Engine>, Status> {
        self.engine
            .get()
            .cloned()
            .ok_or_else(|| Status::unavailable("simtheme is still loading its model and index; retry in a few seconds"))
    }
}

fn check_text(name: &str, text: &str, max_chars: usize) -> Result<(), Status> {
    if text.trim().is_empty() {
        return Err(Status::invalid_argument(format!("{name} is empty")));
    }
    let n = text.chars().count();
    if n > max_chars {
        return Err(Status::invalid_argument(format!("{name} has {n} characters, above the limit of {max_chars}")));
    }
    Ok(())
}

const PAGE_TOKEN_PREFIX: &str = "doc:";

fn encode_page_token(last_id: &str) -> String {
    hex::encode(format!("{PAGE_TOKEN_PREFIX}{last_id}"))
}

fn decode_page_token(token: &str) -> Result<Option<String>, Status> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || Status::invalid_argument("page_token is not one this server issued; send \"\" for the first page");
    let raw = hex::decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let id = text.strip_prefix(PAGE_TOKEN_PREFIX).ok_or_else(bad)?;
    Ok(Some(id.to_string()))
}

#[tonic::async_trait]
impl SimTheme for Handlers {
    async fn nearest_paragraphs(
        &self,
        request: Request<proto::NearestParagraphsRequest>,
    ) -> Result<Response<proto::NearestParagraphsResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let query = match r.query {
            Some(proto::nearest_paragraphs_request::Query::Text(t)) => QueryInput::Text(t),
            Some(proto::nearest_paragraphs_request::Query::ParagraphId(id)) => QueryInput::Paragraph(id),
            None => return Err(Status::invalid_argument("set exactly one of text or paragraph_id")),
        };
        if r.exclude_same_document && matches!(query, QueryInput::Text(_)) {
            return Err(Status::invalid_argument("exclude_same_document needs a paragraph_id query"));
        }
        let text_query = matches!(query, QueryInput::Text(_));
        let req = SearchRequest {
            query,
            k: r.k as usize,
            filter: convert::filter(r.filter),
            min_score: r.min_score,
            exclude_same_document: r.exclude_same_document,
            exact: r.exact,
            mode: convert::search_mode(r.mode, engine.config().default_search_mode, text_query).map_err(status)?,
            rrf: convert::rrf(r.rrf.as_ref()),
            candidates: r.rrf.as_ref().map_or(0, |p| p.candidates as usize),
            must_contain: r.must_contain,
        };
        let out = engine.search(req).await.map_err(status)?;
        let hits = out.hits.into_iter().enumerate().map(|(i, h)| convert::hit(h, i as u32 + 1)).collect();
        Ok(Response::new(proto::NearestParagraphsResponse {
            hits,
            query_tokens: out.query_tokens as u32,
            embed_ms: out.embed_ms,
            search_ms: out.search_ms,
            search_path: out.path,
            queue_ms: out.queue_ms,
            keyword_weight: out.keyword_weight,
        }))
    }

    async fn similarity(&self, request: Request<proto::SimilarityRequest>) -> Result<Response<proto::SimilarityResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let max = engine.config().max_query_chars;
        check_text("text_a", &r.text_a, max)?;
        check_text("text_b", &r.text_b, max)?;
        let mode = convert::mode(r.mode).map_err(status)?;
        let out = engine.queue().embed(vec![r.text_a, r.text_b], mode).await.map_err(|e| status(e.into()))?;
        Ok(Response::new(proto::SimilarityResponse {
            cosine: crate::embed::cosine(&out[0].vector, &out[1].vector),
            tokens_a: out[0].tokens as u32,
            tokens_b: out[1].tokens as u32,
        }))
    }

    async fn embed(&self, request: Request<proto::EmbedRequest>) -> Result<Response<proto::EmbedResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let cfg = engine.config();
        if r.texts.is_empty() || r.texts.len() > cfg.max_embed_texts {
            return Err(Status::invalid_argument(format!(
                "send 1 to {} texts (got {})",
                cfg.max_embed_texts,
                r.texts.len()
            )));
        }
        for (i, t) in r.texts.iter().enumerate() {
            check_text(&format!("texts[{i}]"), t, 20_000)?;
        }
        let mode = convert::mode(r.mode).map_err(status)?;
        let started = Instant::now();
        let out = engine.queue().embed(r.texts, mode).await.map_err(|e| status(e.into()))?;
        let queue_ms = out.first().map_or(0.0, |e| e.queue_ms);
        Ok(Response::new(proto::EmbedResponse {
            queue_ms,
            vectors: out.into_iter().map(|e| proto::Vector { values: e.vector, tokens: e.tokens as u32 }).collect(),
            dimension: engine.dim() as u32,
            model: engine.model_name().to_string(),
            embed_ms: started.elapsed().as_secs_f64() * 1e3,
        }))
    }

    async fn get_paragraph(&self, request: Request<proto::GetParagraphRequest>) -> Result<Response<proto::Paragraph>, Status> {
        let id = request.into_inner().id;
        let p = self.engine()?.paragraph(id).await.map_err(status)?;
        Ok(Response::new(convert::paragraph(p)))
    }

    async fn list_documents(
        &self,
        request: Request<proto::ListDocumentsRequest>,
    ) -> Result<Response<proto::ListDocumentsResponse>, Status> {
        let r = request.into_inner();
        let size = match r.page_size {
            0 => 50,
            n if n > 500 => return Err(Status::invalid_argument(format!("page_size {n} is above the maximum of 500"))),
            n => n as usize,
        };
        let after = decode_page_token(&r.page_token)?;
        let mut docs = self.engine()?.list_documents(after, size + 1).await.map_err(status)?;
        let more = docs.len() > size;
        docs.truncate(size);
        let next_page_token = if more { docs.last().map(|d| encode_page_token(&d.id)).unwrap_or_default() } else { String::new() };
        Ok(Response::new(proto::ListDocumentsResponse {
            documents: docs.into_iter().map(convert::document).collect(),
            next_page_token,
        }))
    }

    async fn delete_document(
        &self,
        request: Request<proto::DeleteDocumentRequest>,
    ) -> Result<Response<proto::DeleteDocumentResponse>, Status> {
        let id = request.into_inner().document_id;
        let deleted = self.engine()?.delete_document(&id).await.map_err(status)?;
        Ok(Response::new(proto::DeleteDocumentResponse {
            document_id: deleted.document_id,
            paragraphs: deleted.paragraphs,
            chunks: deleted.chunks,
        }))
    }

    async fn stats(&self, _request: Request<proto::StatsRequest>) -> Result<Response<proto::StatsResponse>, Status> {
        let s = self.engine()?.stats().await.map_err(status)?;
        Ok(Response::new(convert::stats(s)))
    }

    async fn add_documents(
        &self,
        request: Request<proto::AddDocumentsRequest>,
    ) -> Result<Response<proto::AddDocumentsResponse>, Status> {
        let engine = self.engine()?;
        let docs = request.into_inner().documents;
        let max = engine.config().max_documents_per_request;
        if docs.is_empty() || docs.len() > max {
            return Err(Status::invalid_argument(format!("send 1 to {max} documents per request (got {})", docs.len())));
        }
        let mut results = Vec::with_capacity(docs.len());
        for (i, d) in docs.into_iter().enumerate() {
            results.push(ingest_proto(&engine, i, d).await);
        }
        persist(&engine).await;
        Ok(Response::new(convert::ingest_response(results)))
    }

    async fn stream_documents(
        &self,
        request: Request<Streaming<proto::DocumentInput>>,
    ) -> Result<Response<proto::AddDocumentsResponse>, Status> {
        let engine = self.engine()?;
        let mut stream = request.into_inner();
        let max = engine.config().max_documents_per_request.saturating_mul(100);
        let mut results = Vec::new();
        // The deadline is per message: a stream may run as long as documents keep coming.
        let idle = engine.config().request_timeout;
        loop {
            let next = match tokio::time::timeout(idle, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    persist(&engine).await;
                    return Err(Status::deadline_exceeded(format!(
                        "no document arrived for {} s (the server's --request-timeout-secs); the first {} were ingested, send the rest in a new stream",
                        idle.as_secs(),
                        results.len()
                    )));
                }
            };
            let Some(item) = next else { break };
            let d = item?;
            if results.len() >= max {
                persist(&engine).await;
                return Err(Status::resource_exhausted(format!(
                    "a stream may carry at most {max} documents; the first {max} were ingested, send the rest in a new stream"
                )));
            }
            let i = results.len();
            results.push(ingest_proto(&engine, i, d).await);
        }
        persist(&engine).await;
        Ok(Response::new(convert::ingest_response(results)))
    }

    async fn cluster_themes(
        &self,
        request: Request<proto::ClusterThemesRequest>,
    ) -> Result<Response<proto::ClusterThemesResponse>, Status> {
        let engine = self.engine()?;
        let q = themes::query(request.into_inner().params)?;
        let (run, cached) = themes::run(&engine, q).await?;
        Ok(Response::new(themes::cluster_response(&run, cached)))
    }

    async fn themes_over_time(
        &self,
        request: Request<proto::ThemesOverTimeRequest>,
    ) -> Result<Response<proto::ThemesOverTimeResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let (bucket_years, presence) = themes::over_time_options(&r)?;
        let q = themes::query(r.params)?;
        let (run, _) = themes::run(&engine, q).await?;
        Ok(Response::new(themes::over_time_response(&run, bucket_years, presence)?))
    }

    async fn compare_years(
        &self,
        request: Request<proto::CompareYearsRequest>,
    ) -> Result<Response<proto::CompareYearsResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let (a, b) = themes::compare_periods(&r)?;
        let q = themes::query(r.params)?;
        let (run, _) = themes::run(&engine, q).await?;
        Ok(Response::new(themes::compare_response(&run, a, b)?))
    }

    async fn assign_theme(&self, request: Request<proto::AssignThemeRequest>) -> Result<Response<proto::AssignThemeResponse>, Status> {
        let engine = self.engine()?;
        Ok(Response::new(themes::assign(&engine, request.into_inner()).await?))
    }
}

async fn ingest_proto(engine: &Arc<Engine>, index: usize, d: proto::DocumentInput) -> crate::engine::IngestResult {
    match convert::ingest_input(d) {
        Ok(input) => {
            let mut r = engine.ingest_one(index, input).await;
            r.index = index;
            r
        }
        Err(e) => crate::engine::IngestResult::rejected(index, String::new(), e.to_string()),
    }
}

async fn persist(engine: &Arc<Engine>) {
    if let Err(err) = engine.checkpoint().await {
        tracing::warn!("could not checkpoint the backend: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        let t = encode_page_token("abc123");
        assert_eq!(decode_page_token(&t).unwrap(), Some("abc123".to_string()));
        assert_eq!(decode_page_token("").unwrap(), None);
        for bad in ["zz", "00ff", &hex::encode("other:1")] {
            assert_eq!(decode_page_token(bad).unwrap_err().code(), tonic::Code::InvalidArgument);
        }
    }
}
