//! simtheme on a real Qdrant: the same answers as the embedded backend, replicas sharing one
//! collection, an outage (UNAVAILABLE, health NOT_SERVING, recovery without a restart) and a
//! 3-node cluster losing a node. Every test prints one SKIPPED line and passes when no Qdrant
//! binary is available (see tests/common/qdrant.rs).

mod common;

use std::time::{Duration, Instant};

use common::qdrant::{qdrant_binary, start_cluster, QdrantNode};
use common::{code, Server};
use simtheme::proto::{self, nearest_paragraphs_request::Query, SearchMode};
use tonic::Code;

/// A DENSE text query (the server's default for text is HYBRID; these checks are about cosines).
fn nearest(text: &str, k: u32) -> proto::NearestParagraphsRequest {
    let mode = proto::SearchMode::Dense as i32;
    proto::NearestParagraphsRequest { query: Some(Query::Text(text.into())), k, mode, ..Default::default() }
}

fn qdrant_args<'a>(url: &'a str, collection: &'a str) -> Vec<&'a str> {
    vec!["--backend", "qdrant", "--qdrant-url", url, "--collection", collection]
}

/// A small distinct document.
fn doc(i: usize) -> proto::DocumentInput {
    let text = format!(
        "發布時間:2025-03-{:02}\n第{i}號試點城市推動低空經濟發展，建設無人機物流配送網絡和起降場地，編號{i}。\n\
         第{i}號試點完善空域管理規則，支持企業開展無人機配送商業化運營，並培育通用航空製造產業。",
        1 + i % 28
    );
    proto::DocumentInput { text, name: format!("pilot-{i}.txt"), tags: vec!["pilot".into()], ..Default::default() }
}

async fn health_status(url: &str) -> i32 {
    let Ok(channel) = tonic::transport::Channel::from_shared(url.to_string()).unwrap().connect().await else { return -1 };
    let mut h = tonic_health::pb::health_client::HealthClient::new(channel);
    match h.check(tonic_health::pb::HealthCheckRequest { service: "simtheme.v1.SimThemeService".into() }).await {
        Ok(r) => r.into_inner().status,
        Err(_) => -1,
    }
}

async fn wait_health(url: &str, want: tonic_health::pb::health_check_response::ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if health_status(url).await == want as i32 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("health did not become {want:?}");
}

#[derive(serde::Deserialize)]
struct FixtureQuery {
    query: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_gives_the_same_top_ten_as_the_embedded_exact_path() {
    let Some(bin) = qdrant_binary("qdrant_gives_the_same_top_ten_as_the_embedded_exact_path") else { return };
    let qdir = tempfile::tempdir().unwrap();
    let node = QdrantNode::start(&bin, qdir.path());
    let url = node.grpc_url();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let embedded = Server::start(d1.path(), &[]);
    let qdrant = Server::start(d2.path(), &qdrant_args(&url, "same"));
    let (mut e, mut q) = (embedded.client().await, qdrant.client().await);
    let fixture = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/retrieval_queries.json")).unwrap();
    let queries: Vec<FixtureQuery> = serde_json::from_str(&fixture).unwrap();
    assert!(queries.len() >= 20);
    for fq in &queries {
        let a = e.nearest_paragraphs(proto::NearestParagraphsRequest { exact: true, ..nearest(&fq.query, 10) }).await.unwrap().into_inner();
        let b = q.nearest_paragraphs(nearest(&fq.query, 10)).await.unwrap().into_inner();
        assert_eq!(a.hits.len(), b.hits.len(), "{}", fq.query);
        // Paragraph ids differ between backends; (document, position) names a paragraph in both.
        for (rank, (x, y)) in a.hits.iter().zip(&b.hits).enumerate() {
            let (px, py) = (x.paragraph.as_ref().unwrap(), y.paragraph.as_ref().unwrap());
            assert!((x.score - y.score).abs() <= 1e-4, "{} rank {rank}: {} vs {}", fq.query, x.score, y.score);
            if (&px.document_id, px.position) != (&py.document_id, py.position) {
                // Only a near tie may swap places.
                let other = a.hits.iter().find(|h| {
                    let p = h.paragraph.as_ref().unwrap();
                    (&p.document_id, p.position) == (&py.document_id, py.position)
                });
                let other =
                    other.unwrap_or_else(|| panic!("{} rank {rank}: Qdrant returned a paragraph outside the exact top 10", fq.query));
                assert!((other.score - y.score).abs() <= 1e-4, "{} rank {rank}: not a tie", fq.query);
            }
            assert_eq!(px.text, py.text);
            assert_eq!(x.r#match, y.r#match);
        }
    }
    // KEYWORD and HYBRID: BM25 from Qdrant's sparse vectors agrees with the local tantivy
    // index within tolerance (Qdrant's length normalisation uses a fixed average chunk length
    // and has no phrase boost, so near ties may swap).
    for mode in [SearchMode::Keyword, SearchMode::Hybrid] {
        let (mut compared, mut same_first, mut overlap) = (0usize, 0usize, 0f64);
        for fq in &queries {
            let r = proto::NearestParagraphsRequest { mode: mode as i32, ..nearest(&fq.query, 10) };
            let (Ok(a), Ok(b)) = (e.nearest_paragraphs(r.clone()).await, q.nearest_paragraphs(r).await) else {
                continue; // e.g. stop words only in KEYWORD mode: INVALID_ARGUMENT on both
            };
            let key = |h: &proto::ParagraphHit| {
                let p = h.paragraph.as_ref().unwrap();
                (p.document_id.clone(), p.position)
            };
            let a: Vec<_> = a.into_inner().hits.iter().map(key).collect();
            let b: Vec<_> = b.into_inner().hits.iter().map(key).collect();
            if a.is_empty() && b.is_empty() {
                continue;
            }
            compared += 1;
            same_first += usize::from(a.first() == b.first());
            overlap += a.iter().filter(|x| b.contains(x)).count() as f64 / a.len().max(b.len()) as f64;
        }
        let (first, mean_overlap) = (same_first as f64 / compared as f64, overlap / compared as f64);
        eprintln!("{mode:?} on Qdrant vs embedded: {compared} queries, same first hit {first:.3}, top-10 overlap {mean_overlap:.3}");
        assert!(compared >= 20, "{mode:?}: {compared}");
        assert!(first >= 0.9 && mean_overlap >= 0.9, "{mode:?}: first {first:.3}, overlap {mean_overlap:.3}");
    }
    // Stats agree on the corpus.
    let (sa, sb) =
        (e.stats(proto::StatsRequest {}).await.unwrap().into_inner(), q.stats(proto::StatsRequest {}).await.unwrap().into_inner());
    assert_eq!((sa.documents, sa.paragraphs, sa.chunks, sa.duplicates), (sb.documents, sb.paragraphs, sb.chunks, sb.duplicates));
    assert_eq!(sa.years, sb.years);

    // A new collection keeps int8 copies of the vectors in RAM (searches rescore on the floats).
    let (status, info) = common::qdrant::http_get(node.http_port, "/collections/same").expect("collection info");
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(status, 200, "{info}");
    let dense = &info["result"]["config"]["params"]["vectors"]["dense"];
    assert_eq!(dense["quantization_config"]["scalar"]["type"], "int8", "{info}");
    assert_eq!(dense["quantization_config"]["scalar"]["always_ram"], true, "{info}");

    // Backups of the Qdrant backend are collection snapshots on the node, taken while it serves.
    let backup = |collection: &str, extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_simtheme"))
            .arg("backup")
            .args(qdrant_args(&url, collection))
            .args(extra)
            .output()
            .unwrap();
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    let (ok, made) = backup("same", &[]);
    assert!(ok && made.starts_with("snapshot "), "{made}");
    let name = made.split_whitespace().nth(1).unwrap().to_string();
    let (ok, listed) = backup("same", &["--list"]);
    assert!(ok && listed.contains(&name), "{listed}");
    let (ok, missing) = backup("no_such_collection", &[]);
    assert!(!ok && missing.contains("has no collection no_such_collection"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_one_collection() {
    let Some(bin) = qdrant_binary("two_replicas_share_one_collection") else { return };
    let qdir = tempfile::tempdir().unwrap();
    let node = QdrantNode::start(&bin, qdir.path());
    let url = node.grpc_url();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut args = qdrant_args(&url, "shared");
    args.push("--no-seed");
    let a = Server::start(d1.path(), &args);
    let b = Server::start(d2.path(), &args);
    let (mut ca, mut cb) = (a.client().await, b.client().await);

    // Written through A, found through B as soon as AddDocuments returns, with the same ids.
    let added = ca.add_documents(proto::AddDocumentsRequest { documents: vec![doc(0)] }).await.unwrap().into_inner();
    assert_eq!(added.inserted, 1);
    let id = added.results[0].document_id.clone();
    let mut req = nearest("drone delivery pilot", 3);
    req.filter = Some(proto::ParagraphFilter { document_ids: vec![id.clone()], ..Default::default() });
    let hits = cb.nearest_paragraphs(req.clone()).await.unwrap().into_inner().hits;
    assert!(!hits.is_empty());
    let pid = hits[0].paragraph.as_ref().unwrap().id;
    let pa = ca.get_paragraph(proto::GetParagraphRequest { id: pid }).await.unwrap().into_inner().paragraph.unwrap();
    assert_eq!(pa.document_id, id);
    // The same document again through B changes nothing.
    let again = cb.add_documents(proto::AddDocumentsRequest { documents: vec![doc(0)] }).await.unwrap().into_inner();
    assert_eq!(again.already_present, 1);

    // Deleted through B, gone in A.
    cb.delete_document(proto::DeleteDocumentRequest { document_id: id.clone(), ..Default::default() }).await.unwrap();
    assert_eq!(code(ca.get_paragraph(proto::GetParagraphRequest { id: pid }).await), Code::NotFound);
    assert_eq!(code(ca.delete_document(proto::DeleteDocumentRequest { document_id: id, ..Default::default() }).await), Code::NotFound);

    // Concurrent ingestion of distinct documents through both loses nothing.
    let mut tasks = Vec::new();
    for i in 1..=16 {
        let mut c = if i % 2 == 0 { ca.clone() } else { cb.clone() };
        tasks.push(tokio::spawn(async move { c.add_documents(proto::AddDocumentsRequest { documents: vec![doc(i)] }).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().into_inner().inserted, 1);
    }
    let docs = ca.list_documents(proto::ListDocumentsRequest { page_size: 100, page_token: String::new() }).await.unwrap().into_inner();
    assert_eq!(docs.documents.len(), 16);
    let mut ids: Vec<&str> = docs.documents.iter().map(|d| d.id.as_str()).collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort();
        s
    };
    assert_eq!(ids, sorted, "listed in id order");
    ids.dedup();
    assert_eq!(ids.len(), 16);
    let sb = cb.stats(proto::StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(sb.documents, 16);
    assert_eq!(sb.corpus_version, ca.stats(proto::StatsRequest {}).await.unwrap().into_inner().corpus_version, "replicas read one version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_outage_gives_unavailable_and_recovers_without_restart() {
    let Some(bin) = qdrant_binary("qdrant_outage_gives_unavailable_and_recovers_without_restart") else { return };
    let qdir = tempfile::tempdir().unwrap();
    let mut node = QdrantNode::start(&bin, qdir.path());
    let url = node.grpc_url();
    let d = tempfile::tempdir().unwrap();
    let mut args = qdrant_args(&url, "outage");
    args.push("--no-seed");
    let server = Server::start(d.path(), &args);
    let mut c = server.client().await;
    c.add_documents(proto::AddDocumentsRequest { documents: vec![doc(1)] }).await.unwrap();

    node.kill();
    let err = c.nearest_paragraphs(nearest("drone delivery", 3)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains(&url), "the message names the Qdrant URL: {}", err.message());
    wait_health(&server.url(), tonic_health::pb::health_check_response::ServingStatus::NotServing).await;

    node.restart();
    wait_health(&server.url(), tonic_health::pb::health_check_response::ServingStatus::Serving).await;
    let hits = c.nearest_paragraphs(nearest("drone delivery", 3)).await.unwrap().into_inner().hits;
    assert!(!hits.is_empty(), "the stored document survived the outage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_node_cluster_keeps_answering_with_a_node_killed() {
    let Some(bin) = qdrant_binary("three_node_cluster_keeps_answering_with_a_node_killed") else { return };
    let qdir = tempfile::tempdir().unwrap();
    let mut nodes = start_cluster(&bin, qdir.path(), 3);
    let url = nodes[0].grpc_url();
    let d = tempfile::tempdir().unwrap();
    let mut args = qdrant_args(&url, "cluster");
    args.extend(["--no-seed", "--shards", "3", "--replication-factor", "2"]);
    let server = Server::start(d.path(), &args);
    let mut c = server.client().await;
    let docs: Vec<proto::DocumentInput> = (0..12).map(doc).collect();
    let added = c.add_documents(proto::AddDocumentsRequest { documents: docs }).await.unwrap().into_inner();
    assert_eq!(added.inserted, 12);

    nodes[2].kill();
    // Every document is still found while a node is down.
    for r in &added.results {
        let mut req = nearest("drone delivery pilot", 2);
        req.filter = Some(proto::ParagraphFilter { document_ids: vec![r.document_id.clone()], ..Default::default() });
        let hits = c.nearest_paragraphs(req).await.unwrap().into_inner().hits;
        assert!(!hits.is_empty(), "document {} not found with a node down", r.document_id);
    }
    // Writes acknowledged while the node is down are present after it rejoins.
    let more = c.add_documents(proto::AddDocumentsRequest { documents: (12..16).map(doc).collect() }).await.unwrap().into_inner();
    assert_eq!(more.inserted, 4);
    nodes[2].restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = c.stats(proto::StatsRequest {}).await.unwrap().into_inner();
        if s.documents == 16 {
            break;
        }
        assert!(Instant::now() < deadline, "acknowledged writes missing after the node rejoined: {s:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let listed = c.list_documents(proto::ListDocumentsRequest { page_size: 100, page_token: String::new() }).await.unwrap().into_inner();
    assert_eq!(listed.documents.len(), 16);
}
