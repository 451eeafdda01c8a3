//! Assembly of [`ThemesResult`] from raw cluster labels, and labelled evaluation.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::cluster::cluster_points;
use super::keywords::{common_words, label_of};
use super::members::fit_keywords;
use super::metrics::{ari, nmi};
use super::time::{year_order, year_totals};
use super::vecmath::{center_rows, dot, flatten_unit, normalize};
use super::{Keyword, Theme, ThemeInput, ThemeParams, ThemesError, ThemesResult, YearShare};

/// Number of representative paragraphs per theme.
pub const REPRESENTATIVES: usize = 3;

/// Clusters paragraphs into themes.
///
/// Errors: empty input, duplicate ids, vectors with NaN/∞, zero norm or
/// inconsistent dimensions, `target_themes` of 0 or larger than the input.
/// Clusters smaller than `min_theme_size` are reported as outliers, so
/// `Σ theme.size + outliers.len() == input_count`.
pub fn cluster_themes(inputs: &[ThemeInput], params: &ThemeParams) -> Result<ThemesResult, ThemesError> {
    if inputs.is_empty() {
        return Err(ThemesError::InvalidArgument("no paragraphs to cluster".into()));
    }
    if inputs.len() > u32::MAX as usize {
        return Err(ThemesError::InvalidArgument("too many paragraphs".into()));
    }
    let mut seen = HashSet::with_capacity(inputs.len());
    for inp in inputs {
        if !seen.insert(inp.id) {
            return Err(ThemesError::InvalidArgument(format!("duplicate paragraph id {}", inp.id)));
        }
    }
    let vecs: Vec<&[f32]> = inputs.iter().map(|i| i.vector.as_slice()).collect();
    let (data, d) = flatten_unit(&vecs)?;
    // Clustering sees mean-centred directions; centroids, cohesion and representatives below
    // stay in the original space, where queries (AssignTheme) live.
    let mut centred = data.clone();
    center_rows(&mut centred, d);
    let min_size = params.min_theme_size.max(1);
    let labels = cluster_points(&centred, d, params.method, params.selection, params.target_themes, min_size, params.seed)?;

    // group, drop small clusters, order by size desc then first member
    let k = labels.iter().max().map_or(0, |x| x + 1);
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        groups[l].push(i);
    }
    let mut outlier_idx: Vec<usize> = Vec::new();
    let mut kept: Vec<Vec<usize>> = Vec::new();
    for g in groups {
        if g.len() >= min_size {
            kept.push(g);
        } else {
            outlier_idx.extend(g);
        }
    }
    kept.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    outlier_idx.sort_unstable();

    let texts: Vec<&str> = inputs.iter().map(|i| i.simplified.as_str()).collect();
    let (corpus, mut model, class_counts) = fit_keywords(&texts, &kept, params.keywords_per_theme);
    model.ban(&common_words(&corpus, &year_groups(inputs)));
    let totals = year_totals(inputs.iter().map(|i| i.year));
    let n = inputs.len();

    let themes = kept
        .iter()
        .enumerate()
        .map(|(tid, members)| {
            let keywords = model.keywords(&corpus, &class_counts[tid], params.keywords_per_theme);
            assemble_theme(inputs, &data, d, members, tid as u32, keywords, &totals)
        })
        .collect();
    Ok(ThemesResult {
        themes,
        outliers: outlier_idx.iter().map(|&i| inputs[i].id).collect(),
        input_count: n as u32,
        params: params.clone(),
    })
}

/// Assembles theme `tid` from the indices (into `inputs` / rows of `data`) of its members:
/// centroid, cohesion, representatives, per-year counts and shares (`totals`: inputs per
/// year, keyed by `year_order`).
pub(crate) fn assemble_theme(
    inputs: &[ThemeInput],
    data: &[f32],
    d: usize,
    members: &[usize],
    tid: u32,
    keywords: Vec<Keyword>,
    totals: &BTreeMap<(bool, i32), u32>,
) -> Theme {
    let centroid = centroid_of(data, d, members);
    let sims: Vec<f32> = members.iter().map(|&i| dot(&data[i * d..(i + 1) * d], &centroid)).collect();
    let cohesion = (sims.iter().map(|&s| s as f64).sum::<f64>() / members.len() as f64) as f32;
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|&a, &b| sims[b].total_cmp(&sims[a]).then(members[a].cmp(&members[b])));
    let representatives = order.iter().take(REPRESENTATIVES).map(|&j| inputs[members[j]].id).collect();
    let mut label = label_of(&keywords);
    if label.is_empty() {
        label = format!("theme {tid}");
    }
    let mut per_year: BTreeMap<(bool, i32), u32> = BTreeMap::new();
    for &i in members {
        *per_year.entry(year_order(inputs[i].year)).or_insert(0) += 1;
    }
    let years = per_year
        .into_iter()
        .map(|(key, count)| {
            let year = if key.0 { None } else { Some(key.1) };
            let tot = totals.get(&key).copied().unwrap_or(count).max(1);
            YearShare { year, count, share: count as f32 / tot as f32 }
        })
        .collect();
    Theme {
        id: tid,
        label,
        keywords,
        size: members.len() as u32,
        share: members.len() as f32 / inputs.len() as f32,
        representatives,
        members: members.iter().map(|&i| inputs[i].id).collect(),
        centroid,
        years,
        cohesion,
    }
}

/// Indices of the dated inputs, grouped by year (ascending).
pub(crate) fn year_groups(inputs: &[ThemeInput]) -> Vec<Vec<usize>> {
    let mut by_year: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, inp) in inputs.iter().enumerate() {
        if let Some(y) = inp.year {
            by_year.entry(y).or_default().push(i);
        }
    }
    by_year.into_values().collect()
}

/// Unit centroid of the given rows (sequential sum in index order).
pub(crate) fn centroid_of(data: &[f32], d: usize, rows: &[usize]) -> Vec<f32> {
    let mut c = vec![0f32; d];
    for &i in rows {
        super::vecmath::add_into(&mut c, &data[i * d..(i + 1) * d]);
    }
    normalize(&mut c);
    c
}

/// Scores of a clustering against human labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledScores {
    /// Normalised mutual information (outliers form one extra predicted label).
    pub nmi: f64,
    /// Adjusted Rand index (outliers form one extra predicted label).
    pub ari: f64,
    /// Number of themes found.
    pub themes: usize,
    /// Number of outlier paragraphs.
    pub outliers: usize,
}

/// Clusters `inputs` with `params` and compares the result with the human `labels`
/// (one per input, same order).
pub fn evaluate_labelled(inputs: &[ThemeInput], labels: &[String], params: &ThemeParams) -> Result<LabelledScores, ThemesError> {
    if labels.len() != inputs.len() {
        return Err(ThemesError::InvalidArgument(format!("{} labels for {} inputs", labels.len(), inputs.len())));
    }
    let result = cluster_themes(inputs, params)?;
    let mut names: HashMap<&str, usize> = HashMap::new();
    let truth: Vec<usize> = labels
        .iter()
        .map(|l| {
            let next = names.len();
            *names.entry(l.as_str()).or_insert(next)
        })
        .collect();
    let mut theme_of: HashMap<i64, usize> = HashMap::new();
    for t in &result.themes {
        for &m in &t.members {
            theme_of.insert(m, t.id as usize);
        }
    }
    let outlier_label = result.themes.len();
    let pred: Vec<usize> = inputs.iter().map(|i| theme_of.get(&i.id).copied().unwrap_or(outlier_label)).collect();
    Ok(LabelledScores { nmi: nmi(&truth, &pred), ari: ari(&truth, &pred), themes: result.themes.len(), outliers: result.outliers.len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::members::index_of;
    use crate::themes::stopwords::is_stopword;
    use crate::themes::testutil::synthetic_inputs;
    use crate::themes::Method;

    #[test]
    fn sizes_and_outliers_add_up_and_deterministic() {
        let (inputs, _) = synthetic_inputs(12, 11);
        for method in [Method::Agglomerative, Method::KMeans] {
            let p = ThemeParams { method, ..Default::default() };
            let r1 = cluster_themes(&inputs, &p).unwrap();
            let r2 = cluster_themes(&inputs, &p).unwrap();
            assert_eq!(r1, r2);
            let total: u32 = r1.themes.iter().map(|t| t.size).sum::<u32>() + r1.outliers.len() as u32;
            assert_eq!(total, r1.input_count);
            assert_eq!(r1.input_count as usize, inputs.len());
            for w in r1.themes.windows(2) {
                assert!(w[0].size >= w[1].size);
            }
        }
    }

    #[test]
    fn keywords_occur_in_theme_text_and_labels_are_clean() {
        let (inputs, _) = synthetic_inputs(10, 12);
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        assert!(r.themes.len() >= 2);
        let by_id = index_of(&inputs);
        for t in &r.themes {
            assert!(!t.keywords.is_empty());
            for k in &t.keywords {
                assert!(t.members.iter().any(|m| inputs[by_id[m]].simplified.contains(&k.word)), "{}", k.word);
            }
            for part in t.label.split(" / ") {
                assert!(part.chars().count() >= 2 && !is_stopword(part), "{}", t.label);
            }
            assert_eq!(t.representatives.len(), 3);
            assert!((t.cohesion > 0.0) && t.cohesion <= 1.0001);
        }
    }

    #[test]
    fn year_shares_are_count_over_year_total() {
        let (inputs, _) = synthetic_inputs(10, 13);
        let r = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
        let totals = year_totals(inputs.iter().map(|i| i.year));
        for t in &r.themes {
            let mut sum = 0;
            for ys in &t.years {
                let tot = totals[&year_order(ys.year)];
                assert!((ys.share - ys.count as f32 / tot as f32).abs() < 1e-6);
                sum += ys.count;
            }
            assert_eq!(sum, t.size);
        }
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let p = ThemeParams::default();
        assert!(cluster_themes(&[], &p).is_err());
        let (mut inputs, _) = synthetic_inputs(3, 14);
        let k_too_big = ThemeParams { target_themes: Some(1000), ..Default::default() };
        assert!(cluster_themes(&inputs, &k_too_big).is_err());
        let zero = ThemeParams { target_themes: Some(0), ..Default::default() };
        assert!(cluster_themes(&inputs, &zero).is_err());
        inputs[2].vector[0] = f32::NAN;
        assert!(cluster_themes(&inputs, &p).is_err());
        inputs[2].vector = vec![1.0];
        assert!(cluster_themes(&inputs, &p).is_err());
        let (mut dup, _) = synthetic_inputs(3, 14);
        dup[1].id = dup[0].id;
        assert!(cluster_themes(&dup, &p).is_err());
        // a single paragraph: everything is an outlier, no panic
        let one = &synthetic_inputs(3, 15).0[..1];
        let r = cluster_themes(one, &p).unwrap();
        assert!(r.themes.is_empty());
        assert_eq!(r.outliers.len(), 1);
        // min size 1 with one paragraph → one theme
        let r = cluster_themes(one, &ThemeParams { min_theme_size: 1, ..Default::default() }).unwrap();
        assert_eq!(r.themes.len(), 1);
    }

    #[test]
    fn evaluate_labelled_on_synthetic_topics() {
        let (inputs, truth) = synthetic_inputs(10, 16);
        let labels: Vec<String> = truth.iter().map(|t| format!("t{t}")).collect();
        let s = evaluate_labelled(&inputs, &labels, &ThemeParams::default()).unwrap();
        assert!(s.nmi > 0.9 && s.ari > 0.9, "{s:?}");
        assert!(evaluate_labelled(&inputs, &labels[..3], &ThemeParams::default()).is_err());
    }
}
