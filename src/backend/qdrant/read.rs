//! Reads: documents, paragraphs, searches, paragraph vectors for themes, and Stats figures.

use std::collections::{BTreeMap, HashMap};

use qdrant_client::qdrant::{
    facet_value, Condition, CountPointsBuilder, FacetCountsBuilder, Filter, GetPointsBuilder, PointId, QuantizationSearchParams,
    QueryPointGroupsBuilder, RetrievedPoint, ScrollPointsBuilder, SearchParams, Value,
};
use serde::de::DeserializeOwned;

use super::error::bad_payload;
use super::filter::{chunks, of_kind};
use super::schema::{document_point_id, ChunkPayload, DocumentPayload, DENSE, KIND_CHUNK, KIND_DOCUMENT, KIND_DUPLICATE};
use super::setup::meta;
use super::versions::newest_only;
use super::Inner;
use crate::backend::{
    BackendError, BackendStats, DenseHits, DenseQuery, DocumentRecord, Exclusions, HnswStats, IndexStats, ModelStats, ParagraphFilter,
    ParagraphHit, ParagraphRecord, ParagraphVector, StoreStats, YearCount,
};
use crate::embed::normalize;

/// Points per scroll page.
const SCROLL_PAGE: u32 = 512;

/// Decodes a point payload into one of the layout's payload structs.
pub(super) fn decode<T: DeserializeOwned>(inner: &Inner, what: &str, payload: HashMap<String, Value>) -> Result<T, BackendError> {
    let json = serde_json::Value::Object(payload.into_iter().map(|(k, v)| (k, v.into_json())).collect());
    serde_json::from_value(json).map_err(|e| bad_payload(inner.url(), what, e))
}

/// The paragraph record carried by a chunk point.
pub(super) fn record_of(c: &ChunkPayload) -> ParagraphRecord {
    ParagraphRecord {
        id: c.paragraph_id,
        document_id: c.document_id.clone(),
        position: c.position,
        heading: c.heading.clone(),
        text: c.text.clone(),
        simplified: c.simplified.clone(),
        doc_title: c.meta.title.clone(),
        doc_source: c.meta.source.clone(),
        doc_date: c.meta.date.clone(),
        year: c.meta.year,
        tags: c.meta.tags.clone(),
    }
}

fn document_of(d: DocumentPayload) -> DocumentRecord {
    DocumentRecord {
        id: d.document_id,
        origin: d.origin,
        title: d.meta.title,
        source: d.meta.source,
        date: d.meta.date,
        year: d.meta.year,
        tags: d.meta.tags,
        key: d.meta.key,
        paragraphs: d.paragraphs,
        chunks: d.chunks,
        duplicates: d.duplicates,
        created_at: d.created_at,
    }
}

pub(super) fn dense_vector(inner: &Inner, p: &RetrievedPoint) -> Result<Vec<f32>, BackendError> {
    p.vectors
        .as_ref()
        .and_then(|v| v.get_vector_by_name(DENSE))
        .and_then(|v| match v {
            qdrant_client::qdrant::vector_output::Vector::Dense(d) => Some(d.data),
            _ => None,
        })
        .ok_or_else(|| bad_payload(inner.url(), "a chunk point", "no dense vector"))
}

/// Every point matching `filter`, page by page (payload always, vectors when asked).
pub(super) async fn scroll_all(inner: &Inner, filter: Filter, vectors: bool) -> Result<Vec<RetrievedPoint>, BackendError> {
    let mut out = Vec::new();
    let mut offset: Option<PointId> = None;
    loop {
        let mut req =
            ScrollPointsBuilder::new(inner.collection()).filter(filter.clone()).limit(SCROLL_PAGE).with_payload(true).with_vectors(vectors);
        if let Some(o) = offset.take() {
            req = req.offset(o);
        }
        let page = inner.client.scroll(req).await.map_err(inner.err("reading points"))?;
        out.extend(page.result);
        match page.next_page_offset {
            Some(next) => offset = Some(next),
            None => return Ok(out),
        }
    }
}

/// A committed document's payload, or `None`.
pub async fn document(inner: &Inner, id: &str) -> Result<Option<DocumentPayload>, BackendError> {
    let Some(point) = document_point_id(id) else { return Ok(None) };
    let got = inner
        .client
        .get_points(GetPointsBuilder::new(inner.collection(), vec![point.into()]).with_payload(true))
        .await
        .map_err(inner.err("reading a document"))?;
    let Some(p) = got.result.into_iter().next() else { return Ok(None) };
    let d: DocumentPayload = decode(inner, "a document point", p.payload)?;
    Ok((!d.pending).then_some(d))
}

/// Committed documents holding `key`: `(document_id, rank)` pairs, newest first.
pub async fn versions_of(inner: &Inner, key: &str) -> Result<Vec<(String, (i64, String))>, BackendError> {
    let mut f: Filter = of_kind(KIND_DOCUMENT);
    f.must.push(Condition::matches("key", key.to_string()));
    let mut out: Vec<(String, (i64, String))> = documents_matching(inner, f)
        .await?
        .into_iter()
        .map(|d| (d.document_id.clone(), super::versions::rank(&d.meta, &d.document_id)))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1));
    Ok(out)
}

/// The committed document holding `key`, newest version first when a replacement is under way.
pub async fn document_by_key(inner: &Inner, key: &str) -> Result<Option<DocumentRecord>, BackendError> {
    let Some((id, _)) = versions_of(inner, key).await?.into_iter().next() else { return Ok(None) };
    Ok(document(inner, &id).await?.map(document_of))
}

/// A committed document's record, or `None`.
pub async fn document_record(inner: &Inner, id: &str) -> Result<Option<DocumentRecord>, BackendError> {
    Ok(document(inner, id).await?.map(document_of))
}

/// Document payloads matching `filter` (any commit state), in id order.
pub async fn documents_matching(inner: &Inner, filter: Filter) -> Result<Vec<DocumentPayload>, BackendError> {
    scroll_all(inner, filter, false).await?.into_iter().map(|p| decode(inner, "a document point", p.payload)).collect()
}

/// Up to `limit` committed documents in id order, strictly after `after`.
pub async fn list_documents(inner: &Inner, after: Option<&str>, limit: usize) -> Result<Vec<DocumentRecord>, BackendError> {
    let start = match after {
        None => 0,
        Some(a) => match document_point_id(a).and_then(|n| n.checked_add(1)) {
            Some(n) => n,
            None => return Ok(Vec::new()),
        },
    };
    let limit = limit.min(u32::MAX as usize) as u32;
    if limit == 0 {
        return Ok(Vec::new());
    }
    let req = ScrollPointsBuilder::new(inner.collection()).filter(of_kind(KIND_DOCUMENT)).offset(start).limit(limit).with_payload(true);
    let page = inner.client.scroll(req).await.map_err(inner.err("listing documents"))?;
    page.result.into_iter().map(|p| decode(inner, "a document point", p.payload).map(document_of)).collect()
}

fn of_paragraph(id: i64) -> Filter {
    let mut f = of_kind(KIND_CHUNK);
    f.must.push(Condition::matches("paragraph_id", id));
    f
}

/// One paragraph (from its first chunk's payload).
pub async fn paragraph(inner: &Inner, id: i64) -> Result<ParagraphRecord, BackendError> {
    let mut f = of_paragraph(id);
    f.must.push(Condition::matches("first_chunk", true));
    let req = ScrollPointsBuilder::new(inner.collection()).filter(f).limit(1).with_payload(true);
    let page = inner.client.scroll(req).await.map_err(inner.err("reading a paragraph"))?;
    let p = page.result.into_iter().next().ok_or_else(|| BackendError::NotFound(format!("paragraph {id}")))?;
    let c: ChunkPayload = decode(inner, "a chunk point", p.payload)?;
    Ok(record_of(&c))
}

/// One paragraph with the normalised mean of its chunk vectors.
pub async fn paragraph_vector(inner: &Inner, id: i64) -> Result<ParagraphVector, BackendError> {
    let points = scroll_all(inner, of_paragraph(id), true).await?;
    let mut record = None;
    let mut sum = vec![0f32; inner.dim];
    for p in &points {
        let v = dense_vector(inner, p)?;
        sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
        if record.is_none() {
            let c: ChunkPayload = decode(inner, "a chunk point", p.payload.clone())?;
            record = Some(record_of(&c));
        }
    }
    let paragraph = record.ok_or_else(|| BackendError::NotFound(format!("paragraph {id}")))?;
    normalize(&mut sum);
    Ok(ParagraphVector { paragraph, vector: sum })
}

/// Paragraph ids of a document's chunks, ascending.
pub async fn paragraph_ids_of(inner: &Inner, document: &str) -> Result<Vec<i64>, BackendError> {
    let mut f = of_kind(KIND_CHUNK);
    f.must_not.clear();
    f.must.push(Condition::matches("document_id", document.to_string()));
    f.must.push(Condition::matches("first_chunk", true));
    let mut ids: Vec<i64> = Vec::new();
    for p in scroll_all(inner, f, false).await? {
        let c: ChunkPayload = decode(inner, "a chunk point", p.payload)?;
        ids.push(c.paragraph_id);
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Nearest paragraphs: one grouped query (best chunk per paragraph), filters inside Qdrant.
pub async fn nearest(inner: &Inner, q: &DenseQuery) -> Result<DenseHits, BackendError> {
    let mut req = QueryPointGroupsBuilder::new(inner.collection(), "paragraph_id")
        .query(q.vector.clone())
        .using(DENSE)
        .filter(chunks(&q.filter, &q.exclude))
        .group_size(1u64)
        .limit(q.k as u64)
        .with_payload(true)
        .params(search_params(inner, q.exact));
    if q.min_score > -1.0 {
        req = req.score_threshold(q.min_score);
    }
    let (best, _) = best_per_group(inner, req).await?;
    let hits = best.into_iter().map(|(c, score)| ParagraphHit { span: (c.start, c.end), paragraph: record_of(&c), score }).collect();
    Ok(DenseHits { hits, path: if q.exact { "qdrant-exact" } else { "qdrant" } })
}

/// Search parameters: exact searches read the float vectors only; approximate ones take
/// `oversampling` candidates per result on the int8 vectors (when the collection has them),
/// rescore those on the floats, and search the graph with the configured `hnsw_ef`.
pub(super) fn search_params(inner: &Inner, exact: bool) -> SearchParams {
    let s = &inner.settings;
    let quantization = QuantizationSearchParams { ignore: Some(exact), rescore: Some(true), oversampling: Some(s.oversampling) };
    SearchParams { exact: Some(exact), quantization: Some(quantization), hnsw_ef: s.hnsw_ef, ..Default::default() }
}

/// Times a grouped query is run again when its answer held a point deleted while it ran.
const RACED_QUERY_RETRIES: usize = 3;

/// Runs a grouped query (by paragraph, one hit per group): the best chunk of each paragraph
/// with its score, best first (ties by paragraph id), only the newest version of each key
/// ([`newest_only`]), and how many groups Qdrant returned.
///
/// Qdrant scores points first and reads their payloads after: a point deleted in between comes
/// back without its payload (a grouped query adds the group key to it). Such an answer raced a
/// write (e.g. the old version of a replaced key going away after the new one was committed,
/// which the scoring may not have seen yet), so the query is run again, up to
/// [`RACED_QUERY_RETRIES`] times; then the deleted points are dropped.
pub(super) async fn best_per_group(inner: &Inner, req: QueryPointGroupsBuilder) -> Result<(Vec<(ChunkPayload, f32)>, usize), BackendError> {
    let mut attempt = 0;
    loop {
        let found = inner.client.query_groups(req.clone()).await.map_err(inner.err("searching"))?;
        let groups = found.result.map(|r| r.groups).unwrap_or_default();
        let returned = groups.len();
        let best: Vec<_> = groups.into_iter().filter_map(|g| g.hits.into_iter().next()).collect();
        let raced = best.iter().any(|b| !b.payload.contains_key("kind"));
        if raced && attempt < RACED_QUERY_RETRIES {
            attempt += 1;
            continue;
        }
        let mut out = Vec::with_capacity(best.len());
        for b in best.into_iter().filter(|b| b.payload.contains_key("kind")) {
            out.push((decode::<ChunkPayload>(inner, "a chunk point", b.payload)?, b.score));
        }
        let mut out = newest_only(out, |(c, _)| c);
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.paragraph_id.cmp(&b.0.paragraph_id)));
        return Ok((out, returned));
    }
}

/// Exact count of points matching `filter`.
pub async fn count(inner: &Inner, filter: Filter) -> Result<u64, BackendError> {
    let r =
        inner.client.count(CountPointsBuilder::new(inner.collection()).filter(filter).exact(true)).await.map_err(inner.err("counting"))?;
    Ok(r.result.map(|c| c.count).unwrap_or(0))
}

/// Paragraphs passing `filter` with their vectors, in paragraph-id order; above `limit`, the
/// `limit` paragraphs with the smallest sampling keys (the embedded backend's choice): read
/// through a range condition on the key inside Qdrant, widened until it holds `limit` of them.
pub async fn paragraph_vectors(inner: &Inner, filter: &ParagraphFilter, limit: usize) -> Result<Vec<ParagraphVector>, BackendError> {
    let passing = chunks(filter, &Exclusions::default());
    let mut firsts = passing.clone();
    firsts.must.push(Condition::matches("first_chunk", true));
    let total = count(inner, firsts).await? as usize;
    // Keys are uniform over [0, 2^63): a range a little wider than the share wanted usually
    // holds `limit` paragraphs; when it holds fewer, twice as wide, up to everything.
    let mut margin = 1.1;
    loop {
        let share = if total > limit { (limit as f64 / total as f64) * margin } else { 1.0 };
        let mut f = passing.clone();
        if share < 1.0 {
            let below = share * (i64::MAX as f64);
            f.must.push(Condition::range("sample_key", qdrant_client::qdrant::Range { lt: Some(below), ..Default::default() }));
        }
        let mut out = sampled_vectors(inner, f).await?;
        if out.len() < limit && share < 1.0 {
            margin *= 2.0;
            continue;
        }
        if out.len() > limit {
            out.sort_by_key(|(key, _)| *key);
            out.truncate(limit);
            out.sort_by_key(|(_, p)| p.paragraph.id);
        }
        return Ok(out.into_iter().map(|(_, p)| p).collect());
    }
}

/// Paragraph vectors (normalised mean of the chunks) of the chunk points `f` selects, with the
/// paragraphs' sampling keys, in paragraph-id order.
async fn sampled_vectors(inner: &Inner, f: Filter) -> Result<Vec<(i64, ParagraphVector)>, BackendError> {
    let mut by_paragraph: BTreeMap<i64, (ParagraphRecord, Vec<f32>, i64)> = BTreeMap::new();
    let mut points = Vec::new();
    for p in scroll_all(inner, f, true).await? {
        if !p.payload.contains_key("kind") {
            continue; // deleted while it was read
        }
        let v = dense_vector(inner, &p)?;
        let c: ChunkPayload = decode(inner, "a chunk point", p.payload)?;
        points.push((c, v));
    }
    for (c, v) in newest_only(points, |(c, _)| c) {
        let entry = by_paragraph.entry(c.paragraph_id).or_insert_with(|| (record_of(&c), vec![0f32; v.len()], c.sample_key));
        entry.1.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
    }
    Ok(by_paragraph
        .into_values()
        .map(|(paragraph, mut vector, key)| {
            normalize(&mut vector);
            (key, ParagraphVector { paragraph, vector })
        })
        .collect())
}

/// Counts per year of `kind` points (documents, or first chunks for paragraphs).
async fn year_counts(inner: &Inner, filter: Filter) -> Result<HashMap<i32, u64>, BackendError> {
    let req = FacetCountsBuilder::new(inner.collection(), "year").filter(filter).limit(10_000u64).exact(true);
    let r = inner.client.facet(req).await.map_err(inner.err("counting years"))?;
    let mut out = HashMap::new();
    for hit in r.hits {
        if let Some(facet_value::Variant::IntegerValue(y)) = hit.value.and_then(|v| v.variant) {
            out.insert(y as i32, hit.count);
        }
    }
    Ok(out)
}

/// Corpus counts from counts and facets (no full scan).
pub async fn stats(inner: &Inner) -> Result<BackendStats, BackendError> {
    let docs = of_kind(KIND_DOCUMENT);
    let mut paragraphs = of_kind(KIND_CHUNK);
    paragraphs.must.push(Condition::matches("first_chunk", true));
    let undated = |mut f: Filter| {
        f.must.push(Condition::is_empty("year"));
        f
    };
    let documents = count(inner, docs.clone()).await?;
    let paragraph_count = count(inner, paragraphs.clone()).await?;
    let chunk_count = count(inner, of_kind(KIND_CHUNK)).await?;
    let duplicates = count(inner, of_kind(KIND_DUPLICATE)).await?;
    let doc_years = year_counts(inner, docs.clone()).await?;
    let par_years = year_counts(inner, paragraphs.clone()).await?;
    let mut years: Vec<YearCount> = doc_years
        .iter()
        .map(|(&year, &d)| YearCount { year, documents: d, paragraphs: par_years.get(&year).copied().unwrap_or(0) })
        .collect();
    years.sort_by_key(|y| y.year);
    let meta = meta(inner).await?;
    let info = inner.client.collection_info(inner.collection()).await.map_err(inner.err("reading collection info"))?;
    let hnsw = info.result.and_then(|r| r.config).and_then(|c| c.hnsw_config);
    let store = StoreStats {
        documents,
        paragraphs: paragraph_count,
        chunks: chunk_count,
        duplicates,
        years,
        undated_documents: count(inner, undated(docs)).await?,
        undated_paragraphs: count(inner, undated(paragraphs)).await?,
        models: vec![ModelStats { model_id: meta.model, dim: meta.dim as u32, chunks: chunk_count }],
        corpus_version: meta.corpus_version.max(0) as u64,
    };
    // The collection's HNSW parameters as the server reports them; the search-time ef is the
    // server's choice per query, so it is not reported.
    let hnsw = hnsw.and_then(|h| match (h.m, h.ef_construct) {
        (Some(m), Some(ef)) => Some(HnswStats { m: m as usize, ef_construction: ef as usize, ef_search: None }),
        _ => None,
    });
    Ok(BackendStats { store, index: IndexStats { kind: "qdrant", points: chunk_count as usize, tombstones: 0, hnsw } })
}
