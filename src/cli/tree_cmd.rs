//! `simtheme themes --tree | --level N | --subtree ID`: themes at every zoom, printed as an
//! indented tree, one level as a table, or one theme with its descendants (or JSON).

use std::path::Path;

use crate::config::Config;
use crate::engine::{ThemeTreeQuery, ThemeTreeRun};
use crate::themes::plot::ChartKind;
use crate::themes::{self, export, ShareGrid, Theme, TreeNode};

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
}

impl ZoomArgs {
    /// True when a tree view was asked for.
    pub fn active(&self) -> bool {
        self.tree || self.level.is_some() || self.subtree.is_some()
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
    Ok(())
}
