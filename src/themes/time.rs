//! Themes over time: per-theme, per-bucket (1, 5, 10 … years) shares and bucket-specific
//! keywords.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::grid::{bucket_size, bucket_start};
use super::members::{fit_keywords, member_indices};
use super::{Keyword, ThemeInput, ThemesError, ThemesResult};

/// Sort key for years: dated years ascending, undated (`None`) last.
pub(crate) fn year_order(year: Option<i32>) -> (bool, i32) {
    (year.is_none(), year.unwrap_or(0))
}

/// Number of paragraphs per year (keyed by [`year_order`]).
pub(crate) fn year_totals(years: impl Iterator<Item = Option<i32>>) -> BTreeMap<(bool, i32), u32> {
    let mut m = BTreeMap::new();
    for y in years {
        *m.entry(year_order(y)).or_insert(0) += 1;
    }
    m
}

/// A theme's presence and keywords in one time bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearThemeKeywords {
    /// Theme id.
    pub theme_id: u32,
    /// First year of the bucket (`None` = undated bucket).
    pub year: Option<i32>,
    /// Last year of the bucket (= `year` for yearly buckets; `None` when undated).
    pub year_end: Option<i32>,
    /// Number of the theme's members from that bucket.
    pub count: u32,
    /// Input paragraphs from that bucket (outliers included).
    pub paragraphs: u32,
    /// `count` / `paragraphs`.
    pub share: f32,
    /// c-TF-IDF keywords of the theme's members from that bucket only (IDF and the
    /// boiler-plate filter come from the whole clustering).
    pub keywords: Vec<Keyword>,
}

/// Per theme and per bucket of `bucket_years` years (0 means 1; aligned on multiples, so
/// 1950–1954; dated ascending, undated last): count, share of that bucket's paragraphs,
/// and keywords computed on that bucket's members only, so a word is reported for a
/// bucket only if it occurs in that bucket's member text.
///
/// `inputs` must be the paragraphs `result` was computed from; members whose id is
/// not found in `inputs` are ignored. Buckets in which a theme has no member are omitted.
/// Errors only for a bucket size above [`super::grid::MAX_BUCKET_YEARS`].
pub fn themes_over_time(result: &ThemesResult, inputs: &[ThemeInput], bucket_years: u32) -> Result<Vec<YearThemeKeywords>, ThemesError> {
    let size = bucket_size(bucket_years)?;
    if result.themes.is_empty() || inputs.is_empty() {
        return Ok(Vec::new());
    }
    let bucket = |y: Option<i32>| y.map(|y| bucket_start(y, size));
    let members = member_indices(result, inputs);
    let texts: Vec<&str> = inputs.iter().map(|i| i.simplified.as_str()).collect();
    let top = result.params.keywords_per_theme;
    let (corpus, model, _) = fit_keywords(&texts, &members, top);
    let totals = year_totals(inputs.iter().map(|i| bucket(i.year)));
    let mut out = Vec::new();
    for (theme, mem) in result.themes.iter().zip(&members) {
        let mut by_year: BTreeMap<(bool, i32), Vec<usize>> = BTreeMap::new();
        for &i in mem {
            by_year.entry(year_order(bucket(inputs[i].year))).or_default().push(i);
        }
        for (key, docs) in by_year {
            let counts = corpus.counts(&docs);
            let tot = totals.get(&key).copied().unwrap_or(1).max(1);
            let year = if key.0 { None } else { Some(key.1) };
            out.push(YearThemeKeywords {
                theme_id: theme.id,
                year,
                year_end: year.map(|y| y + size as i32 - 1),
                count: docs.len() as u32,
                paragraphs: tot,
                share: docs.len() as f32 / tot as f32,
                keywords: model.keywords(&corpus, &counts, top),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::members::index_of;
    use crate::themes::testutil::synthetic_inputs;
    use crate::themes::{cluster_themes, ThemeParams};

    #[test]
    fn year_keywords_occur_in_that_years_text() {
        let (inputs, _) = synthetic_inputs(10, 21);
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        let rows = themes_over_time(&r, &inputs, 1).unwrap();
        assert!(!rows.is_empty());
        let idx = index_of(&inputs);
        for row in &rows {
            let theme = &r.themes[row.theme_id as usize];
            let texts: Vec<&str> =
                theme.members.iter().map(|m| &inputs[idx[m]]).filter(|i| i.year == row.year).map(|i| i.simplified.as_str()).collect();
            assert_eq!(texts.len() as u32, row.count);
            for k in &row.keywords {
                assert!(texts.iter().any(|t| t.contains(&k.word)), "{} not in {:?}", k.word, row.year);
            }
        }
        // undated bucket exists and comes last for each theme
        assert!(rows.iter().any(|r| r.year.is_none()));
        for w in rows.windows(2) {
            if w[0].theme_id == w[1].theme_id {
                assert!(year_order(w[0].year) < year_order(w[1].year));
            }
        }
    }

    #[test]
    fn empty_inputs_give_empty_output() {
        let (inputs, _) = synthetic_inputs(5, 22);
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        assert!(themes_over_time(&r, &[], 1).unwrap().is_empty());
        assert!(themes_over_time(&r, &inputs, 1000).is_err());
    }

    #[test]
    fn buckets_pool_years_and_keep_keywords_in_their_text() {
        let (mut inputs, _) = synthetic_inputs(10, 23);
        for (i, inp) in inputs.iter_mut().enumerate() {
            if inp.year.is_some() {
                inp.year = Some(2011 + (i % 9) as i32); // 2011..=2019
            }
        }
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        let rows = themes_over_time(&r, &inputs, 5).unwrap();
        let dated: Vec<_> = rows.iter().filter(|r| r.year.is_some()).collect();
        assert!(dated.iter().all(|r| matches!((r.year, r.year_end), (Some(2010), Some(2014)) | (Some(2015), Some(2019)))));
        let idx = index_of(&inputs);
        for row in &dated {
            let (from, to) = (row.year.unwrap(), row.year_end.unwrap());
            let in_bucket = |y: Option<i32>| y.is_some_and(|y| y >= from && y <= to);
            let theme = &r.themes[row.theme_id as usize];
            let n = theme.members.iter().filter(|m| in_bucket(inputs[idx[m]].year)).count();
            assert_eq!(n as u32, row.count);
            assert_eq!(row.paragraphs as usize, inputs.iter().filter(|i| in_bucket(i.year)).count());
            for k in &row.keywords {
                assert!(theme.members.iter().any(|m| in_bucket(inputs[idx[m]].year) && inputs[idx[m]].simplified.contains(&k.word)));
            }
        }
        // every theme's counts over the buckets add up to its size
        for t in &r.themes {
            let sum: u32 = rows.iter().filter(|r| r.theme_id == t.id).map(|r| r.count).sum();
            assert_eq!(sum, t.size);
        }
    }
}
