//! Themes over time: per-theme, per-year shares and year-specific keywords.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::members::{fit_keywords, member_indices};
use super::{Keyword, ThemeInput, ThemesResult};

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

/// A theme's presence and keywords in one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearThemeKeywords {
    /// Theme id.
    pub theme_id: u32,
    /// Year (`None` = undated bucket).
    pub year: Option<i32>,
    /// Number of the theme's members from that year.
    pub count: u32,
    /// `count` / number of input paragraphs from that year.
    pub share: f32,
    /// c-TF-IDF keywords of the theme's members from that year only (IDF and the
    /// boiler-plate filter come from the whole clustering).
    pub keywords: Vec<Keyword>,
}

/// Per theme and per year (dated ascending, undated last): count, share of that
/// year's paragraphs, and keywords computed on that year's members only, so a word
/// is reported for a year only if it occurs in that year's member text.
///
/// `inputs` must be the paragraphs `result` was computed from; members whose id is
/// not found in `inputs` are ignored. Years in which a theme has no member are omitted.
pub fn themes_over_time(result: &ThemesResult, inputs: &[ThemeInput]) -> Vec<YearThemeKeywords> {
    if result.themes.is_empty() || inputs.is_empty() {
        return Vec::new();
    }
    let members = member_indices(result, inputs);
    let texts: Vec<&str> = inputs.iter().map(|i| i.simplified.as_str()).collect();
    let top = result.params.keywords_per_theme;
    let (corpus, model, _) = fit_keywords(&texts, &members, top);
    let totals = year_totals(inputs.iter().map(|i| i.year));
    let mut out = Vec::new();
    for (theme, mem) in result.themes.iter().zip(&members) {
        let mut by_year: BTreeMap<(bool, i32), Vec<usize>> = BTreeMap::new();
        for &i in mem {
            by_year
                .entry(year_order(inputs[i].year))
                .or_default()
                .push(i);
        }
        for (key, docs) in by_year {
            let counts = corpus.counts(&docs);
            let tot = totals.get(&key).copied().unwrap_or(1).max(1);
            out.push(YearThemeKeywords {
                theme_id: theme.id,
                year: if key.0 { None } else { Some(key.1) },
                count: docs.len() as u32,
                share: docs.len() as f32 / tot as f32,
                keywords: model.keywords(&corpus, &counts, top),
            });
        }
    }
    out
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
        let rows = themes_over_time(&r, &inputs);
        assert!(!rows.is_empty());
        let idx = index_of(&inputs);
        for row in &rows {
            let theme = &r.themes[row.theme_id as usize];
            let texts: Vec<&str> = theme
                .members
                .iter()
                .map(|m| &inputs[idx[m]])
                .filter(|i| i.year == row.year)
                .map(|i| i.simplified.as_str())
                .collect();
            assert_eq!(texts.len() as u32, row.count);
            for k in &row.keywords {
                assert!(
                    texts.iter().any(|t| t.contains(&k.word)),
                    "{} not in {:?}",
                    k.word,
                    row.year
                );
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
        assert!(themes_over_time(&r, &[]).is_empty());
    }
}
