//! Finding glossary phrases in a query. Chinese terms are found as substrings of the query in
//! simplified script; English phrases as sequences of normalised words, so case, hyphens,
//! possessives, plurals and British or American spelling do not matter ("Supply side
//! structural reforms" finds "supply-side structural reform"). Overlapping matches are resolved
//! longest first.

use std::collections::HashMap;

use super::Entry;
use crate::corpus::to_simplified;

/// Which language a glossary phrase was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A Chinese term: its English renderings are added.
    Chinese,
    /// An English rendering: its Chinese terms are added.
    English,
}

/// A glossary phrase found in a query and the terms it adds to the keyword side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    /// Index of the entry in the glossary.
    pub entry: usize,
    /// The glossary's form of the phrase that was found.
    pub matched: String,
    /// The language it was found in.
    pub side: Side,
    /// The other language's terms of the entry.
    pub added: Vec<String>,
}

/// One word: lowercase ASCII letters and digits, possessive dropped, plural folded to the
/// singular, British -ise/-isation spelled -ize/-ization.
fn stem(word: &str) -> String {
    let w = word.strip_suffix("'s").or_else(|| word.strip_suffix("’s")).unwrap_or(word);
    let mut w: String = w.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    for (uk, us) in
        [("isation", "ization"), ("isations", "izations"), ("ising", "izing"), ("ised", "ized"), ("ises", "izes"), ("ise", "ize")]
    {
        if w.len() > uk.len() + 2 && w.ends_with(uk) {
            w.truncate(w.len() - uk.len());
            w.push_str(us);
            break;
        }
    }
    if w.len() > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.len() > 4 && (w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") || w.ends_with("shes")) {
        w.truncate(w.len() - 2);
    } else if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.pop();
    }
    w
}

/// The words of English `text`, normalised for matching (see [`stem`]); other scripts and
/// punctuation separate words.
pub fn normalise_english(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .map(stem)
        .filter(|w| !w.is_empty())
        .collect()
}

/// Lookup tables over a glossary's entries.
#[derive(Debug, Clone, Default)]
pub(super) struct Matcher {
    /// (Chinese term, entry), longest terms first.
    zh: Vec<(String, usize)>,
    /// First word → (words, the rendering as written, entry).
    en: HashMap<String, Vec<(Vec<String>, String, usize)>>,
}

impl Matcher {
    pub(super) fn new(entries: &[Entry]) -> Matcher {
        let mut zh: Vec<(String, usize)> = Vec::new();
        let mut en: HashMap<String, Vec<(Vec<String>, String, usize)>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            zh.extend(e.zh.iter().filter(|t| t.chars().count() >= 2).map(|t| (t.clone(), i)));
            for rendering in &e.en {
                let words = normalise_english(rendering);
                if let Some(first) = words.first() {
                    en.entry(first.clone()).or_default().push((words.clone(), rendering.clone(), i));
                }
            }
        }
        zh.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.1.cmp(&b.1)));
        Matcher { zh, en }
    }

    pub(super) fn find(&self, query: &str, entries: &[Entry]) -> Vec<Bridge> {
        // (start, length, entry, matched form, side); lengths in bytes (Chinese) or words (English)
        let mut found: Vec<(usize, usize, usize, String, Side)> = Vec::new();
        let simplified = to_simplified(query);
        let mut taken: Vec<(usize, usize)> = Vec::new();
        for (term, entry) in &self.zh {
            for (start, _) in simplified.match_indices(term.as_str()) {
                let end = start + term.len();
                if taken.iter().all(|&(s, e)| end <= s || start >= e) {
                    taken.push((start, end));
                    found.push((start, term.len(), *entry, term.clone(), Side::Chinese));
                }
            }
        }
        let words = normalise_english(query);
        let mut candidates: Vec<(usize, usize, usize, String)> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            for (phrase, rendering, entry) in self.en.get(w).into_iter().flatten() {
                if words[i..].starts_with(phrase) {
                    candidates.push((i, phrase.len(), *entry, rendering.clone()));
                }
            }
        }
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)).then(a.2.cmp(&b.2)));
        let mut taken: Vec<(usize, usize)> = Vec::new();
        for (start, len, entry, rendering) in candidates {
            let end = start + len;
            if taken.iter().all(|&(s, e)| end <= s || start >= e) {
                taken.push((start, end));
                found.push((start, len, entry, rendering, Side::English));
            }
        }
        found.sort_by_key(|a| (a.4 == Side::English, a.0));
        let mut bridges: Vec<Bridge> = Vec::new();
        for (_, _, entry, matched, side) in found {
            if bridges.iter().any(|b| b.entry == entry) {
                continue;
            }
            let e = &entries[entry];
            let added = match side {
                Side::Chinese => e.en.clone(),
                Side::English => e.zh.clone(),
            };
            bridges.push(Bridge { entry, matched, side, added });
        }
        bridges
    }
}
