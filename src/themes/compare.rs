//! Year-to-year comparison of themes.
//!
//! Design choice: themes come from one clustering of all years together, so a theme
//! present in both years is aligned by construction (the same centroid region).
//! For each such theme we additionally report how far its year-specific centroids
//! drifted ([`YearComparison::centroid_similarity`]) and its year-specific keywords,
//! which shows how the wording of a stable theme changed. This avoids the failure
//! mode of clustering each year separately and matching centroids (splits/merges
//! between years have no one-to-one match).
//!
//! Trend rules (shares are of each year's paragraph count, outliers included):
//! * `Emerging`: share in A < [`PRESENCE_MIN`] and share in B ≥ [`PRESENCE_MIN`];
//! * `Faded`: the reverse;
//! * `Grown`: change ≥ [`GROWTH_ABS`] and change ≥ [`GROWTH_REL`] × share in A;
//! * `Shrunk`: −change ≥ [`GROWTH_ABS`] and −change ≥ [`GROWTH_REL`] × share in A;
//! * `Stable`: otherwise.

use serde::{Deserialize, Serialize};

use super::members::{fit_keywords, member_indices};
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

/// Comparison of one theme between two years.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearComparison {
    /// Theme id.
    pub theme_id: u32,
    /// Theme label.
    pub label: String,
    /// Classified change.
    pub trend: Trend,
    /// Share of year A's paragraphs.
    pub share_a: f32,
    /// Share of year B's paragraphs.
    pub share_b: f32,
    /// `share_b - share_a`.
    pub change: f32,
    /// Year-A member nearest the theme centroid.
    pub representative_a: Option<i64>,
    /// Year-B member nearest the theme centroid.
    pub representative_b: Option<i64>,
    /// Keywords of the year-A members only.
    pub keywords_a: Vec<Keyword>,
    /// Keywords of the year-B members only.
    pub keywords_b: Vec<Keyword>,
    /// Cosine between the centroid of the year-A members and of the year-B members
    /// (`None` unless the theme has members in both years); low values mean drift.
    pub centroid_similarity: Option<f32>,
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

/// Compares theme shares between `year_a` and `year_b`.
///
/// Themes with no member in either year are omitted. Output is ordered by
/// |change| descending, then theme id. Errors when the years are equal or a year
/// has no paragraph in `inputs`.
pub fn compare_years(
    result: &ThemesResult,
    inputs: &[ThemeInput],
    year_a: i32,
    year_b: i32,
) -> Result<Vec<YearComparison>, ThemesError> {
    if year_a == year_b {
        return Err(ThemesError::InvalidArgument(
            "year_a and year_b must differ".into(),
        ));
    }
    let total_a = inputs.iter().filter(|i| i.year == Some(year_a)).count();
    let total_b = inputs.iter().filter(|i| i.year == Some(year_b)).count();
    if total_a == 0 || total_b == 0 {
        let y = if total_a == 0 { year_a } else { year_b };
        return Err(ThemesError::NoData(format!("no paragraphs from {y}")));
    }
    let members = member_indices(result, inputs);
    let texts: Vec<&str> = inputs.iter().map(|i| i.simplified.as_str()).collect();
    let top = result.params.keywords_per_theme;
    let (corpus, model, _) = fit_keywords(&texts, &members, top);
    let d = result.themes.first().map_or(0, |t| t.centroid.len());
    let mut out = Vec::new();
    for (theme, mem) in result.themes.iter().zip(&members) {
        let in_a: Vec<usize> = mem
            .iter()
            .copied()
            .filter(|&i| inputs[i].year == Some(year_a))
            .collect();
        let in_b: Vec<usize> = mem
            .iter()
            .copied()
            .filter(|&i| inputs[i].year == Some(year_b))
            .collect();
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
            representative_a: nearest(&in_a),
            representative_b: nearest(&in_b),
            keywords_a: model.keywords(&corpus, &corpus.counts(&in_a), top),
            keywords_b: model.keywords(&corpus, &corpus.counts(&in_b), top),
            centroid_similarity,
        });
    }
    out.sort_by(|a, b| {
        b.change
            .abs()
            .total_cmp(&a.change.abs())
            .then(a.theme_id.cmp(&b.theme_id))
    });
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
        assert!(cmp
            .iter()
            .any(|c| matches!(c.trend, Trend::Emerging | Trend::Grown)));
        for c in &cmp {
            if c.trend == Trend::Emerging {
                assert!(c.representative_a.is_none() && c.representative_b.is_some());
                assert!(c.keywords_a.is_empty());
            }
        }
        assert!(compare_years(&r, &inputs, 2023, 2023).is_err());
        assert!(compare_years(&r, &inputs, 2023, 1999).is_err());
    }
}
