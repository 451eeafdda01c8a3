//! Embedded (SQLite + its index) against Qdrant, same data, same run: ingestion (documents/s,
//! chunks/s, storage only: the vectors are ready, embedding is timed apart), Qdrant's indexing
//! time after the load, recall@10 against an exact scan, and NearestParagraphs queries/s at 1
//! and 8 clients through simtheme's gRPC (paragraph-id queries, so the model stays out of the
//! figure).
//!
//! Data: with `SIMTHEME_BENCH_STORE=DIR` (an ingested data directory), realistic vectors: the
//! store's real e5 chunk vectors, 300 held out as queries, the corpus generated around the
//! others (see `common/realistic.rs`). Without it, the seed corpus's chunk vectors (embedded
//! once, time printed) plus Gaussian perturbations (cosine ~0.9 to their base). One chunk per
//! paragraph, ten paragraphs per document.
//!
//! Env: `SIMTHEME_BENCH_N` (default 100,000), `SIMTHEME_BENCH_BACKENDS` (default
//! `embedded,qdrant`), `SIMTHEME_BENCH_QDRANT_MODES` (Qdrant collection quantization, default
//! `int8`; `int8,none` compares both), `SIMTHEME_BENCH_QDRANT_SEARCH` (search settings
//! `hnsw_ef:oversampling` compared in-process on each collection, e.g. `0:2,128:4`; ef 0 is
//! Qdrant's default), `SIMTHEME_BENCH_PUTS` (documents written at once,
//! default 8), `SIMTHEME_BENCH_FILTERS` (year filters measured next to the unfiltered search,
//! as the share of documents they keep in percent, default `10,1`; documents are spread evenly
//! over the years 1925–2024), `SIMTHEME_BENCH_QDRANT_KEEP=DIR` (Qdrant's storage there, kept:
//! a later run with the same data and N reuses the filled collection instead of reloading it),
//! `SIMTHEME_BENCH_EMBEDDED_KEEP=DIR` (the same for the embedded backend's data directory),
//! `SIMTHEME_LOAD_SECS` (default 10), `SIMTHEME_QDRANT_BIN`.
//!
//!     SIMTHEME_QDRANT_BIN=/path/to/qdrant SIMTHEME_BENCH_STORE=/path/to/data \
//!         SIMTHEME_BENCH_N=1000000 SIMTHEME_BENCH_BACKENDS=qdrant cargo bench --bench backends

mod common;
#[path = "common/realistic.rs"]
mod realistic;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simtheme::backend::embedded::index::IndexParams;
use simtheme::backend::embedded::{EmbeddedBackend, EmbeddedSettings};
use simtheme::backend::qdrant::{QdrantBackend, QdrantSettings};
use simtheme::backend::{Backend, DenseQuery, ParagraphFilter, YearFilter};
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
                date: Some(year_of(d).to_string()),
                year: Some(year_of(d)),
                tags: vec![],
                paragraphs,
                duplicates: vec![],
            };
            (doc, vs.to_vec())
        })
        .collect()
}

/// Publication year of document `d`: spread evenly over the 100 years 1925–2024, so a filter
/// on the last `p` years keeps `p` % of the documents.
fn year_of(d: usize) -> i32 {
    1925 + (d % 100) as i32
}

/// A search's filter and its exact answers, computed once and shared by every backend and
/// search setting.
struct Case {
    /// `unfiltered` or `filter 10 %`.
    label: String,
    filter: ParagraphFilter,
    /// Exact top 10 (vector indices) of every query among the vectors the filter keeps.
    truth: Vec<Vec<usize>>,
}

/// The unfiltered case and one year filter per share in `shares` (percent of documents kept).
fn cases(data: &[Vec<f32>], queries: &[Vec<f32>], shares: &str) -> Vec<Case> {
    let started = Instant::now();
    let mut out =
        vec![Case { label: "unfiltered".into(), filter: ParagraphFilter::default(), truth: exact_tops(data, queries, 10, |_| true) }];
    for share in shares.split(',').filter(|s| !s.is_empty()) {
        let share: i32 = share.parse().expect("SIMTHEME_BENCH_FILTERS holds whole percentages, e.g. 10,1");
        let years = YearFilter { from: Some(2025 - share), to: Some(2024), ..Default::default() };
        let keep = |i: usize| years.accepts(Some(year_of(i / PER_DOC)));
        let truth = exact_tops(data, queries, 10, keep);
        out.push(Case { label: format!("filter {share} %"), filter: ParagraphFilter { years: Some(years), ..Default::default() }, truth });
    }
    println!("exact answers of {} cases computed in {:.1} s", out.len(), started.elapsed().as_secs_f64());
    out
}

/// Exact top-`k` of every query among the vectors `keep` accepts (all cores).
fn exact_tops(data: &[Vec<f32>], queries: &[Vec<f32>], k: usize, keep: impl Fn(usize) -> bool + Sync) -> Vec<Vec<usize>> {
    use rayon::prelude::*;
    queries.par_iter().map(|q| exact_top(data, q, k, &keep)).collect()
}

fn exact_top(data: &[Vec<f32>], q: &[f32], k: usize, keep: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> =
        data.iter().enumerate().filter(|(i, _)| keep(*i)).map(|(i, v)| (v.iter().zip(q).map(|(a, b)| a * b).sum(), i)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

async fn fill(name: &str, backend: &Arc<dyn Backend>, docs: &[(PreparedDocument, Vec<Vec<f32>>)]) {
    let at_once: usize = std::env::var("SIMTHEME_BENCH_PUTS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(at_once.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (d, v) in docs {
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        let (backend, d, v) = (Arc::clone(backend), Arc::new(d.clone()), Arc::new(v.clone()));
        tasks.spawn(async move {
            backend.put_document(d, v).await.expect("put");
            drop(permit);
        });
        while let Some(done) = tasks.try_join_next() {
            done.unwrap();
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    backend.checkpoint().await.expect("checkpoint");
    let s = started.elapsed().as_secs_f64();
    let chunks: usize = docs.iter().map(|(_, v)| v.len()).sum();
    println!(
        "{name:>9} ingest: {} documents, {chunks} chunks in {s:.1} s = {:.1} documents/s, {:.0} chunks/s ({at_once} at once)",
        docs.len(),
        docs.len() as f64 / s,
        chunks as f64 / s
    );
}

/// Waits until Qdrant has indexed `collection` (status green, no optimisation running); prints
/// how long that took after the load.
async fn wait_indexed(url: &str, collection: &str) {
    let client = qdrant_client::Qdrant::from_url(url).skip_compatibility_check().build().unwrap();
    let started = Instant::now();
    loop {
        let info = client.collection_info(collection).await.unwrap().result.unwrap();
        let green = info.status == qdrant_client::qdrant::CollectionStatus::Green as i32;
        let (points, indexed) = (info.points_count.unwrap_or(0), info.indexed_vectors_count.unwrap_or(0));
        // Green alone may come before the optimiser starts; small collections are never indexed
        // (below Qdrant's indexing threshold, about 20,000 such vectors).
        if green && (indexed * 10 >= points * 9 || points < 20_000) || started.elapsed() > Duration::from_secs(3600) {
            println!(
                "   qdrant indexed {indexed} of {points} vectors, {} segments, {:.1} s after the load",
                info.segments_count,
                started.elapsed().as_secs_f64()
            );
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Recall@10 against the exact answers and in-process latency, for every case.
async fn recall_all(
    name: &str,
    backend: &Arc<dyn Backend>,
    queries: &[Vec<f32>],
    docs: &[(PreparedDocument, Vec<Vec<f32>>)],
    cases: &[Case],
) {
    for case in cases {
        recall(&format!("{name} {}", case.label), backend, queries, docs, case).await;
    }
}

async fn recall(name: &str, backend: &Arc<dyn Backend>, queries: &[Vec<f32>], docs: &[(PreparedDocument, Vec<Vec<f32>>)], case: &Case) {
    let (mut hit, mut total) = (0usize, 0usize);
    let mut latencies = Vec::new();
    for (q, top) in queries.iter().zip(&case.truth) {
        let want: Vec<(String, u32)> = top.iter().map(|&i| (docs[i / PER_DOC].0.id.clone(), (i % PER_DOC) as u32)).collect();
        let query = DenseQuery {
            vector: q.clone(),
            k: 10,
            filter: case.filter.clone(),
            exclude: Default::default(),
            min_score: -1.0,
            exact: false,
            must_contain: Default::default(),
        };
        let t = Instant::now();
        let got = backend.nearest(query).await.expect("search");
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        total += want.len();
        hit += got.hits.iter().filter(|h| want.contains(&(h.paragraph.document_id.clone(), h.paragraph.position))).count();
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{name:>9} recall@10 vs exact: {:.4} ({} queries; in-process p50 {:.2} ms, p99 {:.2} ms)",
        hit as f64 / total as f64,
        queries.len(),
        p(0.5),
        p(0.99)
    );
}

/// gRPC loads: unfiltered at 1 and 8 clients, then each filter at 1 client.
async fn grpc_loads(name: &str, addr: &str, ids: &[i64], secs: u64, cases: &[Case]) {
    for clients in [1, 8] {
        load(name, addr, ids, clients, secs, None).await;
    }
    for case in cases.iter().filter(|c| !c.filter.is_empty()) {
        let y = case.filter.years.as_ref().expect("year filters only");
        let filter = simtheme::proto::ParagraphFilter {
            years: Some(simtheme::proto::YearFilter { from: y.from, to: y.to, ..Default::default() }),
            ..Default::default()
        };
        load(&format!("{name} {}", case.label), addr, ids, 1, secs, Some(filter)).await;
    }
}

fn start_server(args: &[&str]) -> (Child, String) {
    let (child, line) = common::start_server(env!("CARGO_BIN_EXE_simtheme"), ["--no-seed"].iter().chain(args));
    (child, common::ready_addr(&line))
}

async fn load(name: &str, addr: &str, ids: &[i64], clients: usize, secs: u64, filter: Option<simtheme::proto::ParagraphFilter>) {
    let client = SimThemeServiceClient::connect(format!("http://{addr}")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut client = client.clone();
        let (ids, filter) = (ids.to_vec(), filter.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut i) = (Vec::new(), c * 7919);
            while Instant::now() < deadline {
                let req = NearestParagraphsRequest {
                    query: Some(Query::ParagraphId(ids[i % ids.len()])),
                    k: 10,
                    filter: filter.clone(),
                    ..Default::default()
                };
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
    let backends = std::env::var("SIMTHEME_BENCH_BACKENDS").unwrap_or_else(|_| "embedded,qdrant".into());
    let modes = std::env::var("SIMTHEME_BENCH_QDRANT_MODES").unwrap_or_else(|_| "int8".into());
    let search = std::env::var("SIMTHEME_BENCH_QDRANT_SEARCH").unwrap_or_default();
    let filters = std::env::var("SIMTHEME_BENCH_FILTERS").unwrap_or_else(|_| "10,1".into());
    let keep = std::env::var("SIMTHEME_BENCH_QDRANT_KEEP").ok().map(std::path::PathBuf::from);
    let keep_embedded = std::env::var("SIMTHEME_BENCH_EMBEDDED_KEEP").ok().map(std::path::PathBuf::from);
    let store = std::env::var("SIMTHEME_BENCH_STORE").unwrap_or_default();
    println!("{}", common::machine());
    let (data, queries, model, dim) = match std::env::var("SIMTHEME_BENCH_STORE") {
        Ok(dir) => {
            let model = std::env::var("SIMTHEME_BENCH_MODEL").unwrap_or_else(|_| "multilingual-e5-small".into());
            let (queries, parents) = realistic::real_vectors(&dir, &model);
            let t = Instant::now();
            let data = realistic::corpus(&parents, n);
            println!(
                "data: {n} vectors around {} real chunk vectors of {dir}, generated in {:.1} s",
                parents.len(),
                t.elapsed().as_secs_f64()
            );
            let dim = data[0].len();
            (data, queries, model, dim)
        }
        Err(_) => {
            let (data, queries, e) = seed_vectors(n);
            (data, queries, e.name().to_string(), e.dim())
        }
    };
    let docs = docs(&data);
    println!("backends: N={n} vectors, {} documents, dim {dim}", docs.len());
    let cases = cases(&data, &queries, &filters);
    let tmp = tempfile::tempdir().unwrap();

    if backends.split(',').any(|b| b == "embedded") {
        let data_dir = keep_embedded.clone().unwrap_or_else(|| tmp.path().join("embedded"));
        let settings = EmbeddedSettings {
            data_dir: data_dir.clone(),
            model: model.clone(),
            dim,
            index: IndexParams::default(),
            exact_search_below: 0,
            large_search: simtheme::backend::LargeSearch::Shortlist,
        };
        let marker = data_dir.join("bench.filled");
        let filled_from = format!("{n} vectors around {store}");
        let reuse = keep_embedded.is_some() && std::fs::read_to_string(&marker).ok().as_deref() == Some(filled_from.as_str());
        let opened = Instant::now();
        let embedded: Arc<dyn Backend> = Arc::new(EmbeddedBackend::open(settings).unwrap());
        if reuse {
            println!(" embedded reusing the kept data directory ({filled_from}), opened in {:.1} s", opened.elapsed().as_secs_f64());
        } else {
            fill("embedded", &embedded, &docs).await;
            if keep_embedded.is_some() {
                std::fs::write(&marker, &filled_from).unwrap();
            }
        }
        recall_all("embedded", &embedded, &queries, &docs, &cases).await;
        let ids: Vec<i64> =
            embedded.paragraph_vectors(ParagraphFilter::default(), 2_000).await.unwrap().iter().map(|p| p.paragraph.id).collect();
        drop(embedded);
        let dir = data_dir.display().to_string();
        let (mut server, addr) = start_server(&["--data-dir", &dir, "--exact-search-below", "0"]);
        grpc_loads("embedded", &addr, &ids, secs, &cases).await;
        println!("   embedded server RSS {:.0} MiB", common::rss_mib(server.id()));
        let _ = server.kill();
    }

    if !backends.split(',').any(|b| b == "qdrant") {
        return;
    }
    let Some(bin) = qdrant_bin else {
        println!("SKIPPED: Qdrant half (set SIMTHEME_QDRANT_BIN)");
        return;
    };
    let qdrant_dir = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&qdrant_dir).unwrap();
    let (mut qdrant, url) = start_qdrant(&bin, &qdrant_dir);
    for mode in modes.split(',') {
        let collection = format!("bench_{mode}");
        let settings = QdrantSettings { collection: collection.clone(), quantization: mode == "int8", ..QdrantSettings::new(url.clone()) };
        let name = format!("qdrant-{mode}");
        let q: Arc<dyn Backend> = Arc::new(QdrantBackend::open(settings, &model, dim).await.unwrap());
        // A kept collection filled from the same data is reused (the marker is written only
        // after a whole load).
        let marker = qdrant_dir.join(format!("{collection}.filled"));
        let filled_from = format!("{n} vectors around {store}");
        if keep.is_some() && std::fs::read_to_string(&marker).ok().as_deref() == Some(filled_from.as_str()) {
            println!("{name:>9} reusing the kept collection {collection} ({filled_from})");
        } else {
            fill(&name, &q, &docs).await;
            if keep.is_some() {
                std::fs::write(&marker, &filled_from).unwrap();
            }
        }
        wait_indexed(&url, &collection).await;
        recall_all(&name, &q, &queries, &docs, &cases).await;
        // the search settings side by side on the same collection (in-process)
        for pair in search.split(',').filter(|p| !p.is_empty()) {
            let (ef, os) = pair.split_once(':').expect("SIMTHEME_BENCH_QDRANT_SEARCH entries are hnsw_ef:oversampling");
            let (ef, os): (u64, f64) = (ef.parse().unwrap(), os.parse().unwrap());
            let settings = QdrantSettings {
                collection: collection.clone(),
                hnsw_ef: (ef > 0).then_some(ef),
                oversampling: os,
                ..QdrantSettings::new(url.clone())
            };
            let tuned: Arc<dyn Backend> = Arc::new(QdrantBackend::open(settings, &model, dim).await.unwrap());
            recall_all(&format!("{name} ef {ef} oversampling {os}"), &tuned, &queries, &docs, &cases).await;
        }
        let ids: Vec<i64> = q.paragraph_vectors(ParagraphFilter::default(), 2_000).await.unwrap().iter().map(|p| p.paragraph.id).collect();
        let (mut server, addr) = start_server(&["--backend", "qdrant", "--qdrant-url", &url, "--collection", &collection]);
        grpc_loads(&name, &addr, &ids, secs, &cases).await;
        let _ = server.kill();
        println!("   qdrant server RSS {:.0} MiB", common::rss_mib(qdrant.id()));
    }
    let _ = qdrant.kill();
}

/// The seed corpus's chunk vectors plus noise, and noisy queries around them.
fn seed_vectors(n: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>, Embedder) {
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
    (data, queries, e)
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
