//! Queries while another client ingests: starts the real server (seeded, temporary data
//! directory), measures `NearestParagraphs` latency of `SIMTHEME_INGEST_LOAD_CLIENTS` (default 2)
//! query clients for `SIMTHEME_LOAD_SECS` seconds (default 10) on an idle server, then again
//! while one more client streams `SIMTHEME_INGEST_PAGES` (default 200) long generated pages
//! (~3,000 characters each, every paragraph unique) through `StreamDocuments`. Prints p50 /
//! p99 of both phases, their ratio, and the ingestion's pages/s and chunks/s.
//!
//!     cargo bench --bench ingest_load

mod common;

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use simtheme::proto::sim_theme_client::SimThemeClient;
use simtheme::proto::{DocumentInput, StatsRequest};
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

/// Query clients running until `stop`; returns the sorted latencies in ms and the errors.
async fn query_until(client: &SimThemeClient<Channel>, clients: usize, stop: Arc<AtomicBool>) -> (Vec<f64>, u64) {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (mut client, stop) = (client.clone(), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut i) = (Vec::new(), 0u64, c);
            while !stop.load(Ordering::Relaxed) {
                common::timed_search(&mut client, QUERIES[i % QUERIES.len()], 0, &mut lat, &mut errors).await;
                i += 1;
            }
            (lat, errors)
        }));
    }
    common::join_clients(tasks).await
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let secs = env_or("SIMTHEME_LOAD_SECS", 10);
    let clients = env_or("SIMTHEME_INGEST_LOAD_CLIENTS", 2) as usize;
    let pages = env_or("SIMTHEME_INGEST_PAGES", 200) as usize;
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, line) = common::start_server(
        env!("CARGO_BIN_EXE_simtheme"),
        // A stream of 200 pages can outlast the default 120 s request deadline on a busy machine.
        [OsStr::new("--data-dir"), tmp.path().as_os_str(), OsStr::new("--request-timeout-secs"), OsStr::new("1800")],
    );
    println!("{}", line.trim());
    let addr = common::ready_addr(&line);
    let client = SimThemeClient::connect(format!("http://{addr}")).await.unwrap();

    println!("load average before: {}", common::load_average());
    let stop = Arc::new(AtomicBool::new(false));
    let idle = tokio::spawn({
        let (client, stop) = (client.clone(), Arc::clone(&stop));
        async move { query_until(&client, clients, stop).await }
    });
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let (idle_lat, idle_err) = idle.await.unwrap();

    let sentences = common::seed_lines(20);
    let docs: Vec<DocumentInput> = (0..pages).map(|p| DocumentInput { text: page(p, &sentences), name: format!("page-{p}"), ..Default::default() }).collect();
    let chars: usize = docs.iter().map(|d| d.text.chars().count()).sum();
    let chunks_before = client.clone().stats(StatsRequest::default()).await.unwrap().into_inner().chunks;
    let stop = Arc::new(AtomicBool::new(false));
    let busy = tokio::spawn({
        let (client, stop) = (client.clone(), Arc::clone(&stop));
        async move { query_until(&client, clients, stop).await }
    });
    let t = Instant::now();
    let response = client.clone().stream_documents(tokio_stream::iter(docs)).await.unwrap().into_inner();
    let ingest_s = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (busy_lat, busy_err) = busy.await.unwrap();
    let chunks = client.clone().stats(StatsRequest::default()).await.unwrap().into_inner().chunks - chunks_before;
    println!("load average after: {}", common::load_average());

    println!("{:>22} {:>8} {:>8} {:>8} {:>8} {:>7}", "phase", "queries", "q/s", "p50 ms", "p99 ms", "errors");
    let phase = |name: &str, lat: &[f64], errors: u64, s: f64| {
        println!("{name:>22} {:>8} {:>8.1} {:>8.1} {:>8.1} {errors:>7}", lat.len(), lat.len() as f64 / s, common::pct(lat, 0.5), common::pct(lat, 0.99));
    };
    phase("idle", &idle_lat, idle_err, secs as f64);
    phase("while ingesting", &busy_lat, busy_err, ingest_s);
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
