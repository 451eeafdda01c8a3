//! Do themes find policies? Ingests a dated multi-year corpus (a directory of `YYYY.txt`
//! files, one document per year) into a data directory once, then themes it and scores, per
//! era-bound policy term, whether one theme isolates it: the theme holding most of the
//! paragraphs that contain the term must hold >= 50% of them, and >= 60% of that theme's
//! members must fall in the policy's era. Also prints themes per level, the median
//! 10th–90th percentile year span of the themes, the share of vacuous label words (fixed list
//! in `themes_policies/policies.rs`) and of label words found in most years' documents,
//! timings and peak memory (VmHWM).
//!
//!     SIMTHEME_CORPUS_DIR=/path/to/reports SIMTHEME_POLICY_SET=cn \
//!     SIMTHEME_EVAL_DATA=/path/to/data-dir cargo bench --bench themes_policies
//!
//! `SIMTHEME_POLICY_SET` is `cn` (State Council work reports) or `sg` (Singapore budget
//! speeches). The data directory is reused across runs (embedding ~1M characters takes
//! minutes on 2 cores); delete it to re-ingest. `SIMTHEME_THEME_TARGETS=60,150` adds cuts at
//! fixed theme counts.

mod common;
#[path = "themes_policies/policies.rs"]
mod policies;
#[path = "themes_policies/score.rs"]
mod score;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use simtheme::backend::embedded::store::Store;
use simtheme::backend::{BackendConfig, ParagraphFilter};
use simtheme::config::Config;
use simtheme::corpus::DocumentMeta;
use simtheme::engine::{Engine, IngestInput, IngestStatus};
use simtheme::themes::eras::EraParams;
use simtheme::themes::{cluster_themes, theme_tree, ThemeInput, ThemeParams, ThemeTree, TreeParams};

use common::peak_rss_mb;
use score::{report, score_flat, Corpus, Group};

async fn ingest_dir(engine: &Arc<Engine>, dir: &PathBuf) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|f| f.ok().map(|f| f.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let t = Instant::now();
    let (mut paragraphs, mut chunks) = (0u64, 0u64);
    for f in &files {
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        let year: i32 = stem[..4.min(stem.len())].parse().unwrap_or_else(|_| panic!("{}: file name must start with the year", f.display()));
        let text = std::fs::read_to_string(f).unwrap();
        let meta = DocumentMeta { date: Some(format!("{year}")), title: Some(stem.clone()), ..Default::default() };
        let input = IngestInput { text, name: f.display().to_string(), meta, ..Default::default() };
        let r = engine.ingest(vec![input]).await.remove(0);
        if let IngestStatus::Failed(m) = &r.status {
            panic!("{}: {m}", f.display());
        }
        paragraphs += r.paragraphs as u64;
        chunks += r.chunks as u64;
        eprintln!("  {stem}: {} paragraphs, {} chunks ({:.0} s)", r.paragraphs, r.chunks, t.elapsed().as_secs_f64());
    }
    println!("ingested {} documents, {paragraphs} paragraphs, {chunks} chunks in {:.1} s", files.len(), t.elapsed().as_secs_f64());
}

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(std::env::var("SIMTHEME_CORPUS_DIR").expect("set SIMTHEME_CORPUS_DIR to a directory of YYYY.txt files"));
    let set = std::env::var("SIMTHEME_POLICY_SET").unwrap_or_else(|_| "cn".into());
    let policies = match set.as_str() {
        "cn" => policies::CN,
        "sg" => policies::SG,
        other => panic!("SIMTHEME_POLICY_SET must be cn or sg, not {other}"),
    };
    let data = PathBuf::from(std::env::var("SIMTHEME_EVAL_DATA").unwrap_or_else(|_| format!("target/themes_policies/{set}")));
    println!("{}; corpus {}; data {}", common::machine(), dir.display(), data.display());
    let mut config = Config { backend: BackendConfig::embedded(&data), seed_when_empty: false, ..Default::default() };
    // ingestion is the only work here: no SCHED_IDLE / nice for the bulk lane, which would
    // stall it behind any other process on a busy machine
    config.queue.bulk_idle = false;
    config.queue.bulk_nice = 0;
    let engine = Engine::open(config).await.expect("open engine");
    if engine.backend().is_empty().await.unwrap() {
        ingest_dir(&engine, &dir).await;
    }
    let t = Instant::now();
    let stored = engine.backend().paragraph_vectors(ParagraphFilter::default(), usize::MAX).await.unwrap();
    let inputs: Vec<ThemeInput> = stored
        .into_iter()
        .map(|p| ThemeInput {
            id: p.paragraph.id,
            year: p.paragraph.year,
            text: p.paragraph.text,
            simplified: p.paragraph.simplified,
            vector: p.vector,
        })
        .collect();
    println!("{} paragraphs read in {:.2} s", inputs.len(), t.elapsed().as_secs_f64());
    let corpus = Corpus::new(&inputs);
    let mut targets: Vec<Option<usize>> = vec![None];
    if let Ok(s) = std::env::var("SIMTHEME_THEME_TARGETS") {
        targets.extend(s.split(',').filter_map(|x| x.trim().parse().ok()).map(Some));
    }
    for target in targets {
        let params = ThemeParams { target_themes: target, ..Default::default() };
        let t = Instant::now();
        let r = cluster_themes(&inputs, &params).expect("cluster");
        let secs = t.elapsed().as_secs_f64();
        let name = match target {
            None => "flat themes, automatic cut".to_string(),
            Some(k) => format!("flat themes, k = {k}"),
        };
        score_flat(&name, &corpus, &r, policies, secs);
    }
    let variants = std::env::var("SIMTHEME_VARIANTS").unwrap_or_else(|_| "paragraph-tree,chunk-tree".into());
    let tree_params = TreeParams { eras: era_params(), ..Default::default() };
    if variants.split(',').any(|v| v == "paragraph-tree") {
        let t = Instant::now();
        let tree = theme_tree(&inputs, None, &tree_params).expect("tree");
        score_tree("paragraph tree", &corpus, &tree, policies, t.elapsed().as_secs_f64());
    }
    if variants.split(',').any(|v| v == "chunk-tree") {
        let t = Instant::now();
        let (units, paragraph_of) = chunk_units(&data, &inputs);
        println!("\n{} chunks read in {:.2} s", units.len(), t.elapsed().as_secs_f64());
        let t = Instant::now();
        let tree = theme_tree(&units, Some(&paragraph_of), &tree_params).expect("tree");
        score_tree("chunk tree (paragraph weights)", &corpus, &tree, policies, t.elapsed().as_secs_f64());
    }
    println!("\npeak RSS {:.0} MB", peak_rss_mb());
}

/// Era-term thresholds: the defaults, each overridable by `SIMTHEME_ERA_<FIELD>` (e.g.
/// `SIMTHEME_ERA_MIN_COHERENCE=0.2`) to tune on one corpus and report on the other.
fn era_params() -> EraParams {
    let d = EraParams::default();
    let get = |name: &str| std::env::var(format!("SIMTHEME_ERA_{name}")).ok();
    EraParams {
        min_units: get("MIN_UNITS").map_or(d.min_units, |v| v.parse().unwrap()),
        min_years: get("MIN_YEARS").map_or(d.min_years, |v| v.parse().unwrap()),
        max_era_share: get("MAX_ERA_SHARE").map_or(d.max_era_share, |v| v.parse().unwrap()),
        min_lift: get("MIN_LIFT").map_or(d.min_lift, |v| v.parse().unwrap()),
        min_coherence: get("MIN_COHERENCE").map_or(d.min_coherence, |v| v.parse().unwrap()),
        max_terms: get("MAX_TERMS").map_or(d.max_terms, |v| v.parse().unwrap()),
    }
}

/// Every stored chunk as a unit, with its paragraph (paragraphs of `inputs` only).
fn chunk_units(data: &std::path::Path, inputs: &[ThemeInput]) -> (Vec<ThemeInput>, Vec<i64>) {
    let store = Store::open_reader(data).expect("open store");
    let model = store.stats().expect("stats").models.first().expect("a model").model_id.clone();
    let vectors: std::collections::HashMap<i64, Vec<f32>> = store.all_chunk_vectors(&model).expect("vectors").into_iter().collect();
    let mut units = Vec::new();
    let mut paragraph_of = Vec::new();
    for p in inputs {
        for c in store.chunks_of_paragraph(p.id).expect("chunks") {
            let text: String = p.text.chars().skip(c.start as usize).take((c.end - c.start) as usize).collect();
            units.push(ThemeInput { id: c.id, year: p.year, text, simplified: c.text, vector: vectors[&c.id].clone() });
            paragraph_of.push(p.id);
        }
    }
    (units, paragraph_of)
}

/// Scores every level of a tree; a paragraph belongs to every node holding part of it.
fn score_tree(name: &str, corpus: &Corpus, tree: &ThemeTree, policies: &[policies::Policy], secs: f64) {
    println!(
        "\n#### {name}: {} nodes, {} levels, {} boilerplate units, {} outliers, built in {secs:.2} s",
        tree.nodes.len(),
        tree.depth(),
        tree.boilerplate.len(),
        tree.outliers.len()
    );
    for level in 0..tree.depth() {
        let groups: Vec<Group> = tree
            .level_nodes(level)
            .into_iter()
            .map(|n| Group {
                label: n.theme.keywords.iter().take(3).map(|k| k.word.clone()).collect(),
                members: n.paragraphs.iter().map(|w| w.id).collect(),
            })
            .collect();
        report(&format!("{name}, level {level}"), corpus, &groups, 0, policies, secs);
    }
    let groups: Vec<Group> = tree
        .policies
        .iter()
        .map(|p| Group { label: p.terms.iter().take(3).cloned().collect(), members: p.paragraphs.iter().map(|w| w.id).collect() })
        .collect();
    report(&format!("{name}, policy themes"), corpus, &groups, 0, policies, secs);
    if std::env::var("SIMTHEME_PRINT_POLICIES").is_ok() {
        for p in &tree.policies {
            println!(
                "      {:<40} {}–{} peak {} {:>4} units, coherence {:.2}",
                p.terms.join(" | "),
                p.first_year,
                p.last_year,
                p.peak_year,
                p.theme.size,
                p.coherence
            );
        }
    }
}
