//! Protobuf responses of the theme RPCs (ClusterThemes, ThemesOverTime, CompareYears,
//! AssignTheme) from the engine's themes runs.

use crate::engine::{ThemesOverTime, ThemesRun};
use crate::proto;
use crate::themes::{Keyword, Period, Trend, YearComparison};

fn keywords(k: &[Keyword]) -> Vec<proto::Keyword> {
    k.iter().map(|k| proto::Keyword { word: k.word.clone(), weight: k.weight }).collect()
}

fn quoted(run: &ThemesRun, id: i64, centroid: &[f32]) -> Option<proto::ThemeParagraph> {
    let r = run.records.get(&id)?;
    let v = &run.inputs.iter().find(|i| i.id == id)?.vector;
    Some(proto::ThemeParagraph {
        paragraph_id: id,
        document_id: r.document_id.clone(),
        year: r.year,
        text: r.text.clone(),
        similarity: crate::embed::cosine(v, centroid),
    })
}

/// ClusterThemes response.
pub fn cluster_response(run: &ThemesRun, cached: bool) -> proto::ClusterThemesResponse {
    let themes = run
        .result
        .themes
        .iter()
        .map(|t| proto::Theme {
            id: t.id,
            label: t.label.clone(),
            keywords: keywords(&t.keywords),
            size: t.size,
            share: t.share,
            representatives: t.representatives.iter().filter_map(|id| quoted(run, *id, &t.centroid)).collect(),
            years: t.years.iter().map(|y| proto::ThemeYearShare { year: y.year, count: y.count, share: y.share }).collect(),
            cohesion: t.cohesion,
            member_ids: t.members.clone(),
        })
        .collect();
    proto::ClusterThemesResponse {
        result_id: run.result_id.clone(),
        themes,
        outlier_ids: run.result.outliers.clone(),
        paragraphs: run.result.input_count,
        corpus_version: run.corpus_version,
        cached,
        elapsed_ms: if cached { 0.0 } else { run.elapsed_ms },
    }
}

fn label(run: &ThemesRun, theme: u32) -> String {
    run.result.themes.iter().find(|t| t.id == theme).map(|t| t.label.clone()).unwrap_or_default()
}

/// ThemesOverTime response: entries per theme and bucket, and each theme's life cycle.
pub fn over_time_response(run: &ThemesRun, over: &ThemesOverTime) -> proto::ThemesOverTimeResponse {
    let entries = over
        .entries
        .iter()
        .map(|e| proto::ThemeInYear {
            theme_id: e.theme_id,
            label: label(run, e.theme_id),
            year: e.year,
            count: e.count,
            share: e.share,
            keywords: keywords(&e.keywords),
            year_end: e.year_end,
            paragraphs: e.paragraphs,
        })
        .collect();
    let themes = &run.result.themes;
    let (grid, presence) = (&over.grid, over.presence);
    let lifecycles = grid
        .order_by_peak(themes, presence)
        .into_iter()
        .map(|t| {
            let lc = grid.lifecycle(t, themes[t].id, presence);
            proto::ThemeLifecycle {
                theme_id: lc.theme_id,
                label: themes[t].label.clone(),
                first_year: lc.first,
                peak_year: lc.peak,
                peak_share: lc.peak_share,
                last_year: lc.last,
                fade_year: lc.fade,
                present_buckets: lc.present_buckets,
            }
        })
        .collect();
    proto::ThemesOverTimeResponse {
        result_id: run.result_id.clone(),
        entries,
        lifecycles,
        bucket_years: grid.bucket_years,
        presence_share: presence,
    }
}

/// CompareYears response for years or periods `a` and `b`.
pub fn compare_response(run: &ThemesRun, comparisons: Vec<YearComparison>, a: Period, b: Period) -> proto::CompareYearsResponse {
    let centroid = |id: u32| run.result.themes.iter().find(|t| t.id == id).map(|t| t.centroid.as_slice()).unwrap_or(&[]);
    let themes = comparisons
        .into_iter()
        .map(|c| proto::ThemeComparison {
            theme_id: c.theme_id,
            label: c.label,
            trend: match c.trend {
                Trend::Emerging => proto::Trend::Emerging,
                Trend::Faded => proto::Trend::Faded,
                Trend::Grown => proto::Trend::Grown,
                Trend::Shrunk => proto::Trend::Shrunk,
                Trend::Stable => proto::Trend::Stable,
            } as i32,
            share_a: c.share_a,
            share_b: c.share_b,
            change: c.change,
            representative_a: c.representative_a.and_then(|id| quoted(run, id, centroid(c.theme_id))),
            representative_b: c.representative_b.and_then(|id| quoted(run, id, centroid(c.theme_id))),
            keywords_a: keywords(&c.keywords_a),
            keywords_b: keywords(&c.keywords_b),
            centroid_similarity: c.centroid_similarity,
            count_a: c.count_a,
            count_b: c.count_b,
            years_a: c.years_a,
            years_b: c.years_b,
        })
        .collect();
    let count = |p: &Period| run.inputs.iter().filter(|i| p.contains(i.year)).count() as u32;
    let range = |p: &Period| Some(proto::YearRange { from: p.from, to: p.to });
    proto::CompareYearsResponse {
        result_id: run.result_id.clone(),
        themes,
        paragraphs_a: count(&a),
        paragraphs_b: count(&b),
        period_a: range(&a),
        period_b: range(&b),
    }
}

/// AssignTheme response from `(theme id, score)` pairs, best first.
pub fn assign_response(run: &ThemesRun, scores: Vec<(u32, f32)>) -> proto::AssignThemeResponse {
    let themes = scores.into_iter().map(|(id, score)| proto::ThemeScore { theme_id: id, label: label(run, id), score }).collect();
    proto::AssignThemeResponse { result_id: run.result_id.clone(), themes }
}
