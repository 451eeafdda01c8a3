//! `simtheme themes` and `simtheme themes-over-time`: readable tables, CSV or JSON of the
//! themes of the stored paragraphs and of their shares per year or bucket, and SVG charts
//! (shares as lines for short spans, a heatmap for long ones).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::engine::{Engine, ParagraphFilter, ThemeRequest, ThemesRun, YearFilter};
use crate::themes::export::{self, Columns};
use crate::themes::grid::{bucket_size, presence_share};
use crate::themes::plot::ChartKind;
use crate::themes::{self, Method, ShareGrid};

/// Options shared by the theme commands.
#[derive(Debug, Clone, clap::Args)]
pub struct ThemeArgs {
    /// Only paragraphs of these years (comma-separated), e.g. 2023,2024.
    #[arg(long, value_delimiter = ',')]
    pub years: Vec<i32>,
    /// Include undated documents even when --years is given.
    #[arg(long)]
    pub include_undated: bool,
    /// Number of themes (default: automatic).
    #[arg(long)]
    pub k: Option<usize>,
    /// Themes smaller than this become outliers (default: the engine's, 3).
    #[arg(long)]
    pub min_size: Option<usize>,
    /// Random seed (default: the engine's, 42, as over gRPC).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Use spherical k-means instead of agglomerative clustering.
    #[arg(long)]
    pub kmeans: bool,
}

impl ThemeArgs {
    /// The engine request these options describe (unset options take the engine's defaults).
    pub(crate) fn request(&self) -> ThemeRequest {
        let years = (!self.years.is_empty()).then(|| YearFilter {
            years: self.years.clone(),
            include_undated: self.include_undated,
            ..YearFilter::default()
        });
        ThemeRequest {
            target_themes: self.k,
            min_theme_size: self.min_size,
            seed: self.seed,
            method: if self.kmeans { Method::KMeans } else { Method::Agglomerative },
            keywords: None,
            filter: ParagraphFilter { years, ..ParagraphFilter::default() },
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A readable table.
    #[default]
    Table,
    /// CSV: a header row, then one row per theme (themes), per theme and year or bucket
    /// (themes-over-time) or per compared theme (compare-years); UTF-8, quoted as needed.
    Csv,
    /// JSON: an array of objects with the same keys as the CSV columns.
    Json,
}

/// Chart drawn by `simtheme themes --plot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Chart {
    /// Lines up to 12 yearly columns, else the heatmap.
    #[default]
    Auto,
    /// One line per theme (the 10 largest), yearly shares.
    Lines,
    /// Themes (rows, by peak) × years or buckets (columns), share as colour.
    Heatmap,
}

impl From<Chart> for ChartKind {
    fn from(c: Chart) -> ChartKind {
        match c {
            Chart::Auto => ChartKind::Auto,
            Chart::Lines => ChartKind::Lines,
            Chart::Heatmap => ChartKind::Heatmap,
        }
    }
}

/// Output options shared by the theme commands.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format (csv and json are ready for pandas: `read_csv` / `read_json`).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl OutputArgs {
    /// The format asked for.
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.format
        }
    }
}

/// Time buckets and the presence threshold of the life cycles (first, peak, fade).
#[derive(Debug, Clone, clap::Args)]
pub struct TimeArgs {
    /// Years per bucket (1, 5, 10, ...; aligned, so 5 gives 1950-1954, 1955-1959). At most 100.
    #[arg(long, default_value_t = 1)]
    pub bucket: u32,
    /// A theme is present in a bucket when its share of the bucket's paragraphs is at least
    /// this fraction (first = first such bucket, fade = first bucket after the last one).
    #[arg(long, default_value_t = themes::PRESENCE_MIN)]
    pub presence: f32,
}

impl TimeArgs {
    pub(crate) fn checked(&self) -> anyhow::Result<(u32, f32)> {
        Ok((bucket_size(self.bucket)?, presence_share(self.presence)?))
    }
}

/// Writes `rows` to stdout as CSV or JSON.
pub(crate) fn print_rows<T: serde::Serialize + Columns>(rows: &[T], format: Format) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        Format::Csv => export::write_csv(rows, &mut out)?,
        Format::Json => export::write_json(rows, &mut out)?,
        Format::Table => unreachable!("tables are printed by each command"),
    }
    out.flush()?;
    Ok(())
}

pub(crate) fn open(config: Config) -> anyhow::Result<(tokio::runtime::Runtime, std::sync::Arc<Engine>)> {
    let runtime = super::runtime()?;
    let engine = runtime.block_on(Engine::open(config))?;
    let seeded = runtime.block_on(engine.seed_if_empty())?;
    if !seeded.is_empty() {
        eprintln!("ingested {} seed documents into an empty data directory", seeded.len());
    }
    Ok((runtime, engine))
}

pub(crate) fn short(text: &str, n: usize) -> String {
    let t: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        format!("{t}…")
    } else {
        t
    }
}

fn year_name(y: Option<i32>) -> String {
    y.map(|y| y.to_string()).unwrap_or_else(|| "undated".into())
}

fn write_chart(run: &ThemesRun, grid: &ShareGrid, kind: ChartKind, presence: f32, path: &Path) -> anyhow::Result<()> {
    let drawn = themes::plot::plot_themes(&run.result.themes, grid, kind, presence, path)?;
    eprintln!("{drawn} chart written to {}", path.display());
    Ok(())
}

/// Prints the themes (table, CSV or JSON: one row per theme with its life cycle); writes the
/// chart when `plot` is given.
pub fn run_themes(
    config: Config,
    args: &ThemeArgs,
    out: &OutputArgs,
    time: &TimeArgs,
    plot: Option<PathBuf>,
    chart: Chart,
) -> anyhow::Result<()> {
    let (bucket, presence) = time.checked()?;
    let (runtime, engine) = open(config)?;
    let (run, _) = runtime.block_on(engine.themes(&args.request()))?;
    let grid = ShareGrid::new(&run.result.themes, &run.inputs, bucket)?;
    if let Some(path) = &plot {
        write_chart(&run, &grid, chart.into(), presence, path)?;
    }
    match out.format() {
        Format::Table => print_themes(&run, &grid, presence),
        f => print_rows(&export::theme_rows(&run.result.themes, &run.inputs, &grid, presence), f)?,
    }
    Ok(())
}

fn opt_year(y: Option<i32>) -> String {
    y.map_or_else(|| "-".into(), |y| y.to_string())
}

fn print_themes(run: &ThemesRun, grid: &ShareGrid, presence: f32) {
    let r = &run.result;
    println!(
        "{} paragraphs, {} themes, {} outliers (result {}, {:.0} ms)",
        r.input_count,
        r.themes.len(),
        r.outliers.len(),
        run.result_id,
        run.elapsed_ms
    );
    // Per-year counts while they fit on a line; beyond that, the life cycle says when.
    let few_years = grid.bucket_years == 1 && grid.buckets.len() <= 4;
    let when = if few_years { "years (count)" } else { "first  peak  fade" };
    println!("{:>3}  {:<30} {:>4} {:>6} {:>5}  {:<28} example", "id", "label", "size", "share", "coh", when);
    for (i, t) in r.themes.iter().enumerate() {
        let when = if few_years {
            let years: Vec<String> = t.years.iter().map(|y| format!("{}:{}", year_name(y.year), y.count)).collect();
            years.join(" ")
        } else {
            let lc = grid.lifecycle(i, t.id, presence);
            format!("{:<5}  {:<4}  {}", opt_year(lc.first), opt_year(lc.peak), opt_year(lc.fade))
        };
        let example = t.representatives.first().and_then(|id| run.records.get(id)).map(|p| short(&p.text, 28)).unwrap_or_default();
        println!(
            "{:>3}  {:<30} {:>4} {:>5.1}% {:>5.2}  {:<28} {}",
            t.id,
            short(&t.label, 30),
            t.size,
            t.share * 100.0,
            t.cohesion,
            when,
            example
        );
    }
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Prints themes over time: per theme (ordered by peak) its life cycle and a sparkline of its
/// share per bucket (table), or one row per theme × bucket (CSV, JSON); writes the heatmap when
/// `plot` is given.
pub fn run_over_time(config: Config, args: &ThemeArgs, out: &OutputArgs, time: &TimeArgs, plot: Option<PathBuf>) -> anyhow::Result<()> {
    let (runtime, engine) = open(config)?;
    let (run, over) = runtime.block_on(engine.themes_over_time(&args.request(), time.bucket, time.presence))?;
    let (themes, grid, presence, bucket) = (&run.result.themes, &over.grid, over.presence, over.grid.bucket_years);
    if let Some(path) = &plot {
        write_chart(&run, grid, ChartKind::Heatmap, presence, path)?;
    }
    if out.format() != Format::Table {
        return print_rows(&export::time_rows(themes, grid, &over.entries), out.format());
    }
    let (Some(first), Some(last)) = (grid.buckets.first(), grid.buckets.last()) else {
        anyhow::bail!("no clustered paragraph is dated; ingest documents with dates");
    };
    println!(
        "{} themes over {}–{} in buckets of {bucket} year(s); present = share ≥ {:.1}% of the bucket's paragraphs",
        themes.len(),
        first.period.from,
        last.period.to,
        presence * 100.0
    );
    println!(
        "{:>3}  {:<30} {:>5} {:>5} {:>6} {:>5} {:>5}  share per bucket (▁ low … █ peak, · no data)",
        "id", "label", "first", "peak", "peak%", "last", "fade"
    );
    for t in grid.order_by_peak(themes, presence) {
        let th = &themes[t];
        let lc = grid.lifecycle(t, th.id, presence);
        let spark: String = (0..grid.buckets.len())
            .map(|b| match grid.share(t, b) {
                None => '·',
                Some(s) if s <= 0.0 || lc.peak_share <= 0.0 => ' ',
                Some(s) => SPARKS[((s / lc.peak_share) * 7.0).round().clamp(0.0, 7.0) as usize],
            })
            .collect();
        println!(
            "{:>3}  {:<30} {:>5} {:>5} {:>5.1}% {:>5} {:>5}  {spark}",
            th.id,
            short(&th.label, 30),
            opt_year(lc.first),
            opt_year(lc.peak),
            lc.peak_share * 100.0,
            opt_year(lc.last),
            opt_year(lc.fade)
        );
    }
    Ok(())
}
