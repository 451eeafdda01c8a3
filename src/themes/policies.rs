//! Policy themes of a theme tree: the units naming one era-bound term ([`super::eras`]) or its
//! aliases, whichever broad theme they fall in, and their rows for CSV and JSON.
//!
//! A broad theme spans decades; a policy is a name that appears, peaks and fades. Its
//! paragraphs name it in passing while being about something else, so they scatter over the
//! clustered themes at every level; a policy theme gathers them by the name and places itself
//! under the broad theme that holds most of them.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::build::assemble_theme;
use super::eras::{era_terms, EraParams};
use super::export::Columns;
use super::keywords::{Corpus, KeywordModel};
use super::vecmath::center_rows;
use super::weights::{ParagraphWeight, ParagraphWeights};
use super::{Theme, ThemeInput};

/// A policy theme: the units naming one era-bound term or its aliases ([`super::eras`]),
/// across the broad themes they fall in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyTheme {
    /// The theme; `theme.id` is the index in [`ThemeTree::policies`], `theme.label` its
    /// first three terms, `theme.members` the unit ids naming any term.
    pub theme: Theme,
    /// The defining term first, then its aliases.
    pub terms: Vec<String>,
    /// First year of the era (the shortest run of years holding 80% of the term's mentions).
    pub first_year: i32,
    /// Year where the term's units are the largest share of that year's units.
    pub peak_year: i32,
    /// Last year of the era.
    pub last_year: i32,
    /// Mean pairwise cosine of the defining term's units with the corpus mean removed: how
    /// much the units naming it are about one thing (0 = no more than random units).
    pub coherence: f32,
    /// The level-0 node holding most of its units (`None` when all are outliers).
    pub broad_theme: Option<u32>,
    /// Paragraphs held, by ascending id, with their weight (as [`TreeNode::paragraphs`]).
    pub paragraphs: Vec<ParagraphWeight>,
}

/// The policy themes of the units outside `boiler`, labelled against each other and placed
/// under the level-0 node (of `level0`: node id and unit indices) holding most of their units.
#[allow(clippy::too_many_arguments)]
pub(super) fn policy_themes(
    units: &[ThemeInput],
    data: &[f32],
    d: usize,
    corpus: &Corpus,
    common: &[bool],
    boiler: &HashSet<usize>,
    level0: &[(u32, HashSet<usize>)],
    weights: &ParagraphWeights,
    totals: &BTreeMap<(bool, i32), u32>,
    top: usize,
    eras: &EraParams,
) -> Vec<PolicyTheme> {
    let mut centred = data.to_vec();
    center_rows(&mut centred, d);
    let years: Vec<Option<i32>> = units.iter().enumerate().map(|(i, u)| if boiler.contains(&i) { None } else { u.year }).collect();
    let found = era_terms(corpus, &years, &centred, d, eras);
    let found: Vec<_> = found
        .into_iter()
        .map(|mut t| {
            t.members.retain(|i| !boiler.contains(i));
            t
        })
        .filter(|t| !t.members.is_empty())
        .collect();
    let class_counts: Vec<Vec<u32>> = found.iter().map(|t| corpus.counts(&t.members)).collect();
    let mut model = KeywordModel::fit(corpus, &class_counts, top);
    model.ban(common);
    found
        .into_iter()
        .zip(&class_counts)
        .enumerate()
        .map(|(i, (t, counts))| {
            let keywords = model.keywords(corpus, counts, top);
            let mut theme = assemble_theme(units, data, d, &t.members, i as u32, keywords, totals);
            theme.label = t.terms.iter().take(3).cloned().collect::<Vec<_>>().join(" / ");
            let broad_theme = level0
                .iter()
                .map(|(id, m)| (*id, t.members.iter().filter(|u| m.contains(u)).count()))
                .filter(|(_, c)| *c > 0)
                .fold(None, |best: Option<(u32, usize)>, (id, c)| if best.is_none_or(|(_, b)| c > b) { Some((id, c)) } else { best })
                .map(|(id, _)| id);
            PolicyTheme {
                paragraphs: weights.of(&t.members),
                theme,
                terms: t.terms,
                first_year: t.era.0,
                peak_year: t.peak,
                last_year: t.era.1,
                coherence: t.coherence,
                broad_theme,
            }
        })
        .collect()
}

/// One policy theme as a CSV/JSON row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRow {
    /// Policy theme id (its index, most paragraphs first).
    pub policy_id: u32,
    /// The defining term and its aliases, joined with "; ".
    pub terms: String,
    /// First year of the era.
    pub first_year: i32,
    /// Year of the largest share.
    pub peak_year: i32,
    /// Last year of the era.
    pub last_year: i32,
    /// Paragraphs naming any of the terms.
    pub size: u32,
    /// `size` / clustered paragraphs.
    pub share: f32,
    /// How much its paragraphs are about one thing (see [`PolicyTheme::coherence`]).
    pub coherence: f32,
    /// The broad (level-0) theme holding most of its paragraphs.
    pub broad_theme: Option<u32>,
    /// That theme's label.
    pub broad_label: String,
    /// Keywords by weight, joined with "; ".
    pub keywords: String,
    /// Member nearest the centre.
    pub representative_id: Option<i64>,
    /// Its text.
    pub representative_text: String,
}

impl Columns for PolicyRow {
    const COLUMNS: &'static [&'static str] = &[
        "policy_id",
        "terms",
        "first_year",
        "peak_year",
        "last_year",
        "size",
        "share",
        "coherence",
        "broad_theme",
        "broad_label",
        "keywords",
        "representative_id",
        "representative_text",
    ];
}

/// One row per policy theme of `policies`; `broad_label` names a broad theme by its node id
/// and `inputs` are the clustered paragraphs (for the representative's text).
pub fn policy_rows(policies: &[&PolicyTheme], broad_label: impl Fn(u32) -> Option<String>, inputs: &[ThemeInput]) -> Vec<PolicyRow> {
    let text: HashMap<i64, &str> = inputs.iter().map(|i| (i.id, i.text.as_str())).collect();
    policies
        .iter()
        .map(|p| {
            let representative_id = p.theme.representatives.first().copied();
            PolicyRow {
                policy_id: p.theme.id,
                terms: p.terms.join("; "),
                first_year: p.first_year,
                peak_year: p.peak_year,
                last_year: p.last_year,
                size: p.theme.size,
                share: p.theme.share,
                coherence: p.coherence,
                broad_theme: p.broad_theme,
                broad_label: p.broad_theme.and_then(&broad_label).unwrap_or_default(),
                keywords: p.theme.keywords.iter().map(|k| k.word.as_str()).collect::<Vec<_>>().join("; "),
                representative_id,
                representative_text: representative_id.and_then(|id| text.get(&id)).map(|t| t.to_string()).unwrap_or_default(),
            }
        })
        .collect()
}
