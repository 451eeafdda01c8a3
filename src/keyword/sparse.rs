//! BM25 as sparse vectors, for backends that score keywords themselves (Qdrant's sparse vectors
//! with the IDF modifier) instead of keeping a local tantivy index.
//!
//! BM25 scores a chunk `d` for query terms `t` as `Σ idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl))`.
//! The term-frequency part depends only on the chunk, so it is computed at write time and
//! stored as the value of dimension [`term_id`]`(t)`; the query vector has weight 1 on each of
//! its terms; the backend multiplies by `idf(t) = ln(1 + (N − n + 0.5)/(n + 0.5))` (Qdrant's
//! `Modifier::Idf` uses this formula, as tantivy does) and sums. Tokens come from the same
//! [`JiebaTokenizer`] as the local index (words and their sub-words), so both backends score
//! the same terms. Two differences remain: `avgdl` is the fixed [`AVG_CHUNK_TERMS`] instead of
//! the live corpus average, and multi-word query pieces get no extra phrase score.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::analyzer::{JiebaTokenizer, WordToken};
use super::query::{KeywordQuery, Phrase};

/// BM25 `k1` (tantivy's value).
pub const K1: f32 = 1.2;
/// BM25 `b` (tantivy's value).
pub const B: f32 = 0.75;
/// Average terms per chunk assumed by the length normalisation: the mean over the seed corpus
/// (tokens per chunk, sub-words included), measured by the test `seed_average_chunk_length`.
pub const AVG_CHUNK_TERMS: f32 = 38.0;

/// A sparse vector: strictly increasing dimensions and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVector {
    /// Dimensions ([`term_id`] of each term), strictly increasing.
    pub indices: Vec<u32>,
    /// Value of each dimension.
    pub values: Vec<f32>,
}

impl SparseVector {
    fn from_map(map: BTreeMap<u32, f32>) -> Self {
        let (indices, values) = map.into_iter().unzip();
        SparseVector { indices, values }
    }

    /// True when no dimension is set.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// The dimension of a term: 32-bit FNV-1a of its UTF-8 bytes. Stable across versions and
/// machines (it is stored); distinct terms rarely collide (and a collision only merges two
/// terms' statistics).
pub fn term_id(term: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in term.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// BM25 term-frequency weight of a term seen `tf` times in a chunk of `len` terms.
pub fn tf_weight(tf: f32, len: f32) -> f32 {
    tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / AVG_CHUNK_TERMS))
}

/// The stored vector of a chunk's analysed tokens.
pub fn chunk_vector(tokens: &[WordToken]) -> SparseVector {
    let mut tf: HashMap<u32, f32> = HashMap::new();
    for t in tokens {
        *tf.entry(term_id(&t.term)).or_default() += 1.0;
    }
    let len = tokens.len() as f32;
    SparseVector::from_map(tf.into_iter().map(|(id, n)| (id, tf_weight(n, len))).collect())
}

/// The distinct terms of a chunk's tokens, sorted (stored for required-phrase filters).
pub fn chunk_terms(tokens: &[WordToken]) -> Vec<String> {
    let set: HashSet<&str> = tokens.iter().map(|t| t.term.as_str()).collect();
    let mut terms: Vec<String> = set.into_iter().map(str::to_string).collect();
    terms.sort_unstable();
    terms
}

/// The query vector: weight 1 on every scored term and every term of a required phrase
/// (matching how the local index scores a phrase's terms).
pub fn query_vector(query: &KeywordQuery) -> SparseVector {
    let mut map = BTreeMap::new();
    for t in query.terms() {
        map.insert(term_id(t), 1.0);
    }
    for phrase in query.required_phrases() {
        for (_, t) in phrase {
            map.insert(term_id(t), 1.0);
        }
    }
    SparseVector::from_map(map)
}

/// True when `tokens` hold `phrase`: its terms at their offsets from one start position.
pub fn contains_phrase(tokens: &[WordToken], phrase: &Phrase) -> bool {
    let mut at: HashMap<usize, HashSet<&str>> = HashMap::new();
    for t in tokens {
        at.entry(t.position).or_default().insert(t.term.as_str());
    }
    let Some((first_offset, first_term)) = phrase.first() else { return true };
    tokens.iter().filter(|t| t.term == *first_term && t.position >= *first_offset).any(|t| {
        let start = t.position - first_offset;
        phrase.iter().all(|(o, term)| at.get(&(start + o)).is_some_and(|s| s.contains(term.as_str())))
    })
}

/// True when the chunk text holds every required phrase of `query` (as the local index's
/// phrase queries decide it).
pub fn has_required_phrases(tokenizer: &mut JiebaTokenizer, query: &KeywordQuery, chunk_text: &str) -> bool {
    if query.required_phrases().is_empty() {
        return true;
    }
    let tokens = tokenizer.analyze(chunk_text);
    query.required_phrases().iter().all(|p| contains_phrase(&tokens, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyword::dictionary::shared_segmenter;

    fn tk() -> JiebaTokenizer {
        JiebaTokenizer::new(shared_segmenter())
    }

    #[test]
    fn term_ids_are_stable() {
        // Stored in collections: these values must never change.
        assert_eq!(term_id(""), 0x811c_9dc5);
        assert_eq!(term_id("a"), 0xe40c_292c);
        assert_ne!(term_id("专精特新"), term_id("新质生产力"));
    }

    #[test]
    fn chunk_vectors_saturate_and_normalise_length() {
        let mut t = tk();
        let v = chunk_vector(&t.analyze("融合 融合 融合 创新"));
        assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
        let value = |term: &str| v.indices.iter().position(|&i| i == term_id(term)).map(|p| v.values[p]).unwrap();
        assert!(value("融合") > value("创新"));
        assert!(value("融合") < 3.0 * value("创新"), "term frequency saturates");
        // The same term weighs less in a longer chunk.
        assert!(tf_weight(1.0, 400.0) < tf_weight(1.0, 40.0));
        assert!(chunk_vector(&[]).is_empty());
    }

    #[test]
    fn query_vectors_cover_terms_and_phrases() {
        let q = KeywordQuery::parse("专精特新 \"两业融合\"", &mut tk()).unwrap();
        let v = query_vector(&q);
        assert!(v.indices.contains(&term_id("专精特新")) && v.indices.contains(&term_id("两业融合")));
        assert!(v.values.iter().all(|&x| x == 1.0));
    }

    #[test]
    fn required_phrases_are_checked_by_position() {
        let mut t = tk();
        let q = KeywordQuery::parse("\"小巨人 企业\"", &mut t).unwrap();
        assert!(has_required_phrases(&mut t, &q, "培育专精特新小巨人企业"));
        assert!(!has_required_phrases(&mut t, &q, "企业成长为小巨人"));
        let plain = KeywordQuery::parse("企业", &mut t).unwrap();
        assert!(has_required_phrases(&mut t, &plain, "无关"));
    }

    #[test]
    fn seed_average_chunk_length() {
        // AVG_CHUNK_TERMS stays within 25% of the seed corpus mean.
        let mut t = tk();
        let mut lens = Vec::new();
        for (name, raw) in crate::engine::SEED_DOCUMENTS {
            let cfg = crate::corpus::SegmentConfig::default();
            let doc = crate::corpus::prepare_document(raw, name, &Default::default(), &cfg).unwrap();
            for p in &doc.paragraphs {
                for c in &p.chunks {
                    lens.push(t.analyze(&c.text).len() as f32);
                }
            }
        }
        let mean = lens.iter().sum::<f32>() / lens.len() as f32;
        eprintln!("seed chunks: {}, mean terms {mean:.1}", lens.len());
        assert!((mean / AVG_CHUNK_TERMS - 1.0).abs() < 0.25, "mean {mean}");
    }
}
