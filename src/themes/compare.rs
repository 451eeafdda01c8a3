//! Comparison of themes between two years or two periods (inclusive year ranges such as
//! 2013–2017 against 2018–2024).
//!
//! Design choice: themes come from one clustering of all years together, so a theme
//! present in both years is aligned by construction (the same centroid region).
//! For each such theme we additionally report how far its year-specific centroids
//! drifted ([`YearComparison::centroid_similarity`]) and its year-specific keywords,
//! which shows how the wording of a stable theme changed. This avoids the failure
//! mode of clustering each year separately and matching centroids (splits/merges
//! between years have no one-to-one match).
//!
//! Shares are normalised per period: a theme's members dated in the period divided by all
//! clustered paragraphs dated in the period (outliers included), so periods of different
//! lengths or paragraph counts compare directly.
//!
//! Trend rules (shares of each period's paragraphs):
//! * `Emerging`: share in A < [`PRESENCE_MIN`] and share in B ≥ [`PRESENCE_MIN`];
//! * `Faded`: the reverse;
//! * `Grown`: change ≥ [`GROWTH_ABS`] and change ≥ [`GROWTH_REL`] × share in A;
//! * `Shrunk`: −change ≥ [`GROWTH_ABS`] and −change ≥ [`GROWTH_REL`] × share in A;
//! * `Stable`: otherwise.

use serde::{Deserialize, Serialize};

use super::members::{fit_keywords, member_indices};
use super::period::{validate_pair, Period};
use super::vecmath::{dot, normalize};
use super::{Keyword, ThemeInput, ThemesError, ThemesResult};

/// Minimum share of a year's paragraphs for a theme to count as present (2 %).
pub const PRESENCE_MIN: f32 = 0.02;
/// Minimum absolute change of share (percentage points / 100) for Grown/Shrunk.
pub const GROWTH_ABS: f32 = 0.02;
/// Minimum change relative to the share in year A for Grown/Shrunk.
pub const GROWTH_REL: f32 = 0.25;

/// How a theme changed from year A to year B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trend {
    /// Absent (or < 2 %) in A, present in B.
    Emerging,
    /// Present in A, absent (or < 2 %) in B.
    Faded,
    /// Share increased beyond the thresholds.
    Grown,
    /// Share decreased beyond the thresholds.
    Shrunk,
    /// No significant change.
    Stable,
}

/// Comparison of one theme between two years or periods (A and B).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearComparison {
    /// Theme id.
    pub theme_id: u32,
    /// Theme label.
    pub label: String,
    /// Classified change.
    pub trend: Trend,
    /// Share of A's paragraphs.
    pub share_a: f32,
    /// Share of B's paragraphs.
    pub share_b: f32,
    /// `share_b - share_a`.
    pub change: f32,
    /// Members dated in A.
    pub count_a: u32,
    /// Members dated in B.
    pub count_b: u32,
    /// Distinct years of A with at least one member.
    pub years_a: u32,
    /// Distinct years of B with at least one member.
    pub years_b: u32,
    /// A's member nearest the theme centroid.
    pub representative_a: Option<i64>,
    /// B's member nearest the theme centroid.
    pub representative_b: Option<i64>,
    /// Keywords of A's members only.
    pub keywords_a: Vec<Keyword>,
    /// Keywords of B's members only.
    pub keywords_b: Vec<Keyword>,
    /// Cosine between the centroid of A's members and of B's members
    /// (`None` unless the theme has members in both); low values mean drift.
    pub centroid_similarity: Option<f32>,
}

/// Distinct years among `rows`.
fn distinct_years(rows: &[usize], inputs: &[ThemeInput]) -> u32 {
    let mut y: Vec<i32> = rows.iter().filter_map(|&i| inputs[i].year).collect();
    y.sort_unstable();
    y.dedup();
    y.len() as u32
}

fn classify(a: f32, b: f32) -> Trend {
    let change = b - a;
    if a < PRESENCE_MIN && b >= PRESENCE_MIN {
        Trend::Emerging
    } else if b < PRESENCE_MIN && a >= PRESENCE_MIN {
        Trend::Faded
    } else if change >= GROWTH_ABS && change >= GROWTH_REL * a {
        Trend::Grown
    } else if -change >= GROWTH_ABS && -change >= GROWTH_REL * a {
        Trend::Shrunk
    } else {
        Trend::Stable
    }
}

/// Compares theme shares between `year_a` and `year_b` (see [`compare_periods`]).
pub fn compare_years(result: &ThemesResult, inputs: &[ThemeInput], year_a: i32, year_b: i32) -> Result<Vec<YearComparison>, ThemesError> {
    compare_periods(result, inputs, Period::year(year_a), Period::year(year_b))
}

/// Compares theme shares between periods `a` and `b`.
///
/// Themes with no member in either period are omitted. Output is ordered by
/// |change| descending, then theme id. Errors ([`validate_pair`]) when a period is
/// inverted, the periods are equal or overlap ([`ThemesError::InvalidArgument`]), or a
/// period has no paragraph in `inputs` ([`ThemesError::NoData`], naming the years the
/// inputs span).
pub fn compare_periods(result: &ThemesResult, inputs: &[ThemeInput], a: Period, b: Period) -> Result<Vec<YearComparison>, ThemesError> {
    let (total_a, total_b) = validate_pair(&a, &b, inputs)?;
    let members = member_indices(result, inputs);
    let texts: Vec<&str> = inputs.iter().map(|i| i.simplified.as_str()).collect();
    let top = result.params.keywords_per_theme;
    let (corpus, model, _) = fit_keywords(&texts, &members, top);
    let d = result.themes.first().map_or(0, |t| t.centroid.len());
    let mut out = Vec::new();
    for (theme, mem) in result.themes.iter().zip(&members) {
        let in_a: Vec<usize> = mem.iter().copied().filter(|&i| a.contains(inputs[i].year)).collect();
        let in_b: Vec<usize> = mem.iter().copied().filter(|&i| b.contains(inputs[i].year)).collect();
        if in_a.is_empty() && in_b.is_empty() {
            continue;
        }
        let share_a = in_a.len() as f32 / total_a as f32;
        let share_b = in_b.len() as f32 / total_b as f32;
        let nearest = |rows: &[usize]| -> Option<i64> {
            rows.iter()
                .map(|&i| (dot(&inputs[i].vector, &theme.centroid), inputs[i].id))
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
                .map(|x| x.1)
        };
        let year_centroid = |rows: &[usize]| -> Option<Vec<f32>> {
            let mut c = vec![0f32; d];
            for &i in rows {
                let mut v = inputs[i].vector.clone();
                if v.len() != d || !normalize(&mut v) {
                    continue;
                }
                super::vecmath::add_into(&mut c, &v);
            }
            normalize(&mut c).then_some(c)
        };
        let centroid_similarity = match (year_centroid(&in_a), year_centroid(&in_b)) {
            (Some(a), Some(b)) => Some(dot(&a, &b)),
            _ => None,
        };
        out.push(YearComparison {
            theme_id: theme.id,
            label: theme.label.clone(),
            trend: classify(share_a, share_b),
            share_a,
            share_b,
            change: share_b - share_a,
            count_a: in_a.len() as u32,
            count_b: in_b.len() as u32,
            years_a: distinct_years(&in_a, inputs),
            years_b: distinct_years(&in_b, inputs),
            representative_a: nearest(&in_a),
            representative_b: nearest(&in_b),
            keywords_a: model.keywords(&corpus, &corpus.counts(&in_a), top),
            keywords_b: model.keywords(&corpus, &corpus.counts(&in_b), top),
            centroid_similarity,
        });
    }
    out.sort_by(|a, b| b.change.abs().total_cmp(&a.change.abs()).then(a.theme_id.cmp(&b.theme_id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::testutil::synthetic_inputs;
    use crate::themes::{cluster_themes, ThemeParams};

    #[test]
    fn classify_rules() {
        assert_eq!(classify(0.0, 0.1), Trend::Emerging);
        assert_eq!(classify(0.1, 0.01), Trend::Faded);
        assert_eq!(classify(0.10, 0.20), Trend::Grown);
        assert_eq!(classify(0.40, 0.25), Trend::Shrunk);
        assert_eq!(classify(0.40, 0.43), Trend::Stable);
    }

    #[test]
    fn finds_emerging_theme_in_two_year_set() {
        // topic 3 only in 2024 → must be Emerging; topic 0 much larger in 2024.
        let (mut inputs, truth) = synthetic_inputs(12, 31);
        let mut counter = [0usize; 4];
        for (inp, &t) in inputs.iter_mut().zip(&truth) {
            counter[t] += 1;
            inp.year = match t {
                3 => Some(2024),
                0 => Some(if counter[t] % 4 == 0 { 2023 } else { 2024 }),
                _ => Some(if counter[t] % 2 == 0 { 2023 } else { 2024 }),
            };
        }
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        let cmp = compare_years(&r, &inputs, 2023, 2024).unwrap();
        assert!(cmp.iter().any(|c| c.trend == Trend::Emerging));
        assert!(cmp.iter().any(|c| matches!(c.trend, Trend::Emerging | Trend::Grown)));
        for c in &cmp {
            if c.trend == Trend::Emerging {
                assert!(c.representative_a.is_none() && c.representative_b.is_some());
                assert!(c.keywords_a.is_empty());
            }
        }
        assert!(compare_years(&r, &inputs, 2023, 2023).is_err());
        assert!(matches!(compare_years(&r, &inputs, 2023, 1999), Err(ThemesError::NoData(_))));
    }

    /// 4 topics over 2010–2019: topic 3 only from 2015, topic 2 only until 2014, topic 0
    /// three times as frequent in the later period, topic 1 in both. Period B (2015–2019)
    /// has 1.5 times as many paragraphs as A, so shares must be of each period's count.
    #[test]
    fn compares_periods_with_per_period_shares() {
        let (mut inputs, truth) = synthetic_inputs(30, 41);
        let mut seen = [0usize; 4];
        let mut keep = Vec::new();
        for (inp, &t) in inputs.iter_mut().zip(&truth) {
            let k = seen[t];
            seen[t] += 1;
            let late = match t {
                3 => true,
                2 => false,
                0 => k % 4 != 0,
                _ => k % 3 != 0,
            };
            inp.year = Some(if late { 2015 + (k % 5) as i32 } else { 2010 + (k % 5) as i32 });
            keep.push(t);
        }
        let r = cluster_themes(&inputs, &ThemeParams { target_themes: Some(4), ..ThemeParams::default() }).unwrap();
        let a = Period { from: 2010, to: 2014 };
        let b = Period { from: 2015, to: 2019 };
        let cmp = compare_periods(&r, &inputs, a, b).unwrap();
        let na = inputs.iter().filter(|i| a.contains(i.year)).count() as f32;
        let nb = inputs.iter().filter(|i| b.contains(i.year)).count() as f32;
        let idx = crate::themes::members::index_of(&inputs);
        let topic_of = |id: u32| {
            let t = &r.themes[id as usize];
            let mut c = [0usize; 4];
            for m in &t.members {
                c[keep[idx[m]]] += 1;
            }
            (0..4).max_by_key(|&i| c[i]).unwrap()
        };
        let by_topic = |topic: usize| cmp.iter().find(|c| topic_of(c.theme_id) == topic).unwrap();
        assert_eq!(by_topic(3).trend, Trend::Emerging);
        assert_eq!(by_topic(2).trend, Trend::Faded);
        assert_eq!(by_topic(0).trend, Trend::Grown);
        assert_eq!(by_topic(3).years_a, 0);
        assert_eq!(by_topic(3).years_b, 5);
        for c in &cmp {
            assert!((c.share_a - c.count_a as f32 / na).abs() < 1e-6);
            assert!((c.share_b - c.count_b as f32 / nb).abs() < 1e-6);
        }
        let outside = compare_periods(&r, &inputs, a, Period { from: 2030, to: 2034 }).unwrap_err();
        assert!(outside.to_string().contains("2010–2019"), "{outside}");
        let overlap = compare_periods(&r, &inputs, a, Period { from: 2014, to: 2019 }).unwrap_err();
        assert!(matches!(overlap, ThemesError::InvalidArgument(_)));
    }
}
