//! Themes at every zoom over the stored paragraphs: the tree of [`crate::themes::tree`],
//! cached per (corpus version, parameters, filter) beside the flat themes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::backend::ParagraphRecord;
use crate::themes::{theme_tree, ThemeTree, TreeNode, TreeParams};

use super::{Engine, EngineError, ParagraphFilter};

/// Most levels a tree may have.
pub const MAX_TREE_LEVELS: usize = 6;

/// What to build a theme tree of, and how.
#[derive(Debug, Clone, Default)]
pub struct ThemeTreeQuery {
    /// Tree parameters (level 0 = the flat themes' parameters).
    pub params: TreeParams,
    /// Which paragraphs take part.
    pub filter: ParagraphFilter,
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

    /// Node `id` and its descendants; `NotFound` naming the valid ids otherwise.
    pub fn subtree(&self, id: u32) -> Result<Vec<&TreeNode>, EngineError> {
        self.tree.subtree(id).ok_or_else(|| {
            EngineError::NotFound(format!(
                "theme {id} is not in this tree (ids 0..{}); list the tree first",
                self.tree.nodes.len()
            ))
        })
    }
}

fn tree_id(version: u64, q: &ThemeTreeQuery) -> String {
    let key = format!("tree|v{version}|{:?}|{:?}", q.params, q.filter);
    let mut id = hex::encode(Sha256::digest(key.as_bytes()));
    id.truncate(16);
    id
}

impl Engine {
    /// The theme tree for `query`, from the cache when the corpus has not changed. Runs on the
    /// blocking pool. Returns the run and whether it came from the cache.
    pub async fn theme_tree(&self, query: &ThemeTreeQuery) -> Result<(Arc<ThemeTreeRun>, bool), EngineError> {
        query.filter.validate()?;
        let p = &query.params;
        if p.themes.keywords_per_theme > 50 {
            return Err(EngineError::InvalidArgument("keywords must be at most 50".into()));
        }
        if p.levels == 0 || p.levels > MAX_TREE_LEVELS {
            return Err(EngineError::InvalidArgument(format!("levels must be in 1..={MAX_TREE_LEVELS}, not {}", p.levels)));
        }
        let version = self.backend().corpus_version().await?;
        let id = tree_id(version, query);
        if let Some(run) = self.themes_cache.lock().unwrap_or_else(|e| e.into_inner()).tree(version, &id) {
            return Ok((run, true));
        }
        let started = Instant::now();
        let (inputs, records) = self.theme_inputs(&query.filter).await?;
        if let Some(k) = p.themes.target_themes {
            if k > inputs.len() {
                return Err(EngineError::InvalidArgument(format!(
                    "target_themes {k} is more than the {} paragraphs to cluster",
                    inputs.len()
                )));
            }
        }
        let params = p.clone();
        let tree = tokio::task::spawn_blocking(move || theme_tree(&inputs, None, &params))
            .await
            .map_err(|e| EngineError::Internal(format!("theme tree task failed: {e}")))??;
        let run = Arc::new(ThemeTreeRun {
            result_id: id.clone(),
            tree,
            records,
            corpus_version: version,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        });
        self.themes_cache.lock().unwrap_or_else(|e| e.into_inner()).put_tree(version, id, Arc::clone(&run));
        Ok((run, false))
    }
}
