//! `simtheme compare-years A B` (alias `compare-periods`): the themes of two years or periods
//! (`2019`, `2013-2017`) side by side, as a table, CSV or JSON.

use crate::config::Config;
use crate::themes::period::check_distinct;
use crate::themes::{export, Period, Trend};

use super::themes_cmd::{open, print_rows, short, Format, OutputArgs, ThemeArgs};

/// Compares period A with period B, theme by theme, with a representative paragraph of each.
/// Themes are those of the paragraphs selected by `args` (default: the whole corpus, so ids
/// match `simtheme themes` with the same options).
pub fn run_compare(config: Config, args: &ThemeArgs, a: &str, b: &str, out: &OutputArgs) -> anyhow::Result<()> {
    let (a, b) = (Period::parse(a)?, Period::parse(b)?);
    // checked before the model loads; the engine checks again
    check_distinct(&a, &b, ["period A", "period B"])?;
    let (runtime, engine) = open(config)?;
    let (run, cmp) = runtime.block_on(engine.compare_periods(&args.request(), a, b))?;
    if out.format() != Format::Table {
        return print_rows(&export::comparison_rows(&cmp, a, b, &run.inputs), out.format());
    }
    let total = |p: &Period| run.inputs.iter().filter(|i| p.contains(i.year)).count();
    println!("{a}: {} paragraphs, {b}: {} paragraphs, {} themes", total(&a), total(&b), run.result.themes.len());
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
        for (p, rep, kw, years) in [(a, c.representative_a, &c.keywords_a, c.years_a), (b, c.representative_b, &c.keywords_b, c.years_b)] {
            let words: Vec<&str> = kw.iter().take(5).map(|k| k.word.as_str()).collect();
            let in_years = if p.len() > 1 { format!(" ({years} of {} years)", p.len()) } else { String::new() };
            match rep.and_then(|id| run.records.get(&id)) {
                Some(para) => println!("  {p}{in_years} [{}]: {}", words.join(" "), short(&para.text, 70)),
                None => println!("  {p}: —"),
            }
        }
    }
    Ok(())
}
