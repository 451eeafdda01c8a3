//! Era-bound terms: the names of policies and programmes, found by how they rise and fade.
//!
//! A policy of a multi-decade corpus is a *name* that belongs to its era (人民公社, 一带一路,
//! "workfare", "wage credit"): its mentions gather in a stretch of years and are about one
//! thing. A report paragraph names several policies in passing, so clustering whole
//! paragraph (or chunk) vectors scatters a policy's mentions over many themes; the names
//! themselves do not scatter. A term (a word, or two consecutive words) is era-bound when:
//!
//! 1. it occurs in at least [`EraParams::min_units`] units and [`EraParams::min_years`]
//!    distinct years;
//! 2. the shortest run of the corpus' years holding [`ERA_MASS`] of its mentions covers at
//!    most [`EraParams::max_era_share`] of the corpus' years, and the term's rate inside that
//!    run is at least [`EraParams::min_lift`] times its rate outside (it appears, grows and
//!    fades instead of running through the corpus);
//! 3. its units are about one thing: their mean pairwise cosine, after the corpus mean is
//!    removed, exceeds by at least [`EraParams::min_coherence`] the mean cosine of the same
//!    units to the other units of their years. Units of one speech or decade are alike
//!    anyway; this rules out words whose use merely drifts with the years ("per cent",
//!    "Singaporeans", procedural phrases).
//!
//! Words common to most years are candidates too: "GST" is named in half the Singapore
//! budgets, yet it is a policy with a start.
//!
//! Terms are taken by number of units, longest first on ties; a term whose units are nearly
//! those of a term already taken (Jaccard ≥ [`ALIAS_OVERLAP`]) joins it as an alias (脱贫攻坚 and
//! 脱贫 攻坚, "wage credit" and "credit scheme"). Everything is counted, nothing is sampled:
//! the same units give the same terms.

use std::collections::{BTreeMap, HashMap};

use super::keywords::Corpus;
use super::vecmath::dot;

/// Share of a term's mentions its era must hold.
pub const ERA_MASS: f64 = 0.8;
/// A term whose units have this Jaccard index with those of a term already taken is its alias.
pub const ALIAS_OVERLAP: f64 = 0.5;
/// A term with this share of its units among those of a larger term already taken is a
/// part of it (its alias): "gst increase" of "gst", "workfare income" of "workfare".
pub const CONTAINED: f64 = 0.7;
/// Least number of distinct corpus years before eras mean anything (fewer: no era terms).
pub const MIN_CORPUS_YEARS: usize = 8;

/// Thresholds of [`era_terms`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EraParams {
    /// Least number of units naming the term (default 6).
    pub min_units: usize,
    /// Least number of distinct years naming the term (default 2).
    pub min_years: usize,
    /// Most share of the corpus' years the era may cover (default 0.5).
    pub max_era_share: f64,
    /// Least ratio of the term's rate inside its era to its rate outside (default 8).
    pub min_lift: f64,
    /// Least coherence of the term's units (default 0.12): their mean pairwise cosine, corpus
    /// mean removed, above that of units of the same years.
    pub min_coherence: f32,
    /// Most era terms kept, most units first (default 1,000).
    pub max_terms: usize,
}

impl Default for EraParams {
    /// Chosen on the Singapore budget speeches (every third year, 1960–2023) and reported on
    /// the Chinese government work reports, which were not tuned on.
    fn default() -> Self {
        EraParams { min_units: 6, min_years: 2, max_era_share: 0.5, min_lift: 8.0, min_coherence: 0.12, max_terms: 1000 }
    }
}

/// One era-bound term with its aliases and the units that name any of them.
#[derive(Debug, Clone, PartialEq)]
pub struct EraTerm {
    /// The term first, then its aliases in the order they joined.
    pub terms: Vec<String>,
    /// Indices of the units naming any of `terms`, ascending.
    pub members: Vec<usize>,
    /// First and last year of the era (the shortest run of corpus years holding
    /// [`ERA_MASS`] of the defining term's mentions).
    pub era: (i32, i32),
    /// Year where the term's units are the largest share of that year's units.
    pub peak: i32,
    /// Mean pairwise cosine of the defining term's units (corpus mean removed) above the mean
    /// cosine of those units to the other units of their years.
    pub coherence: f32,
}

/// Era-bound terms of `units` (tokenised in `corpus`, one document per unit; `years[i]` the
/// year of unit `i`; `centred` the unit vectors with the corpus mean removed, row-major of
/// width `d`). Most units first.
pub(crate) fn era_terms(corpus: &Corpus, years: &[Option<i32>], centred: &[f32], d: usize, params: &EraParams) -> Vec<EraTerm> {
    let per_year = units_per_year(years);
    if per_year.len() < MIN_CORPUS_YEARS {
        return Vec::new();
    }
    let mut candidates: Vec<(String, Vec<usize>)> = term_units(corpus)
        .into_iter()
        .filter(|(_, u)| u.len() >= params.min_units)
        .map(|(words, u)| (join_words(corpus, &words), u))
        .collect();
    candidates.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(b.0.chars().count().cmp(&a.0.chars().count())).then(a.0.cmp(&b.0)));
    let mut taken: Vec<EraTerm> = Vec::new();
    // the units of each taken term's defining term: aliases are matched against these, so a
    // term's members never snowball through a chain of aliases
    let mut defining: Vec<Vec<usize>> = Vec::new();
    let year_sums = year_sums(years, centred, d);
    for (term, units) in candidates {
        let Some((era, peak)) = era_of(&units, years, &per_year, params) else { continue };
        let coherence = mean_pairwise_cosine(&units, centred, d) - same_year_baseline(&units, years, centred, d, &year_sums, &per_year);
        if coherence < params.min_coherence {
            continue;
        }
        let alias =
            defining.iter().position(|own| jaccard(&units, own) >= ALIAS_OVERLAP || overlap(&units, own) >= CONTAINED * units.len() as f64);
        if let Some(i) = alias {
            let t = &mut taken[i];
            t.terms.push(term);
            t.members = union(&t.members, &units);
            continue;
        }
        if taken.len() < params.max_terms {
            defining.push(units.clone());
            taken.push(EraTerm { terms: vec![term], members: units, era, peak, coherence });
        }
    }
    // aliases add units: most units first again (a stable sort keeps ties in candidate order)
    taken.sort_by_key(|t| std::cmp::Reverse(t.members.len()));
    taken
}

/// Units per year, by year.
fn units_per_year(years: &[Option<i32>]) -> BTreeMap<i32, usize> {
    let mut m = BTreeMap::new();
    for y in years.iter().flatten() {
        *m.entry(*y).or_insert(0) += 1;
    }
    m
}

/// Every word and every pair of consecutive words (of one unit), with the units naming it.
fn term_units(corpus: &Corpus) -> HashMap<Vec<u32>, Vec<usize>> {
    let mut out: HashMap<Vec<u32>, Vec<usize>> = HashMap::new();
    for (i, doc) in corpus.docs.iter().enumerate() {
        let mut push = |key: Vec<u32>| {
            let v = out.entry(key).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        };
        for (j, &w) in doc.iter().enumerate() {
            push(vec![w]);
            if let Some(&next) = doc.get(j + 1) {
                if next != w {
                    push(vec![w, next]);
                }
            }
        }
    }
    for v in out.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    out
}

/// The words joined as they read: no space between Chinese words, one between others.
fn join_words(corpus: &Corpus, words: &[u32]) -> String {
    let mut s = String::new();
    for &w in words {
        let word = &corpus.words[w as usize];
        let ascii_join =
            s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric()) && word.starts_with(|c: char| c.is_ascii_alphanumeric());
        if ascii_join {
            s.push(' ');
        }
        s.push_str(word);
    }
    s
}

/// The era and peak year of a term naming `units`, or `None` when it is not era-bound.
fn era_of(units: &[usize], years: &[Option<i32>], per_year: &BTreeMap<i32, usize>, params: &EraParams) -> Option<((i32, i32), i32)> {
    let mut count: BTreeMap<i32, usize> = BTreeMap::new();
    for &u in units {
        if let Some(y) = years[u] {
            *count.entry(y).or_insert(0) += 1;
        }
    }
    if count.len() < params.min_years {
        return None;
    }
    let all: Vec<i32> = per_year.keys().copied().collect();
    let dated: usize = count.values().sum();
    let need = (ERA_MASS * dated as f64).ceil() as usize;
    let hits: Vec<usize> = all.iter().map(|y| count.get(y).copied().unwrap_or(0)).collect();
    // the shortest run of corpus years holding `need` mentions (earliest on ties)
    let mut best: Option<(usize, usize)> = None;
    let (mut lo, mut sum) = (0, 0);
    for hi in 0..all.len() {
        sum += hits[hi];
        while sum - hits[lo] >= need && lo < hi {
            sum -= hits[lo];
            lo += 1;
        }
        if sum >= need && best.is_none_or(|(a, b)| hi - lo < b - a) {
            best = Some((lo, hi));
        }
    }
    let (a, b) = best?;
    if (b - a + 1) as f64 > params.max_era_share * all.len() as f64 {
        return None;
    }
    let inside_units: usize = all[a..=b].iter().map(|y| per_year[y]).sum();
    let total_units: usize = per_year.values().sum();
    let inside: usize = hits[a..=b].iter().sum();
    let outside = dated - inside;
    let rate_in = inside as f64 / inside_units.max(1) as f64;
    let rate_out = (outside as f64 + 0.5) / (total_units - inside_units).max(1) as f64;
    if rate_in < params.min_lift * rate_out {
        return None;
    }
    let peak = count
        .iter()
        .map(|(&y, &c)| (y, c as f64 / per_year[&y] as f64))
        .fold(None, |best: Option<(i32, f64)>, (y, s)| if best.is_none_or(|(_, b)| s > b) { Some((y, s)) } else { best })
        .map(|(y, _)| y)?;
    Some(((all[a], all[b]), peak))
}

/// Sum of the centred rows of each year's units.
fn year_sums(years: &[Option<i32>], centred: &[f32], d: usize) -> BTreeMap<i32, Vec<f32>> {
    let mut sums: BTreeMap<i32, Vec<f32>> = BTreeMap::new();
    for (i, y) in years.iter().enumerate() {
        if let Some(y) = y {
            let s = sums.entry(*y).or_insert_with(|| vec![0f32; d]);
            for (a, x) in s.iter_mut().zip(&centred[i * d..(i + 1) * d]) {
                *a += x;
            }
        }
    }
    sums
}

/// Mean cosine of each of `units` to the other units of its year: how alike the units of
/// those years are anyway (a speech's style, an era's vocabulary), whatever they name.
fn same_year_baseline(
    units: &[usize],
    years: &[Option<i32>],
    centred: &[f32],
    d: usize,
    sums: &BTreeMap<i32, Vec<f32>>,
    per_year: &BTreeMap<i32, usize>,
) -> f32 {
    let (mut total, mut n) = (0f32, 0usize);
    for &u in units {
        let Some(y) = years[u] else { continue };
        let others = per_year[&y].saturating_sub(1);
        if others == 0 {
            continue;
        }
        total += (dot(&centred[u * d..(u + 1) * d], &sums[&y]) - 1.0) / others as f32;
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        total / n as f32
    }
}

/// Mean cosine over distinct pairs of `units` (rows of `centred` are unit vectors).
fn mean_pairwise_cosine(units: &[usize], centred: &[f32], d: usize) -> f32 {
    let n = units.len();
    if n < 2 {
        return 0.0;
    }
    let mut sum = vec![0f32; d];
    for &u in units {
        for (s, x) in sum.iter_mut().zip(&centred[u * d..(u + 1) * d]) {
            *s += x;
        }
    }
    ((dot(&sum, &sum) - n as f32) / (n * (n - 1)) as f32).clamp(-1.0, 1.0)
}

/// Jaccard index of two ascending lists.
fn jaccard(a: &[usize], b: &[usize]) -> f64 {
    let common = overlap(a, b);
    common / ((a.len() + b.len()) as f64 - common).max(1.0)
}

/// Number of elements two ascending lists share.
fn overlap(a: &[usize], b: &[usize]) -> f64 {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n as f64
}

/// Union of two ascending lists, ascending.
fn union(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = a.iter().chain(b).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn years_of(spec: &[(i32, usize)]) -> Vec<Option<i32>> {
        spec.iter().flat_map(|&(y, n)| std::iter::repeat_n(Some(y), n)).collect()
    }

    #[test]
    fn an_era_is_the_shortest_run_holding_most_mentions_and_must_stand_out() {
        // 20 years of 10 units; the term is named by 2 units a year in 2010–2013, once in 2001
        let years = years_of(&(2000..2020).map(|y| (y, 10)).collect::<Vec<_>>());
        let per_year = units_per_year(&years);
        let mut units: Vec<usize> = (10..14).flat_map(|y| [y * 10, y * 10 + 1]).collect();
        units.insert(0, 10);
        let p = EraParams::default();
        let ((from, to), peak) = era_of(&units, &years, &per_year, &p).expect("era-bound");
        assert_eq!((from, to), (2010, 2013));
        assert!((2010..=2013).contains(&peak));
        // named in every year: no era
        let everywhere: Vec<usize> = (0..20).map(|y| y * 10).collect();
        assert!(era_of(&everywhere, &years, &per_year, &p).is_none());
        // one year only: too few years
        assert!(era_of(&[100, 101, 102, 103, 104, 105], &years, &per_year, &p).is_none());
        // named once a year in 2001–2014: its era is 12 of the 20 years, above the share
        let long: Vec<usize> = (1..15).map(|y| y * 10).collect();
        let lenient = EraParams { min_lift: 1.0, ..p.clone() };
        assert!(era_of(&long, &years, &per_year, &lenient).is_none());
        assert!(era_of(&long, &years, &per_year, &EraParams { max_era_share: 0.7, ..lenient }).is_some());
        // ... and, within the share, refused when it hardly stands out from the other years
        assert!(era_of(&long, &years, &per_year, &EraParams { max_era_share: 0.7, ..p.clone() }).is_none());
    }

    #[test]
    fn set_helpers() {
        assert_eq!(overlap(&[1, 2, 3, 5], &[2, 3, 4, 5]), 3.0);
        assert!((jaccard(&[1, 2, 3], &[2, 3, 4]) - 0.5).abs() < 1e-9);
        assert_eq!(union(&[1, 3], &[2, 3]), vec![1, 2, 3]);
        let centred = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        assert!((mean_pairwise_cosine(&[0, 1], &centred, 2) - 1.0).abs() < 1e-6);
        assert!(mean_pairwise_cosine(&[0, 2], &centred, 2).abs() < 1e-6);
    }
}
