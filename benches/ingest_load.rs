//! Queries while another client ingests: starts the real server (seeded, temporary data
//! directory), measures `NearestParagraphs` latency of `SIMTHEME_INGEST_LOAD_CLIENTS` (default 2)
//! query clients for `SIMTHEME_LOAD_SECS` seconds (default 10) on an idle server, then again
//! while one more client streams `SIMTHEME_INGEST_PAGES` (default 200) long generated pages
//! (~3,000 characters each, every paragraph unique) through `StreamDocuments` on a connection
//! of its own (on the queries' connection with `SIMTHEME_INGEST_SHARED_CONNECTION=1`). Prints p50 /
//! p99 of both phases, their ratio, where the time went (queue wait, model, search, the rest:
//! transport and scheduling; p50, p99 and the mean of the slowest 1%), and the ingestion's
//! pages/s and chunks/s.
//!
//!     cargo bench --bench ingest_load
//!     SIMTHEME_BIN=/path/to/other/simtheme cargo bench --bench ingest_load   # another build

mod common;

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use simtheme::proto::{nearest_paragraphs_request::Query, DocumentInput, NearestParagraphsRequest, StatsRequest};
use tonic::transport::Channel;

const QUERIES: &[&str] = &[
    "digital transformation of manufacturing",
    "中小企业专精特新",
    "green and low-carbon industry",
    "央企战略性新兴产业布局",
    "how do high-tech zones support innovation?",
    "industrial chain resilience",
];

fn env_or(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Page `p`: seed sentences from a page-dependent offset, each paragraph marked with the
/// page and paragraph number so nothing is a duplicate of an earlier page.
fn page(p: usize, sentences: &[String]) -> String {
    let mut text = String::new();
    let mut k = 0;
    while text.chars().count() < 3000 {
        let s = &sentences[(p * 7 + k) % sentences.len()];
        let s: String = s.chars().take(160).collect();
        text.push_str(&format!("第{p}页第{k}段：{s}\n\n"));
        k += 1;
    }
    text
}

/// Where one query's time went, ms: [total, queue wait, model, search, rest (transport,
/// scheduling, request handling)].
type Parts = [f64; 5];

/// One timed default-mode `NearestParagraphs` call (k 10).
async fn timed_query(client: &mut SimThemeServiceClient<Channel>, text: &str) -> Option<Parts> {
    let req = NearestParagraphsRequest { query: Some(Query::Text(text.into())), k: 10, ..Default::default() };
    let t = Instant::now();
    let r = client.nearest_paragraphs(req).await.ok()?.into_inner();
    let total = t.elapsed().as_secs_f64() * 1e3;
    Some([total, r.queue_ms, r.embed_ms - r.queue_ms, r.search_ms, (total - r.embed_ms - r.search_ms).max(0.0)])
}

/// Query clients running until `stop`; returns every query's [`Parts`], sorted by total, and
/// the errors.
async fn query_until(client: &SimThemeServiceClient<Channel>, clients: usize, stop: Arc<AtomicBool>) -> (Vec<Parts>, u64) {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (mut client, stop) = (client.clone(), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let (mut parts, mut errors, mut i) = (Vec::new(), 0u64, c);
            while !stop.load(Ordering::Relaxed) {
                match timed_query(&mut client, QUERIES[i % QUERIES.len()]).await {
                    Some(p) => parts.push(p),
                    None => errors += 1,
                }
                i += 1;
            }
            (parts, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (p, e) = t.await.unwrap();
        all.extend(p);
        errors += e;
    }
    all.sort_by(|a, b| a[0].total_cmp(&b[0]));
    (all, errors)
}

/// Prints, per part, its p50 and p99 over all queries and its mean over the slowest 1%.
fn print_parts(name: &str, parts: &[Parts]) {
    let names = ["total", "queue", "model", "search", "rest"];
    let tail = &parts[parts.len() - (parts.len() / 100).max(1)..];
    let cells: Vec<String> = (0..5)
        .map(|j| {
            let mut v: Vec<f64> = parts.iter().map(|p| p[j]).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            let tail_mean = tail.iter().map(|p| p[j]).sum::<f64>() / tail.len() as f64;
            format!("{} {:.1}/{:.1}/{:.1}", names[j], common::pct(&v, 0.5), common::pct(&v, 0.99), tail_mean)
        })
        .collect();
    println!("{name:>22}  p50/p99/slowest-1%-mean ms: {}", cells.join("  "));
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!("{}", common::machine());
    let secs = env_or("SIMTHEME_LOAD_SECS", 10);
    let clients = env_or("SIMTHEME_INGEST_LOAD_CLIENTS", 2) as usize;
    let pages = env_or("SIMTHEME_INGEST_PAGES", 200) as usize;
    let tmp = tempfile::tempdir().unwrap();
    // SIMTHEME_BIN runs another build of the server, for before/after comparisons in one session.
    let bin = std::env::var_os("SIMTHEME_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_simtheme").into());
    println!("server {}", bin.to_string_lossy());
    let (mut child, line) = common::start_server(
        bin,
        // A stream of 200 pages can outlast the default 120 s request deadline on a busy machine.
        [OsStr::new("--data-dir"), tmp.path().as_os_str(), OsStr::new("--request-timeout-secs"), OsStr::new("1800")],
    );
    println!("{}", line.trim());
    let addr = common::ready_addr(&line);
    let client = SimThemeServiceClient::connect(format!("http://{addr}")).await.unwrap();

    println!("load average before: {}", common::load_average());
    let stop = Arc::new(AtomicBool::new(false));
    let idle = tokio::spawn({
        let (client, stop) = (client.clone(), Arc::clone(&stop));
        async move { query_until(&client, clients, stop).await }
    });
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let (idle_parts, idle_err) = idle.await.unwrap();
    let idle_lat: Vec<f64> = idle_parts.iter().map(|p| p[0]).collect();

    let sentences = common::seed_lines(20);
    let docs: Vec<DocumentInput> =
        (0..pages).map(|p| DocumentInput { text: page(p, &sentences), name: format!("page-{p}"), ..Default::default() }).collect();
    let chars: usize = docs.iter().map(|d| d.text.chars().count()).sum();
    let chunks_before = client.clone().stats(StatsRequest::default()).await.unwrap().into_inner().chunks;
    let stop = Arc::new(AtomicBool::new(false));
    let busy = tokio::spawn({
        let (client, stop) = (client.clone(), Arc::clone(&stop));
        async move { query_until(&client, clients, stop).await }
    });
    let t = Instant::now();
    // Another client: its own connection, as a separate process would have, unless
    // SIMTHEME_INGEST_SHARED_CONNECTION=1 (the upload then shares the queries' connection).
    let mut ingester = if std::env::var_os("SIMTHEME_INGEST_SHARED_CONNECTION").is_some() {
        client.clone()
    } else {
        SimThemeServiceClient::connect(format!("http://{addr}")).await.unwrap()
    };
    let response = ingester
        .stream_documents(tokio_stream::iter(docs.into_iter().map(|d| simtheme::proto::StreamDocumentsRequest { document: Some(d) })))
        .await
        .unwrap()
        .into_inner();
    let ingest_s = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (busy_parts, busy_err) = busy.await.unwrap();
    let busy_lat: Vec<f64> = busy_parts.iter().map(|p| p[0]).collect();
    let chunks = client.clone().stats(StatsRequest::default()).await.unwrap().into_inner().chunks - chunks_before;
    println!("load average after: {}", common::load_average());

    println!("{:>22} {:>8} {:>8} {:>8} {:>8} {:>7}", "phase", "queries", "q/s", "p50 ms", "p99 ms", "errors");
    let phase = |name: &str, lat: &[f64], errors: u64, s: f64| {
        println!(
            "{name:>22} {:>8} {:>8.1} {:>8.1} {:>8.1} {errors:>7}",
            lat.len(),
            lat.len() as f64 / s,
            common::pct(lat, 0.5),
            common::pct(lat, 0.99)
        );
    };
    phase("idle", &idle_lat, idle_err, secs as f64);
    phase("while ingesting", &busy_lat, busy_err, ingest_s);
    print_parts("idle", &idle_parts);
    print_parts("while ingesting", &busy_parts);
    println!(
        "query p99 while ingesting / idle: {:.2} (p50 {:.2}); {clients} query clients",
        common::pct(&busy_lat, 0.99) / common::pct(&idle_lat, 0.99),
        common::pct(&busy_lat, 0.5) / common::pct(&idle_lat, 0.5)
    );
    println!(
        "ingestion: {} pages ({} inserted, {} failed), {chars} characters, {chunks} chunks in {ingest_s:.1} s: {:.2} pages/s, {:.1} chunks/s",
        pages,
        response.inserted,
        response.failed,
        pages as f64 / ingest_s,
        chunks as f64 / ingest_s
    );
    let _ = child.kill();
    let _ = child.wait();
}
