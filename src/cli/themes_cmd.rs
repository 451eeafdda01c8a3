//! `simtheme themes` and `simtheme compare-years`: readable tables (or JSON) of the themes of
//! the stored paragraphs, an optional SVG chart of theme shares per year.

use std::path::PathBuf;

use crate::config::Config;
use crate::engine::{Engine, ParagraphFilter, ThemeQuery, ThemesRun, YearFilter};
use crate::themes::{self, Method, ThemeParams, Trend};

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
    /// Themes smaller than this become outliers.
    #[arg(long, default_value_t = 3)]
    pub min_size: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use spherical k-means instead of agglomerative clustering.
    #[arg(long)]
    pub kmeans: bool,
}

impl ThemeArgs {
    pub(crate) fn query(&self) -> ThemeQuery {
        let years = (!self.years.is_empty()).then(|| YearFilter {
            years: self.years.clone(),
            include_undated: self.include_undated,
            ..YearFilter::default()
        });
        ThemeQuery {
            params: ThemeParams {
                target_themes: self.k,
                min_theme_size: self.min_size.max(1),
                seed: self.seed,
                method: if self.kmeans { Method::KMeans } else { Method::Agglomerative },
                ..ThemeParams::default()
            },
            filter: ParagraphFilter { years, ..ParagraphFilter::default() },
        }
    }
}

fn open(config: Config) -> anyhow::Result<(tokio::runtime::Runtime, std::sync::Arc<Engine>)> {
    let runtime = super::runtime()?;
    let engine = runtime.block_on(Engine::open(config))?;
    let seeded = runtime.block_on(engine.seed_if_empty())?;
    if !seeded.is_empty() {
        eprintln!("ingested {} seed documents into an empty data directory", seeded.len());
    }
    Ok((runtime, engine))
}

fn short(text: &str, n: usize) -> String {
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

/// Prints the themes table (or JSON); writes the chart when `plot` is given.
pub fn run_themes(config: Config, args: &ThemeArgs, json: bool, plot: Option<PathBuf>) -> anyhow::Result<()> {
    let (runtime, engine) = open(config)?;
    let (run, _) = runtime.block_on(engine.themes(&args.query()))?;
    if let Some(path) = &plot {
        themes::plot_year_shares(&run.result, path)?;
        eprintln!("chart written to {}", path.display());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&run.result)?);
        return Ok(());
    }
    print_themes(&run);
    Ok(())
}

fn print_themes(run: &ThemesRun) {
    let r = &run.result;
    println!(
        "{} paragraphs, {} themes, {} outliers (result {}, {:.0} ms)",
        r.input_count,
        r.themes.len(),
        r.outliers.len(),
        run.result_id,
        run.elapsed_ms
    );
    println!("{:>3}  {:<30} {:>4} {:>6} {:>5}  {:<28} example", "id", "label", "size", "share", "coh", "years (count)");
    for t in &r.themes {
        let years: Vec<String> = t.years.iter().map(|y| format!("{}:{}", year_name(y.year), y.count)).collect();
        let example = t.representatives.first().and_then(|id| run.records.get(id)).map(|p| short(&p.text, 28)).unwrap_or_default();
        println!(
            "{:>3}  {:<30} {:>4} {:>5.1}% {:>5.2}  {:<28} {}",
            t.id,
            short(&t.label, 30),
            t.size,
            t.share * 100.0,
            t.cohesion,
            years.join(" "),
            example
        );
    }
}

/// Prints year A against year B, theme by theme, with a representative paragraph of each.
pub fn run_compare_years(config: Config, args: &ThemeArgs, a: i32, b: i32, json: bool) -> anyhow::Result<()> {
    if a == b {
        anyhow::bail!("give two different years");
    }
    let (runtime, engine) = open(config)?;
    let mut args = args.clone();
    let both_listed = args.years.contains(&a) && args.years.contains(&b);
    if !args.years.is_empty() && !both_listed {
        anyhow::bail!("--years must include {a} and {b}");
    }
    if args.years.is_empty() {
        args.years = vec![a, b];
    }
    let (run, _) = runtime.block_on(engine.themes(&args.query()))?;
    let cmp = themes::compare_years(&run.result, &run.inputs, a, b)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&cmp)?);
        return Ok(());
    }
    let total = |y: i32| run.inputs.iter().filter(|i| i.year == Some(y)).count();
    println!("{a}: {} paragraphs, {b}: {} paragraphs, {} themes", total(a), total(b), run.result.themes.len());
    for c in &cmp {
        let trend = match c.trend {
            Trend::Emerging => "EMERGING",
            Trend::Faded => "FADED",
            Trend::Grown => "GROWN",
            Trend::Shrunk => "SHRUNK",
            Trend::Stable => "stable",
        };
        println!(
            "\n[{}] {} — {trend}: {:.1}% in {a} → {:.1}% in {b} ({:+.1} points)",
            c.theme_id,
            c.label,
            c.share_a * 100.0,
            c.share_b * 100.0,
            c.change * 100.0
        );
        for (year, rep, kw) in [(a, c.representative_a, &c.keywords_a), (b, c.representative_b, &c.keywords_b)] {
            let words: Vec<&str> = kw.iter().take(5).map(|k| k.word.as_str()).collect();
            match rep.and_then(|id| run.records.get(&id)) {
                Some(p) => println!("  {year} [{}]: {}", words.join(" "), short(&p.text, 70)),
                None => println!("  {year}: —"),
            }
        }
    }
    Ok(())
}
