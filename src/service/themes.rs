//! Theme RPCs: ClusterThemes, ThemesOverTime, CompareYears, AssignTheme.

use std::sync::Arc;

use tonic::Status;

use super::convert::{self, status};
use crate::embed::Mode;
use crate::engine::{Engine, EngineError, ThemeQuery, ThemesRun};
use crate::proto;
use crate::themes::{self, Keyword, Method, ThemeParams, Trend};

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

/// ThemesOverTime response.
pub fn over_time_response(run: &ThemesRun) -> proto::ThemesOverTimeResponse {
    let entries = themes::themes_over_time(&run.result, &run.inputs)
        .into_iter()
        .map(|e| proto::ThemeInYear {
            theme_id: e.theme_id,
            label: label(run, e.theme_id),
            year: e.year,
            count: e.count,
            share: e.share,
            keywords: keywords(&e.keywords),
        })
        .collect();
    proto::ThemesOverTimeResponse { result_id: run.result_id.clone(), entries }
}

/// CompareYears response.
pub fn compare_response(run: &ThemesRun, a: i32, b: i32) -> Result<proto::CompareYearsResponse, Status> {
    if a == b {
        return Err(Status::invalid_argument("year_a and year_b are the same year; give two different years"));
    }
    let comparisons = themes::compare_years(&run.result, &run.inputs, a, b).map_err(|e| status(EngineError::from(e)))?;
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
        })
        .collect();
    let count = |y: i32| run.inputs.iter().filter(|i| i.year == Some(y)).count() as u32;
    Ok(proto::CompareYearsResponse { result_id: run.result_id.clone(), themes, paragraphs_a: count(a), paragraphs_b: count(b) })
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
