//! Themes at every zoom over the stored paragraphs: the tree of [`crate::themes::tree`],
//! cached per (corpus version, parameters, filter) beside the flat themes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::backend::ParagraphRecord;
use crate::themes::{theme_tree, PolicyTheme, ThemeInput, ThemeTree, TreeNode, TreeParams};

use super::{Engine, EngineError, ParagraphFilter, ThemeRequest};

/// Most levels a tree may have.
pub const MAX_TREE_LEVELS: usize = 6;
/// Most policy themes one answer may list.
pub const MAX_POLICIES: usize = 1000;
/// Policy themes listed when the caller does not say.
pub const DEFAULT_POLICIES: usize = 50;
/// Most members a node may quote per year.
pub const MAX_YEAR_EXAMPLES: usize = 10;

/// What to build a theme tree of, and how; `None` takes the default of [`TreeParams`].
#[derive(Debug, Clone, Default)]
pub struct ThemeTreeQuery {
    /// Level 0, the flat themes: method, number or automatic choice, minimum size, seed,
    /// keywords, and which paragraphs take part.
    pub themes: ThemeRequest,
    /// Number of levels, 1 to [`MAX_TREE_LEVELS`]; `None`: 3.
    pub levels: Option<usize>,
    /// A theme with fewer paragraphs is not split further; `None`: 12.
    pub min_split: Option<usize>,
}

impl ThemeTreeQuery {
    /// The tree parameters and filter with defaults applied and limits checked.
    fn resolve(&self) -> Result<(TreeParams, ParagraphFilter), EngineError> {
        let flat = self.themes.resolve()?;
        let d = TreeParams::default();
        let levels = self.levels.unwrap_or(d.levels);
        if levels == 0 || levels > MAX_TREE_LEVELS {
            return Err(EngineError::InvalidArgument(format!("levels must be in 1..={MAX_TREE_LEVELS}, not {levels}")));
        }
        let params = TreeParams { themes: flat.params, levels, min_split: self.min_split.unwrap_or(d.min_split).max(1), ..d };
        Ok((params, flat.filter))
    }
}

/// A computed theme tree with the records of its paragraphs.
#[derive(Debug)]
pub struct ThemeTreeRun {
    /// Stable id: hash of corpus version, parameters and filter.
    pub result_id: String,
    /// The tree (units are paragraphs: node members are paragraph ids).
    pub tree: ThemeTree,
    /// Stored records of the clustered paragraphs, by id.
    pub records: HashMap<i64, ParagraphRecord>,
    /// The clustered paragraphs with their vectors (input order).
    pub inputs: Vec<ThemeInput>,
    /// Corpus version computed on.
    pub corpus_version: u64,
    /// Milliseconds the computation took.
    pub elapsed_ms: f64,
}

impl ThemeTreeRun {
    /// The nodes seen at `level` (see [`ThemeTree::level_nodes`]); `InvalidArgument` naming
    /// the levels that exist when there is no such level.
    pub fn level(&self, level: u32) -> Result<Vec<&TreeNode>, EngineError> {
        let depth = self.tree.depth();
        if level >= depth {
            return Err(EngineError::InvalidArgument(format!(
                "level {level} does not exist: this tree has levels 0..={}",
                depth.saturating_sub(1)
            )));
        }
        Ok(self.tree.level_nodes(level))
    }

    /// The nodes a caller asked for: one `level`, one `subtree`, or (neither) every node;
    /// `InvalidArgument` when both are given.
    pub fn select(&self, level: Option<u32>, subtree: Option<u32>) -> Result<Vec<&TreeNode>, EngineError> {
        match (level, subtree) {
            (Some(_), Some(_)) => {
                Err(EngineError::InvalidArgument("give a level or a subtree, not both (a subtree already spans its levels)".into()))
            }
            (Some(l), None) => self.level(l),
            (None, Some(id)) => self.subtree(id),
            (None, None) => Ok(self.tree.nodes.iter().collect()),
        }
    }

    /// Up to `per_year` members of `node` per year, nearest its centre first, with their
    /// cosine to the centre; years ascending, undated last.
    pub fn year_examples(&self, node: &TreeNode, per_year: usize) -> Vec<(i64, f32)> {
        if per_year == 0 {
            return Vec::new();
        }
        let members: HashSet<i64> = node.paragraphs.iter().map(|p| p.id).collect();
        let mut by_year: BTreeMap<(bool, i32), Vec<(i64, f32)>> = BTreeMap::new();
        for input in self.inputs.iter().filter(|i| members.contains(&i.id)) {
            let key = (input.year.is_none(), input.year.unwrap_or(0));
            by_year.entry(key).or_default().push((input.id, crate::embed::cosine(&input.vector, &node.theme.centroid)));
        }
        let mut out = Vec::new();
        for (_, mut quoted) in by_year {
            quoted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            out.extend(quoted.into_iter().take(per_year));
        }
        out
    }

    /// Up to `limit` (see [`policy_limit`]) policy themes, most paragraphs first; with `subtree`, only those under the broad theme that node
    /// belongs to. Also returns how many there are before the limit.
    pub fn policies(&self, limit: usize, subtree: Option<u32>) -> Result<(Vec<&PolicyTheme>, usize), EngineError> {
        let broad = match subtree {
            Some(id) => {
                self.subtree(id)?;
                let mut n = &self.tree.nodes[id as usize];
                while let Some(p) = n.parent {
                    n = &self.tree.nodes[p as usize];
                }
                Some(n.theme.id)
            }
            None => None,
        };
        let all: Vec<&PolicyTheme> = self.tree.policies.iter().filter(|p| broad.is_none() || p.broad_theme == broad).collect();
        let found = all.len();
        Ok((all.into_iter().take(limit).collect(), found))
    }

    /// Node `id` and its descendants; `NotFound` naming the valid ids otherwise.
    pub fn subtree(&self, id: u32) -> Result<Vec<&TreeNode>, EngineError> {
        self.tree.subtree(id).ok_or_else(|| {
            EngineError::NotFound(format!("theme {id} is not in this tree (ids 0..{}); list the tree first", self.tree.nodes.len()))
        })
    }
}

/// The number of policy themes to list, checked: `None` gives [`DEFAULT_POLICIES`]; at most
/// [`MAX_POLICIES`].
pub fn policy_limit(n: Option<u32>) -> Result<usize, EngineError> {
    let n = n.map_or(DEFAULT_POLICIES, |n| n as usize);
    if n > MAX_POLICIES {
        return Err(EngineError::InvalidArgument(format!(
            "policies {n} is above the maximum of {MAX_POLICIES}; ask one subtree for its own policy themes"
        )));
    }
    Ok(n)
}

/// The number of members to quote per year and node, checked: at most [`MAX_YEAR_EXAMPLES`].
pub fn year_examples_count(n: u32) -> Result<usize, EngineError> {
    let n = n as usize;
    if n > MAX_YEAR_EXAMPLES {
        return Err(EngineError::InvalidArgument(format!(
            "year_examples {n} is above the maximum of {MAX_YEAR_EXAMPLES}; ask one subtree for more of its paragraphs"
        )));
    }
    Ok(n)
}

fn tree_id(version: u64, params: &TreeParams, filter: &ParagraphFilter) -> String {
    let key = format!("tree|v{version}|{params:?}|{filter:?}");
    let mut id = hex::encode(Sha256::digest(key.as_bytes()));
    id.truncate(16);
    id
}

impl Engine {
    /// The theme tree for `query`, from the cache when the corpus has not changed. Runs on the
    /// blocking pool. Returns the run and whether it came from the cache.
    pub async fn theme_tree(&self, query: &ThemeTreeQuery) -> Result<(Arc<ThemeTreeRun>, bool), EngineError> {
        let (params, filter) = query.resolve()?;
        let version = self.backend().corpus_version().await?;
        let id = tree_id(version, &params, &filter);
        if let Some(run) = self.themes_cache.lock().unwrap_or_else(|e| e.into_inner()).tree(version, &id) {
            return Ok((run, true));
        }
        let started = Instant::now();
        let (inputs, records) = self.theme_inputs(&filter, params.themes.target_themes).await?;
        let (tree, inputs) = tokio::task::spawn_blocking(move || theme_tree(&inputs, None, &params).map(|t| (t, inputs)))
            .await
            .map_err(|e| EngineError::Internal(format!("theme tree task failed: {e}")))??;
        let run = Arc::new(ThemeTreeRun {
            result_id: id.clone(),
            tree,
            records,
            inputs,
            corpus_version: version,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        });
        self.themes_cache.lock().unwrap_or_else(|e| e.into_inner()).put_tree(version, id, Arc::clone(&run));
        Ok((run, false))
    }
}
