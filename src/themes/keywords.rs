//! Keyword extraction: jieba segmentation + class-based TF-IDF (c-TF-IDF).
//!
//! For a class `c` (theme, or theme-in-a-year) and word `t`:
//! `w(t,c) = tf(t,c) / |c| · ln(1 + A / f(t))`, where `tf` is the count of `t` in the
//! class text, `|c|` the class token count, `f(t)` the count of `t` over all themes and
//! `A` the average token count per theme. Words are dropped when they are stop words
//! ([`super::stopwords`]), single characters, numbers or punctuation, when their
//! distribution over themes is near-uniform (normalised entropy ≥
//! [`UNIFORM_ENTROPY`] while present in ≥ 2/3 of the themes), or when they reach the
//! top keywords of more than half of the themes (policy boiler-plate). A word whose
//! string contains (or is contained in) a higher-ranked keyword is skipped for
//! diversity. Every reported keyword therefore occurs in the class text.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use super::stopwords::is_stopword;
use super::Keyword;
use crate::keyword::{shared_segmenter, Segmenter};

/// Normalised-entropy threshold above which a word counts as evenly spread over themes.
pub const UNIFORM_ENTROPY: f64 = 0.9;

/// The shared segmenter (general dictionary plus the policy-term user dictionary and
/// `--user-dict`), the same one the keyword index uses ([`crate::keyword::dictionary`]).
fn segmenter() -> &'static Arc<Segmenter> {
    static S: OnceLock<Arc<Segmenter>> = OnceLock::new();
    S.get_or_init(shared_segmenter)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// True when a (lowercased) token may be used as a keyword.
pub fn is_keyword_token(tok: &str) -> bool {
    let n = tok.chars().count();
    if n < 2 || is_stopword(tok) {
        return false;
    }
    if !tok.chars().all(|c| c.is_alphanumeric() || c == '-') {
        return false;
    }
    let has_cjk = tok.chars().any(is_cjk);
    let has_alpha = tok.chars().any(|c| c.is_ascii_alphabetic());
    let has_digit = tok.chars().any(|c| c.is_numeric());
    if !has_cjk && !has_alpha {
        return false; // pure numbers and other scripts' digits
    }
    if has_digit && has_cjk {
        return false; // "2027年", "14万家"
    }
    if tok.chars().all(|c| "〇零一二三四五六七八九十百千万亿两几第".contains(c)) {
        return false; // Chinese numerals such as "二十", "第三"
    }
    if has_alpha && !has_cjk && tok.chars().filter(|c| c.is_ascii_alphabetic()).count() < 2 && !has_digit {
        return false;
    }
    true
}

/// Segments simplified Chinese / English text into candidate keyword tokens
/// (lowercased, filtered by [`is_keyword_token`]), in text order.
pub fn tokenize(text: &str) -> Vec<String> {
    segmenter().jieba().cut(text, true).into_iter().map(|t| t.trim().to_lowercase()).filter(|t| is_keyword_token(t)).collect()
}

/// Tokenised documents with interned word ids (ids assigned in first-occurrence order).
pub(crate) struct Corpus {
    pub docs: Vec<Vec<u32>>,
    pub words: Vec<String>,
}

impl Corpus {
    /// Tokenises all texts (in parallel; interning is sequential and deterministic).
    pub fn new(texts: &[&str]) -> Corpus {
        let toks: Vec<Vec<String>> = texts.par_iter().map(|t| tokenize(t)).collect();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut words = Vec::new();
        let docs = toks
            .into_iter()
            .map(|doc| {
                doc.into_iter()
                    .map(|w| {
                        *ids.entry(w).or_insert_with_key(|k| {
                            words.push(k.clone());
                            (words.len() - 1) as u32
                        })
                    })
                    .collect()
            })
            .collect();
        Corpus { docs, words }
    }

    /// Word counts of a set of documents, as a dense vector over the vocabulary.
    pub fn counts(&self, docs: &[usize]) -> Vec<u32> {
        let mut c = vec![0u32; self.words.len()];
        for &d in docs {
            for &w in &self.docs[d] {
                c[w as usize] += 1;
            }
        }
        c
    }
}

/// Fitted c-TF-IDF model over the themes of one clustering.
pub(crate) struct KeywordModel {
    idf: Vec<f64>,
    banned: Vec<bool>,
}

impl KeywordModel {
    /// Fits IDF weights and the boiler-plate filter on the themes' word counts.
    pub fn fit(corpus: &Corpus, class_counts: &[Vec<u32>], top_k: usize) -> KeywordModel {
        let v = corpus.words.len();
        let k = class_counts.len();
        let mut f = vec![0f64; v];
        let mut totals = vec![0f64; k];
        for (ci, cc) in class_counts.iter().enumerate() {
            for (w, &c) in cc.iter().enumerate() {
                f[w] += c as f64;
                totals[ci] += c as f64;
            }
        }
        let avg = totals.iter().sum::<f64>() / k.max(1) as f64;
        let idf: Vec<f64> = f.iter().map(|&ft| if ft > 0.0 { (1.0 + avg / ft).ln() } else { 0.0 }).collect();
        let mut banned = vec![false; v];
        if k >= 3 {
            for (w, b) in banned.iter_mut().enumerate() {
                let rel: Vec<f64> = (0..k).map(|c| if totals[c] > 0.0 { class_counts[c][w] as f64 / totals[c] } else { 0.0 }).collect();
                let present = rel.iter().filter(|&&x| x > 0.0).count();
                let s: f64 = rel.iter().sum();
                if s <= 0.0 || present * 3 < k * 2 {
                    continue;
                }
                let h: f64 = rel.iter().filter(|&&x| x > 0.0).map(|&x| -(x / s) * (x / s).ln()).sum();
                if h / (k as f64).ln() >= UNIFORM_ENTROPY {
                    *b = true;
                }
            }
        }
        let mut model = KeywordModel { idf, banned };
        if k >= 4 {
            let mut hits = vec![0usize; v];
            for cc in class_counts {
                for kw in model.ranked(cc, top_k.max(5)) {
                    hits[kw.0] += 1;
                }
            }
            for (w, &h) in hits.iter().enumerate() {
                if h * 2 > k {
                    model.banned[w] = true;
                }
            }
        }
        model
    }

    /// Bans every word flagged in `words` (same indexing as the corpus vocabulary).
    pub fn ban(&mut self, words: &[bool]) {
        for (b, &w) in self.banned.iter_mut().zip(words) {
            *b |= w;
        }
    }

    fn ranked(&self, counts: &[u32], top: usize) -> Vec<(usize, f64)> {
        let total: f64 = counts.iter().map(|&c| c as f64).sum();
        if total <= 0.0 || top == 0 {
            return Vec::new();
        }
        let mut scored: Vec<(usize, f64)> = counts
            .iter()
            .enumerate()
            .filter(|&(w, &c)| c > 0 && !self.banned[w])
            .map(|(w, &c)| (w, c as f64 / total * self.idf[w]))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(top);
        scored
    }

    /// Top `top` keywords of a class given its word counts (diversity-filtered).
    pub fn keywords(&self, corpus: &Corpus, counts: &[u32], top: usize) -> Vec<Keyword> {
        let mut out: Vec<Keyword> = Vec::with_capacity(top);
        for (w, s) in self.ranked(counts, usize::MAX) {
            if out.len() >= top {
                break;
            }
            let word = &corpus.words[w];
            if out.iter().any(|k| k.word.contains(word.as_str()) || word.contains(k.word.as_str())) {
                continue;
            }
            out.push(Keyword { word: word.clone(), weight: s as f32 });
        }
        out
    }
}

/// Least number of dated groups (years) before words common across them are dropped from
/// labels: with fewer, "common to most years" says nothing.
pub const COMMON_MIN_GROUPS: usize = 8;
/// A word found in at least this share of the groups (years) is common to the whole corpus
/// and never labels a theme.
pub const COMMON_SHARE: f64 = 0.5;

/// Flags the words of `corpus` that occur in at least [`COMMON_SHARE`] of `groups` (each a
/// list of document indices, e.g. the paragraphs of one year); nothing is flagged when
/// there are fewer than [`COMMON_MIN_GROUPS`] groups.
pub(crate) fn common_words(corpus: &Corpus, groups: &[Vec<usize>]) -> Vec<bool> {
    let v = corpus.words.len();
    if groups.len() < COMMON_MIN_GROUPS {
        return vec![false; v];
    }
    let mut df = vec![0usize; v];
    let mut seen = vec![usize::MAX; v];
    for (g, docs) in groups.iter().enumerate() {
        for &doc in docs {
            for &w in &corpus.docs[doc] {
                if seen[w as usize] != g {
                    seen[w as usize] = g;
                    df[w as usize] += 1;
                }
            }
        }
    }
    let min = (COMMON_SHARE * groups.len() as f64).ceil() as usize;
    df.into_iter().map(|c| c >= min).collect()
}

/// Joins the first three keywords with " / " (empty string when there are none).
pub fn label_of(keywords: &[Keyword]) -> String {
    keywords.iter().take(3).map(|k| k.word.as_str()).collect::<Vec<_>>().join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_filters_noise() {
        let t = tokenize("要加快推进制造业数字化转型，2027年建成200个数字园区。AI and 5G robots!");
        assert!(t.iter().all(|w| w.chars().count() >= 2));
        assert!(!t.iter().any(|w| w == "加快" || w == "推进" || w == "2027" || w == "and"));
        assert!(t.iter().any(|w| w.contains("数字")));
        assert!(t.iter().any(|w| w == "robots"));
        assert!(t.iter().any(|w| w == "5g"));
        // Policy terms of the user dictionary stay whole in labels.
        let policy = tokenize("培育专精特新“小巨人”企业，推动两业融合和数实融合");
        for term in ["专精特新", "小巨人", "两业融合", "数实融合"] {
            assert!(policy.iter().any(|w| w == term), "{term}: {policy:?}");
        }
        assert!(!is_keyword_token("二十") && !is_keyword_token("x") && !is_keyword_token("，。"));
    }

    #[test]
    fn ctfidf_prefers_specific_words() {
        let texts = [
            "绿色低碳 节能降碳 绿色工厂 数据",
            "绿色低碳 碳足迹 绿色工厂 数据",
            "专精特新 中小企业 小巨人 数据",
            "专精特新 服务体系 小巨人 数据",
            "人形机器人 元宇宙 量子信息 数据",
            "人形机器人 未来产业 脑机接口 数据",
        ];
        let corpus = Corpus::new(&texts);
        let classes = [vec![0usize, 1], vec![2, 3], vec![4, 5]];
        let cc: Vec<Vec<u32>> = classes.iter().map(|c| corpus.counts(c)).collect();
        let model = KeywordModel::fit(&corpus, &cc, 10);
        for (ci, c) in classes.iter().enumerate() {
            let kws = model.keywords(&corpus, &cc[ci], 5);
            assert!(!kws.is_empty());
            // uniform word "数据" must be filtered out
            assert!(kws.iter().all(|k| k.word != "数据"), "{kws:?}");
            for k in &kws {
                assert!(c.iter().any(|&d| texts[d].contains(&k.word)));
            }
        }
    }
}
