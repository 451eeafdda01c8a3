//! `simtheme themes --tree | --level N | --subtree ID | --policies`: themes at every zoom,
//! printed as an indented tree, one level as a table, one theme with its descendants, or the
//! policy themes (or CSV/JSON).

use std::path::Path;

use crate::config::Config;
use crate::engine::{ThemeTreeQuery, ThemeTreeRun, MAX_POLICIES};
use crate::themes::eras::MIN_CORPUS_YEARS;
use crate::themes::plot::ChartKind;
use crate::themes::policies::policy_rows;
use crate::themes::{self, export, PolicyTheme, ShareGrid, Theme, TreeNode};

use super::themes_cmd::{open, print_rows, Format, OutputArgs, ThemeArgs, TimeArgs};

/// Zoom options of `simtheme themes`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ZoomArgs {
    /// Print the whole theme tree (broad themes, each splitting into finer ones).
    #[arg(long, conflicts_with_all = ["level", "subtree"])]
    pub tree: bool,
    /// Print the themes of one level of the tree (0 = broad; finest = levels - 1).
    #[arg(long)]
    pub level: Option<u32>,
    /// Print one theme of the tree (its id in the tree) with all its descendants.
    #[arg(long, conflicts_with = "level")]
    pub subtree: Option<u32>,
    /// Number of levels of the tree (1 to 6; default 3).
    #[arg(long)]
    pub levels: Option<usize>,
    /// Print the policy themes: terms that appear, peak and fade (the paragraphs naming each,
    /// whichever theme they fall in), most paragraphs first; with --subtree, those under its
    /// broad theme.
    #[arg(long, conflicts_with_all = ["tree", "level"])]
    pub policies: bool,
}

impl ZoomArgs {
    /// True when a tree view was asked for.
    pub fn active(&self) -> bool {
        self.tree || self.level.is_some() || self.subtree.is_some() || self.policies
    }
}

fn year_range(n: &TreeNode) -> String {
    let dated: Vec<i32> = n.theme.years.iter().filter_map(|y| y.year).collect();
    match (dated.first(), dated.last()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "undated".into(),
    }
}

fn line(run: &ThemeTreeRun, n: &TreeNode, indent: usize) -> String {
    let example = n
        .theme
        .representatives
        .first()
        .and_then(|id| run.records.get(id))
        .map(|p| p.text.chars().take(30).collect::<String>())
        .unwrap_or_default();
    format!(
        "{:indent$}[{}] {} — {} paragraphs, {}, parent {}: {}",
        "",
        n.theme.id,
        n.theme.label,
        n.theme.size,
        year_range(n),
        n.parent.map_or("-".to_string(), |p| p.to_string()),
        example,
        indent = indent
    )
}

/// Prints the tree, a level or a subtree of the stored paragraphs' themes (table, or one row
/// per node as CSV or JSON); `plot` draws the shown nodes' shares over time as a heatmap.
pub fn run_theme_tree(
    config: Config,
    args: &ThemeArgs,
    zoom: &ZoomArgs,
    out: &OutputArgs,
    time: &TimeArgs,
    plot: Option<&Path>,
) -> anyhow::Result<()> {
    let (bucket, presence) = time.checked()?;
    let (runtime, engine) = open(config)?;
    let query = ThemeTreeQuery { themes: args.request(), levels: zoom.levels, min_split: None };
    let (run, _) = runtime.block_on(engine.theme_tree(&query))?;
    if zoom.policies {
        return print_policies(&run, zoom.subtree, out, bucket, presence, plot);
    }
    let nodes = run.select(zoom.level, zoom.subtree)?;
    if plot.is_some() || out.format() != Format::Table {
        let themes: Vec<Theme> = nodes.iter().map(|n| n.theme.clone()).collect();
        let grid = ShareGrid::new(&themes, &run.inputs, bucket)?;
        if let Some(path) = plot {
            themes::plot::plot_themes(&themes, &grid, ChartKind::Heatmap, presence, path)?;
            eprintln!("heatmap of {} themes written to {}", themes.len(), path.display());
        }
        if out.format() != Format::Table {
            return print_rows(&export::tree_rows(&nodes, &run.inputs, &grid, presence), out.format());
        }
    }
    let t = &run.tree;
    println!(
        "{} paragraphs, {} themes on {} levels, {} outliers, {} boilerplate (result {}, {:.0} ms)",
        t.input_count,
        t.nodes.len(),
        t.depth(),
        t.outliers.len(),
        t.boilerplate.len(),
        run.result_id,
        run.elapsed_ms
    );
    if zoom.level.is_some() {
        for n in nodes {
            println!("{}", line(&run, n, 0));
        }
        return Ok(());
    }
    // depth-first, children indented under their parent
    let wanted: std::collections::HashSet<u32> = nodes.iter().map(|n| n.theme.id).collect();
    let base = nodes.first().map_or(0, |n| n.level);
    let mut stack: Vec<u32> = nodes.iter().filter(|n| n.level == base).map(|n| n.theme.id).rev().collect();
    while let Some(id) = stack.pop() {
        let n = &t.nodes[id as usize];
        println!("{}", line(&run, n, 2 * (n.level - base) as usize));
        stack.extend(n.children.iter().rev().filter(|c| wanted.contains(c)));
    }
    let (largest, found) = run.policies(POLICIES_IN_TREE, zoom.subtree)?;
    if found > 0 {
        println!("{found} policy themes (terms that appear, peak and fade; `--policies` lists them all); the largest:");
        for p in largest {
            println!("{}", policy_line(&run, p));
        }
    }
    Ok(())
}

/// Policy themes printed under the tree.
const POLICIES_IN_TREE: usize = 10;
/// Policy themes drawn by `--policies --plot` (the largest; a heatmap stays readable).
const POLICIES_PLOTTED: usize = 40;

fn policy_line(run: &ThemeTreeRun, p: &PolicyTheme) -> String {
    let example = p.theme.representatives.first().and_then(|id| run.records.get(id)).map(|r| r.text.chars().take(30).collect::<String>());
    let broad = p
        .broad_theme
        .and_then(|b| run.tree.nodes.get(b as usize))
        .map_or("-".to_string(), |n| format!("[{}] {}", n.theme.id, n.theme.label));
    format!(
        "  ({}) {} — {}–{} (peak {}), {} paragraphs, coherence {:.2}, in {}: {}",
        p.theme.id,
        p.terms.iter().take(5).cloned().collect::<Vec<_>>().join(" | "),
        p.first_year,
        p.last_year,
        p.peak_year,
        p.theme.size,
        p.coherence,
        broad,
        example.unwrap_or_default()
    )
}

/// Prints every policy theme (under `subtree`'s broad theme when given) as a table, CSV or
/// JSON; `plot` draws the shares over time of the largest [`POLICIES_PLOTTED`] as a heatmap.
fn print_policies(
    run: &ThemeTreeRun,
    subtree: Option<u32>,
    out: &OutputArgs,
    bucket: u32,
    presence: f32,
    plot: Option<&Path>,
) -> anyhow::Result<()> {
    let (policies, found) = run.policies(MAX_POLICIES, subtree)?;
    if let Some(path) = plot {
        let themes: Vec<Theme> = policies.iter().take(POLICIES_PLOTTED).map(|p| p.theme.clone()).collect();
        let grid = ShareGrid::new(&themes, &run.inputs, bucket)?;
        themes::plot::plot_themes(&themes, &grid, ChartKind::Heatmap, presence, path)?;
        eprintln!("heatmap of the {} largest policy themes written to {}", themes.len(), path.display());
    }
    if out.format() != Format::Table {
        return print_rows(
            &policy_rows(&policies, |b| run.tree.nodes.get(b as usize).map(|n| n.theme.label.clone()), &run.inputs),
            out.format(),
        );
    }
    println!("{found} policy themes over {} paragraphs (result {}, {:.0} ms)", run.tree.input_count, run.result_id, run.elapsed_ms);
    if found == 0 {
        println!(
            "none: a policy theme needs a corpus of at least {MIN_CORPUS_YEARS} distinct years and a term that appears, peaks and fades"
        );
    }
    for p in policies {
        println!("{}", policy_line(run, p));
    }
    Ok(())
}
