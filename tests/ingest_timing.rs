//! The time split of ingestion: every document's result carries the wall time of cleaning,
//! embedding and storage, and `simtheme ingest` prints their sums next to its own wall time.
//! Structural checks only (which stages ran, sums within the wall time), no speed assertions.

use std::process::Command;
use std::time::{Duration, Instant};

use simtheme::backend::BackendConfig;
use simtheme::config::Config;
use simtheme::engine::{Engine, IngestInput, IngestStatus};

/// A page of the first seed document, made unique by `marker`.
fn page(marker: &str) -> String {
    let seed =
        std::fs::read_dir("seeds").unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "txt")).min().unwrap();
    format!("{}\n{marker}\n", std::fs::read_to_string(seed).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_result_carries_its_stage_times_within_its_wall_time() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config { backend: BackendConfig::embedded(tmp.path()), seed_when_empty: false, ..Config::default() };
    let engine = Engine::open(config).await.unwrap();
    let input = IngestInput { text: page("timing test page"), name: "page".into(), ..Default::default() };

    let start = Instant::now();
    let inserted = engine.ingest_one(0, input.clone()).await;
    let wall = start.elapsed();
    assert_eq!(inserted.status, IngestStatus::Inserted);
    let t = inserted.timings;
    assert!(t.cleaning > Duration::ZERO && t.embedding > Duration::ZERO && t.storage > Duration::ZERO, "{t:?}");
    assert!(t.total() <= wall, "stages {t:?} sum above the wall time {wall:?}");
    assert!(inserted.tokens >= u64::from(inserted.chunks), "at least one token per chunk: {inserted:?}");

    let start = Instant::now();
    let again = engine.ingest_one(1, input).await;
    let wall = start.elapsed();
    assert_eq!(again.status, IngestStatus::AlreadyPresent);
    assert_eq!((again.tokens, again.timings.embedding), (0, Duration::ZERO), "nothing embedded for a stored page");
    assert!(again.timings.cleaning > Duration::ZERO && again.timings.storage > Duration::ZERO, "{:?}", again.timings);
    assert!(again.timings.total() <= wall);

    let empty = engine.ingest_one(2, IngestInput { text: "  ".into(), ..Default::default() }).await;
    assert!(matches!(empty.status, IngestStatus::Failed(_)));
    assert_eq!((empty.tokens, empty.timings.embedding, empty.timings.storage), (0, Duration::ZERO, Duration::ZERO));
}

/// The number before `unit` that follows `label` in `line`.
fn number_after(line: &str, label: &str, unit: &str) -> f64 {
    let rest = &line[line.find(label).unwrap_or_else(|| panic!("no `{label}` in {line:?}")) + label.len()..];
    rest.trim_start().split(unit).next().unwrap().trim().parse().unwrap_or_else(|e| panic!("`{label}` in {line:?}: {e}"))
}

#[test]
fn ingest_command_prints_the_split_within_its_wall_time() {
    let tmp = tempfile::tempdir().unwrap();
    let pages = tmp.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    for i in 0..3 {
        std::fs::write(pages.join(format!("page-{i}.txt")), page(&format!("generated page {i}"))).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_simtheme"))
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .arg("ingest")
        .arg(&pages)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 files: 3 inserted, 0 already present, 0 failed"), "{stdout}");
    let line = stdout.lines().find(|l| l.contains("time split:")).unwrap_or_else(|| panic!("no totals line in {stdout}"));
    assert!(line.starts_with("3 pages, "), "{line}");
    assert!(number_after(line, "pages, ", " tokens") > 0.0, "{line}");
    let wall = number_after(line, " tokens in ", " s");
    let stages: Vec<f64> = ["cleaning", "embedding", "storage"].iter().map(|s| number_after(line, s, " s")).collect();
    let other = number_after(line, "other", " s");
    assert!(stages.iter().all(|&s| s >= 0.0) && stages[1] > 0.0, "{line}");
    // Each figure is rounded to 0.01 s.
    assert!(stages.iter().sum::<f64>() <= wall + 0.02, "stages above the wall time: {line}");
    assert!((stages.iter().sum::<f64>() + other - wall).abs() <= 0.03, "the parts add up to the wall time: {line}");
    for label in ["pages/s", "tokens/s"] {
        assert!(line.contains(label), "{line}");
    }
}
