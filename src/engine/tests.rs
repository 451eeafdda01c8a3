//! Tests of the engine itself, without the model: a [`FakeEmbedder`] and the embedded backend
//! in a temporary directory.

use std::sync::Arc;

use super::*;
use crate::embed::{FakeEmbedder, Mode};
use crate::themes::Period;

const DIM: usize = 32;

/// Three documents on three subjects, two paragraphs each.
const DOCS: [(&str, &str); 3] = [
    (
        "factories.txt",
        "推动制造业数字化转型，建设一批智能工厂和数字化车间，推广工业互联网平台。\n加快工业机器人和数控机床在制造业车间的应用，提升智能制造水平。",
    ),
    (
        "drones.txt",
        "多地出台低空经济发展行动方案，推动无人机物流和城市空中交通发展。\n各地完善起降场地和空域管理规则，支持企业开展无人机配送商业化运营。",
    ),
    (
        "farms.txt",
        "稳定粮食播种面积，推进高标准农田建设，提高粮食单产和农业综合生产能力。\n发展现代种业，加强农业科技创新，保障国家粮食安全和重要农产品供给。",
    ),
];

struct Fixture {
    _dir: tempfile::TempDir,
    fake: Arc<FakeEmbedder>,
    engine: Arc<Engine>,
}

async fn fixture(tweak: impl FnOnce(&mut Config)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config { backend: crate::backend::BackendConfig::embedded(dir.path()), seed_when_empty: false, ..Config::default() };
    tweak(&mut config);
    let fake = Arc::new(FakeEmbedder::new(DIM));
    let engine = Engine::with_text_embedder(config, Arc::clone(&fake) as Arc<dyn crate::embed::TextEmbedder>).await.unwrap();
    Fixture { _dir: dir, fake, engine }
}

async fn ingest_docs(engine: &Arc<Engine>) -> Vec<IngestResult> {
    let inputs =
        DOCS.iter().map(|(name, text)| IngestInput { text: text.to_string(), name: name.to_string(), ..Default::default() }).collect();
    let results = engine.ingest(inputs).await;
    for r in &results {
        assert_eq!(r.status, IngestStatus::Inserted, "{r:?}");
    }
    results
}

fn text(q: &str) -> SearchRequest {
    SearchRequest { query: QueryInput::Text(q.into()), ..Default::default() }
}

fn message<T: std::fmt::Debug>(r: Result<T, EngineError>) -> String {
    match r {
        Err(EngineError::InvalidArgument(m)) => m,
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

#[tokio::test]
async fn ingest_search_delete_round_trip_on_the_embedded_backend() {
    let f = fixture(|_| {}).await;
    assert_eq!((f.engine.model_name(), f.engine.dim()), ("fake-embedder", DIM));
    let results = ingest_docs(&f.engine).await;
    assert!(results.iter().all(|r| r.paragraphs == 2 && r.tokens > 0), "{results:?}");
    assert!(f.fake.modes().iter().all(|m| *m == Mode::Passage), "documents are embedded as passages");
    let again = f.engine.ingest(vec![IngestInput { text: DOCS[1].1.into(), name: "again".into(), ..Default::default() }]).await;
    assert_eq!(again[0].status, IngestStatus::AlreadyPresent);

    let drones = &results[1].document_id;
    let query = "无人机配送商业化运营";
    let out = f.engine.search(SearchRequest { mode: Some(SearchMode::Dense), ..text(query) }).await.unwrap();
    assert_eq!(f.fake.modes().last(), Some(&Mode::Query), "queries are embedded as queries");
    assert_eq!(&out.hits[0].hit.paragraph.document_id, drones, "{:?}", out.hits[0]);
    assert!(out.hits[0].hit.paragraph.text.contains(query));
    assert_eq!(out.hits.len(), 6, "k defaults to 10: every paragraph");
    assert!(out.query_tokens > 0 && out.path == "exact", "{}", out.path);

    let stats = f.engine.stats().await.unwrap();
    assert_eq!((stats.store.documents, stats.store.paragraphs), (3, 6));

    let deleted = f.engine.delete_document(DocumentRef::Id(drones.to_string())).await.unwrap();
    assert_eq!(deleted.paragraphs, 2);
    let out = f.engine.search(SearchRequest { mode: Some(SearchMode::Dense), ..text(query) }).await.unwrap();
    assert!(out.hits.iter().all(|h| &h.hit.paragraph.document_id != drones));
    assert_eq!(out.hits.len(), 4);
    assert!(matches!(f.engine.delete_document(DocumentRef::Id(drones.to_string())).await, Err(EngineError::NotFound(_))));
    let page = f.engine.documents_page(None, 0).await.unwrap();
    assert_eq!((page.documents.len(), page.more), (2, false));
}

#[tokio::test]
async fn defaults_come_from_the_engine() {
    let f = fixture(|_| {}).await;
    ingest_docs(&f.engine).await;
    // A text query with no mode runs the configured default (HYBRID), a paragraph query DENSE.
    let out = f.engine.search(text("无人机 物流")).await.unwrap();
    assert!(out.path.ends_with("+bm25"), "{}", out.path);
    let id = out.hits[0].hit.paragraph.id;
    let out = f.engine.search(SearchRequest { query: QueryInput::Paragraph(id), k: 1, ..Default::default() }).await.unwrap();
    assert_eq!(out.path, "exact");
    assert_ne!(out.hits[0].hit.paragraph.id, id, "the query paragraph itself is skipped");
    let dense = fixture(|c| c.default_search_mode = SearchMode::Dense).await;
    ingest_docs(&dense.engine).await;
    assert_eq!(dense.engine.search(text("无人机 物流")).await.unwrap().path, "exact");

    // Embed and Similarity go through the engine: queries unless told otherwise.
    let e = f.engine.embed(vec!["数字化转型".into(), "粮食安全".into()], None).await.unwrap();
    assert_eq!(e.embeddings.len(), 2);
    assert_eq!(f.fake.modes().last(), Some(&DEFAULT_EMBED_MODE));
    f.engine.embed(vec!["粮食安全".into()], Some(Mode::Passage)).await.unwrap();
    assert_eq!(f.fake.modes().last(), Some(&Mode::Passage));
    let same = f.engine.similarity("粮食安全".into(), "粮食安全".into(), None).await.unwrap();
    assert!((same.cosine - 1.0).abs() < 1e-5 && same.tokens_a == same.tokens_b, "{same:?}");

    // Pages of 50 unless asked otherwise.
    let page = f.engine.documents_page(None, 2).await.unwrap();
    assert_eq!((page.documents.len(), page.more), (2, true));
    let rest = f.engine.documents_page(Some(page.documents[1].id.clone()), 0).await.unwrap();
    assert_eq!((rest.documents.len(), rest.more), (1, false));
}

#[tokio::test]
async fn themes_default_to_seed_42_everywhere() {
    let f = fixture(|_| {}).await;
    ingest_docs(&f.engine).await;
    let (default, cached) = f.engine.themes(&ThemeRequest::default()).await.unwrap();
    assert!(!cached);
    let (explicit, cached) =
        f.engine.themes(&ThemeRequest { seed: Some(42), min_theme_size: Some(3), keywords: Some(10), ..Default::default() }).await.unwrap();
    assert!(cached, "seed 42, themes of 3 and 10 keywords are the defaults: the same run");
    assert_eq!(default.result_id, explicit.result_id);
    let (zero, _) = f.engine.themes(&ThemeRequest { seed: Some(0), ..Default::default() }).await.unwrap();
    assert_ne!(zero.result_id, default.result_id, "0 is a seed of its own");
    assert_eq!(default.result.input_count, 6);

    let (_, scores) = f.engine.assign_theme(&ThemeRequest::default(), QueryInput::Text("无人机".into()), 0).await.unwrap();
    assert!(scores.len() <= DEFAULT_ASSIGN_TOP);
}

#[tokio::test]
async fn validation_errors_name_the_fix() {
    let f = fixture(|c| {
        c.max_k = 10;
        c.max_query_chars = 10;
        c.max_embed_texts = 2;
        c.max_embed_chars = 12;
        c.max_document_bytes = 300;
        c.max_documents_per_request = 2;
    })
    .await;
    let e = &f.engine;
    let m = message(e.search(SearchRequest { k: 11, ..text("x") }).await);
    assert!(m.contains("k = 11") && m.contains("maximum of 10") && m.contains("--max-k"), "{m}");
    let m = message(e.search(text(&"字".repeat(11))).await);
    assert!(m.contains("11 characters") && m.contains("--max-query-chars"), "{m}");
    assert!(message(e.search(text("  ")).await).contains("empty"));
    let m = message(e.search(SearchRequest { exclude_same_document: true, ..text("x") }).await);
    assert!(m.contains("paragraph_id"), "{m}");
    let m =
        message(e.search(SearchRequest { query: QueryInput::Paragraph(1), mode: Some(SearchMode::Keyword), ..Default::default() }).await);
    assert!(m.contains("DENSE"), "{m}");

    let m = message(e.embed(vec!["a".into(); 3], None).await);
    assert!(m.contains("send 1 to 2 texts") && m.contains("--max-embed-texts"), "{m}");
    assert!(message(e.embed(Vec::new(), None).await).contains("--max-embed-texts"));
    let m = message(e.embed(vec!["a".into(), "字".repeat(13)], None).await);
    assert!(m.contains("texts[1]") && m.contains("--max-embed-chars"), "{m}");
    let m = message(e.similarity("a".into(), "字".repeat(11), None).await);
    assert!(m.contains("text_b") && m.contains("--max-query-chars"), "{m}");

    let big = IngestInput { text: "字".repeat(101), ..Default::default() };
    let m = message(e.prepare(&big));
    assert!(m.contains("303 bytes") && m.contains("--max-document-bytes"), "{m}");
    let m = message(e.check_batch(3));
    assert!(m.contains("send 1 to 2 documents") && m.contains("--max-documents-per-request"), "{m}");
    assert!(e.check_batch(0).is_err() && e.check_batch(2).is_ok());
    assert!(e.check_stream_position(199).is_ok());
    match e.check_stream_position(200) {
        Err(EngineError::ResourceExhausted(m)) => assert!(m.contains("--max-documents-per-request"), "{m}"),
        other => panic!("{other:?}"),
    }
    let m = message(e.documents_page(None, MAX_PAGE_SIZE + 1).await);
    assert!(m.contains("page_size 501"), "{m}");
    let m = message(e.themes(&ThemeRequest { keywords: Some(51), ..Default::default() }).await);
    assert!(m.contains("keywords = 51"), "{m}");
    let m = message(e.compare_periods(&ThemeRequest::default(), Period::year(2024), Period::year(2024)).await);
    assert!(m.contains("same year"), "{m}");
    let m = message(e.compare_periods(&ThemeRequest::default(), Period { from: 2010, to: 2015 }, Period { from: 2015, to: 2020 }).await);
    assert!(m.contains("overlap"), "{m}");
    let m = message(e.themes_over_time(&ThemeRequest::default(), 101, 0.0).await);
    assert!(m.contains("101 years"), "{m}");
    let m = message(e.assign_theme(&ThemeRequest::default(), QueryInput::Text("x".into()), MAX_ASSIGN_TOP + 1).await);
    assert!(m.contains("top = 51"), "{m}");
    let m = message(e.themes(&ThemeRequest::default()).await);
    assert!(m.contains("ingest documents"), "nothing stored yet: {m}");
    assert!(message(e.delete_document(DocumentRef::Id(" ".into())).await).contains("document_id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_holds_one_version_replaced_whole() {
    let f = fixture(|_| {}).await;
    let keyed = |text: &str, key: &str| IngestInput {
        text: text.into(),
        name: "page.html".into(),
        meta: crate::corpus::DocumentMeta { key: Some(key.into()), ..Default::default() },
        ..Default::default()
    };
    let url = "https://example.gov/policy/1";
    let v1 = f.engine.ingest(vec![keyed(DOCS[0].1, url)]).await.remove(0);
    assert_eq!(v1.status, IngestStatus::Inserted, "{v1:?}");
    let same = f.engine.ingest(vec![keyed(DOCS[0].1, url)]).await.remove(0);
    assert_eq!((same.status, &same.document_id), (IngestStatus::AlreadyPresent, &v1.document_id), "unchanged text");
    // The same text under another key is another document.
    let other = f.engine.ingest(vec![keyed(DOCS[0].1, "https://example.gov/policy/2")]).await.remove(0);
    assert!(other.status == IngestStatus::Inserted && other.document_id != v1.document_id, "{other:?}");
    let v2 = f.engine.ingest(vec![keyed(DOCS[1].1, url)]).await.remove(0);
    assert_eq!(v2.status, IngestStatus::Replaced(v1.document_id.clone()), "{v2:?}");
    let stored = f.engine.document(DocumentRef::Key(url.into())).await.unwrap();
    assert_eq!((stored.id.as_str(), stored.key.as_deref()), (v2.document_id.as_str(), Some(url)));
    assert!(matches!(f.engine.document(DocumentRef::Id(v1.document_id.clone())).await, Err(EngineError::NotFound(_))));
    let out = f.engine.search(SearchRequest { mode: Some(SearchMode::Dense), k: 20, ..text(DOCS[0].1) }).await.unwrap();
    assert!(out.hits.iter().all(|h| h.hit.paragraph.document_id != v1.document_id), "the old version is not searchable");
    assert_eq!(f.engine.documents_page(None, 0).await.unwrap().documents.len(), 2);
    // Delete by key; then the key is free and NotFound says so.
    let deleted = f.engine.delete_document(DocumentRef::Key(url.into())).await.unwrap();
    assert_eq!(deleted.document_id, v2.document_id);
    match f.engine.delete_document(DocumentRef::Key(url.into())).await {
        Err(EngineError::NotFound(m)) => assert!(m.contains(url) && m.contains("never added or was deleted"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Bad keys are refused and store nothing.
    let bad = f.engine.ingest(vec![keyed(DOCS[2].1, "a\nb"), keyed(DOCS[2].1, &"k".repeat(MAX_KEY_CHARS + 1))]).await;
    assert!(matches!(&bad[0].status, IngestStatus::Failed(m) if m.contains("control character")), "{:?}", bad[0]);
    assert!(matches!(&bad[1].status, IngestStatus::Failed(m) if m.contains("key is 1025 characters")), "{:?}", bad[1]);
    assert_eq!(f.engine.documents_page(None, 0).await.unwrap().documents.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_limits_refuse_oversized_fields_and_store_nothing() {
    let f = fixture(|_| {}).await;
    let doc = |meta: crate::corpus::DocumentMeta, name: &str| IngestInput {
        text: DOCS[0].1.into(),
        name: name.into(),
        meta,
        ..Default::default()
    };
    let meta = |title: &str, tags: Vec<String>| crate::corpus::DocumentMeta { title: Some(title.into()), tags, ..Default::default() };
    let cases = [
        (doc(meta(&"题".repeat(MAX_TITLE_CHARS + 1), vec![]), "a.txt"), "title is 1001 characters"),
        (doc(meta("ok", (0..=MAX_TAGS).map(|i| format!("t{i}")).collect()), "a.txt"), "33 tags"),
        (doc(meta("ok", vec!["x".repeat(MAX_TAG_CHARS + 1)]), "a.txt"), "longer than 64"),
        (doc(meta("ok", vec![]), &"n".repeat(MAX_NAME_CHARS + 1)), "name is 1025 characters"),
    ];
    for (input, want) in cases {
        let r = f.engine.ingest(vec![input]).await.remove(0);
        match &r.status {
            IngestStatus::Failed(m) => assert!(m.contains(want), "{m}"),
            other => panic!("expected a refusal naming {want}, got {other:?}"),
        }
    }
    // nothing of them was stored; a front matter title above the limit is cut, not refused
    assert_eq!(f.engine.backend().stats().await.unwrap().store.documents, 0);
    let page = format!("---\ntitle: {}\n---\n{}", "长".repeat(MAX_TITLE_CHARS + 50), DOCS[0].1);
    let r = f.engine.ingest(vec![IngestInput { text: page, name: "fm.md".into(), ..Default::default() }]).await.remove(0);
    assert_eq!(r.status, IngestStatus::Inserted, "{r:?}");
    assert_eq!(r.title.unwrap().chars().count(), MAX_TITLE_CHARS);
}
