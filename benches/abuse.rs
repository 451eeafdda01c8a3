//! Abuse bench: one server (seeded, an API key and a read-only key), then
//!
//! 1. a normal client (full key, its own connection) searching one query at a time, alone:
//!    p50/p99 *before*;
//! 2. the same client while a flooding client with the read-only key sends
//!    `SIMTHEME_FLOOD_REQUESTS` (default 800) 64-text Embed calls, 200 at a time over 4
//!    connections, retrying nothing: p50/p99 *during*, and what the flood got back;
//! 3. an Embed of 64 texts of 20,000 characters abandoned at a 3 s deadline: the CPU seconds the
//!    server spends in the 10 s after the deadline (the work done for nobody);
//!
//! and the server's resident memory after each phase. Targets (issue 26): p99 during ≤ 2× p99
//! before; under 1 CPU second after the abandon.
//!
//!     cargo bench --bench abuse
//!     SIMTHEME_BIN=/path/to/other/simtheme cargo bench --bench abuse   # another build, same run

mod common;

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use simtheme::proto::{nearest_paragraphs_request::Query, EmbedRequest, NearestParagraphsRequest};
use tonic::transport::Channel;

const FULL_KEY: &str = "bench-full-key";
const READ_ONLY_KEY: &str = "bench-read-only-key";

fn keyed<T>(key: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
    r
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |s| s.1).split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Searches one at a time until `stop` says so or `limit` passes; sorted latencies (ms), errors.
async fn normal_client(mut client: SimThemeServiceClient<Channel>, limit: Duration, stop: impl Fn() -> bool) -> (Vec<f64>, u64) {
    let (mut lat, mut errors) = (Vec::new(), 0u64);
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < limit && !stop() {
        let text = common::QUERIES[i % common::QUERIES.len()];
        let req = NearestParagraphsRequest { query: Some(Query::Text(text.into())), k: 10, ..Default::default() };
        let t = Instant::now();
        match client.nearest_paragraphs(keyed(FULL_KEY, req)).await {
            Ok(_) => lat.push(t.elapsed().as_secs_f64() * 1e3),
            Err(_) => errors += 1,
        }
        i += 1;
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    (lat, errors)
}

fn report(phase: &str, (lat, errors): &(Vec<f64>, u64), pid: u32) {
    println!(
        "{phase:<28} {:>8} {:>8.1} {:>8.1} {errors:>7} {:>8.0}",
        lat.len(),
        common::pct(lat, 0.50),
        common::pct(lat, 0.99),
        common::rss_mib(pid)
    );
}

async fn channel(addr: &str) -> Channel {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.expect("connect")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let flood_requests: usize = std::env::var("SIMTHEME_FLOOD_REQUESTS").ok().and_then(|s| s.parse().ok()).unwrap_or(800);
    let tmp = tempfile::tempdir().unwrap();
    let bin = std::env::var_os("SIMTHEME_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_simtheme").into());
    let args = [OsStr::new("--data-dir"), tmp.path().as_os_str(), "--api-key".as_ref(), FULL_KEY.as_ref()];
    let args = args.into_iter().chain(["--read-only-api-key".as_ref(), READ_ONLY_KEY.as_ref()]);
    let (mut child, line) = common::start_server(&bin, args);
    let pid = child.id();
    println!("{}", line.trim());
    println!("{}; server {}", common::machine(), bin.to_string_lossy());
    let addr = common::ready_addr(&line);
    let normal = SimThemeServiceClient::new(channel(&addr).await);
    println!("{:<28} {:>8} {:>8} {:>8} {:>7} {:>8}", "normal client", "searches", "p50 ms", "p99 ms", "errors", "RSS MiB");
    let _warm = normal_client(normal.clone(), Duration::from_secs(2), || false).await;
    let before = normal_client(normal.clone(), Duration::from_secs(15), || false).await;
    report("alone (before)", &before, pid);

    // The flood: 4 connections, 50 streams each, 64 texts of ~200 characters per call.
    let texts: Vec<String> = (0..64).map(|i| format!("第{i}条：{}", "推动制造业高端化、智能化、绿色化发展。".repeat(10))).collect();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut flood = Vec::new();
    let flood_start = Instant::now();
    for _ in 0..4 {
        let client = SimThemeServiceClient::new(channel(&addr).await);
        for _ in 0..50 {
            let (mut client, texts, next, done) = (client.clone(), texts.clone(), next.clone(), done.clone());
            flood.push(tokio::spawn(async move {
                let (mut ok, mut refused, mut other) = (0u64, 0u64, 0u64);
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < flood_requests {
                    match client.embed(keyed(READ_ONLY_KEY, EmbedRequest { texts: texts.clone(), mode: 0 })).await {
                        Ok(_) => ok += 1,
                        Err(s) if s.code() == tonic::Code::ResourceExhausted => refused += 1,
                        Err(_) => other += 1,
                    }
                }
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                (ok, refused, other)
            }));
        }
    }
    let during = {
        let done = done.clone();
        normal_client(normal.clone(), Duration::from_secs(300), move || done.load(std::sync::atomic::Ordering::Relaxed) == 200).await
    };
    let (mut ok, mut refused, mut other) = (0, 0, 0);
    for f in flood {
        let (o, r, x) = f.await.unwrap();
        (ok, refused, other) = (ok + o, refused + r, other + x);
    }
    report("during the flood", &during, pid);
    println!(
        "flood: {flood_requests} Embed calls in {:.1} s: {ok} answered, {refused} RESOURCE_EXHAUSTED, {other} other errors",
        flood_start.elapsed().as_secs_f64()
    );
    println!("p99 during / before: {:.2} (target <= 2)", common::pct(&during.0, 0.99) / common::pct(&before.0, 0.99));

    // The abandon: 64 x 20,000 characters with a 3 s deadline.
    let heavy: Vec<String> =
        (0..64).map(|i| format!("第{i}页：{}", "推动制造业高端化、智能化、绿色化发展，培育新质生产力。".repeat(740))).collect();
    let mut req = keyed(READ_ONLY_KEY, EmbedRequest { texts: heavy, mode: 0 });
    req.set_timeout(Duration::from_secs(3));
    let mut client = SimThemeServiceClient::new(channel(&addr).await).max_encoding_message_size(64 << 20);
    let outcome = client.embed(req).await.map(|_| ()).map_err(|s| s.code());
    let cpu_at_abandon = cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let cpu_after = cpu_seconds(pid) - cpu_at_abandon;
    println!("abandoned Embed (64 x 20,000 chars, 3 s deadline: {outcome:?}): {cpu_after:.2} server CPU s in the 10 s after (target < 1)");
    let after = normal_client(normal.clone(), Duration::from_secs(5), || false).await;
    report("after the abandon", &after, pid);
    let _ = child.kill();
    let _ = child.wait();
}
