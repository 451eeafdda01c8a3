//! Retrieval quality on the seeds: the queries of `tests/fixtures/retrieval_queries.json`
//! (English questions and Chinese paraphrases, each with its expected paragraph), exact
//! search, paragraph level. Compares
//!   * raw: every non-empty line of the raw pages is a paragraph, embedded whole;
//!   * pipeline: cleaned, segmented, de-duplicated paragraphs, chunked (several chunk
//!     targets), a paragraph scoring as its best chunk;
//!
//! and prints recall@1, recall@5 and MRR@10 for each; then the search modes (DENSE, KEYWORD,
//! HYBRID) through the engine per language and for the exact-term queries, with latencies and
//! keyword index sizes ([`modes`]).
//!
//!     cargo bench --bench retrieval            # both parts
//!     cargo bench --bench retrieval -- chunks  # chunk sizes only
//!     cargo bench --bench retrieval -- modes   # search modes only

#[path = "retrieval/modes.rs"]
mod modes;

use std::path::Path;
use std::sync::Arc;

use simtheme::corpus::{prepare_document, remove_pinyin_glosses, DocumentMeta, SegmentConfig};
use simtheme::embed::{Embedder, EmbedderConfig, Mode};

#[derive(serde::Deserialize)]
struct Query {
    query: String,
    lang: String,
    expected_doc: String,
    expected_substring: String,
    /// `"exact"` for the exact-term queries (rare policy terms, names, numbers).
    #[serde(default)]
    kind: Option<String>,
}

/// A retrievable unit: its document, its display text, and the texts embedded for it.
struct Unit {
    doc: String,
    text: String,
    pieces: Vec<String>,
}

fn seeds() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn raw_units() -> Vec<Unit> {
    let mut units = Vec::new();
    for (name, text) in seeds() {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            // Matching against the expected substring ignores glosses; embedding does not.
            units.push(Unit { doc: name.clone(), text: remove_pinyin_glosses(line), pieces: vec![line.to_string()] });
        }
    }
    units
}

fn pipeline_units(cfg: &SegmentConfig) -> Vec<Unit> {
    let mut units = Vec::new();
    for (name, text) in seeds() {
        let doc = prepare_document(&text, &name, &DocumentMeta::default(), cfg).unwrap();
        for p in doc.paragraphs {
            units.push(Unit { doc: name.clone(), text: p.text, pieces: p.chunks.into_iter().map(|c| c.text).collect() });
        }
    }
    units
}

struct Scores {
    r1: f64,
    r5: f64,
    mrr10: f64,
    by_lang: Vec<(String, f64)>,
}

fn evaluate(e: &Embedder, units: &[Unit], queries: &[Query], qv: &[Vec<f32>]) -> Scores {
    let pieces: Vec<&str> = units.iter().flat_map(|u| u.pieces.iter().map(String::as_str)).collect();
    let pv = e.embed(&pieces, Mode::Passage).unwrap();
    let mut owner = Vec::new();
    for (i, u) in units.iter().enumerate() {
        owner.extend(std::iter::repeat_n(i, u.pieces.len()));
    }
    let (mut r1, mut r5, mut mrr) = (0.0, 0.0, 0.0);
    let mut langs: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    for (q, v) in queries.iter().zip(qv) {
        let mut best = vec![f32::MIN; units.len()];
        for (p, o) in pv.iter().zip(&owner) {
            let s: f32 = p.vector.iter().zip(v).map(|(a, b)| a * b).sum();
            best[*o] = best[*o].max(s);
        }
        let mut order: Vec<usize> = (0..units.len()).collect();
        order.sort_by(|a, b| best[*b].total_cmp(&best[*a]).then(a.cmp(b)));
        let rank = order.iter().position(|&i| units[i].doc == q.expected_doc && units[i].text.contains(&q.expected_substring));
        let hit5 = matches!(rank, Some(r) if r < 5);
        r1 += f64::from(u8::from(rank == Some(0)));
        r5 += f64::from(u8::from(hit5));
        if let Some(r) = rank.filter(|r| *r < 10) {
            mrr += 1.0 / (r as f64 + 1.0);
        }
        let l = langs.entry(q.lang.clone()).or_default();
        l.0 += f64::from(u8::from(hit5));
        l.1 += 1.0;
    }
    let n = queries.len() as f64;
    Scores { r1: r1 / n, r5: r5 / n, mrr10: mrr / n, by_lang: langs.into_iter().map(|(k, (h, c))| (k, h / c)).collect() }
}

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/retrieval_queries.json");
    let queries: Vec<Query> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let e = Arc::new(Embedder::load(&EmbedderConfig::default()).unwrap());
    let args: Vec<String> = std::env::args().collect();
    let only = |part: &str| !args.iter().any(|a| (a == "modes" || a == "chunks") && a != part);
    if !only("chunks") {
        modes::run(e, &queries);
        return;
    }
    let qtexts: Vec<&str> = queries.iter().map(|q| q.query.as_str()).collect();
    let qv: Vec<Vec<f32>> = e.embed(&qtexts, Mode::Query).unwrap().into_iter().map(|x| x.vector).collect();
    println!("{} queries, exact search, paragraph level", queries.len());
    println!("{:<34} {:>6} {:>9} {:>9} {:>8}  recall@5 by language", "pipeline", "units", "recall@1", "recall@5", "MRR@10");
    let mut runs: Vec<(String, Vec<Unit>)> = vec![("raw lines, no cleaning/chunking".into(), raw_units())];
    for target in [60, 100, 150, 220] {
        let cfg = SegmentConfig { chunk_target_chars: target, ..SegmentConfig::default() };
        let label = if cfg == SegmentConfig::default() {
            format!("pipeline, chunks ~{target} (default)")
        } else {
            format!("pipeline, chunks ~{target}")
        };
        runs.push((label, pipeline_units(&cfg)));
    }
    for (label, units) in &runs {
        let s = evaluate(&e, units, &queries, &qv);
        let langs: Vec<String> = s.by_lang.iter().map(|(l, r)| format!("{l} {r:.2}")).collect();
        println!("{label:<34} {:>6} {:>9.3} {:>9.3} {:>8.3}  {}", units.len(), s.r1, s.r5, s.mrr10, langs.join(", "));
    }
    if only("modes") {
        modes::run(e, &queries);
    }
}
