//! The backend contract: the same assertions against every [`Backend`] implementation, with
//! hand-made documents and vectors (no model). The embedded backend always runs; the Qdrant
//! backend runs when a Qdrant binary is found (`tests/common/qdrant.rs`) and prints one loud
//! `SKIPPED: ...` line otherwise.
//!
//! Covered: store, storing the same id again, delete, list paging, paragraph, paragraph_vector,
//! nearest with filters / exclusions / min_score / exact, paragraph_vectors, corpus_version
//! changes, stats, missing_documents, and the batch read plus write path of `simtheme migrate`
//! (export_documents then put_exported into a second backend).

#[path = "common/qdrant.rs"]
mod qdrant;

use std::sync::Arc;

use simtheme::backend::qdrant::QdrantSettings;
use simtheme::backend::{
    self, Backend, BackendConfig, BackendError, DenseQuery, Exclusions, ExportedDocument, InsertOutcome, ParagraphFilter, YearFilter,
};
use simtheme::corpus::{DuplicateOccurrence, PreparedChunk, PreparedDocument, PreparedParagraph};

const MODEL: &str = "contract-model";
const DIM: usize = 16;
const A: &str = "a000000000000001";
const B: &str = "b000000000000002";
const C: &str = "c000000000000003";

/// The unit vector of the corpus' `g`-th chunk: e_g + 0.1 e_(g+1), normalised. Two different
/// chunks have a cosine of at most ~0.1.
fn chunk_vector(g: usize) -> Vec<f32> {
    let mut v = [0f32; DIM];
    v[g % DIM] = 1.0;
    v[(g + 1) % DIM] = 0.1;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

fn mean_unit(vs: &[Vec<f32>]) -> Vec<f32> {
    let mut m = [0f32; DIM];
    for v in vs {
        m.iter_mut().zip(v).for_each(|(a, b)| *a += b);
    }
    let n = m.iter().map(|x| x * x).sum::<f32>().sqrt();
    m.iter().map(|x| x / n).collect()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
}

fn paragraph(position: u32, heading: Option<&str>, sentences: &[&str]) -> PreparedParagraph {
    let text: String = sentences.concat();
    let mut chunks = Vec::new();
    let mut start = 0u32;
    for s in sentences {
        let end = start + s.chars().count() as u32;
        chunks.push(PreparedChunk { start, end, text: s.to_string() });
        start = end;
    }
    PreparedParagraph { position, heading: heading.map(str::to_string), simplified: text.clone(), text, chunks }
}

/// Three documents: A (2020, 2 paragraphs, 3 chunks, 1 duplicate), B (2021, 2 paragraphs), C
/// (undated, 1 paragraph); chunk vectors 0..3, 3..5 and 5 in that order.
fn corpus() -> Vec<(PreparedDocument, Vec<Vec<f32>>)> {
    let doc = |id: &str, year: Option<i32>, tags: &[&str], paragraphs: Vec<PreparedParagraph>, duplicates: Vec<DuplicateOccurrence>| {
        PreparedDocument {
            id: id.into(),
            key: None,
            origin: format!("contract/{id}.txt"),
            title: Some(format!("Title {id}")),
            source: year.map(|_| "国务院".to_string()),
            date: year.map(|y| format!("{y}-05-01")),
            year,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            paragraphs,
            duplicates,
        }
    };
    let a = doc(
        A,
        Some(2020),
        &["alpha"],
        vec![
            paragraph(0, None, &["推动制造业高质量发展。", "加快建设现代化产业体系。"]),
            paragraph(1, Some("第二部分"), &["稳步推进新能源汽车产业。"]),
        ],
        vec![DuplicateOccurrence {
            of_position: 0, block_index: 2, text: "推动制造业高质量发展。加快建设现代化产业体系。".into()
        }],
    );
    let b = doc(
        B,
        Some(2021),
        &["beta", "alpha"],
        vec![paragraph(0, None, &["扩大内需战略。"]), paragraph(1, None, &["深化科技体制改革。"])],
        vec![],
    );
    let c = doc(C, None, &[], vec![paragraph(0, Some("附件"), &["加强生态环境保护。"])], vec![]);
    let mut g = 0;
    [a, b, c]
        .into_iter()
        .map(|d| {
            let n: usize = d.paragraphs.iter().map(|p| p.chunks.len()).sum();
            let vectors = (g..g + n).map(chunk_vector).collect();
            g += n;
            (d, vectors)
        })
        .collect()
}

fn query(g: usize, k: usize) -> DenseQuery {
    DenseQuery {
        vector: chunk_vector(g),
        k,
        filter: ParagraphFilter::default(),
        exclude: Exclusions::default(),
        min_score: -1.0,
        exact: true,
        must_contain: Default::default(),
    }
}

fn years(years: &[i32], from: Option<i32>, include_undated: bool) -> ParagraphFilter {
    ParagraphFilter { years: Some(YearFilter { years: years.to_vec(), from, to: None, include_undated }), ..Default::default() }
}

/// Documents of the hits of `q`, best first.
async fn hit_docs(b: &dyn Backend, q: DenseQuery) -> Vec<String> {
    let hits = b.nearest(q).await.unwrap().hits;
    for w in hits.windows(2) {
        assert!(w[0].score >= w[1].score, "hits are best first");
    }
    hits.into_iter().map(|h| h.paragraph.document_id).collect()
}

/// Every assertion of the contract on an empty backend. Returns the exported corpus.
async fn contract(name: &str, b: &dyn Backend) -> Vec<ExportedDocument> {
    eprintln!("contract: {name} ({})", b.info().location);
    assert!(b.is_empty().await.unwrap());
    let v0 = b.corpus_version().await.unwrap();

    // Store; storing the same id again changes nothing.
    let docs = corpus();
    let mut ids = Vec::new(); // paragraph ids per document, in document order
    let mut version = v0;
    for (d, v) in &docs {
        match b.put_document(Arc::new(d.clone()), Arc::new(v.clone())).await.unwrap() {
            InsertOutcome::Inserted { document_id, paragraphs, chunks, duplicates, paragraph_ids, replaced } => {
                assert_eq!(replaced, None);
                assert_eq!(document_id, d.id);
                assert_eq!((paragraphs as usize, chunks as usize, duplicates as usize), (d.paragraphs.len(), v.len(), d.duplicates.len()));
                assert_eq!(paragraph_ids.len(), d.paragraphs.len());
                ids.push(paragraph_ids);
            }
            other => panic!("{name}: {other:?}"),
        }
        let now = b.corpus_version().await.unwrap();
        assert_ne!(now, version, "{name}: corpus_version changes with a stored document");
        version = now;
    }
    let all_ids: std::collections::HashSet<i64> = ids.iter().flatten().copied().collect();
    assert_eq!(all_ids.len(), 5, "{name}: paragraph ids are distinct");
    let again = b.put_document(Arc::new(docs[0].0.clone()), Arc::new(docs[0].1.clone())).await.unwrap();
    assert_eq!(again, InsertOutcome::AlreadyPresent { document_id: A.into() });
    assert_eq!(b.corpus_version().await.unwrap(), version, "{name}: AlreadyPresent changes nothing");
    assert!(!b.is_empty().await.unwrap());
    assert!(b.contains_document(A).await.unwrap() && !b.contains_document("ffffffffffffffff").await.unwrap());

    // One batched check of many ids: missing ones in the order given, each once.
    let asked: Vec<String> = ["ffffffffffffffff", A, "not-a-hex-id", B, "ffffffffffffffff", C].map(String::from).to_vec();
    assert_eq!(b.missing_documents(&asked).await.unwrap(), vec!["ffffffffffffffff".to_string(), "not-a-hex-id".to_string()]);
    assert!(b.missing_documents(&[]).await.unwrap().is_empty());

    // List paging, by id.
    let first = b.list_documents(None, 2).await.unwrap();
    assert_eq!(first.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [A, B]);
    let rest = b.list_documents(Some(B.into()), 2).await.unwrap();
    assert_eq!(rest.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [C]);
    assert!(b.list_documents(Some(C.into()), 2).await.unwrap().is_empty());
    let a = &first[0];
    assert_eq!(
        (a.origin.as_str(), a.title.as_deref(), a.year, a.tags.clone()),
        ("contract/a000000000000001.txt", Some("Title a000000000000001"), Some(2020), vec!["alpha".to_string()])
    );
    assert_eq!((a.paragraphs, a.chunks, a.duplicates), (2, 3, 1));
    assert!(a.created_at > 0);
    assert_eq!((first[1].tags.clone(), rest[0].year, rest[0].date.clone()), (vec!["beta".to_string(), "alpha".to_string()], None, None));

    // One paragraph, with and without its vector.
    let p = b.paragraph(ids[0][1]).await.unwrap();
    assert_eq!(
        (p.document_id.as_str(), p.position, p.heading.as_deref(), p.text.as_str()),
        (A, 1, Some("第二部分"), "稳步推进新能源汽车产业。")
    );
    assert_eq!(
        (p.year, p.doc_title.as_deref(), p.doc_source.as_deref(), p.doc_date.as_deref()),
        (Some(2020), Some("Title a000000000000001"), Some("国务院"), Some("2020-05-01"))
    );
    let pv = b.paragraph_vector(ids[0][0]).await.unwrap();
    assert_eq!(pv.paragraph.id, ids[0][0]);
    assert!(close(&pv.vector, &mean_unit(&docs[0].1[0..2])), "{name}: a paragraph's vector is the normalised mean of its chunks");
    let unknown = *all_ids.iter().max().unwrap() + 1;
    assert!(matches!(b.paragraph(unknown).await, Err(BackendError::NotFound(_))));
    assert!(matches!(b.paragraph_vector(unknown).await, Err(BackendError::NotFound(_))));

    // Nearest: a paragraph scores as its best chunk, with that chunk's span.
    for exact in [true, false] {
        let hits = b.nearest(DenseQuery { exact, ..query(1, 1) }).await.unwrap().hits;
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].paragraph.id, hits[0].span), (ids[0][0], (11, 23)), "{name}: exact={exact}");
        assert!(hits[0].score > 0.99, "{}", hits[0].score);
    }
    let everything = b.nearest(query(4, 10)).await.unwrap().hits;
    assert_eq!(everything.len(), 5, "{name}: k above the corpus returns every paragraph once");
    assert_eq!(everything[0].paragraph.id, ids[1][1]);
    // Exclusions and min_score apply before ranking.
    let hits =
        b.nearest(DenseQuery { exclude: Exclusions { paragraph: Some(ids[0][0]), document: None }, ..query(1, 10) }).await.unwrap().hits;
    assert_eq!(hits.len(), 4);
    assert!(hits.iter().all(|h| h.paragraph.id != ids[0][0]));
    assert!(!hit_docs(b, DenseQuery { exclude: Exclusions { paragraph: None, document: Some(A.into()) }, ..query(1, 10) })
        .await
        .contains(&A.to_string()));
    assert_eq!(b.nearest(DenseQuery { min_score: 0.5, ..query(1, 10) }).await.unwrap().hits.len(), 1);
    // Filters: years, undated, tags, documents.
    assert_eq!(hit_docs(b, DenseQuery { filter: years(&[2020], None, false), ..query(3, 10) }).await, [A, A]);
    let mut later = hit_docs(b, DenseQuery { filter: years(&[], Some(2021), true), ..query(0, 10) }).await;
    later.sort();
    assert_eq!(later, [B, B, C]);
    let mut tagged =
        hit_docs(b, DenseQuery { filter: ParagraphFilter { tags: vec!["alpha".into()], ..Default::default() }, ..query(5, 10) }).await;
    tagged.sort();
    assert_eq!(tagged, [A, A, B, B]);
    assert_eq!(
        hit_docs(
            b,
            DenseQuery { filter: ParagraphFilter { document_ids: vec![C.into()], ..Default::default() }, exact: false, ..query(0, 10) }
        )
        .await,
        [C]
    );

    // Paragraph vectors for themes: paragraph-id order, filtered, deterministic sample.
    let pvs = b.paragraph_vectors(ParagraphFilter::default(), 100).await.unwrap();
    assert_eq!(pvs.len(), 5);
    assert!(pvs.windows(2).all(|w| w[0].paragraph.id < w[1].paragraph.id));
    let b1 = pvs.iter().find(|p| p.paragraph.id == ids[1][1]).unwrap();
    assert!(close(&b1.vector, &chunk_vector(4)));
    assert_eq!(b.paragraph_vectors(years(&[2021], None, false), 100).await.unwrap().len(), 2);
    let sample = b.paragraph_vectors(ParagraphFilter::default(), 3).await.unwrap();
    assert_eq!(sample.len(), 3, "{name}: a sample of exactly `limit` paragraphs");
    let mut by_key: Vec<i64> = pvs.iter().map(|p| p.paragraph.id).collect();
    by_key.sort_by_key(|&id| simtheme::backend::embedded::sample_key(id));
    let mut smallest = by_key[..3].to_vec();
    smallest.sort_unstable();
    assert_eq!(
        sample.iter().map(|p| p.paragraph.id).collect::<Vec<_>>(),
        smallest,
        "{name}: the paragraphs with the smallest sampling keys"
    );
    let again = b.paragraph_vectors(ParagraphFilter::default(), 3).await.unwrap();
    assert_eq!(sample.iter().map(|p| p.paragraph.id).collect::<Vec<_>>(), again.iter().map(|p| p.paragraph.id).collect::<Vec<_>>());

    // Stats.
    let s = b.stats().await.unwrap();
    assert_eq!((s.store.documents, s.store.paragraphs, s.store.chunks, s.store.duplicates), (3, 5, 6, 1));
    assert_eq!(s.store.years.iter().map(|y| (y.year, y.documents, y.paragraphs)).collect::<Vec<_>>(), [(2020, 1, 2), (2021, 1, 2)]);
    assert_eq!((s.store.undated_documents, s.store.undated_paragraphs), (1, 1));
    assert_eq!(s.store.models.iter().map(|m| (m.model_id.as_str(), m.dim, m.chunks)).collect::<Vec<_>>(), [(MODEL, DIM as u32, 6)]);
    assert_eq!(s.store.corpus_version, b.corpus_version().await.unwrap());
    assert_eq!((s.index.points, s.index.tombstones), (6, 0));
    assert!(!s.index.kind.is_empty());
    if let Some(h) = s.index.hnsw {
        assert!(h.m > 0 && h.ef_construction > 0, "{h:?}");
    }

    // Batch read for migrate: pages by id, whole documents with ids and vectors.
    let mut exported = b.export_documents(None, 2).await.unwrap();
    assert_eq!(exported.iter().map(|e| e.document.id.as_str()).collect::<Vec<_>>(), [A, B]);
    exported.extend(b.export_documents(Some(B.into()), 2).await.unwrap());
    assert!(b.export_documents(Some(C.into()), 2).await.unwrap().is_empty());
    assert_eq!(exported.len(), 3);
    for ((e, (d, v)), pids) in exported.iter().zip(&docs).zip(&ids) {
        assert_eq!(&e.document, d, "{name}: exported as prepared");
        assert_eq!(&e.paragraph_ids, pids);
        assert!(e.vectors.len() == v.len() && e.vectors.iter().zip(v).all(|(x, y)| close(x, y)));
        assert!(e.created_at > 0);
    }

    // Delete: gone from every read; a second delete is NotFound.
    let before = b.corpus_version().await.unwrap();
    let deleted = b.delete_document(B).await.unwrap();
    let mut b_ids = ids[1].clone();
    b_ids.sort_unstable();
    assert_eq!((deleted.document_id.as_str(), deleted.paragraphs, deleted.chunks, deleted.paragraph_ids.clone()), (B, 2, 2, b_ids));
    assert_ne!(b.corpus_version().await.unwrap(), before);
    assert!(matches!(b.paragraph(ids[1][0]).await, Err(BackendError::NotFound(_))));
    assert!(matches!(b.delete_document(B).await, Err(BackendError::NotFound(_))));
    assert!(!hit_docs(b, query(3, 10)).await.contains(&B.to_string()));
    assert_eq!(b.missing_documents(&[A.into(), B.into()]).await.unwrap(), [B]);
    assert_eq!(b.list_documents(None, 10).await.unwrap().len(), 2);
    let s = b.stats().await.unwrap();
    assert_eq!((s.store.documents, s.store.paragraphs, s.store.chunks), (2, 3, 4));
    assert_eq!(b.paragraph_vectors(ParagraphFilter::default(), 100).await.unwrap().len(), 3);
    // Stored again: found again.
    assert!(matches!(
        b.put_document(Arc::new(docs[1].0.clone()), Arc::new(docs[1].1.clone())).await.unwrap(),
        InsertOutcome::Inserted { .. }
    ));
    assert_eq!(hit_docs(b, query(3, 1)).await, [B]);
    exported
}

/// The write half of migrate: every exported document into an empty target, then the target
/// holds the same corpus (paragraph ids too where the target keeps them).
async fn migrate_into(name: &str, target: &dyn Backend, exported: &[ExportedDocument], keeps_ids: bool) {
    for e in exported {
        assert!(matches!(target.put_exported(e.clone()).await.unwrap(), InsertOutcome::Inserted { .. }), "{name}");
    }
    // Resumable: a second run finds everything present.
    let ids: Vec<String> = exported.iter().map(|e| e.document.id.clone()).collect();
    assert!(target.missing_documents(&ids).await.unwrap().is_empty());
    assert!(matches!(target.put_exported(exported[0].clone()).await.unwrap(), InsertOutcome::AlreadyPresent { .. }));
    let copy = target.export_documents(None, 10).await.unwrap();
    assert_eq!(copy.len(), exported.len(), "{name}");
    for (c, e) in copy.iter().zip(exported) {
        assert_eq!(c.document, e.document, "{name}");
        assert!(c.vectors.iter().zip(&e.vectors).all(|(x, y)| close(x, y)), "{name}");
        if keeps_ids {
            assert_eq!((&c.paragraph_ids, c.created_at), (&e.paragraph_ids, e.created_at), "{name}: ids and time kept");
        }
    }
    let s = target.stats().await.unwrap().store;
    assert_eq!((s.documents, s.paragraphs, s.chunks, s.duplicates), (3, 5, 6, 1), "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_backend_keeps_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let source = backend::open(&BackendConfig::embedded(tmp.path().join("source")), MODEL, DIM).await.unwrap();
    let exported = contract("embedded", source.as_ref()).await;
    let target = backend::open(&BackendConfig::embedded(tmp.path().join("target")), MODEL, DIM).await.unwrap();
    migrate_into("embedded -> embedded", target.as_ref(), &exported, false).await;
    // What was stored survives a reopen.
    target.checkpoint().await.unwrap();
    drop(target);
    let reopened = backend::open(&BackendConfig::embedded(tmp.path().join("target")), MODEL, DIM).await.unwrap();
    assert_eq!(reopened.stats().await.unwrap().store.chunks, 6);
    assert_eq!(backend::stored_model(&BackendConfig::embedded(tmp.path().join("target"))).await.unwrap(), Some((MODEL.to_string(), DIM)));
    assert_eq!(backend::stored_model(&BackendConfig::embedded(tmp.path().join("none"))).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_backend_keeps_the_contract() {
    let Some(bin) = qdrant::qdrant_binary("backend_contract::qdrant_backend_keeps_the_contract") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let node = qdrant::QdrantNode::start(&bin, &tmp.path().join("qdrant"));
    let collection = |name: &str| BackendConfig::Qdrant(QdrantSettings { collection: name.into(), ..QdrantSettings::new(node.grpc_url()) });
    assert_eq!(backend::stored_model(&collection("contract")).await.unwrap(), None, "nothing is created by asking");
    let source = backend::open(&collection("contract"), MODEL, DIM).await.unwrap();
    let exported = contract("qdrant", source.as_ref()).await;
    assert_eq!(backend::stored_model(&collection("contract")).await.unwrap(), Some((MODEL.to_string(), DIM)));
    let target = backend::open(&collection("copy"), MODEL, DIM).await.unwrap();
    migrate_into("qdrant -> qdrant", target.as_ref(), &exported, true).await;
    // The migration of today: the embedded store into Qdrant, paragraph ids kept.
    let dir = tempfile::tempdir().unwrap();
    let embedded = backend::open(&BackendConfig::embedded(dir.path()), MODEL, DIM).await.unwrap();
    let from_embedded = contract("embedded (source of a migration)", embedded.as_ref()).await;
    let target = backend::open(&collection("from-embedded"), MODEL, DIM).await.unwrap();
    migrate_into("embedded -> qdrant", target.as_ref(), &from_embedded, true).await;
}

/// Stores the contract corpus in a fresh backend.
async fn filled(config: &BackendConfig) -> Arc<dyn Backend> {
    let b = backend::open(config, MODEL, DIM).await.unwrap();
    for (d, v) in corpus() {
        b.put_document(Arc::new(d), Arc::new(v)).await.unwrap();
    }
    b
}

/// `simtheme migrate` with `args`; its stdout. Migrate needs no model: it copies vectors.
fn migrate(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_simtheme")).arg("migrate").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "migrate {args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_command_copies_between_backends() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    let source = filled(&BackendConfig::embedded(&src)).await;
    let exported = source.export_documents(None, 10).await.unwrap();
    drop(source);
    let (src_arg, dst_arg) = (src.to_str().unwrap(), dst.to_str().unwrap());
    let out = migrate(&["--data-dir", src_arg, "--to-data-dir", dst_arg]);
    assert!(out.contains("3 documents copied, 0 already in the store in"), "{out}");
    // Resumable: a second run copies nothing.
    assert!(migrate(&["--data-dir", src_arg, "--to-data-dir", dst_arg]).contains("0 documents copied, 3 already"));
    let copy = backend::open(&BackendConfig::embedded(&dst), MODEL, DIM).await.unwrap().export_documents(None, 10).await.unwrap();
    assert_eq!(copy.iter().map(|e| &e.document).collect::<Vec<_>>(), exported.iter().map(|e| &e.document).collect::<Vec<_>>());
    // The same place twice is refused.
    let same = std::process::Command::new(env!("CARGO_BIN_EXE_simtheme"))
        .args(["migrate", "--data-dir", src_arg, "--to-data-dir", src_arg])
        .output()
        .unwrap();
    assert!(!same.status.success() && String::from_utf8_lossy(&same.stderr).contains("the same"));

    let Some(bin) = qdrant::qdrant_binary("backend_contract::migrate_command_copies_between_backends (Qdrant part)") else { return };
    let node = qdrant::QdrantNode::start(&bin, &tmp.path().join("qdrant"));
    let url = node.grpc_url();
    // Embedded -> Qdrant as before (`--collection` names the target), paragraph ids kept.
    let out = migrate(&["--data-dir", src_arg, "--to-qdrant", &url, "--collection", "moved"]);
    assert!(out.contains(&format!("3 documents copied, 0 already in collection 'moved' at {url}")), "{out}");
    let moved = BackendConfig::Qdrant(QdrantSettings { collection: "moved".into(), ..QdrantSettings::new(url.clone()) });
    let in_qdrant = backend::open(&moved, MODEL, DIM).await.unwrap().export_documents(None, 10).await.unwrap();
    assert_eq!(
        in_qdrant.iter().map(|e| (&e.document, &e.paragraph_ids)).collect::<Vec<_>>(),
        exported.iter().map(|e| (&e.document, &e.paragraph_ids)).collect::<Vec<_>>()
    );
    // Qdrant -> Qdrant and Qdrant -> embedded, the source named by the backend options.
    let out =
        migrate(&["--backend", "qdrant", "--qdrant-url", &url, "--collection", "moved", "--to-qdrant", &url, "--to-collection", "again"]);
    assert!(out.contains("3 documents copied"), "{out}");
    let back = tmp.path().join("back");
    let out = migrate(&["--backend", "qdrant", "--qdrant-url", &url, "--collection", "again", "--to-data-dir", back.to_str().unwrap()]);
    assert!(out.contains("3 documents copied"), "{out}");
    let s = backend::open(&BackendConfig::embedded(&back), MODEL, DIM).await.unwrap().stats().await.unwrap().store;
    assert_eq!((s.documents, s.paragraphs, s.chunks, s.duplicates), (3, 5, 6, 1));
}
