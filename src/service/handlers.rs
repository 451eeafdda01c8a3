//! The `simtheme.v1.SimThemeService` handlers: convert the request, call the engine (which validates
//! it and applies the defaults), convert the answer; engine errors become statuses in
//! [`convert::status`]. Model and storage work never runs on the async runtime's threads:
//! embeddings go through the engine's queue worker, searches and reads through
//! `spawn_blocking`, ingestion's cleaning and storing through the lowered background pool
//! ([`crate::priority::in_background`]).

use std::sync::{Arc, OnceLock};

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::convert::{self, status};
use super::{themes, tree_reuse};
use crate::engine::{Engine, QueryInput};
use crate::proto::{self, sim_theme_service_server::SimThemeService};

/// Where the handlers find the engine once it is loaded.
pub type EngineCell = Arc<OnceLock<Arc<Engine>>>;

/// Implementation of the SimThemeService service.
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
impl SimThemeService for Handlers {
    async fn nearest_paragraphs(
        &self,
        request: Request<proto::NearestParagraphsRequest>,
    ) -> Result<Response<proto::NearestParagraphsResponse>, Status> {
        let engine = self.engine()?;
        let req = convert::search_request(request.into_inner()).map_err(status)?;
        let out = engine.search(req).await.map_err(status)?;
        Ok(Response::new(convert::search_response(out)))
    }

    async fn similarity(&self, request: Request<proto::SimilarityRequest>) -> Result<Response<proto::SimilarityResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let mode = convert::mode(r.mode).map_err(status)?;
        let s = engine.similarity(r.text_a, r.text_b, mode).await.map_err(status)?;
        Ok(Response::new(proto::SimilarityResponse { cosine: s.cosine, tokens_a: s.tokens_a as u32, tokens_b: s.tokens_b as u32 }))
    }

    async fn embed(&self, request: Request<proto::EmbedRequest>) -> Result<Response<proto::EmbedResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let mode = convert::mode(r.mode).map_err(status)?;
        let out = engine.embed(r.texts, mode).await.map_err(status)?;
        Ok(Response::new(proto::EmbedResponse {
            queue_ms: out.queue_ms,
            vectors: out.embeddings.into_iter().map(|e| proto::Vector { values: e.vector, tokens: e.tokens as u32 }).collect(),
            dimension: engine.dim() as u32,
            model: engine.model_name().to_string(),
            embed_ms: out.embed_ms,
        }))
    }

    async fn get_paragraph(&self, request: Request<proto::GetParagraphRequest>) -> Result<Response<proto::GetParagraphResponse>, Status> {
        let id = request.into_inner().id;
        let p = self.engine()?.paragraph(id).await.map_err(status)?;
        Ok(Response::new(proto::GetParagraphResponse { paragraph: Some(convert::paragraph(p)) }))
    }

    async fn list_documents(
        &self,
        request: Request<proto::ListDocumentsRequest>,
    ) -> Result<Response<proto::ListDocumentsResponse>, Status> {
        let r = request.into_inner();
        let after = decode_page_token(&r.page_token)?;
        let page = self.engine()?.documents_page(after, r.page_size as usize).await.map_err(status)?;
        let next_page_token =
            if page.more { page.documents.last().map(|d| encode_page_token(&d.id)).unwrap_or_default() } else { String::new() };
        Ok(Response::new(proto::ListDocumentsResponse {
            documents: page.documents.into_iter().map(convert::document).collect(),
            next_page_token,
        }))
    }

    async fn delete_document(
        &self,
        request: Request<proto::DeleteDocumentRequest>,
    ) -> Result<Response<proto::DeleteDocumentResponse>, Status> {
        let r = request.into_inner();
        let by = convert::document_ref(r.document_id, r.key).map_err(status)?;
        let deleted = self.engine()?.delete_document(by).await.map_err(status)?;
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

    async fn add_documents(&self, request: Request<proto::AddDocumentsRequest>) -> Result<Response<proto::AddDocumentsResponse>, Status> {
        let engine = self.engine()?;
        let docs = request.into_inner().documents;
        engine.check_batch(docs.len()).map_err(status)?;
        let mut results = Vec::with_capacity(docs.len());
        for (i, d) in docs.into_iter().enumerate() {
            results.push(ingest_proto(&engine, i, d).await);
        }
        persist(&engine).await;
        Ok(Response::new(convert::ingest_response(results)))
    }

    async fn stream_documents(
        &self,
        request: Request<Streaming<proto::StreamDocumentsRequest>>,
    ) -> Result<Response<proto::StreamDocumentsResponse>, Status> {
        let engine = self.engine()?;
        let mut stream = request.into_inner();
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
            let message = item?;
            if let Err(e) = engine.check_stream_position(results.len()) {
                persist(&engine).await;
                return Err(status(e));
            }
            let i = results.len();
            results.push(match message.document {
                Some(d) => ingest_proto(&engine, i, d).await,
                None => {
                    crate::engine::IngestResult::rejected(i, String::new(), format!("stream message #{i} has no document; set `document`"))
                }
            });
        }
        persist(&engine).await;
        let r = convert::ingest_response(results);
        Ok(Response::new(proto::StreamDocumentsResponse {
            results: r.results,
            inserted: r.inserted,
            already_present: r.already_present,
            failed: r.failed,
            replaced: r.replaced,
        }))
    }

    async fn cluster_themes(
        &self,
        request: Request<proto::ClusterThemesRequest>,
    ) -> Result<Response<proto::ClusterThemesResponse>, Status> {
        let engine = self.engine()?;
        let q = convert::theme_request(request.into_inner().params).map_err(status)?;
        let (run, cached) = engine.themes(&q).await.map_err(status)?;
        Ok(Response::new(themes::cluster_response(&run, cached)))
    }

    async fn themes_over_time(
        &self,
        request: Request<proto::ThemesOverTimeRequest>,
    ) -> Result<Response<proto::ThemesOverTimeResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let q = convert::theme_request(r.params).map_err(status)?;
        let (run, over) = engine.themes_over_time(&q, r.bucket_years, r.presence_share).await.map_err(status)?;
        Ok(Response::new(themes::over_time_response(&run, &over)))
    }

    async fn compare_years(&self, request: Request<proto::CompareYearsRequest>) -> Result<Response<proto::CompareYearsResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let (a, b) = convert::compare_periods(&r).map_err(status)?;
        let q = convert::theme_request(r.params).map_err(status)?;
        let (run, comparisons) = engine.compare_periods(&q, a, b).await.map_err(status)?;
        Ok(Response::new(themes::compare_response(&run, comparisons, a, b)))
    }

    async fn assign_theme(&self, request: Request<proto::AssignThemeRequest>) -> Result<Response<proto::AssignThemeResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let q = convert::theme_request(r.params).map_err(status)?;
        let query = match r.query {
            Some(proto::assign_theme_request::Query::Text(t)) => QueryInput::Text(t),
            Some(proto::assign_theme_request::Query::ParagraphId(id)) => QueryInput::Paragraph(id),
            None => return Err(Status::invalid_argument("set exactly one of text or paragraph_id")),
        };
        let (run, scores) = engine.assign_theme(&q, query, r.top as usize).await.map_err(status)?;
        Ok(Response::new(themes::assign_response(&run, scores)))
    }

    async fn theme_tree(&self, request: Request<proto::ThemeTreeRequest>) -> Result<Response<proto::ThemeTreeResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let query = tree_reuse::tree_query(&r).map_err(status)?;
        let per_year = crate::engine::year_examples_count(r.year_examples).map_err(status)?;
        let limit = crate::engine::policy_limit(r.policies).map_err(status)?;
        let (run, cached) = engine.theme_tree(&query).await.map_err(status)?;
        let nodes = run.select(r.level, r.subtree).map_err(status)?;
        let (policies, policies_found) = run.policies(limit, r.subtree).map_err(status)?;
        let answer = tree_reuse::TreeAnswer { cached, members: r.include_members, per_year, policies, policies_found };
        Ok(Response::new(tree_reuse::tree_response(&run, &nodes, &answer)))
    }

    async fn list_paragraphs(
        &self,
        request: Request<proto::ListParagraphsRequest>,
    ) -> Result<Response<proto::ListParagraphsResponse>, Status> {
        let r = request.into_inner();
        let after = match decode_page_token(&r.page_token)? {
            Some(p) => Some(
                p.parse::<u32>()
                    .map_err(|_| Status::invalid_argument("page_token is not one this server issued; send \"\" for the first page"))?,
            ),
            None => None,
        };
        let page = self.engine()?.paragraphs_page(&r.document_id, after, r.page_size as usize).await.map_err(status)?;
        Ok(Response::new(proto::ListParagraphsResponse {
            paragraphs: page.paragraphs.into_iter().map(convert::paragraph).collect(),
            next_page_token: page.next_after.map(|p| encode_page_token(&p.to_string())).unwrap_or_default(),
            total: page.total as u32,
        }))
    }

    async fn get_document(&self, request: Request<proto::GetDocumentRequest>) -> Result<Response<proto::GetDocumentResponse>, Status> {
        let r = request.into_inner();
        let by = convert::document_ref(r.document_id, r.key).map_err(status)?;
        let document = self.engine()?.document(by).await.map_err(status)?;
        Ok(Response::new(proto::GetDocumentResponse { document: Some(convert::document(document)) }))
    }

    async fn text_reuse(&self, request: Request<proto::TextReuseRequest>) -> Result<Response<proto::TextReuseResponse>, Status> {
        let engine = self.engine()?;
        let r = request.into_inner();
        let (query, kinds) = tree_reuse::reuse_query(&r).map_err(status)?;
        let report = engine.reuse(&query).await.map_err(status)?;
        Ok(Response::new(tree_reuse::reuse_response(&report, &kinds, r.limit)))
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
