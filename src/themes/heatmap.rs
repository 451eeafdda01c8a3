//! SVG heatmap of theme shares over time, readable at seventy years × thirty themes: themes
//! as rows ordered by peak year (earliest at the top), years or buckets as columns, share as
//! colour (one sequential scale with a legend), each theme's peak cell outlined, gaps (no
//! paragraph that year) hatched in grey.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::grid::ShareGrid;
use super::{Theme, ThemesError};

/// Most themes drawn (the largest; the caption says how many were left out).
pub const MAX_HEATMAP_THEMES: usize = 80;

const ROW_H: i32 = 22;
const LABEL_W: i32 = 330;
const PEAK_W: i32 = 110;
const LEGEND_W: i32 = 110;
const TOP: i32 = 70;
const BOTTOM: i32 = 60;
/// Sequential scale anchors (light yellow → green → dark blue), low to high share.
const RAMP: [(u8, u8, u8); 5] = [(255, 255, 217), (199, 233, 180), (65, 182, 196), (34, 94, 168), (8, 29, 88)];
const EMPTY: RGBColor = RGBColor(250, 250, 250);
const GAP: RGBColor = RGBColor(214, 214, 214);

fn ramp(x: f32) -> RGBColor {
    let x = x.clamp(0.0, 1.0) * (RAMP.len() - 1) as f32;
    let i = (x.floor() as usize).min(RAMP.len() - 2);
    let f = x - i as f32;
    let mix = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * f).round() as u8;
    let (a, b) = (RAMP[i], RAMP[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Top of the colour scale: the 98th percentile of the non-zero shares (so one dominant
/// cell does not wash out the rest; cells above it take the darkest colour), rounded up to
/// a whole percent.
fn scale_max(grid: &ShareGrid, rows: &[usize]) -> f32 {
    let mut v: Vec<f32> =
        rows.iter().flat_map(|&t| (0..grid.buckets.len()).filter_map(move |b| grid.share(t, b))).filter(|&s| s > 0.0).collect();
    if v.is_empty() {
        return 0.01;
    }
    v.sort_by(f32::total_cmp);
    let q = v[((v.len() - 1) as f32 * 0.98).round() as usize];
    ((q * 100.0).ceil() / 100.0).max(0.01)
}

/// Writes the heatmap of `grid` (computed over `themes`) to `path`. Rows: the
/// [`MAX_HEATMAP_THEMES`] largest themes, ordered by peak bucket at presence threshold
/// `presence`. Errors when there is no theme or no dated paragraph, or the file cannot be
/// written.
pub fn plot_heatmap(grid: &ShareGrid, themes: &[Theme], presence: f32, path: &Path) -> Result<(), ThemesError> {
    if themes.is_empty() || grid.buckets.is_empty() {
        return Err(ThemesError::InvalidArgument("nothing to plot: no themes with dated paragraphs".into()));
    }
    let mut by_size: Vec<usize> = (0..themes.len()).collect();
    by_size.sort_by_key(|&t| (std::cmp::Reverse(themes[t].size), themes[t].id));
    by_size.truncate(MAX_HEATMAP_THEMES);
    let rows: Vec<usize> = grid.order_by_peak(themes, presence).into_iter().filter(|t| by_size.contains(t)).collect();
    let cols = grid.buckets.len() as i32;
    let cell_w = (1000 / cols).clamp(8, 40);
    let grid_w = cell_w * cols;
    let width = (LABEL_W + grid_w + PEAK_W + LEGEND_W + 20) as u32;
    let height = (TOP + ROW_H * rows.len() as i32 + BOTTOM).max(TOP + 200 + BOTTOM) as u32;
    let top_share = scale_max(grid, &rows);
    let out = |e: &dyn std::fmt::Display| ThemesError::Output(e.to_string());
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| out(&e))?;
    let font = |size: i32| ("sans-serif", size).into_font().color(&BLACK);
    let unit = if grid.bucket_years == 1 { "year".to_string() } else { format!("{}-year period", grid.bucket_years) };
    let left_out = themes.len() - rows.len();
    let title = format!(
        "Theme share per {unit} (% of its paragraphs); themes ordered by peak{}",
        if left_out > 0 { format!(" ({left_out} smallest themes not shown)") } else { String::new() }
    );
    root.draw_text(&title, &font(20), (10, 12)).map_err(|e| out(&e))?;
    let sub = format!("□ = peak {unit} · grey = no paragraphs · colour scale caps at {:.0}%", top_share * 100.0);
    root.draw_text(&sub, &font(15).color(&RGBColor(90, 90, 90)), (10, 38)).map_err(|e| out(&e))?;
    let x0 = LABEL_W;
    for (r, &t) in rows.iter().enumerate() {
        let y = TOP + r as i32 * ROW_H;
        let th = &themes[t];
        if r % 2 == 1 {
            let band = RGBColor(244, 244, 244).filled();
            root.draw(&Rectangle::new([(0, y), (x0 - 4, y + ROW_H)], band)).map_err(|e| out(&e))?;
        }
        let label = format!("{}: {}  ({})", th.id, short(&th.label, 34), th.size);
        let right = font(16).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw_text(&label, &right, (x0 - 8, y + ROW_H / 2)).map_err(|e| out(&e))?;
        let lc = grid.lifecycle(t, th.id, presence);
        for b in 0..grid.buckets.len() {
            let cx = x0 + b as i32 * cell_w;
            let cell = [(cx, y + 1), (cx + cell_w - 1, y + ROW_H - 1)];
            let colour = match grid.share(t, b) {
                None => GAP,
                Some(s) if s <= 0.0 => EMPTY,
                Some(s) => ramp(s / top_share),
            };
            root.draw(&Rectangle::new(cell, colour.filled())).map_err(|e| out(&e))?;
            if lc.peak == Some(grid.buckets[b].period.from) {
                let edge = if lc.peak_share / top_share > 0.6 { WHITE } else { BLACK };
                root.draw(&Rectangle::new(cell, edge.stroke_width(2))).map_err(|e| out(&e))?;
            }
        }
        if let Some(p) = lc.peak {
            let text = format!("{p} · {:.0}%", lc.peak_share * 100.0);
            let left = font(15).pos(Pos::new(HPos::Left, VPos::Center));
            root.draw_text(&text, &left, (x0 + grid_w + 8, y + ROW_H / 2)).map_err(|e| out(&e))?;
        }
    }
    // Column labels: every n-th bucket so labels stay ≥ 44 px apart, aligned on round years.
    let y_axis = TOP + ROW_H * rows.len() as i32;
    let step = ((44 + cell_w - 1) / cell_w).max(1) as usize;
    let step = [1usize, 2, 5, 10, 20, 50].into_iter().find(|&s| s >= step).unwrap_or(step);
    for (b, bucket) in grid.buckets.iter().enumerate() {
        let from = bucket.period.from;
        if !((from / grid.bucket_years as i32) as usize).is_multiple_of(step) {
            continue;
        }
        let cx = x0 + b as i32 * cell_w;
        let tick = [(cx, y_axis), (cx, y_axis + 5)];
        root.draw(&PathElement::new(tick, BLACK.stroke_width(1))).map_err(|e| out(&e))?;
        let text = if grid.bucket_years == 1 { from.to_string() } else { format!("{from}–{}", bucket.period.to % 100) };
        let style = font(15).pos(Pos::new(HPos::Left, VPos::Top));
        root.draw_text(&text, &style, (cx, y_axis + 8)).map_err(|e| out(&e))?;
    }
    // Legend: a vertical colour bar, 0 at the bottom.
    let (lx, ly, lh) = (x0 + grid_w + PEAK_W, TOP + 20, 160);
    root.draw_text("share", &font(15), (lx, TOP)).map_err(|e| out(&e))?;
    for i in 0..lh {
        let c = ramp(1.0 - i as f32 / (lh - 1) as f32);
        root.draw(&Rectangle::new([(lx, ly + i), (lx + 16, ly + i + 1)], c.filled())).map_err(|e| out(&e))?;
    }
    root.draw(&Rectangle::new([(lx, ly), (lx + 16, ly + lh)], BLACK.stroke_width(1))).map_err(|e| out(&e))?;
    for k in 0..=4 {
        let v = top_share * k as f32 / 4.0;
        let y = ly + lh - (lh as f32 * k as f32 / 4.0) as i32;
        let text = if k == 4 { format!("≥ {:.0}%", v * 100.0) } else { format!("{:.1}%", v * 100.0) };
        let style = font(14).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw_text(&text, &style, (lx + 22, y)).map_err(|e| out(&e))?;
    }
    let gy = ly + lh + 18;
    root.draw(&Rectangle::new([(lx, gy), (lx + 16, gy + 12)], GAP.filled())).map_err(|e| out(&e))?;
    let style = font(14).pos(Pos::new(HPos::Left, VPos::Center));
    root.draw_text("no data", &style, (lx + 22, gy + 6)).map_err(|e| out(&e))?;
    root.present().map_err(|e| out(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::{Theme, ThemeInput};

    fn theme(id: u32, members: Vec<i64>) -> Theme {
        crate::themes::testutil::member_theme(id, format!("theme {id} / words"), members)
    }

    /// 70 years × 30 themes: theme t peaks around year 1955 + 2t; 1960 is a gap.
    #[test]
    fn renders_seventy_years_by_thirty_themes() {
        let mut inputs = Vec::new();
        let mut members = vec![Vec::new(); 30];
        for y in 1955..2025 {
            if y == 1960 {
                continue;
            }
            for t in 0..30i32 {
                let n = (6 - (y - 1955 - 2 * t).abs() / 3).max(0);
                for k in 0..n {
                    let id = (y as i64) * 10_000 + (t as i64) * 100 + k as i64;
                    inputs.push(ThemeInput { id, year: Some(y), text: String::new(), simplified: String::new(), vector: vec![1.0] });
                    members[t as usize].push(id);
                }
            }
        }
        // the largest theme is listed first, but the heatmap orders rows by peak year
        let themes: Vec<Theme> = members.into_iter().enumerate().map(|(t, m)| theme(t as u32, m)).rev().collect();
        let grid = ShareGrid::new(&themes, &inputs, 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("heat.svg");
        plot_heatmap(&grid, &themes, 0.02, &p).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(svg.starts_with("<svg") || svg.contains("<svg"));
        let pos = |s: &str| svg.find(s).unwrap_or_else(|| panic!("{s} missing"));
        // plotters writes each text element's content on a line of its own
        assert!(pos("\n0: theme 0 / words") < pos("\n1: theme 1 / words"));
        assert!(pos("\n1: theme 1 / words") < pos("\n29: theme 29 / words"));
        for y in ["1960", "1980", "2000", "2020"] {
            assert!(svg.contains(&format!("\n{y}\n")), "column label {y}");
        }
        assert!(!svg.contains("\n1957\n"), "labels thinned to round years");
        assert!(svg.contains("≥ ") && svg.contains("no data"), "legend");
        assert!(svg.contains("rgb(214,214,214)") || svg.contains("#D6D6D6"), "gap year drawn");
        let (w, _) = (svg.find("width=\"").unwrap(), 0);
        let width: u32 = svg[w + 7..].split('"').next().unwrap().parse().unwrap();
        assert!(width <= 1700, "width {width}");
        // 5-year buckets give 14 columns, every other one labelled by its span
        let g5 = ShareGrid::new(&themes, &inputs, 5).unwrap();
        plot_heatmap(&g5, &themes, 0.02, &p).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(svg.contains("\n1960–64\n") && svg.contains("5-year period"));
        assert!(plot_heatmap(&g5, &[], 0.02, &p).is_err());
    }
}
