//! Load bench: starts the real server (seeded, temporary data directory), then runs 1, 8 and 32
//! concurrent clients issuing `NearestParagraphs` with short text queries for
//! `SIMTHEME_LOAD_SECS` seconds each (default 20), in DENSE mode and in the default mode (HYBRID),
//! and prints throughput, p50/p95/p99 latency, errors and the server's resident memory after
//! each level.
//!
//!     cargo bench --bench load
//!     SIMTHEME_BIN=/path/to/other/simtheme cargo bench --bench load   # another build of the server
//!     SIMTHEME_LOAD_DATA_DIR=/tmp/big cargo bench --bench load       # an existing corpus (not seeded)
//!
//! `SIMTHEME_LOAD_CLIENTS` (default `1,8,32`) and `SIMTHEME_LOAD_MODES` (`dense`, `hybrid`, or
//! both, the default) pick the levels; extra server flags go in `SIMTHEME_LOAD_ARGS`
//! (space-separated, e.g. `--large-search hnsw`).

mod common;

use std::ffi::OsString;
use std::time::{Duration, Instant};

use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use simtheme::proto::SearchMode;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let secs: u64 = std::env::var("SIMTHEME_LOAD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let tmp = tempfile::tempdir().unwrap();
    // SIMTHEME_BIN runs another build of the server (e.g. a copy of an older commit's binary),
    // for before/after comparisons in one session.
    let bin = std::env::var_os("SIMTHEME_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_simtheme").into());
    let data = std::env::var_os("SIMTHEME_LOAD_DATA_DIR").unwrap_or_else(|| tmp.path().as_os_str().to_owned());
    let extra = std::env::var("SIMTHEME_LOAD_ARGS").unwrap_or_default();
    let mut args: Vec<OsString> = vec!["--data-dir".into(), data];
    args.extend(extra.split_whitespace().map(OsString::from));
    let started = Instant::now();
    let (mut child, line) = common::start_server(bin, args);
    println!("{} (ready after {:.1} s)", line.trim(), started.elapsed().as_secs_f64());
    println!("{}", common::machine());
    let levels: Vec<usize> = std::env::var("SIMTHEME_LOAD_CLIENTS")
        .unwrap_or_else(|_| "1,8,32".into())
        .split(',')
        .map(|c| c.trim().parse().expect("SIMTHEME_LOAD_CLIENTS: numbers"))
        .collect();
    let modes = std::env::var("SIMTHEME_LOAD_MODES").unwrap_or_else(|_| "dense,hybrid".into());
    let modes: Vec<(&str, SearchMode)> = [("DENSE", SearchMode::Dense), ("default (HYBRID)", SearchMode::Unspecified)]
        .into_iter()
        .filter(|(label, _)| modes.contains(if label.starts_with("DENSE") { "dense" } else { "hybrid" }))
        .collect();
    let addr = common::ready_addr(&line);
    let client = SimThemeServiceClient::connect(format!("http://{addr}")).await.unwrap();
    println!(
        "{:<16} {:>7} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9}",
        "mode", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "RSS MiB"
    );
    for &(label, mode) in &modes {
        for &clients in &levels {
            let deadline = Instant::now() + Duration::from_secs(secs);
            let mut tasks = Vec::new();
            for c in 0..clients {
                let mut client = client.clone();
                tasks.push(tokio::spawn(async move {
                    let (mut lat, mut errors, mut i) = (Vec::new(), 0u64, c);
                    while Instant::now() < deadline {
                        common::timed_search(&mut client, common::QUERIES[i % common::QUERIES.len()], mode as i32, &mut lat, &mut errors)
                            .await;
                        i += 1;
                    }
                    (lat, errors)
                }));
            }
            let (lat, errors) = common::join_clients(tasks).await;
            println!(
                "{label:<16} {clients:>7} {:>8} {:>9.1} {:>8.1} {:>8.1} {:>8.1} {errors:>7} {:>9.0}",
                lat.len(),
                lat.len() as f64 / secs as f64,
                common::pct(&lat, 0.50),
                common::pct(&lat, 0.95),
                common::pct(&lat, 0.99),
                common::rss_mib(child.id())
            );
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
