//! Keyword index tests over the seed documents: rare terms rank their paragraphs first,
//! phrases, filters, highlights, and the index lifecycle (commit, delete, reopen, reset).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::corpus::{prepare_document, DocumentMeta, PreparedDocument, SegmentConfig};
use crate::engine::SEED_DOCUMENTS;

/// A paragraph as the tests see it: id, document, simplified text.
struct Para {
    id: i64,
    doc: String,
    simplified: String,
}

struct Fixture {
    _dir: tempfile::TempDir,
    index: KeywordIndex,
    paragraphs: Vec<Para>,
    docs: Vec<PreparedDocument>,
    /// chunk id -> document id
    chunk_doc: BTreeMap<u64, String>,
}

fn seeds() -> Vec<PreparedDocument> {
    SEED_DOCUMENTS
        .iter()
        .map(|(name, raw)| prepare_document(raw, name, &DocumentMeta::default(), &SegmentConfig::default()).unwrap())
        .collect()
}

/// Adds every chunk of `docs` (paragraph ids from 1, chunk ids from 1) without committing.
fn add_all(index: &KeywordIndex, docs: &[PreparedDocument]) -> (Vec<Para>, BTreeMap<u64, String>) {
    let (mut pid, mut cid) = (0i64, 0u64);
    let mut paragraphs = Vec::new();
    let mut chunk_doc = BTreeMap::new();
    for d in docs {
        let mut chunks: Vec<(u64, i64, String)> = Vec::new();
        for p in &d.paragraphs {
            pid += 1;
            paragraphs.push(Para { id: pid, doc: d.id.clone(), simplified: p.simplified.clone() });
            for c in &p.chunks {
                cid += 1;
                chunk_doc.insert(cid, d.id.clone());
                chunks.push((cid, pid, c.text.clone()));
            }
        }
        let kc: Vec<KeywordChunk<'_>> = chunks.iter().map(|(c, p, t)| KeywordChunk { chunk_id: *c, paragraph_id: *p, text: t }).collect();
        index.add_document(&d.id, &kc).unwrap();
    }
    (paragraphs, chunk_doc)
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let index = KeywordIndex::open(&dir.path().join("keyword"), shared_segmenter()).unwrap();
    assert_eq!(index.open_state(), &OpenState::Created);
    let docs = seeds();
    let (paragraphs, chunk_doc) = add_all(&index, &docs);
    index.commit().unwrap();
    Fixture { _dir: dir, index, paragraphs, docs, chunk_doc }
}

/// Paragraph ids for `query`, best first (all matches).
fn ranked(index: &KeywordIndex, query: &str, accept: &dyn Fn(u64) -> bool) -> Vec<i64> {
    let q = index.parse_query(query).unwrap();
    best_per_paragraph(&index.search(&q, 10_000, accept).unwrap()).iter().map(|h| h.paragraph_id).collect()
}

#[test]
fn rare_terms_rank_their_paragraphs_first() {
    let f = fixture();
    // Terms that occur in one or two seed paragraphs: names jieba cuts into single characters
    // (张玉卓), user-dictionary terms, plain words, numbers, traditional script.
    for term in [
        "缺基少核",
        "首台套",
        "能耗双控",
        "学习时报",
        "粮食饭碗",
        "燈塔工廠",
        "低空经济",
        "单项冠军",
        "上云用数赋智",
        "工业母机",
        "算力网络",
        "张玉卓",
        "脑机接口",
        "压舱石",
        "5700家",
    ] {
        let needle = crate::corpus::to_simplified(term);
        let expected: BTreeSet<i64> = f.paragraphs.iter().filter(|p| p.simplified.contains(&needle)).map(|p| p.id).collect();
        assert!((1..=2).contains(&expected.len()), "{term} occurs in {} paragraphs", expected.len());
        let got = ranked(&f.index, term, &|_| true);
        let top: BTreeSet<i64> = got.iter().take(expected.len()).copied().collect();
        assert_eq!(top, expected, "{term}: ranking {:?}", &got[..got.len().min(5)]);
    }
}

#[test]
fn latin_terms_are_case_insensitive() {
    let f = fixture();
    let expected: BTreeSet<i64> = f.paragraphs.iter().filter(|p| p.simplified.to_lowercase().contains("gdp")).map(|p| p.id).collect();
    assert!(!expected.is_empty());
    let got: BTreeSet<i64> = ranked(&f.index, "gdp", &|_| true).into_iter().collect();
    assert_eq!(got, expected);
}

#[test]
fn quoted_phrases_are_required_and_filters_apply() {
    let f = fixture();
    let got = ranked(&f.index, "新能源汽车 \"工业母机\"", &|_| true);
    let with: BTreeSet<i64> = f.paragraphs.iter().filter(|p| p.simplified.contains("工业母机")).map(|p| p.id).collect();
    assert_eq!(got.iter().copied().collect::<BTreeSet<_>>(), with);
    // A two-word phrase matches the exact sequence only.
    let phrase = ranked(&f.index, "\"专精特新 小巨人\"", &|_| true);
    assert!(!phrase.is_empty());
    for id in &phrase {
        let text = &f.paragraphs[(*id - 1) as usize].simplified;
        assert!(text.contains("专精特新“小巨人”") || text.contains("专精特新小巨人"), "{text}");
    }
    // The caller's filter is applied to every match.
    let doc4 = f.docs[4].id.clone();
    let only4 = ranked(&f.index, "产业链", &|c| f.chunk_doc[&c] == doc4);
    assert!(!only4.is_empty());
    assert!(only4.iter().all(|id| f.paragraphs[(*id - 1) as usize].doc == doc4));
    // Deterministic.
    assert_eq!(ranked(&f.index, "产业链 供应链 韧性", &|_| true), ranked(&f.index, "产业链 供应链 韧性", &|_| true));
}

#[test]
fn highlights_fall_on_the_terms_in_paragraph_offsets() {
    let f = fixture();
    let q = f.index.parse_query("專精特新 小巨人").unwrap();
    let docs = seeds();
    let p = docs[4].paragraphs.iter().find(|p| p.simplified.contains("1.2万家")).unwrap();
    // Simplification keeps character offsets, so spans on the simplified text fit `text`.
    assert_eq!(p.text.chars().count(), p.simplified.chars().count());
    let chars: Vec<char> = p.text.chars().collect();
    let spans = f.index.highlight(&q, &p.simplified);
    let words: BTreeSet<String> = spans.iter().map(|s| chars[s.start as usize..s.end as usize].iter().collect()).collect();
    assert_eq!(words, ["專精特新", "小巨人"].iter().map(|s| s.to_string()).collect());
}

#[test]
fn lifecycle_commit_delete_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyword");
    let docs = seeds();
    let stored: BTreeMap<String, u64> =
        docs.iter().map(|d| (d.id.clone(), d.paragraphs.iter().map(|p| p.chunks.len() as u64).sum())).collect();
    {
        let index = KeywordIndex::open(&path, shared_segmenter()).unwrap();
        add_all(&index, &docs);
        // Staged, not committed: invisible.
        assert_eq!(index.chunk_count(), 0);
        assert!(index.documents().unwrap().is_empty());
        index.commit().unwrap();
        assert_eq!(index.documents().unwrap(), stored);
        assert_eq!(index.chunk_count(), stored.values().sum::<u64>());
        let q = index.parse_query("缺基少核").unwrap();
        assert!(!index.search(&q, 10, &|_| true).unwrap().is_empty());
        index.delete_document(&docs[1].id);
        index.commit().unwrap();
        assert!(index.search(&q, 10, &|_| true).unwrap().is_empty(), "deleted document still matches");
        assert!(!index.documents().unwrap().contains_key(&docs[1].id));
        // Re-adding replaces, rollback discards.
        add_all(&index, &docs[..1]);
        index.rollback().unwrap();
        index.commit().unwrap();
        assert_eq!(index.documents().unwrap().len(), 4);
        assert!(index.size_on_disk() > 0);
    }
    let reopened = KeywordIndex::open(&path, shared_segmenter()).unwrap();
    assert_eq!(reopened.open_state(), &OpenState::Opened);
    let mut expected = stored.clone();
    expected.remove(&docs[1].id);
    assert_eq!(reopened.documents().unwrap(), expected);
    let plan = plan_reconciliation(&reopened.documents().unwrap(), &stored);
    assert_eq!(plan.add, vec![docs[1].id.clone()]);
    assert!(plan.remove.is_empty());
}

fn assert_reset(path: &Path, segmenter: Arc<Segmenter>, needle: &str) {
    let index = KeywordIndex::open(path, segmenter).unwrap();
    match index.open_state() {
        OpenState::Reset(reason) => assert!(reason.contains(needle), "{reason}"),
        other => panic!("expected a reset, got {other:?}"),
    }
    assert_eq!(index.chunk_count(), 0);
    drop(index);
    // The reset index is valid: it opens cleanly next time.
    assert_eq!(KeywordIndex::open(path, shared_segmenter()).map(|i| i.open_state().clone()).ok(), Some(OpenState::Opened));
}

#[test]
fn other_dictionary_or_damage_resets_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyword");
    let docs = seeds();
    let fill = |segmenter: Arc<Segmenter>| {
        let index = KeywordIndex::open(&path, segmenter).unwrap();
        add_all(&index, &docs[..2]);
        index.commit().unwrap();
    };
    fill(Arc::new(Segmenter::new(Some(("extra", "银发经济\n"))).unwrap()));
    assert_reset(&path, shared_segmenter(), "analysis rules");
    fill(shared_segmenter());
    std::fs::write(path.join("meta.json"), b"{ not json").unwrap();
    assert_reset(&path, shared_segmenter(), "cannot open");
    fill(shared_segmenter());
    for entry in std::fs::read_dir(&path).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".idx") || name.ends_with(".term") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    assert_reset(&path, shared_segmenter(), "segments");
}
