//! Flat rows of themes results for CSV and JSON, ready for pandas or a spreadsheet: one row
//! per theme ([`theme_rows`]), per node of a theme tree ([`tree_rows`]), per theme × time
//! bucket ([`time_rows`], gaps and empty cells included so a pivot has no holes) and per
//! compared theme ([`comparison_rows`]).
//!
//! CSV: UTF-8, a header row, quoting by the `csv` crate, empty cells for absent values, lists
//! (keywords) joined with "; ". JSON: an array of objects with the same keys, so
//! `pandas.read_csv` and `pandas.read_json` give the same frame. Shares are fractions in
//! [0, 1]; years are the first year of their bucket (`year_end` the last).

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;

use super::grid::ShareGrid;
use super::period::Period;
use super::{Keyword, Theme, ThemeInput, ThemesError, TreeNode, Trend, YearComparison, YearThemeKeywords};

/// A row type with a fixed column list (the CSV header, also written when there is no row).
pub trait Columns {
    /// Column names, in the order the row serialises its fields.
    const COLUMNS: &'static [&'static str];
}

/// One theme: size, label, keywords, life cycle and its most central paragraph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeRow {
    /// Theme id.
    pub theme_id: u32,
    /// Label (top three keywords).
    pub label: String,
    /// Member paragraphs.
    pub size: u32,
    /// `size` / clustered paragraphs.
    pub share: f32,
    /// Mean cosine of members to the centre.
    pub cohesion: f32,
    /// Keywords by weight, joined with "; ".
    pub keywords: String,
    /// Life cycle: first bucket with share ≥ the presence threshold.
    pub first_year: Option<i32>,
    /// Bucket of the highest share.
    pub peak_year: Option<i32>,
    /// Share in the peak bucket.
    pub peak_share: f32,
    /// Last bucket with share ≥ the threshold.
    pub last_year: Option<i32>,
    /// First bucket after `last_year` (absent while still present at the end).
    pub fade_year: Option<i32>,
    /// Years per bucket of the life cycle.
    pub bucket_years: u32,
    /// Member nearest the centre.
    pub representative_id: Option<i64>,
    /// Its text.
    pub representative_text: String,
}

impl Columns for ThemeRow {
    const COLUMNS: &'static [&'static str] = &[
        "theme_id",
        "label",
        "size",
        "share",
        "cohesion",
        "keywords",
        "first_year",
        "peak_year",
        "peak_share",
        "last_year",
        "fade_year",
        "bucket_years",
        "representative_id",
        "representative_text",
    ];
}

/// One theme in one time bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeRow {
    /// Theme id.
    pub theme_id: u32,
    /// Theme label.
    pub label: String,
    /// First year of the bucket; empty for the undated paragraphs.
    pub year: Option<i32>,
    /// Last year of the bucket.
    pub year_end: Option<i32>,
    /// Theme members in the bucket.
    pub count: u32,
    /// Clustered paragraphs in the bucket (0 for a gap).
    pub paragraphs: u32,
    /// `count / paragraphs`; empty for a gap.
    pub share: Option<f32>,
    /// Keywords of the bucket's members only, joined with "; ".
    pub keywords: String,
}

impl Columns for TimeRow {
    const COLUMNS: &'static [&'static str] = &["theme_id", "label", "year", "year_end", "count", "paragraphs", "share", "keywords"];
}

/// One theme compared between periods A and B.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    /// Theme id.
    pub theme_id: u32,
    /// Theme label.
    pub label: String,
    /// Emerging, Faded, Grown, Shrunk or Stable.
    pub trend: Trend,
    /// First year of A.
    pub a_from: i32,
    /// Last year of A.
    pub a_to: i32,
    /// First year of B.
    pub b_from: i32,
    /// Last year of B.
    pub b_to: i32,
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
    /// Years of A with a member.
    pub years_a: u32,
    /// Years of B with a member.
    pub years_b: u32,
    /// Cosine of the A and B member centres.
    pub centroid_similarity: Option<f32>,
    /// Keywords of A's members, joined with "; ".
    pub keywords_a: String,
    /// Keywords of B's members.
    pub keywords_b: String,
    /// A's member nearest the centre.
    pub representative_a_id: Option<i64>,
    /// Its text.
    pub representative_a_text: String,
    /// B's member nearest the centre.
    pub representative_b_id: Option<i64>,
    /// Its text.
    pub representative_b_text: String,
}

impl Columns for ComparisonRow {
    const COLUMNS: &'static [&'static str] = &[
        "theme_id",
        "label",
        "trend",
        "a_from",
        "a_to",
        "b_from",
        "b_to",
        "share_a",
        "share_b",
        "change",
        "count_a",
        "count_b",
        "years_a",
        "years_b",
        "centroid_similarity",
        "keywords_a",
        "keywords_b",
        "representative_a_id",
        "representative_a_text",
        "representative_b_id",
        "representative_b_text",
    ];
}

fn joined(k: &[Keyword]) -> String {
    k.iter().map(|k| k.word.as_str()).collect::<Vec<_>>().join("; ")
}

fn texts(inputs: &[ThemeInput]) -> HashMap<i64, &str> {
    inputs.iter().map(|i| (i.id, i.text.as_str())).collect()
}

/// One row per theme of `themes` (a flat list: a result, or one level of a tree), with the
/// life cycle over `grid` at presence threshold `presence`.
pub fn theme_rows(themes: &[Theme], inputs: &[ThemeInput], grid: &ShareGrid, presence: f32) -> Vec<ThemeRow> {
    let text = texts(inputs);
    themes
        .iter()
        .enumerate()
        .map(|(t, th)| {
            let lc = grid.lifecycle(t, th.id, presence);
            let rep = th.representatives.first().copied();
            ThemeRow {
                theme_id: th.id,
                label: th.label.clone(),
                size: th.size,
                share: th.share,
                cohesion: th.cohesion,
                keywords: joined(&th.keywords),
                first_year: lc.first,
                peak_year: lc.peak,
                peak_share: lc.peak_share,
                last_year: lc.last,
                fade_year: lc.fade,
                bucket_years: grid.bucket_years,
                representative_id: rep,
                representative_text: rep.and_then(|id| text.get(&id)).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

/// One node of a theme tree: its place in the tree, then the columns of [`ThemeRow`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreeRow {
    /// Node id (unique in the tree).
    pub node_id: u32,
    /// Parent node id (absent on level 0).
    pub parent: Option<u32>,
    /// Depth: 0 for the broad themes.
    pub level: u32,
    /// Child node ids, largest first, joined with "; ".
    pub children: String,
    /// Label (the words that set the node apart from its siblings).
    pub label: String,
    /// Member paragraphs.
    pub size: u32,
    /// `size` / clustered paragraphs.
    pub share: f32,
    /// Mean cosine of members to the centre.
    pub cohesion: f32,
    /// Keywords by weight, joined with "; ".
    pub keywords: String,
    /// Life cycle: first bucket with share ≥ the presence threshold.
    pub first_year: Option<i32>,
    /// Bucket of the highest share.
    pub peak_year: Option<i32>,
    /// Share in the peak bucket.
    pub peak_share: f32,
    /// Last bucket with share ≥ the threshold.
    pub last_year: Option<i32>,
    /// First bucket after `last_year` (absent while still present at the end).
    pub fade_year: Option<i32>,
    /// Years per bucket of the life cycle.
    pub bucket_years: u32,
    /// Member nearest the centre.
    pub representative_id: Option<i64>,
    /// Its text.
    pub representative_text: String,
}

impl Columns for TreeRow {
    const COLUMNS: &'static [&'static str] = &[
        "node_id",
        "parent",
        "level",
        "children",
        "label",
        "size",
        "share",
        "cohesion",
        "keywords",
        "first_year",
        "peak_year",
        "peak_share",
        "last_year",
        "fade_year",
        "bucket_years",
        "representative_id",
        "representative_text",
    ];
}

/// One row per node of `nodes` (a tree, a level or a subtree), with the life cycle over `grid`
/// (built on the nodes' themes, in the same order) at presence threshold `presence`.
pub fn tree_rows(nodes: &[&TreeNode], inputs: &[ThemeInput], grid: &ShareGrid, presence: f32) -> Vec<TreeRow> {
    let themes: Vec<Theme> = nodes.iter().map(|n| n.theme.clone()).collect();
    nodes
        .iter()
        .zip(theme_rows(&themes, inputs, grid, presence))
        .map(|(n, r)| TreeRow {
            node_id: r.theme_id,
            parent: n.parent,
            level: n.level,
            children: n.children.iter().map(u32::to_string).collect::<Vec<_>>().join("; "),
            label: r.label,
            size: r.size,
            share: r.share,
            cohesion: r.cohesion,
            keywords: r.keywords,
            first_year: r.first_year,
            peak_year: r.peak_year,
            peak_share: r.peak_share,
            last_year: r.last_year,
            fade_year: r.fade_year,
            bucket_years: r.bucket_years,
            representative_id: r.representative_id,
            representative_text: r.representative_text,
        })
        .collect()
}

/// One row per theme × bucket of `grid` (every bucket between the first and last dated year,
/// then the undated bucket when there are undated paragraphs), keywords from `over_time`
/// (the [`super::themes_over_time`] entries of the same bucket size).
pub fn time_rows(themes: &[Theme], grid: &ShareGrid, over_time: &[YearThemeKeywords]) -> Vec<TimeRow> {
    let kw: HashMap<(u32, Option<i32>), String> = over_time.iter().map(|e| ((e.theme_id, e.year), joined(&e.keywords))).collect();
    let mut rows = Vec::with_capacity(themes.len() * (grid.buckets.len() + 1));
    for (t, th) in themes.iter().enumerate() {
        let key = |y: Option<i32>| kw.get(&(th.id, y)).cloned().unwrap_or_default();
        for (b, bucket) in grid.buckets.iter().enumerate() {
            rows.push(TimeRow {
                theme_id: th.id,
                label: th.label.clone(),
                year: Some(bucket.period.from),
                year_end: Some(bucket.period.to),
                count: grid.counts[t][b],
                paragraphs: bucket.paragraphs,
                share: grid.share(t, b),
                keywords: key(Some(bucket.period.from)),
            });
        }
        if grid.undated > 0 {
            rows.push(TimeRow {
                theme_id: th.id,
                label: th.label.clone(),
                year: None,
                year_end: None,
                count: grid.undated_counts[t],
                paragraphs: grid.undated,
                share: grid.undated_share(t),
                keywords: key(None),
            });
        }
    }
    rows
}

/// One row per compared theme of `cmp` (periods `a` and `b`).
pub fn comparison_rows(cmp: &[YearComparison], a: Period, b: Period, inputs: &[ThemeInput]) -> Vec<ComparisonRow> {
    let text = texts(inputs);
    let quote = |id: Option<i64>| id.and_then(|id| text.get(&id)).unwrap_or(&"").to_string();
    cmp.iter()
        .map(|c| ComparisonRow {
            theme_id: c.theme_id,
            label: c.label.clone(),
            trend: c.trend,
            a_from: a.from,
            a_to: a.to,
            b_from: b.from,
            b_to: b.to,
            share_a: c.share_a,
            share_b: c.share_b,
            change: c.change,
            count_a: c.count_a,
            count_b: c.count_b,
            years_a: c.years_a,
            years_b: c.years_b,
            centroid_similarity: c.centroid_similarity,
            keywords_a: joined(&c.keywords_a),
            keywords_b: joined(&c.keywords_b),
            representative_a_id: c.representative_a,
            representative_a_text: quote(c.representative_a),
            representative_b_id: c.representative_b,
            representative_b_text: quote(c.representative_b),
        })
        .collect()
}

fn output(e: impl std::fmt::Display) -> ThemesError {
    ThemesError::Output(e.to_string())
}

/// Writes `rows` as CSV: the header row ([`Columns::COLUMNS`], even with no row), then one
/// line per row.
pub fn write_csv<T: Serialize + Columns, W: Write>(rows: &[T], w: W) -> Result<(), ThemesError> {
    let mut out = csv::WriterBuilder::new().has_headers(false).from_writer(w);
    out.write_record(T::COLUMNS).map_err(output)?;
    for r in rows {
        out.serialize(r).map_err(output)?;
    }
    out.flush().map_err(output)
}

/// Writes `rows` as a JSON array of objects (pretty-printed, trailing newline).
pub fn write_json<T: Serialize, W: Write>(rows: &[T], mut w: W) -> Result<(), ThemesError> {
    serde_json::to_writer_pretty(&mut w, rows).map_err(output)?;
    writeln!(w).map_err(output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::testutil::synthetic_inputs;
    use crate::themes::{cluster_themes, compare_periods, themes_over_time, ThemeParams};

    fn csv_of<T: Serialize + Columns>(rows: &[T]) -> String {
        let mut buf = Vec::new();
        write_csv(rows, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    /// Reads CSV back with the csv crate: (header, records).
    fn parse(s: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
        let mut r = csv::Reader::from_reader(s.as_bytes());
        let header = r.headers().unwrap().iter().map(String::from).collect();
        (header, r.records().map(|x| x.unwrap()).collect())
    }

    #[test]
    fn csv_parses_back_with_the_expected_columns() {
        let (mut inputs, _) = synthetic_inputs(12, 61);
        // a quote, a comma and a newline in a text that is a representative candidate
        for inp in inputs.iter_mut() {
            inp.text = format!("{}, \"quoted\"\nline two", inp.text);
        }
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        let grid = ShareGrid::new(&r.themes, &inputs, 1).unwrap();
        let rows = theme_rows(&r.themes, &inputs, &grid, 0.02);
        let (header, recs) = parse(&csv_of(&rows));
        assert_eq!(header, ThemeRow::COLUMNS);
        assert_eq!(recs.len(), r.themes.len());
        for (rec, t) in recs.iter().zip(&r.themes) {
            assert_eq!(rec.len(), header.len());
            assert_eq!(rec[0].parse::<u32>().unwrap(), t.id);
            assert_eq!(&rec[1], t.label);
            assert_eq!(rec[2].parse::<u32>().unwrap(), t.size);
            assert!(rec[13].contains("\"quoted\"\nline two"), "{:?}", &rec[13]);
        }

        let over = themes_over_time(&r, &inputs, 1).unwrap();
        let rows = time_rows(&r.themes, &grid, &over);
        let (header, recs) = parse(&csv_of(&rows));
        assert_eq!(header, TimeRow::COLUMNS);
        // dense: every theme × (2023, 2024, undated)
        assert_eq!(recs.len(), r.themes.len() * 3);
        for t in &r.themes {
            let sum: u32 = recs.iter().filter(|x| x[0] == t.id.to_string()).map(|x| x[4].parse::<u32>().unwrap()).sum();
            assert_eq!(sum, t.size);
        }
        assert!(recs.iter().any(|x| x[2].is_empty() && x[3].is_empty()), "undated rows have empty years");
        assert!(recs.iter().all(|x| x[6].parse::<f32>().is_ok_and(|s| (0.0..=1.0).contains(&s))));

        let (a, b) = (Period::year(2023), Period::year(2024));
        let cmp = compare_periods(&r, &inputs, a, b).unwrap();
        let rows = comparison_rows(&cmp, a, b, &inputs);
        let (header, recs) = parse(&csv_of(&rows));
        assert_eq!(header, ComparisonRow::COLUMNS);
        assert_eq!(recs.len(), cmp.len());
        assert!(recs.iter().all(|x| ["Emerging", "Faded", "Grown", "Shrunk", "Stable"].contains(&&x[2])));
        assert!(recs.iter().all(|x| &x[3] == "2023" && &x[6] == "2024"));
    }

    #[test]
    fn header_written_without_rows_and_json_has_the_same_keys() {
        let empty: Vec<TimeRow> = vec![];
        assert_eq!(csv_of(&empty).trim_end(), TimeRow::COLUMNS.join(","));
        let (inputs, _) = synthetic_inputs(8, 62);
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        let grid = ShareGrid::new(&r.themes, &inputs, 5).unwrap();
        let rows = theme_rows(&r.themes, &inputs, &grid, 0.02);
        let mut buf = Vec::new();
        write_json(&rows, &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), r.themes.len());
        let keys: Vec<&str> = arr[0].as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut want: Vec<&str> = ThemeRow::COLUMNS.to_vec();
        want.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(arr[0]["bucket_years"], 5);
        assert_eq!(arr[0]["peak_year"], 2020);
    }
}
