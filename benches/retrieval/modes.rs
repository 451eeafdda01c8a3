//! Retrieval per search mode: the seeds ingested through the engine (embedded backend, default
//! chunking), the fixture's queries answered in DENSE, KEYWORD and HYBRID mode, scored per
//! language and for the exact-term queries (`"kind": "exact"`); the latency HYBRID adds over
//! DENSE; and the keyword index's size and BM25 latency on a larger synthetic corpus (the
//! seed chunks repeated).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use simtheme::config::Config;
use simtheme::engine::{Engine, IngestInput, QueryInput, SearchMode, SearchRequest, SEED_DOCUMENTS};
use simtheme::keyword::{fuse_rrf, shared_segmenter, KeywordChunk, KeywordIndex, RrfParams};

use super::Query;

/// Recall@1, recall@5 and MRR@10 accumulated over queries.
#[derive(Default)]
struct Tally {
    n: usize,
    r1: usize,
    r5: usize,
    mrr: f64,
}

impl Tally {
    fn add(&mut self, rank: Option<usize>) {
        self.n += 1;
        self.r1 += usize::from(rank == Some(0));
        self.r5 += usize::from(matches!(rank, Some(r) if r < 5));
        if let Some(r) = rank.filter(|r| *r < 10) {
            self.mrr += 1.0 / (r as f64 + 1.0);
        }
    }
    fn r1(&self) -> f64 {
        self.r1 as f64 / self.n.max(1) as f64
    }
    fn r5(&self) -> f64 {
        self.r5 as f64 / self.n.max(1) as f64
    }
    fn mrr(&self) -> f64 {
        self.mrr / self.n.max(1) as f64
    }
    fn triple(&self) -> String {
        format!("{:.2}/{:.2}/{:.2}", self.r1(), self.r5(), self.mrr())
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Rank (0-based) of the expected paragraph among `hits` (doc id, text), if present.
fn rank_of(hits: &[(String, String)], doc_id: &str, substring: &str) -> Option<usize> {
    hits.iter().position(|(d, t)| d == doc_id && t.contains(substring))
}

pub fn run(embedder: Arc<simtheme::embed::Embedder>, queries: &[Query]) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = Config { backend: simtheme::backend::BackendConfig::embedded(dir.path()), seed_when_empty: false, ..Config::default() };
    let engine: Arc<Engine> = rt.block_on(Engine::with_embedder(config, embedder)).unwrap();
    let inputs: Vec<IngestInput> = SEED_DOCUMENTS
        .iter()
        .map(|(name, text)| IngestInput { text: text.to_string(), name: name.to_string(), ..Default::default() })
        .collect();
    let results = rt.block_on(engine.ingest(inputs));
    let doc_ids: std::collections::HashMap<String, String> =
        SEED_DOCUMENTS.iter().zip(&results).map(|((name, _), r)| (name.to_string(), r.document_id.clone())).collect();
    let stats = rt.block_on(engine.stats()).unwrap();
    let kw = stats.keyword.clone().unwrap();
    println!(
        "\nsearch modes through the engine: {} documents, {} paragraphs, {} chunks; {} queries",
        stats.store.documents,
        stats.store.paragraphs,
        stats.store.chunks,
        queries.len()
    );
    let search = |text: &str, mode: SearchMode, k: usize| {
        // SIMTHEME_NO_GLOSSARY=1: without the glossary bridging (for before/after figures)
        let no_glossary = std::env::var_os("SIMTHEME_NO_GLOSSARY").is_some();
        let req = SearchRequest { query: QueryInput::Text(text.to_string()), k, mode: Some(mode), no_glossary, ..Default::default() };
        let started = Instant::now();
        let out = rt.block_on(engine.search(req));
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let hits = match out {
            Ok(r) => r.hits.into_iter().map(|h| (h.hit.paragraph.document_id, h.hit.paragraph.text)).collect(),
            Err(_) => Vec::new(), // e.g. a query of stop words only in KEYWORD mode: no hits
        };
        (hits, ms)
    };
    println!(
        "{:<8} {:>9} {:>9} {:>8}  {:<40} exact-term queries",
        "mode", "recall@1", "recall@5", "MRR@10", "recall@1 / recall@5 / MRR@10 by language"
    );
    let mut latencies: Vec<(SearchMode, Vec<f64>)> = Vec::new();
    let mut per_query: Vec<Vec<Option<usize>>> = vec![Vec::new(); queries.len()];
    for mode in [SearchMode::Dense, SearchMode::Keyword, SearchMode::Hybrid] {
        let mut all = Tally::default();
        let mut by_lang: std::collections::BTreeMap<String, Tally> = Default::default();
        let mut exact = Tally::default();
        let mut times = Vec::new();
        for q in queries {
            let (hits, ms) = search(&q.query, mode, 10);
            times.push(ms);
            let rank = rank_of(&hits, &doc_ids[&q.expected_doc], &q.expected_substring);
            per_query[all.n].push(rank);
            all.add(rank);
            by_lang.entry(q.lang.clone()).or_default().add(rank);
            if q.kind.as_deref() == Some("exact") {
                exact.add(rank);
            }
        }
        let langs: Vec<String> = by_lang.iter().map(|(l, s)| format!("{l} {}", s.triple())).collect();
        println!(
            "{:<8} {:>9.3} {:>9.3} {:>8.3}  {:<40} {} ({} queries)",
            format!("{mode:?}"),
            all.r1(),
            all.r5(),
            all.mrr(),
            langs.join(", "),
            exact.triple(),
            exact.n
        );
        latencies.push((mode, times));
    }
    if std::env::var_os("SIMTHEME_BENCH_VERBOSE").is_some() {
        let show = |r: &Option<usize>| r.map_or("-".to_string(), |r| (r + 1).to_string());
        println!("per query, 1-based rank of the expected paragraph (DENSE / KEYWORD / HYBRID; - = not in the top 10):");
        for (q, ranks) in queries.iter().zip(&per_query) {
            let ranks: Vec<String> = ranks.iter().map(show).collect();
            println!("  {:>9}  {} {}", ranks.join("/"), q.lang, q.query.chars().take(60).collect::<String>());
        }
    }
    sweep(queries, &doc_ids, &search);
    // Latency: every query again, DENSE and HYBRID interleaved, 3 rounds.
    let (mut dense_ms, mut hybrid_ms, mut added) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        for q in queries {
            let (_, d) = search(&q.query, SearchMode::Dense, 10);
            let (_, h) = search(&q.query, SearchMode::Hybrid, 10);
            dense_ms.push(d);
            hybrid_ms.push(h);
            added.push(h - d);
        }
    }
    let keyword_ms = &mut latencies[1].1;
    for v in [&mut dense_ms, &mut hybrid_ms, &mut added, keyword_ms] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "latency per query, ms (p50 / p99): DENSE {:.2} / {:.2}, KEYWORD {:.2} / {:.2}, HYBRID {:.2} / {:.2}; HYBRID minus DENSE {:.2} / {:.2}",
        percentile(&dense_ms, 0.5),
        percentile(&dense_ms, 0.99),
        percentile(&latencies[1].1, 0.5),
        percentile(&latencies[1].1, 0.99),
        percentile(&hybrid_ms, 0.5),
        percentile(&hybrid_ms, 0.99),
        percentile(&added, 0.5),
        percentile(&added, 0.99)
    );
    println!(
        "keyword index of the seeds: {} chunks, {} bytes on disk ({:.0} KB per 1,000 chunks)",
        kw.chunks,
        kw.size_bytes,
        kw.size_bytes as f64 / kw.chunks.max(1) as f64 * 1000.0 / 1024.0
    );
    synthetic(dir.path(), &engine, &rt);
}

/// Hits as (document id, paragraph text), best first.
type Ranked = Vec<(String, String)>;

/// Recall tallies over all queries, per language and for the exact-term queries.
#[derive(Default)]
struct Tallies {
    all: Tally,
    en: Tally,
    zh: Tally,
    exact: Tally,
}

impl Tallies {
    fn add(&mut self, q: &Query, rank: Option<usize>) {
        self.all.add(rank);
        if q.lang == "en" {
            self.en.add(rank)
        } else {
            self.zh.add(rank)
        }
        if q.kind.as_deref() == Some("exact") {
            self.exact.add(rank);
        }
    }
}

/// Rank of the expected paragraph in the top 10 of the two rankings fused with `params`.
fn fused_rank(
    dense: &Ranked,
    keyword: &Ranked,
    params: &RrfParams,
    q: &Query,
    doc_ids: &std::collections::HashMap<String, String>,
) -> Option<usize> {
    let key = |h: &(String, String)| format!("{}\u{1}{}", h.0, h.1);
    let d: Vec<String> = dense.iter().map(key).collect();
    let w: Vec<String> = keyword.iter().map(key).collect();
    let fused: Vec<(String, String)> = fuse_rrf(&d, &w, params)
        .into_iter()
        .take(10)
        .map(|f| {
            let (a, b) = f.id.split_once('\u{1}').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect();
    rank_of(&fused, &doc_ids[&q.expected_doc], &q.expected_substring)
}

/// RRF parameters side by side: both rankings (50 candidates each) fetched once per query, then
/// fused offline with each `k` and keyword weight (dense weight 1), fixed and adapted to the
/// query's coverage by its best keyword hit.
fn sweep(
    queries: &[Query],
    doc_ids: &std::collections::HashMap<String, String>,
    search: &dyn Fn(&str, SearchMode, usize) -> (Ranked, f64),
) {
    let lists: Vec<(Ranked, Ranked)> =
        queries.iter().map(|q| (search(&q.query, SearchMode::Dense, 50).0, search(&q.query, SearchMode::Keyword, 50).0)).collect();
    println!("RRF sweep (dense weight 1; all queries recall@1/recall@5/MRR@10 | en | zh | exact-term):");
    for k in [10.0, 30.0, 60.0, 100.0] {
        for kw in [0.5, 0.75, 1.0, 1.5] {
            let params = RrfParams { k, dense_weight: 1.0, keyword_weight: kw, adaptive_keyword_weight: false };
            let mut t = Tallies::default();
            for (q, (dense, keyword)) in queries.iter().zip(&lists) {
                t.add(q, fused_rank(dense, keyword, &params, q, doc_ids));
            }
            let Tallies { all, en, zh, exact } = t;
            println!(
                "  k {k:>5}  keyword weight {kw:<4}  {} | en {} | zh {} | exact {}",
                all.triple(),
                en.triple(),
                zh.triple(),
                exact.triple()
            );
        }
    }
    // Keyword weight from the coverage of the best keyword hit.
    let mut tk = simtheme::keyword::JiebaTokenizer::new(shared_segmenter());
    let coverages: Vec<f64> = queries
        .iter()
        .zip(&lists)
        .map(|(q, (_, keyword))| {
            let parsed = simtheme::keyword::KeywordQuery::parse(&q.query, &mut tk);
            match (parsed, keyword.first()) {
                (Ok(p), Some(top)) => p.coverage(&mut tk, &simtheme::corpus::to_simplified(&top.1)),
                _ => 0.0,
            }
        })
        .collect();
    type Variant<'a> = (&'a str, Box<dyn Fn(f64) -> f64>);
    let variants: Vec<Variant> = vec![
        ("2c", Box::new(|c| 2.0 * c)),
        ("1.5c^2", Box::new(|c| 1.5 * c * c)),
        ("2c^2", Box::new(|c| 2.0 * c * c)),
        ("3c^2", Box::new(|c| 3.0 * c * c)),
        ("c>=0.99?1.5:0.5", Box::new(|c| if c >= 0.99 { 1.5 } else { 0.5 })),
    ];
    for k in [10.0, 20.0, 30.0, 60.0] {
        for (name, f) in &variants {
            let mut t = Tallies::default();
            for ((q, (dense, keyword)), c) in queries.iter().zip(&lists).zip(&coverages) {
                let params = RrfParams { k, dense_weight: 1.0, keyword_weight: f(*c).max(1e-6), adaptive_keyword_weight: false };
                t.add(q, fused_rank(dense, keyword, &params, q, doc_ids));
            }
            let Tallies { all, en, zh, exact } = t;
            println!(
                "  k {k:>5}  adaptive {name:<16} {:.3}/{:.3}/{:.3} | en {} | zh {} | exact {}",
                all.r1(),
                all.r5(),
                all.mrr(),
                en.triple(),
                zh.triple(),
                exact.triple()
            );
        }
    }
    if std::env::var_os("SIMTHEME_BENCH_VERBOSE").is_some() {
        for (q, c) in queries.iter().zip(&coverages) {
            println!("  coverage {c:.2}  {}", q.query.chars().take(50).collect::<String>());
        }
    }
}

/// The seed chunks repeated into a larger keyword index: size per 1,000 chunks and BM25
/// latency at that scale.
fn synthetic(dir: &Path, engine: &Arc<Engine>, rt: &tokio::runtime::Runtime) {
    let _ = (engine, rt);
    let texts: Vec<String> = SEED_DOCUMENTS
        .iter()
        .flat_map(|(name, raw)| {
            let doc = simtheme::corpus::prepare_document(raw, name, &Default::default(), &Default::default()).unwrap();
            doc.paragraphs.into_iter().flat_map(|p| p.chunks.into_iter().map(|c| c.text)).collect::<Vec<_>>()
        })
        .collect();
    let copies = 50_000 / texts.len() + 1;
    let index = KeywordIndex::open(&dir.join("synthetic-keyword"), shared_segmenter()).unwrap();
    let started = Instant::now();
    let mut chunk_id = 0u64;
    for copy in 0..copies {
        let items: Vec<KeywordChunk<'_>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                chunk_id += 1;
                KeywordChunk { chunk_id, paragraph_id: (copy * texts.len() + i) as i64, text: t }
            })
            .collect();
        index.add_document(&format!("copy{copy}"), &items).unwrap();
    }
    index.commit().unwrap();
    let build_s = started.elapsed().as_secs_f64();
    let n = index.chunk_count();
    let size = index.size_on_disk();
    let mut times = Vec::new();
    for q in ["缺基少核", "专精特新 小巨人", "产业链 供应链 韧性", "中央企业 数字化转型 智能工厂", "\"新能源汽车\" 工业母机"]
    {
        let parsed = index.parse_query(q).unwrap();
        for _ in 0..5 {
            let t = Instant::now();
            let hits = index.search(&parsed, 100, &|_| true).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(!hits.is_empty());
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "synthetic keyword index: {n} chunks indexed in {build_s:.1} s, {size} bytes on disk ({:.0} KB per 1,000 chunks); BM25 search p50 {:.2} ms, p99 {:.2} ms",
        size as f64 / n as f64 * 1000.0 / 1024.0,
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}
