//! `simtheme reuse`: text reuse between two documents, years or periods, as a table, CSV or JSON.

use crate::config::Config;
use crate::engine::{Engine, ReuseQuery, ReuseScope};
use crate::reuse::{render_inline, ReuseKind, ReuseParams, ReuseReport};

/// Output format of `simtheme reuse`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReuseFormat {
    /// Counts, then one line per paragraph (edited ones with their diff).
    #[default]
    Table,
    /// One row per paragraph pair / lone paragraph, with a header.
    Csv,
    /// The whole report.
    Json,
}

/// Options of `simtheme reuse`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReuseArgs {
    /// Older side: a year (2019) or a period (2013-2017).
    #[arg(long, conflicts_with = "from_doc", required_unless_present = "from_doc", value_name = "YEAR|FROM-TO")]
    pub from: Option<String>,
    /// Newer side: a year (2020) or a period (2018-2024).
    #[arg(long, conflicts_with = "to_doc", required_unless_present = "to_doc", value_name = "YEAR|FROM-TO")]
    pub to: Option<String>,
    /// Older side: one stored document, by id.
    #[arg(long, value_name = "ID")]
    pub from_doc: Option<String>,
    /// Newer side: one stored document, by id.
    #[arg(long, value_name = "ID")]
    pub to_doc: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReuseFormat::Table)]
    pub format: ReuseFormat,
    /// Lowest text similarity (0-1) for an "edited" pair.
    #[arg(long, default_value_t = ReuseParams::default().edited_min_similarity)]
    pub min_similarity: f32,
    /// Lowest embedding cosine for a "rewritten" pair (above 1 turns them off).
    #[arg(long, default_value_t = ReuseParams::default().rewritten_min_cosine)]
    pub min_cosine: f32,
}

/// Parses `2019`, `2013-2017` (or with an en dash, `..`, `:`) into a year scope.
pub fn parse_period(s: &str) -> anyhow::Result<ReuseScope> {
    let t = s.trim();
    let year = |y: &str| -> anyhow::Result<i32> {
        let y = y.trim();
        match y.parse::<i32>() {
            Ok(v) if y.len() == 4 => Ok(v),
            _ => anyhow::bail!("`{s}` is not a year or a period: write 2019 or 2013-2017"),
        }
    };
    for sep in ["..", "–", "—", "-", ":"] {
        if let Some((a, b)) = t.split_once(sep) {
            let (from, to) = (year(a)?, year(b)?);
            if from > to {
                anyhow::bail!("period `{s}` is inverted: write the earlier year first ({to}-{from})");
            }
            return Ok(ReuseScope::Years { from, to });
        }
    }
    let y = year(t)?;
    Ok(ReuseScope::Years { from: y, to: y })
}

impl ReuseArgs {
    /// The engine query these options describe.
    pub fn query(&self) -> anyhow::Result<ReuseQuery> {
        let side = |doc: &Option<String>, period: &Option<String>, name: &str| -> anyhow::Result<ReuseScope> {
            match (doc, period) {
                (Some(d), _) => Ok(ReuseScope::Document(d.trim().to_string())),
                (None, Some(p)) => parse_period(p),
                (None, None) => anyhow::bail!("give --{name} YEAR|FROM-TO or --{name}-doc ID"),
            }
        };
        Ok(ReuseQuery {
            from: side(&self.from_doc, &self.from, "from")?,
            to: side(&self.to_doc, &self.to, "to")?,
            params: ReuseParams {
                edited_min_similarity: self.min_similarity,
                rewritten_min_cosine: self.min_cosine,
                ..ReuseParams::default()
            },
        })
    }
}

fn short(text: &str, n: usize) -> String {
    let flat = text.replace(['\n', '\r'], " ");
    let t: String = flat.chars().take(n).collect();
    if flat.chars().count() > n {
        format!("{t}…")
    } else {
        t
    }
}

/// The counts block of a report (also printed before the table).
pub fn summary(r: &ReuseReport) -> String {
    let c = &r.counts;
    let kinds: Vec<String> = ReuseKind::ALL.iter().map(|k| format!("{} {}", k.as_str(), c.of(*k))).collect();
    format!(
        "{} → {}: {} → {} paragraphs, aligned in {:.0} ms\n{}\n{:.1}% of {}'s text carried over (verbatim or edited)",
        r.from_label,
        r.to_label,
        c.from_paragraphs,
        c.to_paragraphs,
        r.elapsed_ms,
        kinds.join(", "),
        100.0 * c.reused_share,
        r.to_label
    )
}

/// The table: the summary, then one line per entry (edited pairs show their diff).
pub fn table(r: &ReuseReport) -> String {
    let mut out = summary(r);
    out.push_str(&format!(
        "\n\n{:<9} {:>5} {:>5} {:>8} {:>8}  text (edited: [-deleted-] {{+inserted+}})\n",
        "kind", "sim", "cos", "from", "to"
    ));
    for e in &r.entries {
        let id = |p: &Option<crate::reuse::ReuseParagraph>| p.as_ref().map(|p| format!("#{}", p.id)).unwrap_or_else(|| "-".into());
        let text = match e.kind {
            ReuseKind::Edited => short(&render_inline(&e.diff), 160),
            ReuseKind::Dropped => short(&e.from.as_ref().map(|p| p.text.clone()).unwrap_or_default(), 100),
            _ => short(&e.to.as_ref().map(|p| p.text.clone()).unwrap_or_default(), 100),
        };
        let cos = e.cosine.map(|c| format!("{c:.2}")).unwrap_or_else(|| "-".into());
        out.push_str(&format!("{:<9} {:>5.2} {:>5} {:>8} {:>8}  {}\n", e.kind.as_str(), e.similarity, cos, id(&e.from), id(&e.to), text));
    }
    out
}

/// Runs `simtheme reuse`: prints the report in the chosen format.
pub fn run_reuse(config: Config, args: &ReuseArgs) -> anyhow::Result<()> {
    let query = args.query()?;
    let runtime = super::runtime()?;
    let engine = runtime.block_on(Engine::open(config))?;
    let started = std::time::Instant::now();
    let report = runtime.block_on(engine.reuse(&query))?;
    match args.format {
        ReuseFormat::Table => {
            print!("{}", table(&report));
            println!("total {:.0} ms (reading paragraphs and vectors included)", started.elapsed().as_secs_f64() * 1e3);
        }
        ReuseFormat::Csv => print!("{}", report.to_csv()?),
        ReuseFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(parse_period("2019").unwrap(), ReuseScope::Years { from: 2019, to: 2019 });
        assert_eq!(parse_period(" 2013-2017 ").unwrap(), ReuseScope::Years { from: 2013, to: 2017 });
        assert_eq!(parse_period("2013–2017").unwrap(), ReuseScope::Years { from: 2013, to: 2017 });
        assert_eq!(parse_period("2013..2017").unwrap(), ReuseScope::Years { from: 2013, to: 2017 });
        let err = parse_period("2017-2013").unwrap_err().to_string();
        assert!(err.contains("inverted") && err.contains("2013-2017"), "{err}");
        for bad in ["19", "20190", "last year", "2019-", ""] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }
}
