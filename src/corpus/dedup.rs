//! Exact and near-exact duplicate detection for paragraphs.

use std::collections::{HashMap, HashSet};

use super::script::to_simplified;

/// Normalised comparison key: simplified, lowercase, letters and digits only.
pub(crate) fn normal_form(text: &str) -> String {
    to_simplified(text).chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Character trigram set of a normalised string (whole string when shorter than 3).
fn shingles(norm: &str) -> HashSet<String> {
    let chars: Vec<char> = norm.chars().collect();
    if chars.len() < 3 {
        return std::iter::once(norm.to_string()).collect();
    }
    chars.windows(3).map(|w| w.iter().collect()).collect()
}

/// Jaccard similarity of two shingle sets.
fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// Remembers stored paragraphs and finds earlier (near-)duplicates.
#[derive(Default)]
pub(crate) struct DupIndex {
    exact: HashMap<String, u32>,
    stored: Vec<(u32, usize, HashSet<String>)>,
}

/// Minimum trigram Jaccard similarity for two paragraphs to count as the same.
pub(crate) const NEAR_DUP_JACCARD: f64 = 0.9;

impl DupIndex {
    /// Position of an earlier paragraph equal or nearly equal to `text`, if any.
    pub(crate) fn find(&self, text: &str) -> Option<u32> {
        let norm = normal_form(text);
        if let Some(&p) = self.exact.get(&norm) {
            return Some(p);
        }
        let len = norm.chars().count();
        if len < 10 {
            return None;
        }
        let sh = shingles(&norm);
        self.stored
            .iter()
            .filter(|(_, l, _)| (*l as f64) >= len as f64 * 0.8 && (*l as f64) <= len as f64 * 1.25)
            .find(|(_, _, other)| jaccard(&sh, other) >= NEAR_DUP_JACCARD)
            .map(|(p, _, _)| *p)
    }

    /// Records `text` as stored paragraph `position`.
    pub(crate) fn insert(&mut self, text: &str, position: u32) {
        let norm = normal_form(text);
        let len = norm.chars().count();
        self.stored.push((position, len, shingles(&norm)));
        self.exact.entry(norm).or_insert(position);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_after_normalisation() {
        let mut idx = DupIndex::default();
        idx.insert("國資央企發揮資金、技術等多方面優勢。", 0);
        assert_eq!(idx.find("国资央企发挥资金 技术等多方面优势"), Some(0));
        assert_eq!(idx.find("完全不同的一段文字內容在這裡。"), None);
    }

    #[test]
    fn near_duplicates() {
        let base =
            "我國工業發展雖然取得長足進步,但總體上講,仍處在由大變強、爬坡過坎的重要關口,關鍵核心技術、產業基礎能力等方面還存在突出短板。";
        let mut idx = DupIndex::default();
        idx.insert(base, 3);
        let variant = base.replace("長足", "長");
        assert_eq!(idx.find(&variant), Some(3));
        let different = "中央企業著力提升產業鏈韌性和安全水平,為現代化產業體系建設提供重要支撐,帶動超過5700家經營主體協同發展。";
        assert_eq!(idx.find(different), None);
    }
}
