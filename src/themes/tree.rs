//! Themes at every zoom: a deterministic tree of themes.
//!
//! Level 0 is the flat clustering of [`super::cluster_themes`] (same method, selection and
//! cut). Every theme of at least [`TreeParams::min_split`] units is then clustered again on
//! its own members, re-centred on their mean (so what they share no longer dominates) and
//! cut at the same relative threshold of *their* mean pairwise distance: broad themes split
//! into finer ones, down to [`TreeParams::levels`] levels. Children therefore nest in their
//! parent by construction; members of a child cluster smaller than `min_theme_size` stay in
//! the parent only.
//!
//! Units may be paragraphs or parts of paragraphs (chunks, sentences): with
//! `paragraph_of`, each node also lists the paragraphs it holds with a weight (the share of
//! the paragraph's characters in the node), so one long paragraph belongs to several themes.
//!
//! Units whose text (letters only, digits and punctuation dropped) recurs in at least
//! [`TreeParams::boilerplate_share`] of the corpus' years (and at least
//! [`BOILERPLATE_MIN_YEARS`]) are boilerplate (salutations, procedural lines): they are
//! reported in [`ThemeTree::boilerplate`] and not clustered. A policy sentence repeated
//! verbatim in a few consecutive reports is not: it recurs in a small share of the years.
//!
//! Labels are c-TF-IDF keywords computed among siblings (a child's words are weighed against
//! its siblings', so they say what distinguishes it within its parent), without words that
//! occur in most years of the corpus ([`super::keywords::common_words`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::build::assemble_theme;
use super::cluster::cluster_points;
use super::eras::EraParams;
use super::keywords::{common_words, Corpus, KeywordModel};
use super::policies::{policy_themes, PolicyTheme};
use super::time::year_totals;
use super::vecmath::{center_rows, flatten_unit};
use super::weights::{ParagraphWeight, ParagraphWeights};
use super::{Method, Selection, Theme, ThemeInput, ThemeParams, ThemesError, ThemesResult};

/// Parameters of [`theme_tree`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeParams {
    /// Level 0 (the flat themes): method, selection or target, minimum size, seed and
    /// keywords per theme. Deeper levels use the same minimum size, seed and keywords with
    /// average linkage cut at the relative threshold.
    pub themes: ThemeParams,
    /// Number of levels, >= 1 (default 3: broad, finer, finest).
    pub levels: usize,
    /// A theme with fewer units is not split further (default 12).
    pub min_split: usize,
    /// A unit whose letters recur in at least this share of the corpus' distinct years (and
    /// in at least [`BOILERPLATE_MIN_YEARS`] years) is boilerplate; 0 disables the detection
    /// (default 0.25).
    pub boilerplate_share: f32,
    /// Thresholds of the era-bound terms behind [`ThemeTree::policies`].
    pub eras: EraParams,
}

impl Default for TreeParams {
    fn default() -> Self {
        TreeParams { themes: ThemeParams::default(), levels: 3, min_split: 12, boilerplate_share: 0.25, eras: EraParams::default() }
    }
}

/// Least number of distinct years a text must recur in to count as boilerplate.
pub const BOILERPLATE_MIN_YEARS: usize = 3;

/// One theme of the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeNode {
    /// The theme; `theme.id` is the node id (its index in [`ThemeTree::nodes`]) and
    /// `theme.members` are unit ids.
    pub theme: Theme,
    /// Parent node id; `None` on level 0.
    pub parent: Option<u32>,
    /// Depth: 0 for the broad themes.
    pub level: u32,
    /// Child node ids, largest first; empty for a leaf.
    pub children: Vec<u32>,
    /// Paragraphs held, by ascending id, with their weight (weight 1 when units are paragraphs).
    pub paragraphs: Vec<ParagraphWeight>,
}

/// Output of [`theme_tree`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeTree {
    /// Nodes level by level (level 0 first), within a level by parent then size descending.
    pub nodes: Vec<TreeNode>,
    /// Units in no level-0 theme (clusters smaller than `min_theme_size`), input order.
    pub outliers: Vec<i64>,
    /// Units kept out as boilerplate (text recurring across years), input order.
    pub boilerplate: Vec<i64>,
    /// Policy themes, most units first; empty below [`super::eras::MIN_CORPUS_YEARS`] years.
    pub policies: Vec<PolicyTheme>,
    /// Number of input units.
    pub input_count: u32,
    /// Parameters used.
    pub params: TreeParams,
}

impl ThemeTree {
    /// Number of levels that hold at least one node.
    pub fn depth(&self) -> u32 {
        self.nodes.iter().map(|n| n.level + 1).max().unwrap_or(0)
    }

    /// The themes seen at `level`: its nodes plus the leaves of shallower levels (a theme
    /// that did not split stays visible when zooming in). Node order.
    pub fn level_nodes(&self, level: u32) -> Vec<&TreeNode> {
        self.nodes.iter().filter(|n| n.level == level || (n.level < level && n.children.is_empty())).collect()
    }

    /// Node `id` and all its descendants, breadth first; `None` when there is no such node.
    pub fn subtree(&self, id: u32) -> Option<Vec<&TreeNode>> {
        self.nodes.get(id as usize)?;
        let mut out = Vec::new();
        let mut queue = VecDeque::from([id]);
        while let Some(i) = queue.pop_front() {
            let n = &self.nodes[i as usize];
            out.push(n);
            queue.extend(n.children.iter().copied());
        }
        Some(out)
    }

    /// `level` as a flat themes result (ids renumbered `0..` by size descending, members
    /// are unit ids); units in none of its themes (boilerplate included) are its outliers.
    pub fn level_result(&self, level: u32) -> ThemesResult {
        let mut themes: Vec<Theme> = self.level_nodes(level).into_iter().map(|n| n.theme.clone()).collect();
        themes.sort_by(|a, b| b.size.cmp(&a.size).then(a.id.cmp(&b.id)));
        let held: HashSet<i64> = themes.iter().flat_map(|t| t.members.iter().copied()).collect();
        let mut outliers: Vec<i64> = self.outliers.iter().chain(&self.boilerplate).copied().collect();
        for n in &self.nodes {
            outliers.extend(n.theme.members.iter().filter(|m| !held.contains(m)));
        }
        outliers.sort_unstable();
        outliers.dedup();
        for (i, t) in themes.iter_mut().enumerate() {
            t.id = i as u32;
        }
        ThemesResult { themes, outliers, input_count: self.input_count, params: self.params.themes.clone() }
    }
}

/// Letters of a unit (lowercased), without digits, punctuation or spaces: the key under which
/// recurring boilerplate is recognised whatever its numbers.
fn boilerplate_key(text: &str) -> String {
    text.chars().filter(|c| c.is_alphabetic()).flat_map(|c| c.to_lowercase()).collect()
}

/// Indices of units whose [`boilerplate_key`] occurs in at least `share` of the distinct
/// years of `units` (and at least [`BOILERPLATE_MIN_YEARS`]).
fn boilerplate_units(units: &[ThemeInput], share: f32) -> HashSet<usize> {
    if share <= 0.0 {
        return HashSet::new();
    }
    let all_years: HashSet<i32> = units.iter().filter_map(|u| u.year).collect();
    let min_years = ((share as f64 * all_years.len() as f64).ceil() as usize).max(BOILERPLATE_MIN_YEARS);
    let keys: Vec<String> = units.iter().map(|u| boilerplate_key(&u.simplified)).collect();
    let mut years: HashMap<&str, HashSet<i32>> = HashMap::new();
    for (k, u) in keys.iter().zip(units) {
        if let (false, Some(y)) = (k.is_empty(), u.year) {
            years.entry(k.as_str()).or_default().insert(y);
        }
    }
    (0..units.len()).filter(|&i| years.get(keys[i].as_str()).is_some_and(|s| s.len() >= min_years)).collect()
}

/// Builds the theme tree of `units` (paragraphs, or parts of paragraphs when
/// `paragraph_of[i]` names the paragraph of unit `i`).
///
/// Errors as [`super::cluster_themes`], and when `paragraph_of` does not have one entry per
/// unit or `levels` is 0. Deterministic: the same input and parameters give the same tree.
pub fn theme_tree(units: &[ThemeInput], paragraph_of: Option<&[i64]>, params: &TreeParams) -> Result<ThemeTree, ThemesError> {
    if units.is_empty() {
        return Err(ThemesError::InvalidArgument("no paragraphs to cluster".into()));
    }
    if params.levels == 0 {
        return Err(ThemesError::InvalidArgument("levels must be at least 1".into()));
    }
    if paragraph_of.is_some_and(|p| p.len() != units.len()) {
        return Err(ThemesError::InvalidArgument("paragraph_of must name one paragraph per unit".into()));
    }
    let mut seen = HashSet::with_capacity(units.len());
    if let Some(dup) = units.iter().find(|u| !seen.insert(u.id)) {
        return Err(ThemesError::InvalidArgument(format!("duplicate unit id {}", dup.id)));
    }
    let vecs: Vec<&[f32]> = units.iter().map(|u| u.vector.as_slice()).collect();
    let (data, d) = flatten_unit(&vecs)?;
    let boiler = boilerplate_units(units, params.boilerplate_share);
    let active: Vec<usize> = (0..units.len()).filter(|i| !boiler.contains(i)).collect();

    let texts: Vec<&str> = units.iter().map(|u| u.simplified.as_str()).collect();
    let corpus = Corpus::new(&texts);
    let mut by_year: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for &i in &active {
        if let Some(y) = units[i].year {
            by_year.entry(y).or_default().push(i);
        }
    }
    let common = common_words(&corpus, &by_year.into_values().collect::<Vec<_>>());
    let totals = year_totals(units.iter().map(|u| u.year));
    let weights = ParagraphWeights::new(units, paragraph_of);
    let min_size = params.themes.min_theme_size.max(1);
    let top = params.themes.keywords_per_theme;

    let mut nodes: Vec<TreeNode> = Vec::new();
    let mut outliers: Vec<usize> = Vec::new();
    let mut queue: VecDeque<(Option<u32>, u32, Vec<usize>)> = VecDeque::from([(None, 0, active)]);
    while let Some((parent, level, rows)) = queue.pop_front() {
        if rows.is_empty() {
            continue;
        }
        let (method, selection, target) = if parent.is_none() {
            (params.themes.method, params.themes.selection, params.themes.target_themes)
        } else {
            (Method::Agglomerative, Selection::RelativeThreshold, None)
        };
        if let Some(k) = target {
            if k == 0 || k > rows.len() {
                return Err(ThemesError::InvalidArgument(format!("target_themes {k} must be in 1..={}", rows.len())));
            }
        }
        let mut sub: Vec<f32> = rows.iter().flat_map(|&i| data[i * d..(i + 1) * d].iter().copied()).collect();
        center_rows(&mut sub, d);
        let labels = cluster_points(&sub, d, method, selection, target, min_size, params.themes.seed)?;
        let k = labels.iter().max().map_or(0, |x| x + 1);
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (j, &l) in labels.iter().enumerate() {
            groups[l].push(rows[j]);
        }
        let (mut kept, small): (Vec<Vec<usize>>, Vec<Vec<usize>>) = groups.into_iter().partition(|g| g.len() >= min_size);
        if parent.is_none() {
            outliers.extend(small.into_iter().flatten());
        } else if kept.len() < 2 {
            continue; // no real split: the parent is a leaf
        }
        kept.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
        let class_counts: Vec<Vec<u32>> = kept.iter().map(|g| corpus.counts(g)).collect();
        let mut model = KeywordModel::fit(&corpus, &class_counts, top);
        model.ban(&common);
        for (g, counts) in kept.into_iter().zip(&class_counts) {
            let id = nodes.len() as u32;
            let keywords = model.keywords(&corpus, counts, top);
            let theme = assemble_theme(units, &data, d, &g, id, keywords, &totals);
            if let Some(p) = parent {
                nodes[p as usize].children.push(id);
            }
            nodes.push(TreeNode { theme, parent, level, children: Vec::new(), paragraphs: weights.of(&g) });
            if (level as usize) + 1 < params.levels && g.len() >= params.min_split.max(2 * min_size) {
                queue.push_back((Some(id), level + 1, g));
            }
        }
    }
    let id_row: HashMap<i64, usize> = units.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let level0: Vec<(u32, HashSet<usize>)> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.level == 0)
        .map(|(i, n)| (i as u32, n.theme.members.iter().filter_map(|m| id_row.get(m).copied()).collect()))
        .collect();
    let policies = policy_themes(units, &data, d, &corpus, &common, &boiler, &level0, &weights, &totals, top, &params.eras);
    outliers.sort_unstable();
    let mut boilerplate: Vec<usize> = boiler.into_iter().collect();
    boilerplate.sort_unstable();
    Ok(ThemeTree {
        nodes,
        outliers: outliers.into_iter().map(|i| units[i].id).collect(),
        boilerplate: boilerplate.into_iter().map(|i| units[i].id).collect(),
        policies,
        input_count: units.len() as u32,
        params: params.clone(),
    })
}
