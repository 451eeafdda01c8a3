//! Helpers shared by the themes computations (build, over time, comparison): member
//! indices of a result's themes and the c-TF-IDF model fitted on them.

use std::collections::HashMap;

use super::keywords::{Corpus, KeywordModel};
use super::{ThemeInput, ThemesResult};

/// Tokenises `texts`, counts words per class and fits the c-TF-IDF model.
pub(crate) fn fit_keywords(texts: &[&str], classes: &[Vec<usize>], top: usize) -> (Corpus, KeywordModel, Vec<Vec<u32>>) {
    let corpus = Corpus::new(texts);
    let class_counts: Vec<Vec<u32>> = classes.iter().map(|c| corpus.counts(c)).collect();
    let model = KeywordModel::fit(&corpus, &class_counts, top);
    (corpus, model, class_counts)
}

/// Maps paragraph id → index in `inputs` (first occurrence wins).
pub(crate) fn index_of(inputs: &[ThemeInput]) -> HashMap<i64, usize> {
    let mut m = HashMap::with_capacity(inputs.len());
    for (i, inp) in inputs.iter().enumerate() {
        m.entry(inp.id).or_insert(i);
    }
    m
}

/// Member indices (into `inputs`) of every theme of `result`; unknown ids are skipped.
pub(crate) fn member_indices(result: &ThemesResult, inputs: &[ThemeInput]) -> Vec<Vec<usize>> {
    let idx = index_of(inputs);
    result.themes.iter().map(|t| t.members.iter().filter_map(|id| idx.get(id).copied()).collect()).collect()
}
