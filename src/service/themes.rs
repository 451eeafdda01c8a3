//! Theme RPCs: ClusterThemes, ThemesOverTime, CompareYears, AssignTheme.

use std::sync::Arc;

use tonic::Status;

use super::convert::{self, status};
use crate::embed::Mode;
use crate::engine::{Engine, EngineError, ThemeQuery, ThemesRun};
use crate::proto;
use crate::themes::grid::{bucket_size, presence_share};
use crate::themes::{self, Keyword, Method, Period, ShareGrid, ThemeParams, Trend};

/// Theme query from its protobuf form (defaults applied, limits checked).
pub fn query(p: Option<proto::ThemeParams>) -> Result<ThemeQuery, Status> {
    let p = p.unwrap_or_default();
    let method = match proto::ClusterMethod::try_from(p.method) {
        Ok(proto::ClusterMethod::Unspecified | proto::ClusterMethod::Agglomerative) => Method::Agglomerative,
        Ok(proto::ClusterMethod::Kmeans) => Method::KMeans,
        Err(_) => return Err(Status::invalid_argument(format!("unknown cluster method {}", p.method))),
    };
    if p.keywords > 50 {
        return Err(Status::invalid_argument(format!("keywords = {} is above the maximum of 50", p.keywords)));
    }
    Ok(ThemeQuery {
        params: ThemeParams {
            target_themes: (p.target_themes > 0).then_some(p.target_themes as usize),
            min_theme_size: if p.min_theme_size == 0 { 3 } else { p.min_theme_size as usize },
            seed: p.seed,
            method,
            keywords_per_theme: if p.keywords == 0 { 10 } else { p.keywords as usize },
            ..ThemeParams::default()
        },
        filter: convert::filter(p.filter),
    })
}

/// Computes (or fetches) the themes off the async runtime.
pub async fn run(engine: &Arc<Engine>, q: ThemeQuery) -> Result<(Arc<ThemesRun>, bool), Status> {
    engine.themes(&q).await.map_err(status)
}

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

fn theme_status(e: themes::ThemesError) -> Status {
    status(EngineError::from(e))
}

/// Bucket size and presence threshold of a ThemesOverTime request (defaults applied, limits
/// checked), before any computation.
pub fn over_time_options(r: &proto::ThemesOverTimeRequest) -> Result<(u32, f32), Status> {
    Ok((bucket_size(r.bucket_years).map_err(theme_status)?, presence_share(r.presence_share).map_err(theme_status)?))
}

/// ThemesOverTime response: entries per theme and bucket, and each theme's life cycle.
pub fn over_time_response(run: &ThemesRun, bucket_years: u32, presence: f32) -> Result<proto::ThemesOverTimeResponse, Status> {
    let entries = themes::themes_over_time(&run.result, &run.inputs, bucket_years)
        .map_err(theme_status)?
        .into_iter()
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
    let grid = ShareGrid::new(themes, &run.inputs, bucket_years).map_err(theme_status)?;
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
    Ok(proto::ThemesOverTimeResponse {
        result_id: run.result_id.clone(),
        entries,
        lifecycles,
        bucket_years: grid.bucket_years,
        presence_share: presence,
    })
}

/// The two periods of a CompareYears request: `period_a`/`period_b` when set, else the single
/// years `year_a`/`year_b`. Checked for shape (not yet against the corpus).
pub fn compare_periods(r: &proto::CompareYearsRequest) -> Result<(Period, Period), Status> {
    let pick = |range: Option<proto::YearRange>, year: i32, name: &str| -> Result<Period, Status> {
        let p = match range {
            Some(r) => Period { from: r.from, to: r.to },
            None if year == 0 => {
                return Err(Status::invalid_argument(format!("set year_{name} (e.g. 2019) or period_{name} (e.g. from 2013 to 2017)")))
            }
            None => Period::year(year),
        };
        p.validate(&format!("period_{name}")).map_err(theme_status)?;
        Ok(p)
    };
    let a = pick(r.period_a, r.year_a, "a")?;
    let b = pick(r.period_b, r.year_b, "b")?;
    if a == b {
        let what = if a.from == a.to { "year_a and year_b are the same year" } else { "period_a and period_b are the same period" };
        return Err(Status::invalid_argument(format!("{what} ({a}); give two different years or periods")));
    }
    if a.overlaps(&b) {
        return Err(Status::invalid_argument(format!("periods {a} and {b} overlap; give disjoint periods")));
    }
    Ok((a, b))
}

/// CompareYears response for years or periods `a` and `b`.
pub fn compare_response(run: &ThemesRun, a: Period, b: Period) -> Result<proto::CompareYearsResponse, Status> {
    let comparisons = themes::compare_periods(&run.result, &run.inputs, a, b).map_err(theme_status)?;
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
    Ok(proto::CompareYearsResponse {
        result_id: run.result_id.clone(),
        themes,
        paragraphs_a: count(&a),
        paragraphs_b: count(&b),
        period_a: range(&a),
        period_b: range(&b),
    })
}

/// AssignTheme: embeds the text (or fetches the paragraph vector) and ranks theme centres.
pub async fn assign(engine: &Arc<Engine>, r: proto::AssignThemeRequest) -> Result<proto::AssignThemeResponse, Status> {
    let top = match r.top {
        0 => 3,
        n if n > 50 => return Err(Status::invalid_argument(format!("top = {n} is above the maximum of 50"))),
        n => n as usize,
    };
    let q = query(r.params)?;
    let vector = match r.query {
        Some(proto::assign_theme_request::Query::Text(t)) => {
            let max = engine.config().max_query_chars;
            if t.trim().is_empty() || t.chars().count() > max {
                return Err(Status::invalid_argument(format!("text must be non-empty and at most {max} characters")));
            }
            engine.queue().embed(vec![t], Mode::Passage).await.map_err(|e| status(e.into()))?.remove(0).vector
        }
        Some(proto::assign_theme_request::Query::ParagraphId(id)) => {
            engine.paragraph_vector(id).await.map_err(status)?.vector
        }
        None => return Err(Status::invalid_argument("set exactly one of text or paragraph_id")),
    };
    let (run, _) = run(engine, q).await?;
    let themes = themes::assign_theme(&run.result, &vector, top)
        .into_iter()
        .map(|(id, score)| proto::ThemeScore { theme_id: id, label: label(&run, id), score })
        .collect();
    Ok(proto::AssignThemeResponse { result_id: run.result_id.clone(), themes })
}
