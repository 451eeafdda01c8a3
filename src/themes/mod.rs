//! Theme clustering and year-to-year comparison over paragraph embeddings.
//!
//! This module is pure library code: it takes paragraph vectors (unit vectors of
//! `intfloat/multilingual-e5-small`, 384-dim) plus their texts and produces themes
//! in the spirit of BERTopic (embeddings → clustering → class-based TF-IDF labels →
//! topics over time → representative paragraphs), but fully deterministic and CPU-only.
//!
//! Pipeline of [`cluster_themes`]:
//! 1. validate and re-normalise vectors (cosine geometry on the unit sphere);
//! 2. for large inputs (> [`cluster::EXACT_MAX`] paragraphs) pre-cluster with seeded
//!    spherical k-means into a few hundred micro-clusters (exact cluster sums are kept,
//!    so average-linkage distances between groups remain exact);
//! 3. cluster the (micro-)items with the selected [`Method`]; unless `target_themes`
//!    is given, the number of themes is chosen by [`Selection`] (default: cut the
//!    average-linkage tree at 0.9 × the corpus' mean pairwise cosine distance);
//! 4. clusters smaller than `min_theme_size` become outliers;
//! 5. keywords via class-based TF-IDF over jieba tokens ([`keywords`]).
//!
//! All reductions are sequential in input order (parallelism only for independent
//! per-item work), so the same input and parameters give bit-identical results.

pub mod assign;
mod build;
pub mod cluster;
pub mod compare;
pub mod eras;
pub mod export;
pub mod grid;
mod heatmap;
mod items;
pub mod keywords;
mod kmeans;
mod members;
pub mod metrics;
pub mod period;
pub mod plot;
pub mod policies;
mod silhouette;
pub mod stopwords;
pub mod time;
pub mod tree;
mod vecmath;
mod weights;

use serde::{Deserialize, Serialize};

pub use assign::assign_theme;
pub use build::{cluster_themes, evaluate_labelled, LabelledScores};
pub use compare::{compare_periods, compare_years, Trend, YearComparison, GROWTH_ABS, GROWTH_REL, PRESENCE_MIN};
pub use grid::{Lifecycle, ShareGrid};
pub use metrics::{ari, nmi};
pub use period::Period;
pub use plot::plot_year_shares;
pub use policies::PolicyTheme;
pub use time::{themes_over_time, YearThemeKeywords};
pub use tree::{theme_tree, ThemeTree, TreeNode, TreeParams};
pub use weights::ParagraphWeight;

/// Errors produced by the themes module.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ThemesError {
    /// The caller passed an argument that cannot be processed (empty input,
    /// non-finite vector, inconsistent dimensions, k larger than n, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A year or period requested has no paragraphs (the message names the years there are).
    #[error("no data: {0}")]
    NoData(String),
    /// Writing an output file (e.g. the SVG chart) failed.
    #[error("output error: {0}")]
    Output(String),
}

/// One paragraph to be clustered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeInput {
    /// Caller's paragraph id (must be unique within one call).
    pub id: i64,
    /// Publication year; `None` means undated.
    pub year: Option<i32>,
    /// Display text (original script).
    pub text: String,
    /// Simplified Chinese (or English) text used for keyword extraction.
    pub simplified: String,
    /// Unit vector (normalised mean of the paragraph's chunk vectors).
    pub vector: Vec<f32>,
}

/// Clustering algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Method {
    /// Average-linkage agglomerative clustering on cosine distance
    /// (nearest-neighbour chain, exact on up to [`cluster::EXACT_MAX`] items).
    #[default]
    Agglomerative,
    /// Spherical k-means with k-means++ seeding and several seeded restarts.
    KMeans,
}

/// How the number of themes is chosen when `target_themes` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Selection {
    /// Cut the average-linkage dendrogram at [`cluster::AUTO_REL_THRESHOLD`] × the
    /// corpus' mean pairwise cosine distance (adapts to the embedding's anisotropy);
    /// for k-means, k = number of clusters of at least `min_theme_size` in that cut.
    #[default]
    RelativeThreshold,
    /// Maximise the exact cosine silhouette over k = 2..=[`cluster::MAX_AUTO_THEMES`].
    Silhouette,
}

/// Parameters of [`cluster_themes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeParams {
    /// Desired number of clusters; `None` = automatic (best silhouette).
    pub target_themes: Option<usize>,
    /// Clusters with fewer members become outliers (default 3; 0 is treated as 1).
    pub min_theme_size: usize,
    /// Seed for every random choice (sampling, k-means++ seeding).
    pub seed: u64,
    /// Clustering algorithm.
    pub method: Method,
    /// Number of keywords reported per theme (default 10).
    pub keywords_per_theme: usize,
    /// Automatic choice of the number of themes (used when `target_themes` is `None`).
    pub selection: Selection,
}

impl Default for ThemeParams {
    fn default() -> Self {
        ThemeParams {
            target_themes: None,
            min_theme_size: 3,
            seed: 42,
            method: Method::default(),
            keywords_per_theme: 10,
            selection: Selection::default(),
        }
    }
}

/// A weighted keyword (c-TF-IDF score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyword {
    /// The word (simplified Chinese or lowercase English).
    pub word: String,
    /// Its c-TF-IDF weight (higher = more specific to the theme).
    pub weight: f32,
}

/// Size of a theme within one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearShare {
    /// The year; `None` = undated paragraphs.
    pub year: Option<i32>,
    /// Number of the theme's members from that year.
    pub count: u32,
    /// `count` divided by the number of input paragraphs from that year
    /// (outliers included in the denominator).
    pub share: f32,
}

/// One theme (cluster of paragraphs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theme {
    /// Theme id, `0..` ordered by size descending.
    pub id: u32,
    /// Top three keywords joined with " / ".
    pub label: String,
    /// Keywords by descending weight.
    pub keywords: Vec<Keyword>,
    /// Number of member paragraphs.
    pub size: u32,
    /// `size / input_count`.
    pub share: f32,
    /// Up to three member ids nearest to the centroid (nearest first).
    pub representatives: Vec<i64>,
    /// Member ids in input order.
    pub members: Vec<i64>,
    /// Unit centroid (normalised mean of member vectors).
    pub centroid: Vec<f32>,
    /// Per-year counts and shares, dated years ascending, undated last.
    pub years: Vec<YearShare>,
    /// Mean cosine similarity of members to the centroid.
    pub cohesion: f32,
}

/// Output of [`cluster_themes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemesResult {
    /// Themes ordered by size descending.
    pub themes: Vec<Theme>,
    /// Paragraph ids not assigned to any theme, in input order.
    pub outliers: Vec<i64>,
    /// Number of input paragraphs (= Σ sizes + outliers).
    pub input_count: u32,
    /// Parameters used (with `target_themes` as given by the caller).
    pub params: ThemeParams,
}

#[cfg(test)]
pub(crate) mod testutil;
#[cfg(test)]
mod tree_tests;
