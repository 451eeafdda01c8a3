//! SVG charts of theme shares over time (plotters, SVG backend: text is emitted as
//! SVG `<text>`, so no system fonts are needed): lines per theme for short spans, a heatmap
//! ([`super::heatmap`]) for long ones.

use std::fmt;
use std::path::Path;

use plotters::prelude::*;

use super::grid::ShareGrid;
use super::{Theme, ThemesError, ThemesResult};

/// Most yearly columns [`ChartKind::Auto`] draws as lines; longer spans get the heatmap.
pub const LINES_MAX_YEARS: usize = 12;

/// Which chart [`plot_themes`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChartKind {
    /// Lines for yearly buckets spanning at most [`LINES_MAX_YEARS`] years, else the heatmap.
    #[default]
    Auto,
    /// [`plot_year_shares`]: one line per theme (yearly shares, whatever the buckets).
    Lines,
    /// [`super::heatmap::plot_heatmap`]: themes × buckets.
    Heatmap,
}

impl fmt::Display for ChartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChartKind::Auto => "auto",
            ChartKind::Lines => "line",
            ChartKind::Heatmap => "heatmap",
        })
    }
}

/// Draws `themes` over `grid` into `path` as `kind` says; returns the chart drawn (lines or
/// heatmap). `presence` orders the heatmap's rows by peak (see [`super::grid`]).
pub fn plot_themes(themes: &[Theme], grid: &ShareGrid, kind: ChartKind, presence: f32, path: &Path) -> Result<ChartKind, ThemesError> {
    let kind = match kind {
        ChartKind::Auto if grid.bucket_years == 1 && grid.buckets.len() <= LINES_MAX_YEARS => ChartKind::Lines,
        ChartKind::Auto => ChartKind::Heatmap,
        k => k,
    };
    match kind {
        ChartKind::Lines => line_chart(themes, path)?,
        _ => super::heatmap::plot_heatmap(grid, themes, presence, path)?,
    }
    Ok(kind)
}

/// Maximum number of themes drawn (largest first).
pub const MAX_PLOTTED_THEMES: usize = 10;

/// Writes an SVG line chart: one line per theme (the [`MAX_PLOTTED_THEMES`] largest),
/// x = dated years, y = share of that year's paragraphs (%). Undated paragraphs are
/// not plotted. Errors when there are no themes or no dated paragraphs, or when the
/// file cannot be written.
pub fn plot_year_shares(result: &ThemesResult, path: &Path) -> Result<(), ThemesError> {
    line_chart(&result.themes, path)
}

fn line_chart(all: &[Theme], path: &Path) -> Result<(), ThemesError> {
    let mut years: Vec<i32> = all.iter().flat_map(|t| t.years.iter().filter_map(|y| y.year)).collect();
    years.sort_unstable();
    years.dedup();
    if all.is_empty() || years.is_empty() {
        return Err(ThemesError::InvalidArgument("nothing to plot: no themes with dated paragraphs".into()));
    }
    let (y0, y1) = (years[0], *years.last().unwrap_or(&years[0]));
    let (x0, x1) = if y0 == y1 { (y0 - 1, y1 + 1) } else { (y0, y1) };
    let themes: Vec<_> = all.iter().take(MAX_PLOTTED_THEMES).collect();
    let max_share = themes.iter().flat_map(|t| t.years.iter().filter(|y| y.year.is_some()).map(|y| y.share)).fold(0f32, f32::max);
    let ymax = ((max_share * 100.0) * 1.15).max(5.0);
    let out = |e: &dyn std::fmt::Display| ThemesError::Output(e.to_string());
    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| out(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Theme share per year (%)", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(x0..x1, 0f32..ymax)
        .map_err(|e| out(&e))?;
    chart
        .configure_mesh()
        .x_labels((x1 - x0 + 1).clamp(2, 12) as usize)
        .x_label_formatter(&|y| y.to_string())
        .y_desc("% of the year's paragraphs")
        .draw()
        .map_err(|e| out(&e))?;
    for (i, t) in themes.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(i32, f32)> =
            years.iter().map(|&y| (y, t.years.iter().find(|s| s.year == Some(y)).map_or(0.0, |s| s.share * 100.0))).collect();
        let name = format!("{}: {}", t.id, t.label);
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| out(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(|e| out(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| out(&e))?;
    root.present().map_err(|e| out(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::testutil::synthetic_inputs;
    use crate::themes::{cluster_themes, ThemeParams};

    #[test]
    fn writes_svg() {
        let (inputs, _) = synthetic_inputs(8, 51);
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("shares.svg");
        plot_year_shares(&r, &p).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains("<svg") && s.contains("2023") && s.contains(&r.themes[0].label));
        let empty = crate::themes::ThemesResult { themes: vec![], outliers: vec![], input_count: 0, params: ThemeParams::default() };
        assert!(plot_year_shares(&empty, &p).is_err());
        // two years: auto draws lines; a heatmap on request
        let grid = ShareGrid::new(&r.themes, &inputs, 1).unwrap();
        assert_eq!(plot_themes(&r.themes, &grid, ChartKind::Auto, 0.02, &p).unwrap(), ChartKind::Lines);
        assert_eq!(plot_themes(&r.themes, &grid, ChartKind::Heatmap, 0.02, &p).unwrap(), ChartKind::Heatmap);
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains("ordered by peak") && s.contains(&r.themes[0].label));
    }
}
