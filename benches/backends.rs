//! Embedded (SQLite + hnsw_rs) against Qdrant, same data, same run: ingestion (documents/s,
//! chunks/s, storage only: the vectors are ready, embedding is timed apart),
//! recall@10 against an exact scan, and NearestParagraphs queries/s at 1 and 8 clients through
//! simtheme's gRPC (paragraph-id queries, so the model stays out of the figure).
//!
//! Data: the seed corpus's real chunk vectors (embedded once, time printed) plus Gaussian
//! perturbations (cosine ~0.9 to their base), normalised; one chunk per paragraph, ten paragraphs
//! per document.
//!
//!     SIMTHEME_QDRANT_BIN=/path/to/qdrant SIMTHEME_BENCH_N=100000 cargo bench --bench backends

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simtheme::backend::embedded::index::IndexParams;
use simtheme::backend::embedded::{EmbeddedBackend, EmbeddedSettings};
use simtheme::backend::qdrant::{QdrantBackend, QdrantSettings};
use simtheme::backend::{Backend, DenseQuery, ParagraphFilter};
use simtheme::corpus::{prepare_document, DocumentMeta, PreparedChunk, PreparedDocument, PreparedParagraph, SegmentConfig};
use simtheme::embed::{Embedder, EmbedderConfig, Mode};
use simtheme::proto::nearest_paragraphs_request::Query;
use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use simtheme::proto::NearestParagraphsRequest;

const PER_DOC: usize = 10;
const QUERIES: usize = 200;

fn gaussian(rng: &mut StdRng) -> f32 {
    let (u, v): (f32, f32) = (rng.random::<f32>().max(1e-9), rng.random());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
}

fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    simtheme::embed::normalize(&mut v);
    v
}

fn docs(vectors: &[Vec<f32>]) -> Vec<(PreparedDocument, Vec<Vec<f32>>)> {
    vectors
        .chunks(PER_DOC)
        .enumerate()
        .map(|(d, vs)| {
            let paragraphs = (0..vs.len())
                .map(|p| {
                    let text = format!("合成段落 {d}-{p}");
                    PreparedParagraph {
                        position: p as u32,
                        heading: None,
                        simplified: text.clone(),
                        chunks: vec![PreparedChunk { start: 0, end: text.chars().count() as u32, text: text.clone() }],
                        text,
                    }
                })
                .collect();
            let doc = PreparedDocument {
                id: format!("{:016x}", 0x1000_0000_0000_0000u64 + d as u64),
                key: None,
                origin: format!("bench-{d}"),
                title: None,
                source: None,
                date: Some("2024".into()),
                year: Some(2023 + (d % 2) as i32),
                tags: vec![],
                paragraphs,
                duplicates: vec![],
            };
            (doc, vs.to_vec())
        })
        .collect()
}

fn exact_top(data: &[Vec<f32>], q: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = data.iter().enumerate().map(|(i, v)| (v.iter().zip(q).map(|(a, b)| a * b).sum(), i)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

async fn fill(name: &str, backend: &Arc<dyn Backend>, docs: &[(PreparedDocument, Vec<Vec<f32>>)]) {
    let started = Instant::now();
    for (d, v) in docs {
        backend.put_document(Arc::new(d.clone()), Arc::new(v.clone())).await.expect("put");
    }
    backend.checkpoint().await.expect("checkpoint");
    let s = started.elapsed().as_secs_f64();
    let chunks: usize = docs.iter().map(|(_, v)| v.len()).sum();
    println!(
        "{name:>9} ingest: {} documents, {chunks} chunks in {s:.1} s = {:.1} documents/s, {:.0} chunks/s",
        docs.len(),
        docs.len() as f64 / s,
        chunks as f64 / s
    );
}

async fn recall(
    name: &str,
    backend: &Arc<dyn Backend>,
    data: &[Vec<f32>],
    queries: &[Vec<f32>],
    docs: &[(PreparedDocument, Vec<Vec<f32>>)],
) {
    let (mut hit, mut total) = (0usize, 0usize);
    let started = Instant::now();
    for q in queries {
        let want: Vec<(String, u32)> =
            exact_top(data, q, 10).into_iter().map(|i| (docs[i / PER_DOC].0.id.clone(), (i % PER_DOC) as u32)).collect();
        let query = DenseQuery {
            vector: q.clone(),
            k: 10,
            filter: ParagraphFilter::default(),
            exclude: Default::default(),
            min_score: -1.0,
            exact: false,
            must_contain: Default::default(),
        };
        let got = backend.nearest(query).await.expect("search");
        total += want.len();
        hit += got.hits.iter().filter(|h| want.contains(&(h.paragraph.document_id.clone(), h.paragraph.position))).count();
    }
    let ms = started.elapsed().as_secs_f64() * 1e3 / queries.len() as f64;
    println!("{name:>9} recall@10 vs exact: {:.4} ({} queries, {ms:.2} ms/query in-process)", hit as f64 / total as f64, queries.len());
}

fn start_server(args: &[&str]) -> (Child, String) {
    let (child, line) = common::start_server(env!("CARGO_BIN_EXE_simtheme"), ["--no-seed"].iter().chain(args));
    (child, common::ready_addr(&line))
}

async fn load(name: &str, addr: &str, ids: &[i64], clients: usize, secs: u64) {
    let client = SimThemeServiceClient::connect(format!("http://{addr}")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut client = client.clone();
        let ids = ids.to_vec();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut i) = (Vec::new(), c * 7919);
            while Instant::now() < deadline {
                let req = NearestParagraphsRequest { query: Some(Query::ParagraphId(ids[i % ids.len()])), k: 10, ..Default::default() };
                i += 1;
                let t = Instant::now();
                client.nearest_paragraphs(req).await.expect("search");
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize];
    println!(
        "{name:>9} gRPC {clients} clients: {:.0} queries/s, p50 {:.1} ms, p99 {:.1} ms",
        lat.len() as f64 / secs as f64,
        p(0.5),
        p(0.99)
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::var("SIMTHEME_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let secs: u64 = std::env::var("SIMTHEME_LOAD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let qdrant_bin = std::env::var("SIMTHEME_QDRANT_BIN").ok();
    let e = Embedder::load(&EmbedderConfig::default()).expect("model");
    let mut texts = Vec::new();
    for (name, text) in simtheme::engine::SEED_DOCUMENTS {
        let doc = prepare_document(text, name, &DocumentMeta::default(), &SegmentConfig::default()).unwrap();
        texts.extend(doc.paragraphs.iter().flat_map(|p| p.chunks.iter().map(|c| c.text.clone())));
    }
    let t = Instant::now();
    let base: Vec<Vec<f32>> = e.embed(&texts, Mode::Passage).unwrap().into_iter().map(|x| x.vector).collect();
    println!("embedding: {} seed chunks in {:.1} s (not part of the ingestion figures below)", base.len(), t.elapsed().as_secs_f64());
    let mut rng = StdRng::seed_from_u64(0x0BAC_2026);
    let data: Vec<Vec<f32>> =
        (0..n).map(|i| normalize(base[i % base.len()].iter().map(|&x| x + 0.02 * gaussian(&mut rng)).collect())).collect();
    let queries: Vec<Vec<f32>> = (0..QUERIES)
        .map(|_| normalize(base[rng.random_range(0..base.len())].iter().map(|&x| x + 0.03 * gaussian(&mut rng)).collect()))
        .collect();
    let docs = docs(&data);
    println!("backends: N={n} vectors (seed chunks + noise), {} documents, dim {}", docs.len(), e.dim());

    let tmp = tempfile::tempdir().unwrap();
    let settings = EmbeddedSettings {
        data_dir: tmp.path().join("embedded"),
        model: e.name().into(),
        dim: e.dim(),
        index: IndexParams::default(),
        exact_search_below: 0,
        // The graph, as this bench measured it before the shortlist existed.
        large_search: simtheme::backend::LargeSearch::Hnsw,
    };
    let embedded: Arc<dyn Backend> = Arc::new(EmbeddedBackend::open(settings).unwrap());
    fill("embedded", &embedded, &docs).await;
    recall("embedded", &embedded, &data, &queries, &docs).await;
    let ids: Vec<i64> =
        embedded.paragraph_vectors(ParagraphFilter::default(), 2_000).await.unwrap().iter().map(|p| p.paragraph.id).collect();
    drop(embedded);
    let dir = tmp.path().join("embedded").display().to_string();
    let (mut server, addr) = start_server(&["--data-dir", &dir, "--exact-search-below", "0", "--large-search", "hnsw"]);
    for clients in [1, 8] {
        load("embedded", &addr, &ids, clients, secs).await;
    }
    let _ = server.kill();

    let Some(bin) = qdrant_bin else {
        println!("SKIPPED: Qdrant half (set SIMTHEME_QDRANT_BIN)");
        return;
    };
    let (mut qdrant, url) = start_qdrant(&bin, tmp.path());
    let qb = QdrantBackend::open(QdrantSettings::new(url.clone()), e.name(), e.dim()).await.unwrap();
    let q: Arc<dyn Backend> = Arc::new(qb);
    fill("qdrant", &q, &docs).await;
    recall("qdrant", &q, &data, &queries, &docs).await;
    let ids: Vec<i64> = q.paragraph_vectors(ParagraphFilter::default(), 2_000).await.unwrap().iter().map(|p| p.paragraph.id).collect();
    let (mut server, addr) = start_server(&["--backend", "qdrant", "--qdrant-url", &url]);
    for clients in [1, 8] {
        load("qdrant", &addr, &ids, clients, secs).await;
    }
    let _ = server.kill();
    let _ = qdrant.kill();
}

fn start_qdrant(bin: &str, dir: &std::path::Path) -> (Child, String) {
    let port = |_: u8| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (http, grpc) = (port(0), port(1));
    let mut child = Command::new(bin)
        .current_dir(dir)
        .env("QDRANT__SERVICE__HOST", "127.0.0.1")
        .env("QDRANT__SERVICE__HTTP_PORT", http.to_string())
        .env("QDRANT__SERVICE__GRPC_PORT", grpc.to_string())
        .env("QDRANT__STORAGE__STORAGE_PATH", dir.join("qdrant-storage"))
        .env("QDRANT__STORAGE__SNAPSHOTS_PATH", dir.join("qdrant-snapshots"))
        .env("QDRANT__TELEMETRY_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start qdrant");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", grpc)).is_ok() {
            std::thread::sleep(Duration::from_millis(500));
            return (child, format!("http://127.0.0.1:{grpc}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("qdrant did not start");
}
