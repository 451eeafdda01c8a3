//! Cross-lingual retrieval with and without the bilingual glossary, on real corpora: the
//! questions of `tests/fixtures/crosslingual_queries.json` (English about Chinese policies,
//! Chinese about Singapore schemes), each asked of a server over its corpus, in several
//! configurations: DENSE; HYBRID without the glossary (before); HYBRID with it and the adaptive
//! keyword weight (the default); HYBRID with it and fixed keyword weights; KEYWORD with it.
//! Prints recall@1, recall@5 (a relevant paragraph in the top 1 / 5), MRR@10 and, where the
//! question names an era, the share of the top 5 from it, per direction and per split (tune,
//! held-out), and the median time per query with and without the glossary.
//!
//!     SIMTHEME_EVAL_CN=/path/to/data-dir-of-chinese-reports \
//!     SIMTHEME_EVAL_SG=/path/to/data-dir-of-singapore-budgets cargo bench --bench crosslingual
//!
//! A data directory is one made by `simtheme ingest` (it is copied first: the server may write).
//! SIMTHEME_BIN picks another server binary.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::time::Instant;

use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use simtheme::proto::{self, nearest_paragraphs_request::Query};
use tonic::transport::Channel;

#[derive(serde::Deserialize)]
struct Fixture {
    queries: Vec<Question>,
}

#[derive(serde::Deserialize, Clone)]
struct Question {
    query: String,
    direction: String,
    corpus: String,
    relevant: Vec<String>,
    #[serde(default)]
    era: Option<[i32; 2]>,
    split: String,
}

/// One way of asking.
struct Setup {
    name: &'static str,
    mode: proto::SearchMode,
    glossary: bool,
    keyword_weight: Option<f64>,
}

const SETUPS: [Setup; 7] = [
    Setup { name: "dense", mode: proto::SearchMode::Dense, glossary: false, keyword_weight: None },
    Setup { name: "hybrid, no glossary (before)", mode: proto::SearchMode::Hybrid, glossary: false, keyword_weight: None },
    Setup { name: "hybrid + glossary (default)", mode: proto::SearchMode::Hybrid, glossary: true, keyword_weight: None },
    Setup { name: "hybrid + glossary, kw 0.5", mode: proto::SearchMode::Hybrid, glossary: true, keyword_weight: Some(0.5) },
    Setup { name: "hybrid + glossary, kw 1.0", mode: proto::SearchMode::Hybrid, glossary: true, keyword_weight: Some(1.0) },
    Setup { name: "hybrid + glossary, kw 2.0", mode: proto::SearchMode::Hybrid, glossary: true, keyword_weight: Some(2.0) },
    Setup { name: "keyword + glossary", mode: proto::SearchMode::Keyword, glossary: true, keyword_weight: None },
];

/// recall@1, recall@5, MRR@10, era share of the top 5 (None without an era), milliseconds.
type Score = (f64, f64, f64, Option<f64>, f64);

async fn ask(c: &mut SimThemeServiceClient<Channel>, q: &Question, s: &Setup) -> Score {
    let req = proto::NearestParagraphsRequest {
        query: Some(Query::Text(q.query.clone())),
        k: 10,
        mode: s.mode as i32,
        no_glossary: !s.glossary,
        rrf: s.keyword_weight.map(|w| proto::RrfParams { keyword_weight: Some(w), ..Default::default() }),
        ..Default::default()
    };
    let started = Instant::now();
    let hits = c.nearest_paragraphs(req).await.map(|r| r.into_inner().hits).unwrap_or_default();
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let relevant = |h: &proto::ParagraphHit| {
        let text = h.paragraph.as_ref().map(|p| p.text.to_lowercase()).unwrap_or_default();
        q.relevant.iter().any(|t| text.contains(&t.to_lowercase()))
    };
    let first = hits.iter().position(relevant);
    let era = q.era.map(|[from, to]| {
        let top: Vec<Option<i32>> = hits.iter().take(5).map(|h| h.paragraph.as_ref().and_then(|p| p.year)).collect();
        top.iter().filter(|y| y.is_some_and(|y| (from..=to).contains(&y))).count() as f64 / top.len().max(1) as f64
    });
    let at = |k: usize| if first.is_some_and(|r| r < k) { 1.0 } else { 0.0 };
    (at(1), at(5), first.map_or(0.0, |r| 1.0 / (r as f64 + 1.0)), era, ms)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let ok = std::process::Command::new("cp").arg("-r").arg(from).arg(to).status().is_ok_and(|s| s.success());
    assert!(ok, "cannot copy {}", from.display());
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    common::pct(&v, 0.5)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let fixture: Fixture =
        serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/crosslingual_queries.json"))).unwrap();
    let bin = std::env::var_os("SIMTHEME_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_simtheme").into());
    println!("{}; server {}", common::machine(), bin.to_string_lossy());
    let tmp = tempfile::tempdir().unwrap();
    let mut clients = BTreeMap::new();
    let mut children = Vec::new();
    for (corpus, var) in [("cn", "SIMTHEME_EVAL_CN"), ("sg", "SIMTHEME_EVAL_SG")] {
        let Some(dir) = std::env::var_os(var) else {
            println!("SKIPPED: corpus {corpus}: set {var} to a data directory made by `simtheme ingest`");
            continue;
        };
        let copy = tmp.path().join(corpus);
        copy_dir(std::path::Path::new(&dir), &copy);
        let args = [OsStr::new("--data-dir"), copy.as_os_str(), OsStr::new("--no-seed"), OsStr::new("--metrics-listen"), OsStr::new("")];
        let (child, line) = common::start_server(&bin, args);
        println!("{corpus}: {}", line.trim());
        let channel = Channel::from_shared(format!("http://{}", common::ready_addr(&line))).unwrap().connect().await.unwrap();
        clients.insert(corpus.to_string(), SimThemeServiceClient::new(channel));
        children.push(child);
    }
    let questions: Vec<Question> = fixture.queries.into_iter().filter(|q| clients.contains_key(&q.corpus)).collect();
    // (setup, direction, split) -> scores
    let mut scores: BTreeMap<(usize, String, String), Vec<Score>> = BTreeMap::new();
    for (i, s) in SETUPS.iter().enumerate() {
        for q in &questions {
            let c = clients.get_mut(&q.corpus).unwrap();
            let _warm = ask(c, q, s).await;
            let score = ask(c, q, s).await;
            scores.entry((i, q.direction.clone(), q.split.clone())).or_default().push(score);
        }
    }
    println!(
        "\n{:<30} {:<7} {:<8} {:>3} {:>6} {:>6} {:>7} {:>8} {:>8}",
        "setup", "dir", "split", "n", "R@1", "R@5", "MRR@10", "era@5", "p50 ms"
    );
    for ((i, dir, split), v) in &scores {
        let n = v.len() as f64;
        let mean = |f: &dyn Fn(&Score) -> f64| v.iter().map(f).sum::<f64>() / n;
        let eras: Vec<f64> = v.iter().filter_map(|s| s.3).collect();
        let era = if eras.is_empty() { "-".to_string() } else { format!("{:.2}", eras.iter().sum::<f64>() / eras.len() as f64) };
        println!(
            "{:<30} {:<7} {:<8} {:>3} {:>6.2} {:>6.2} {:>7.3} {:>8} {:>8.1}",
            SETUPS[*i].name,
            dir,
            split,
            v.len(),
            mean(&|s| s.0),
            mean(&|s| s.1),
            mean(&|s| s.2),
            era,
            median(v.iter().map(|s| s.4).collect())
        );
    }
    for mut child in children {
        let _ = child.kill();
    }
}
