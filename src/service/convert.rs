//! Conversions between protobuf messages and engine types, and the one place where engine
//! errors become gRPC statuses.

use tonic::Status;

use crate::backend::{DocumentRecord, DocumentRef, ParagraphRecord};
use crate::corpus::DocumentMeta;
use crate::engine::{
    BridgeUsed, EngineError, Format, IngestInput, IngestResult, IngestStatus, ParagraphFilter, QueryInput, SearchHit, SearchMode,
    SearchRequest, SearchResponse, ThemeRequest, YearFilter,
};
use crate::glossary::Side;
use crate::keyword::RrfParams;
use crate::proto;
use crate::themes::{Method, Period};

/// Maps an engine error to the gRPC status a client can act on.
pub fn status(e: EngineError) -> Status {
    match e {
        EngineError::InvalidArgument(m) => Status::invalid_argument(m),
        EngineError::NotFound(m) => Status::not_found(m),
        EngineError::ResourceExhausted(m) => Status::resource_exhausted(m),
        EngineError::Overloaded(m) => super::admission::retry_later(Status::resource_exhausted(m)),
        EngineError::Unavailable(m) => Status::unavailable(m),
        EngineError::FailedPrecondition(m) => Status::failed_precondition(m),
        EngineError::DataLoss(m) => Status::data_loss(m),
        EngineError::Internal(m) => Status::internal(m),
    }
}

/// Filter from its protobuf form (absent = no restriction).
pub fn filter(f: Option<proto::ParagraphFilter>) -> ParagraphFilter {
    let Some(f) = f else { return ParagraphFilter::default() };
    ParagraphFilter {
        years: f.years.map(|y| YearFilter { years: y.years, from: y.from, to: y.to, include_undated: y.include_undated }),
        document_ids: f.document_ids,
        tags: f.tags,
    }
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Ingestion input from a protobuf document.
pub fn ingest_input(d: proto::DocumentInput) -> Result<IngestInput, EngineError> {
    Ok(IngestInput {
        format: Format::parse(&d.format)?,
        meta: DocumentMeta { title: opt(&d.title), source: opt(&d.source), date: opt(&d.date), tags: d.tags, key: opt(&d.key) },
        name: d.name,
        text: d.text,
        ..Default::default()
    })
}

/// Protobuf result of one ingested document.
pub fn ingest_result(r: IngestResult) -> proto::DocumentResult {
    let mut replaced_document_id = String::new();
    let (status, error) = match r.status {
        IngestStatus::Inserted => (proto::IngestStatus::Inserted, String::new()),
        IngestStatus::Replaced(old) => {
            replaced_document_id = old;
            (proto::IngestStatus::Replaced, String::new())
        }
        IngestStatus::AlreadyPresent => (proto::IngestStatus::AlreadyPresent, String::new()),
        IngestStatus::Failed(m) => (proto::IngestStatus::Failed, m),
    };
    proto::DocumentResult {
        index: r.index as u32,
        status: status as i32,
        document_id: r.document_id,
        error,
        paragraphs: r.paragraphs,
        chunks: r.chunks,
        duplicates: r.duplicates,
        title: r.title.unwrap_or_default(),
        date: r.date.unwrap_or_default(),
        year: r.year,
        date_source: r.date_source.map(|s| s.as_str().to_string()).unwrap_or_default(),
        overruled_header_date: r.overruled_header_date.unwrap_or_default(),
        replaced_document_id,
    }
}

/// Response summarising a batch of ingestion results.
pub fn ingest_response(results: Vec<IngestResult>) -> proto::AddDocumentsResponse {
    let results: Vec<proto::DocumentResult> = results.into_iter().map(ingest_result).collect();
    let count = |s: proto::IngestStatus| results.iter().filter(|r| r.status == s as i32).count() as u32;
    proto::AddDocumentsResponse {
        inserted: count(proto::IngestStatus::Inserted),
        already_present: count(proto::IngestStatus::AlreadyPresent),
        failed: count(proto::IngestStatus::Failed),
        replaced: count(proto::IngestStatus::Replaced),
        results,
    }
}

/// A document named by id or by key: exactly one of them.
pub fn document_ref(document_id: String, key: String) -> Result<DocumentRef, EngineError> {
    match (document_id.trim(), key.trim()) {
        ("", "") => Err(EngineError::InvalidArgument("name the document: set document_id or key".into())),
        (id, "") => Ok(DocumentRef::Id(id.to_string())),
        ("", key) => Ok(DocumentRef::Key(key.to_string())),
        _ => Err(EngineError::InvalidArgument("set document_id or key, not both".into())),
    }
}

/// Protobuf paragraph from a stored record.
pub fn paragraph(p: ParagraphRecord) -> proto::Paragraph {
    proto::Paragraph {
        id: p.id,
        document_id: p.document_id,
        document_title: p.doc_title.unwrap_or_default(),
        source: p.doc_source.unwrap_or_default(),
        date: p.doc_date.unwrap_or_default(),
        year: p.year,
        heading: p.heading.unwrap_or_default(),
        text: p.text,
        position: p.position,
        tags: p.tags,
    }
}

/// Protobuf document from a stored record.
pub fn document(d: DocumentRecord) -> proto::Document {
    proto::Document {
        id: d.id,
        origin: d.origin,
        title: d.title.unwrap_or_default(),
        source: d.source.unwrap_or_default(),
        date: d.date.unwrap_or_default(),
        year: d.year,
        tags: d.tags,
        paragraphs: d.paragraphs,
        chunks: d.chunks,
        duplicates: d.duplicates,
        key: d.key.unwrap_or_default(),
    }
}

/// Embedding mode from its protobuf form (unspecified: `None`, the engine's default).
pub fn mode(m: i32) -> Result<Option<crate::embed::Mode>, EngineError> {
    match proto::EmbedMode::try_from(m) {
        Ok(proto::EmbedMode::Unspecified) => Ok(None),
        Ok(proto::EmbedMode::Passage) => Ok(Some(crate::embed::Mode::Passage)),
        Ok(proto::EmbedMode::Query) => Ok(Some(crate::embed::Mode::Query)),
        Err(_) => Err(EngineError::InvalidArgument(format!("unknown embed mode {m}"))),
    }
}

/// Protobuf stats from the engine's snapshot.
pub fn stats(s: crate::engine::EngineStats) -> proto::StatsResponse {
    let mut years: Vec<proto::YearCount> = s
        .store
        .years
        .iter()
        .map(|y| proto::YearCount { year: Some(y.year), documents: y.documents as u32, paragraphs: y.paragraphs as u32 })
        .collect();
    if s.store.undated_documents > 0 {
        years.push(proto::YearCount {
            year: None,
            documents: s.store.undated_documents as u32,
            paragraphs: s.store.undated_paragraphs as u32,
        });
    }
    proto::StatsResponse {
        documents: s.store.documents as u32,
        paragraphs: s.store.paragraphs as u32,
        chunks: s.store.chunks as u32,
        duplicates: s.store.duplicates as u32,
        years,
        model: s.model,
        dimension: s.dim as u32,
        index: Some(proto::IndexInfo {
            // Zero where the backend does not know (see the proto comments).
            m: s.index.hnsw.map_or(0, |h| h.m as u32),
            ef_construction: s.index.hnsw.map_or(0, |h| h.ef_construction as u32),
            ef_search: s.index.hnsw.and_then(|h| h.ef_search).map_or(0, |e| e as u32),
            points: s.index.points as u32,
            tombstones: s.index.tombstones as u32,
        }),
        backend: s.backend.kind.to_string(),
        corpus_version: s.corpus_version,
        embed_requests: s.embed_requests,
        embed_batches: s.embed_batches,
        keyword: s.keyword.map(|k| proto::KeywordIndexInfo {
            documents: k.documents as u32,
            chunks: k.chunks as u32,
            size_bytes: k.size_bytes,
            reconciled_at_start: k.reconciled_at_start as u32,
            user_dictionary_words: k.user_dictionary_words as u32,
        }),
        glossary: Some(proto::GlossaryInfo {
            entries: s.glossary.entries as u32,
            file: s.glossary.file,
            skipped_lines: s.glossary.skipped,
            last_reload_error: s.glossary.last_error,
        }),
    }
}

/// Search mode from its protobuf value (unspecified: `None`, the engine's default).
pub fn search_mode(m: i32) -> Result<Option<SearchMode>, EngineError> {
    match proto::SearchMode::try_from(m) {
        Ok(proto::SearchMode::Unspecified) => Ok(None),
        Ok(proto::SearchMode::Dense) => Ok(Some(SearchMode::Dense)),
        Ok(proto::SearchMode::Keyword) => Ok(Some(SearchMode::Keyword)),
        Ok(proto::SearchMode::Hybrid) => Ok(Some(SearchMode::Hybrid)),
        Err(_) => Err(EngineError::InvalidArgument(format!("unknown search mode {m}"))),
    }
}

/// Fusion parameters (unset fields take the defaults: k 60, dense weight 1, keyword weight
/// adapted to the query).
pub fn rrf(p: Option<&proto::RrfParams>) -> RrfParams {
    let d = RrfParams::default();
    let Some(p) = p else { return d };
    RrfParams {
        k: p.k.unwrap_or(d.k),
        dense_weight: p.dense_weight.unwrap_or(d.dense_weight),
        keyword_weight: p.keyword_weight.unwrap_or(d.keyword_weight),
        adaptive_keyword_weight: p.keyword_weight.is_none(),
    }
}

/// Protobuf hit with its 1-based rank.
pub fn hit(h: SearchHit, rank: u32) -> proto::ParagraphHit {
    let p = h.provenance;
    proto::ParagraphHit {
        paragraph: Some(paragraph(h.hit.paragraph)),
        score: h.hit.score,
        r#match: Some(proto::ChunkSpan { start: h.hit.span.0, end: h.hit.span.1 }),
        rank,
        provenance: Some(proto::HitProvenance {
            dense_rank: p.dense_rank,
            keyword_rank: p.keyword_rank,
            dense_score: p.dense_score,
            keyword_score: p.keyword_score,
            fused_score: p.fused_score,
        }),
        highlights: h.highlights.iter().map(|s| proto::ChunkSpan { start: s.start, end: s.end }).collect(),
    }
}

/// Search request from its protobuf form (`k` 0, no mode, no candidates: the engine's defaults).
pub fn search_request(r: proto::NearestParagraphsRequest) -> Result<SearchRequest, EngineError> {
    let query = match r.query {
        Some(proto::nearest_paragraphs_request::Query::Text(t)) => QueryInput::Text(t),
        Some(proto::nearest_paragraphs_request::Query::ParagraphId(id)) => QueryInput::Paragraph(id),
        None => return Err(EngineError::InvalidArgument("set exactly one of text or paragraph_id".into())),
    };
    Ok(SearchRequest {
        query,
        k: r.k as usize,
        filter: filter(r.filter),
        min_score: r.min_score,
        exclude_same_document: r.exclude_same_document,
        exact: r.exact,
        mode: search_mode(r.mode)?,
        rrf: rrf(r.rrf.as_ref()),
        candidates: r.rrf.as_ref().map_or(0, |p| p.candidates as usize),
        must_contain: r.must_contain,
        no_glossary: r.no_glossary,
        bridge_must_contain: r.bridge,
    })
}

fn bridge(b: BridgeUsed) -> proto::GlossaryBridge {
    proto::GlossaryBridge {
        matched: b.bridge.matched,
        language: match b.bridge.side {
            Side::Chinese => "zh",
            Side::English => "en",
        }
        .into(),
        added: b.bridge.added,
        entry: b.entry.title(),
        source: b.entry.source,
        origin: b.entry.origin,
    }
}

/// Protobuf search response, hits ranked from 1.
pub fn search_response(out: SearchResponse) -> proto::NearestParagraphsResponse {
    proto::NearestParagraphsResponse {
        hits: out.hits.into_iter().enumerate().map(|(i, h)| hit(h, i as u32 + 1)).collect(),
        query_tokens: out.query_tokens as u32,
        embed_ms: out.embed_ms,
        search_ms: out.search_ms,
        search_path: out.path,
        queue_ms: out.queue_ms,
        keyword_weight: out.keyword_weight,
        bridges: out.bridges.into_iter().map(bridge).collect(),
    }
}

/// Theme request from its protobuf form (0 and unset fields: the engine's defaults).
pub fn theme_request(p: Option<proto::ThemeParams>) -> Result<ThemeRequest, EngineError> {
    let p = p.unwrap_or_default();
    let method = match proto::ClusterMethod::try_from(p.method) {
        Ok(proto::ClusterMethod::Unspecified | proto::ClusterMethod::Agglomerative) => Method::Agglomerative,
        Ok(proto::ClusterMethod::Kmeans) => Method::KMeans,
        Err(_) => return Err(EngineError::InvalidArgument(format!("unknown cluster method {}", p.method))),
    };
    let positive = |n: u32| (n > 0).then_some(n as usize);
    Ok(ThemeRequest {
        target_themes: positive(p.target_themes),
        min_theme_size: positive(p.min_theme_size),
        seed: p.seed,
        method,
        keywords: positive(p.keywords),
        filter: filter(p.filter),
    })
}

/// The two periods of a CompareYears request: `period_a`/`period_b` when set, else the single
/// years `year_a`/`year_b` (the engine checks that they are valid and disjoint).
pub fn compare_periods(r: &proto::CompareYearsRequest) -> Result<(Period, Period), EngineError> {
    let pick = |range: Option<proto::YearRange>, year: i32, name: &str| match range {
        Some(r) => Ok(Period { from: r.from, to: r.to }),
        None if year == 0 => {
            Err(EngineError::InvalidArgument(format!("set year_{name} (e.g. 2019) or period_{name} (e.g. from 2013 to 2017)")))
        }
        None => Ok(Period::year(year)),
    };
    Ok((pick(r.period_a, r.year_a, "a")?, pick(r.period_b, r.year_b, "b")?))
}
