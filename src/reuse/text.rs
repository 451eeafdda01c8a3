//! Units of comparison: one unit per Han (or kana, hangul) character, per word of other scripts,
//! and per run of spaces or punctuation. Similarity looks at the content units only (lower-cased;
//! spaces and punctuation ignored); the diff shown to readers keeps every unit, so Chinese is
//! diffed character by character and English word by word.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use similar::{capture_diff_slices, Algorithm, DiffTag};

use crate::corpus::is_cjk_ideograph;

/// True for characters compared one by one (Han, kana, hangul).
fn single_char_unit(c: char) -> bool {
    is_cjk_ideograph(c) || matches!(c as u32, 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Single,
    Word,
    Gap,
}

fn class(c: char) -> Class {
    if single_char_unit(c) {
        Class::Single
    } else if c.is_alphanumeric() {
        Class::Word
    } else {
        Class::Gap
    }
}

/// Splits `text` into units (see the module docs); each is `(slice, is_content)`.
pub fn units(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut current: Option<Class> = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        let boundary = match current {
            None => false,
            Some(prev) => prev != k || k == Class::Single,
        };
        if boundary {
            out.push((&text[start..i], current != Some(Class::Gap)));
            start = i;
        }
        current = Some(k);
    }
    if let Some(k) = current {
        out.push((&text[start..], k != Class::Gap));
    }
    out
}

/// Hashes of the content units of `text`, lower-cased: what similarity is computed on.
pub fn content_keys(text: &str) -> Vec<u64> {
    units(text)
        .into_iter()
        .filter(|(_, content)| *content)
        .map(|(u, _)| {
            let mut h = DefaultHasher::new();
            for c in u.chars().flat_map(char::to_lowercase) {
                c.hash(&mut h);
            }
            h.finish()
        })
        .collect()
}

/// An upper bound of [`ratio`] that costs a sort, not a diff: the common subsequence cannot
/// hold more units than the two sequences have in common as multisets.
pub fn ratio_bound(a: &[u64], b: &[u64]) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut x, mut y) = (a.to_vec(), b.to_vec());
    x.sort_unstable();
    y.sort_unstable();
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (2 * common) as f32 / (a.len() + b.len()) as f32
}

/// Similarity of two unit sequences: 2 × matched units / (units of both), from a longest-common-
/// subsequence diff (1 = same content, 0 = nothing in common).
pub fn ratio(a: &[u64], b: &[u64]) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let ops = capture_diff_slices(Algorithm::Myers, a, b);
    let matched: usize = ops
        .iter()
        .map(|op| match op.as_tag_tuple() {
            (DiffTag::Equal, old, _) => old.len(),
            _ => 0,
        })
        .sum();
    (2 * matched) as f32 / (a.len() + b.len()) as f32
}

/// Hashes of every window of `n` consecutive keys (the whole sequence when shorter), deduplicated.
pub fn shingles(keys: &[u64], n: usize) -> Vec<u64> {
    let mut out: Vec<u64> = if keys.len() < n {
        if keys.is_empty() {
            Vec::new()
        } else {
            vec![mix(keys)]
        }
    } else {
        keys.windows(n).map(mix).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

fn mix(window: &[u64]) -> u64 {
    let mut h = DefaultHasher::new();
    window.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_split_han_by_char_and_words_by_word() {
        let u: Vec<&str> = units("推进GDP增长 3.5%, fast-growing").into_iter().map(|(s, _)| s).collect();
        assert_eq!(u, vec!["推", "进", "GDP", "增", "长", " ", "3", ".", "5", "%, ", "fast", "-", "growing"]);
        assert_eq!(units("").len(), 0);
        let joined: String = units("A b。 c").into_iter().map(|(s, _)| s).collect();
        assert_eq!(joined, "A b。 c");
    }

    #[test]
    fn ratio_ignores_case_space_and_punctuation() {
        assert_eq!(ratio(&content_keys("The Budget, 2019."), &content_keys("the budget 2019")), 1.0);
        let r = ratio(&content_keys("we will raise the GST"), &content_keys("we will not raise the GST"));
        assert!((r - 2.0 * 5.0 / 11.0).abs() < 1e-6, "{r}");
        assert_eq!(ratio(&content_keys("完全不同"), &content_keys("another text")), 0.0);
        let (a, b) = (content_keys("a b c d e f"), content_keys("f e d c b a x"));
        assert!(ratio(&a, &b) < ratio_bound(&a, &b) && (ratio_bound(&a, &b) - 12.0 / 13.0).abs() < 1e-6);
    }

    #[test]
    fn shingles_of_short_sequences() {
        assert_eq!(shingles(&[], 3).len(), 0);
        assert_eq!(shingles(&[1, 2], 3).len(), 1);
        assert_eq!(shingles(&[1, 2, 3, 1, 2, 3], 3).len(), 3);
    }
}
