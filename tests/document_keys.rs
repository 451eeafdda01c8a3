//! Document keys on every backend (no model: hand-made documents and vectors): a keyed document
//! replaces the stored version of its key; searches running through a stream of replacements
//! always see exactly one version, whole; migrate keeps keys; an interrupted replacement is
//! finished at the next open. The Qdrant half runs when a Qdrant binary is found and prints one
//! loud `SKIPPED: ...` line otherwise.

#[path = "common/qdrant.rs"]
mod qdrant;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use simtheme::backend::qdrant::QdrantSettings;
use simtheme::backend::{self, Backend, BackendConfig, DenseQuery, DocumentRef, InsertOutcome, ParagraphFilter};
use simtheme::corpus::{document_id, PreparedChunk, PreparedDocument, PreparedParagraph};

const MODEL: &str = "keys-model";
const DIM: usize = 8;
const KEY: &str = "https://example.gov/report";
/// Paragraphs of every version of the keyed document.
const PARAGRAPHS: u32 = 3;

fn unit(seed: usize, i: usize) -> Vec<f32> {
    // All versions lie in one region of the space (so a query finds any of them), each chunk a
    // little apart.
    let mut v = [1.0f32; DIM];
    v[(seed + i) % DIM] += 0.5;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

/// Version `n` of the keyed document (or an unkeyed document when `key` is `None`).
fn version(n: usize, key: Option<&str>) -> (PreparedDocument, Vec<Vec<f32>>) {
    let raw = format!("version {n} of the report");
    let paragraphs: Vec<PreparedParagraph> = (0..PARAGRAPHS)
        .map(|p| {
            let text = format!("第{n}版第{p}段。");
            PreparedParagraph {
                position: p,
                heading: None,
                simplified: text.clone(),
                chunks: vec![PreparedChunk { start: 0, end: text.chars().count() as u32, text: text.clone() }],
                text,
            }
        })
        .collect();
    let doc = PreparedDocument {
        id: document_id(&raw, key),
        key: key.map(str::to_string),
        origin: format!("v{n}.html"),
        title: Some(format!("Report v{n}")),
        source: None,
        date: Some("2024".into()),
        year: Some(2024),
        tags: vec![],
        paragraphs,
        duplicates: vec![],
    };
    let vectors = (0..PARAGRAPHS as usize).map(|i| unit(n, i)).collect();
    (doc, vectors)
}

async fn put(b: &dyn Backend, (doc, vectors): (PreparedDocument, Vec<Vec<f32>>)) -> InsertOutcome {
    b.put_document(Arc::new(doc), Arc::new(vectors)).await.unwrap()
}

fn query(k: usize) -> DenseQuery {
    DenseQuery {
        vector: unit(0, 0),
        k,
        filter: ParagraphFilter::default(),
        exclude: Default::default(),
        min_score: -1.0,
        exact: true,
        must_contain: Default::default(),
    }
}

/// Replace, unchanged, lookups by key and id, search and listing, delete by id.
async fn replace_by_key(name: &str, b: &dyn Backend) {
    let (v1, v2) = (version(1, Some(KEY)), version(2, Some(KEY)));
    let (id1, id2) = (v1.0.id.clone(), v2.0.id.clone());
    assert!(matches!(put(b, v1.clone()).await, InsertOutcome::Inserted { replaced: None, .. }), "{name}");
    assert_eq!(put(b, v1.clone()).await, InsertOutcome::AlreadyPresent { document_id: id1.clone() }, "{name}: unchanged");
    let unkeyed = version(1, None);
    assert_ne!(unkeyed.0.id, id1, "{name}: the key is part of the id");
    assert!(matches!(put(b, unkeyed.clone()).await, InsertOutcome::Inserted { replaced: None, .. }), "{name}");
    match put(b, v2.clone()).await {
        InsertOutcome::Inserted { document_id, replaced, .. } => {
            assert_eq!((document_id, replaced), (id2.clone(), Some(id1.clone())), "{name}")
        }
        other => panic!("{name}: {other:?}"),
    }
    let by_key = b.document(DocumentRef::Key(KEY.into())).await.unwrap().unwrap();
    assert_eq!((by_key.id.as_str(), by_key.key.as_deref(), by_key.paragraphs), (id2.as_str(), Some(KEY), PARAGRAPHS), "{name}");
    assert!(b.document(DocumentRef::Id(id1.clone())).await.unwrap().is_none(), "{name}: the old version is gone");
    assert!(b.document(DocumentRef::Key("https://nowhere".into())).await.unwrap().is_none(), "{name}");
    let listed: Vec<(String, Option<String>)> = b.list_documents(None, 10).await.unwrap().into_iter().map(|d| (d.id, d.key)).collect();
    let mut want = vec![(id2.clone(), Some(KEY.to_string())), (unkeyed.0.id.clone(), None)];
    want.sort();
    assert_eq!(listed, want, "{name}");
    let docs: HashSet<String> = b.nearest(query(20)).await.unwrap().hits.into_iter().map(|h| h.paragraph.document_id).collect();
    assert_eq!(docs, HashSet::from([id2.clone(), unkeyed.0.id.clone()]), "{name}");
    let themed: HashSet<String> =
        b.paragraph_vectors(ParagraphFilter::default(), 100).await.unwrap().into_iter().map(|p| p.paragraph.document_id).collect();
    assert_eq!(themed, HashSet::from([id2.clone(), unkeyed.0.id.clone()]), "{name}");
    let s = b.stats().await.unwrap().store;
    assert_eq!((s.documents, s.paragraphs), (2, 2 * PARAGRAPHS as u64), "{name}: nothing of v1 is left");
    // The previous text again is a new version again (a revert), not "already present".
    assert!(matches!(put(b, v1.clone()).await, InsertOutcome::Inserted { replaced: Some(r), .. } if r == id2), "{name}");
    // Export carries the key (what migrate copies).
    let exported = b.export_documents(None, 10).await.unwrap();
    assert!(exported.iter().any(|e| e.document.key.as_deref() == Some(KEY) && e.document.id == id1), "{name}");
    b.delete_document(&id1).await.unwrap();
    assert!(b.document(DocumentRef::Key(KEY.into())).await.unwrap().is_none(), "{name}: deleting frees the key");
    b.delete_document(&unkeyed.0.id).await.unwrap();
}

/// One writer replaces the keyed document `rounds` times while readers search: every search
/// sees one version, whole (all its paragraphs), never two and never none.
async fn replacements_under_searches(name: &str, b: Arc<dyn Backend>, rounds: usize) {
    put(b.as_ref(), version(0, Some(KEY))).await;
    let done = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for r in 0..2 {
        let (b, done, searches) = (Arc::clone(&b), Arc::clone(&done), Arc::clone(&searches));
        readers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let hits = b.nearest(query(10)).await.unwrap().hits;
                let docs: HashSet<&str> = hits.iter().map(|h| h.paragraph.document_id.as_str()).collect();
                assert_eq!(docs.len(), 1, "reader {r}: one version per search, got {docs:?}");
                assert_eq!(hits.len(), PARAGRAPHS as usize, "reader {r}: the version whole");
                if r == 1 {
                    let themed = b.paragraph_vectors(ParagraphFilter::default(), 100).await.unwrap();
                    let docs: HashSet<&str> = themed.iter().map(|p| p.paragraph.document_id.as_str()).collect();
                    assert_eq!((docs.len(), themed.len()), (1, PARAGRAPHS as usize), "reader {r}: themes read one version whole");
                }
                searches.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for n in 1..=rounds {
        assert!(matches!(put(b.as_ref(), version(n, Some(KEY))).await, InsertOutcome::Inserted { replaced: Some(_), .. }), "{name}");
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    let last = version(rounds, Some(KEY)).0.id;
    assert_eq!(b.document(DocumentRef::Key(KEY.into())).await.unwrap().map(|d| d.id), Some(last), "{name}");
    assert_eq!(b.stats().await.unwrap().store.documents, 1, "{name}");
    eprintln!("{name}: {rounds} replacements under {} searches, each saw one whole version", searches.load(Ordering::Relaxed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_keys_replace_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend::open(&BackendConfig::embedded(tmp.path().join("a")), MODEL, DIM).await.unwrap();
    replace_by_key("embedded", b.as_ref()).await;
    replacements_under_searches("embedded", Arc::clone(&b), 150).await;

    // Migrate keeps keys: export into a second store, replace there by the same key.
    let target = backend::open(&BackendConfig::embedded(tmp.path().join("b")), MODEL, DIM).await.unwrap();
    for e in b.export_documents(None, 10).await.unwrap() {
        target.put_exported(e).await.unwrap();
    }
    assert!(matches!(put(target.as_ref(), version(999, Some(KEY))).await, InsertOutcome::Inserted { replaced: Some(_), .. }));
    assert_eq!(target.stats().await.unwrap().store.documents, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_replacement_is_finished_at_open() {
    use simtheme::backend::embedded::store::Store;
    let tmp = tempfile::tempdir().unwrap();
    // The store's half of a replacement (its transaction committed), as left by a crash before
    // the old version was deleted.
    {
        let mut store = Store::open(tmp.path()).unwrap();
        let (d1, v1) = version(1, Some(KEY));
        let (d2, v2) = version(2, Some(KEY));
        store.insert_document(&d1, &v1, MODEL).unwrap();
        store.insert_document(&d2, &v2, MODEL).unwrap();
        assert_eq!(store.replaced_documents().unwrap(), std::slice::from_ref(&d1.id));
        assert_eq!(store.list_documents(None, 10).unwrap().len(), 1, "a replaced version is not listed");
    }
    let b = backend::open(&BackendConfig::embedded(tmp.path()), MODEL, DIM).await.unwrap();
    let s = b.stats().await.unwrap().store;
    assert_eq!((s.documents, s.paragraphs), (1, PARAGRAPHS as u64));
    let docs: HashSet<String> = b.nearest(query(10)).await.unwrap().hits.into_iter().map(|h| h.paragraph.document_id).collect();
    assert_eq!(docs, HashSet::from([version(2, Some(KEY)).0.id]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_keys_replace_atomically() {
    let Some(bin) = qdrant::qdrant_binary("document_keys::qdrant_keys_replace_atomically") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let node = qdrant::QdrantNode::start(&bin, &tmp.path().join("qdrant"));
    let collection = |name: &str| BackendConfig::Qdrant(QdrantSettings { collection: name.into(), ..QdrantSettings::new(node.grpc_url()) });
    let b = backend::open(&collection("keys"), MODEL, DIM).await.unwrap();
    replace_by_key("qdrant", b.as_ref()).await;
    replacements_under_searches("qdrant", Arc::clone(&b), 40).await;

    // Two replicas replacing one key at once end with one version, the same on both.
    let replicas = [Arc::clone(&b), backend::open(&collection("keys"), MODEL, DIM).await.unwrap()];
    let mut writers = Vec::new();
    for (r, replica) in replicas.iter().enumerate() {
        let replica = Arc::clone(replica);
        writers.push(tokio::spawn(async move {
            for n in 0..10 {
                put(replica.as_ref(), version(1_000 + 100 * r + n, Some(KEY))).await;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let seen: Vec<Option<String>> = {
        let mut out = Vec::new();
        for replica in &replicas {
            out.push(replica.document(DocumentRef::Key(KEY.into())).await.unwrap().map(|d| d.id));
        }
        out
    };
    assert!(seen[0].is_some() && seen[0] == seen[1], "{seen:?}");
    assert_eq!(b.stats().await.unwrap().store.documents, 1, "one version is left");

    // Qdrant -> embedded keeps the key.
    let dir = tempfile::tempdir().unwrap();
    let embedded = backend::open(&BackendConfig::embedded(dir.path()), MODEL, DIM).await.unwrap();
    for e in b.export_documents(None, 10).await.unwrap() {
        embedded.put_exported(e).await.unwrap();
    }
    assert_eq!(embedded.document(DocumentRef::Key(KEY.into())).await.unwrap().map(|d| d.id), seen[0]);
}
