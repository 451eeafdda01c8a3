//! Themes at every zoom on real text: a sample of six government work reports
//! (`tests/fixtures/gov_reports_sample`, public domain) ingested with their years, then the
//! theme tree through the engine (cached, levels, subtrees, errors) and the CLI.

use std::path::Path;
use std::process::Command;

use simtheme::backend::BackendConfig;
use simtheme::config::Config;
use simtheme::corpus::DocumentMeta;
use simtheme::engine::{Engine, EngineError, IngestInput, IngestStatus, ThemeRequest, ThemeTreeQuery};

const SAMPLE: &str = "tests/fixtures/gov_reports_sample";

async fn ingest_sample(data: &Path) -> std::sync::Arc<Engine> {
    let config = Config { backend: BackendConfig::embedded(data), seed_when_empty: false, ..Config::default() };
    let engine = Engine::open(config).await.unwrap();
    let mut files: Vec<_> =
        std::fs::read_dir(SAMPLE).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "txt")).collect();
    files.sort();
    for f in files {
        let year = f.file_stem().unwrap().to_string_lossy().into_owned();
        let meta = DocumentMeta { date: Some(year.clone()), ..Default::default() };
        let r =
            engine.ingest(vec![IngestInput { text: std::fs::read_to_string(&f).unwrap(), name: year, meta, ..Default::default() }]).await;
        assert_eq!(r[0].status, IngestStatus::Inserted, "{r:?}");
    }
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_of_real_reports_nests_is_cached_and_keeps_boilerplate_out() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = ingest_sample(tmp.path()).await;
    let query =
        ThemeTreeQuery { themes: ThemeRequest { min_theme_size: Some(2), ..Default::default() }, min_split: Some(4), ..Default::default() };
    let (run, cached) = engine.theme_tree(&query).await.unwrap();
    assert!(!cached);
    let tree = &run.tree;
    // recurring boilerplate is reported and clustered nowhere
    for b in &tree.boilerplate {
        assert!(tree.nodes.iter().all(|n| !n.theme.members.contains(b)));
    }
    assert!(!tree.nodes.is_empty());
    for n in &tree.nodes {
        if let Some(p) = n.parent {
            assert!(n.theme.members.iter().all(|m| tree.nodes[p as usize].theme.members.contains(m)));
        }
        assert!(!n.theme.label.is_empty() && n.theme.years.iter().all(|y| y.year.is_some()));
    }
    // same corpus, same parameters: the same run from the cache
    let (again, cached) = engine.theme_tree(&query).await.unwrap();
    assert!(cached && again.result_id == run.result_id);
    // one level, one subtree; unknown ones are refused with the valid range
    assert!(!run.level(0).unwrap().is_empty());
    let depth = tree.depth();
    match run.level(depth) {
        Err(EngineError::InvalidArgument(m)) => assert!(m.contains("levels 0..="), "{m}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    let first = tree.nodes[0].theme.id;
    assert_eq!(run.subtree(first).unwrap()[0].theme.id, first);
    assert!(matches!(run.subtree(9_999), Err(EngineError::NotFound(_))));
    let bad = ThemeTreeQuery { levels: Some(0), ..Default::default() };
    assert!(matches!(engine.theme_tree(&bad).await, Err(EngineError::InvalidArgument(_))));
}

#[test]
fn cli_prints_the_tree_and_one_level() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    drop(rt.block_on(ingest_sample(tmp.path())));
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_simtheme"))
            .args(["themes", "--data-dir"])
            .arg(tmp.path())
            .args(["--min-size", "2"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let tree = run(&["--tree"]);
    assert!(tree.contains("themes on") && tree.contains("boilerplate"), "{tree}");
    assert!(tree.lines().any(|l| l.starts_with("[0]")), "{tree}");
    let level = run(&["--level", "0", "--json"]);
    let nodes: serde_json::Value = serde_json::from_str(&level).unwrap();
    assert!(nodes.as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|n| n["level"] == 0)), "{level}");
    // one CSV row per node, parents before children; a subtree's heatmap
    let csv_text = run(&["--tree", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(&reader.headers().unwrap().iter().take(4).collect::<Vec<_>>(), &["node_id", "parent", "level", "children"]);
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
    assert!(!rows.is_empty(), "{csv_text}");
    let ids: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    for r in &rows {
        assert!(r[1].is_empty() == (&r[2] == "0"), "level 0 and only it has no parent: {r:?}");
        if !r[1].is_empty() {
            let parent = ids.iter().position(|id| *id == &r[1]).expect("parent listed");
            assert!(parent < ids.iter().position(|id| *id == &r[0]).unwrap(), "parent before child");
        }
    }
    let svg = tmp.path().join("subtree.svg");
    run(&["--subtree", &rows[0][0], "--plot", svg.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let out = Command::new(env!("CARGO_BIN_EXE_simtheme"))
        .args(["themes", "--data-dir"])
        .arg(tmp.path())
        .args(["--level", "9"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"), "{}", String::from_utf8_lossy(&out.stderr));
}
