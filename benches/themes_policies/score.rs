//! Scoring of a set of themes against era-bound policy terms.

use std::collections::{HashMap, HashSet};

use simtheme::themes::{ThemeInput, ThemesResult};

use super::policies::{Policy, VACUOUS};

/// The clustered paragraphs: year and lowercase simplified text by id, and each year's text.
pub struct Corpus {
    years: HashMap<i64, Option<i32>>,
    texts: HashMap<i64, String>,
    year_texts: Vec<String>,
}

impl Corpus {
    pub fn new(inputs: &[ThemeInput]) -> Corpus {
        let mut by_year: std::collections::BTreeMap<i32, String> = Default::default();
        for i in inputs {
            if let Some(y) = i.year {
                let s = by_year.entry(y).or_default();
                s.push_str(&i.simplified.to_lowercase());
                s.push('\n');
            }
        }
        Corpus {
            years: inputs.iter().map(|i| (i.id, i.year)).collect(),
            texts: inputs.iter().map(|i| (i.id, i.simplified.to_lowercase())).collect(),
            year_texts: by_year.into_values().collect(),
        }
    }

    /// Share of the years whose documents contain `word`.
    fn year_frequency(&self, word: &str) -> f64 {
        let w = word.to_lowercase();
        self.year_texts.iter().filter(|t| t.contains(&w)).count() as f64 / self.year_texts.len().max(1) as f64
    }
}

/// A theme as the scorer sees it.
pub struct Group {
    pub label: Vec<String>,
    pub members: Vec<i64>,
}

/// Themes of a flat result.
pub fn groups_of(r: &ThemesResult) -> Vec<Group> {
    r.themes
        .iter()
        .map(|t| Group { label: t.keywords.iter().take(3).map(|k| k.word.clone()).collect(), members: t.members.clone() })
        .collect()
}

fn percentile(sorted: &[i32], q: f64) -> i32 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

/// Median over groups of the 10th–90th percentile year span of their dated members.
pub fn median_span(corpus: &Corpus, groups: &[Group]) -> f64 {
    let mut spans: Vec<i32> = groups
        .iter()
        .filter_map(|g| {
            let mut ys: Vec<i32> = g.members.iter().filter_map(|m| corpus.years.get(m).copied().flatten()).collect();
            if ys.is_empty() {
                return None;
            }
            ys.sort_unstable();
            Some(percentile(&ys, 0.9) - percentile(&ys, 0.1))
        })
        .collect();
    if spans.is_empty() {
        return f64::NAN;
    }
    spans.sort_unstable();
    let n = spans.len();
    if n % 2 == 1 {
        spans[n / 2] as f64
    } else {
        (spans[n / 2 - 1] + spans[n / 2]) as f64 / 2.0
    }
}

/// (vacuous share, share found in >= 50% of the years) over all groups' label words.
pub fn label_shares(corpus: &Corpus, groups: &[Group]) -> (f64, f64) {
    let vac: HashSet<&str> = VACUOUS.iter().copied().collect();
    let words: Vec<&String> = groups.iter().flat_map(|g| g.label.iter()).collect();
    if words.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let v = words.iter().filter(|w| vac.contains(w.as_str())).count() as f64 / words.len() as f64;
    let c = words.iter().filter(|w| corpus.year_frequency(w) >= 0.5).count() as f64 / words.len() as f64;
    (v, c)
}

/// Per-policy isolation; returns the number isolated. Prints one row per policy when `verbose`.
pub fn isolation(corpus: &Corpus, groups: &[Group], policies: &[Policy], verbose: bool) -> usize {
    let mut isolated = 0;
    for p in policies {
        let hits: HashSet<i64> =
            corpus.texts.iter().filter(|(_, t)| p.terms.iter().any(|term| t.contains(term))).map(|(&id, _)| id).collect();
        if hits.is_empty() {
            if verbose {
                println!("    {:<36} no paragraph mentions it", p.name);
            }
            continue;
        }
        // the group holding most of the hits (first such group on ties)
        let mut best: Option<(usize, usize)> = None;
        for (gi, g) in groups.iter().enumerate() {
            let n = g.members.iter().filter(|m| hits.contains(m)).count();
            if n > 0 && best.is_none_or(|(_, b)| n > b) {
                best = Some((gi, n));
            }
        }
        let Some((gi, n)) = best else {
            if verbose {
                println!("    {:<36} {:>4} paragraphs, none in a theme", p.name, hits.len());
            }
            continue;
        };
        let g = &groups[gi];
        let coverage = n as f64 / hits.len() as f64;
        let in_era = g.members.iter().filter(|m| corpus.years.get(m).copied().flatten().is_some_and(|y| y >= p.from && y <= p.to)).count()
            as f64
            / g.members.len() as f64;
        let ok = coverage >= 0.5 && in_era >= 0.6;
        isolated += ok as usize;
        if verbose {
            println!(
                "    {:<36} {}–{} {:>4} par. | theme of {:>5} [{}] holds {:>3.0}%, {:>3.0}% in era {}",
                p.name,
                p.from,
                p.to,
                hits.len(),
                g.members.len(),
                g.label.join(" / "),
                coverage * 100.0,
                in_era * 100.0,
                if ok { "ISOLATED" } else { "-" }
            );
        }
    }
    isolated
}

/// True when label word `w` names policy term `t`: one contains the other and the word is at
/// least half the term's length (so 脱贫 names 脱贫攻坚, 发展 does not name 科学发展观).
fn names(w: &str, t: &str) -> bool {
    let (wl, tl) = (w.chars().count(), t.chars().count());
    w.contains(t) || (t.contains(w) && 2 * wl >= tl && wl >= 2)
}

/// Policies a reader finds by label (a secondary measure, defined after the isolation runs, so
/// not tuned on): some theme has a label word naming one of the policy's terms, at least 60% of
/// its members in the policy's era, and at least 3 members that mention the policy.
pub fn named(corpus: &Corpus, groups: &[Group], policies: &[Policy]) -> usize {
    policies
        .iter()
        .filter(|p| {
            groups.iter().any(|g| {
                let labelled = g.label.iter().any(|w| p.terms.iter().any(|t| names(w, t)));
                let mentions =
                    g.members.iter().filter(|m| corpus.texts.get(m).is_some_and(|t| p.terms.iter().any(|term| t.contains(term)))).count();
                let in_era =
                    g.members.iter().filter(|m| corpus.years.get(m).copied().flatten().is_some_and(|y| y >= p.from && y <= p.to)).count();
                labelled && mentions >= 3 && 10 * in_era >= 6 * g.members.len()
            })
        })
        .count()
}

/// Prints the summary and per-policy table of one set of groups.
pub fn report(name: &str, corpus: &Corpus, groups: &[Group], outliers: usize, policies: &[Policy], secs: f64) -> usize {
    let largest = groups.iter().map(|g| g.members.len()).max().unwrap_or(0);
    let (vac, common) = label_shares(corpus, groups);
    println!(
        "\n== {name}: {} themes (largest {largest}), {outliers} outliers, {secs:.2} s; median p10–p90 year span {:.1}; label words vacuous {:.1}%, in >= 50% of years {:.1}%",
        groups.len(),
        median_span(corpus, groups),
        vac * 100.0,
        common * 100.0
    );
    let n = isolation(corpus, groups, policies, true);
    println!(
        "  isolated {n}/{}; named by a theme label, >= 60% in era: {}/{}",
        policies.len(),
        named(corpus, groups, policies),
        policies.len()
    );
    n
}

/// Scores a flat themes result.
pub fn score_flat(name: &str, corpus: &Corpus, r: &ThemesResult, policies: &[Policy], secs: f64) -> usize {
    report(name, corpus, &groups_of(r), r.outliers.len(), policies, secs)
}
