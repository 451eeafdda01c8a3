//! Text reuse across versions: which paragraphs of an older text (a document, a year, a period)
//! the newer one carried over verbatim, lightly edited (with a diff), rewritten (same topic,
//! new wording), dropped, or added.
//!
//! How paragraphs are paired ([`align::align`]):
//! 1. **verbatim**: the same words (case, spaces and punctuation aside; Chinese compared in
//!    simplified script);
//! 2. **edited**: text similarity ≥ [`ReuseParams::edited_min_similarity`] — similarity is
//!    2 × matched units / all units of both, units being Han characters and words of other
//!    scripts ([`text::ratio`]); only pairs sharing trigrams of units are compared;
//! 3. **rewritten**: the rest, paired by embedding cosine ≥ [`ReuseParams::rewritten_min_cosine`]
//!    (paragraph vectors centred on the mean of both sides: raw e5 cosines of unrelated policy
//!    paragraphs are 0.93–0.97);
//! 4. **dropped** (older only) and **new** (newer only).
//!
//! At every step pairs are taken best first and a paragraph is used once. The thresholds were
//! chosen by reading the pairs of consecutive-year budget speeches (Singapore 2018→2019) and
//! government work reports (China 2016→2017): below a text similarity of 0.5 pairs are either
//! different paragraphs sharing stock phrases or the same slot in new words; above it, more than
//! half of the text is kept and the diff is worth reading. Above a centred cosine of 0.6 nearly
//! every remaining pair is the same topic (0.64–0.77: the same budget-position, climate, security
//! paragraphs; China 0.6–0.85 the successor of each policy paragraph); below 0.55 they drift to
//! loosely related topics.

pub mod align;
pub mod diff;
mod report;
pub mod text;

use serde::{Deserialize, Serialize};

pub use align::{AlignInput, Aligned};
pub use diff::{diff, render_inline, DiffOp, DiffSegment};
pub use report::{compare, ReuseCounts, ReuseEntry, ReuseParagraph, ReuseReport, CSV_COLUMNS};

/// What happened to a paragraph between the older and the newer version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReuseKind {
    /// Carried over with the same words.
    Verbatim,
    /// Carried over with edits (text similarity at least the edited threshold).
    Edited,
    /// Same topic in new wording: low text similarity, embedding cosine at least the threshold.
    Rewritten,
    /// In the older version only.
    Dropped,
    /// In the newer version only.
    New,
}

impl ReuseKind {
    /// Every kind, in report order.
    pub const ALL: [ReuseKind; 5] = [ReuseKind::Verbatim, ReuseKind::Edited, ReuseKind::Rewritten, ReuseKind::Dropped, ReuseKind::New];

    /// Lower-case name: `verbatim`, `edited`, `rewritten`, `dropped`, `new`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReuseKind::Verbatim => "verbatim",
            ReuseKind::Edited => "edited",
            ReuseKind::Rewritten => "rewritten",
            ReuseKind::Dropped => "dropped",
            ReuseKind::New => "new",
        }
    }
}

/// Thresholds of the alignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReuseParams {
    /// Lowest text similarity (0–1) for an "edited" pair. Default 0.5.
    pub edited_min_similarity: f32,
    /// Lowest cosine of the centred paragraph embeddings for a "rewritten" pair (above 1:
    /// never). Default 0.6.
    pub rewritten_min_cosine: f32,
    /// Candidate pairs compared per older paragraph (those sharing the most trigrams). Default 8.
    pub candidates: usize,
}

impl Default for ReuseParams {
    fn default() -> Self {
        ReuseParams { edited_min_similarity: 0.5, rewritten_min_cosine: 0.6, candidates: 8 }
    }
}

impl ReuseParams {
    /// Checks the thresholds; the message names the bad one and its range.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.edited_min_similarity > 0.0 && self.edited_min_similarity <= 1.0) {
            return Err(format!("edited similarity threshold {} must be in (0, 1]", self.edited_min_similarity));
        }
        if !(-1.0..=2.0).contains(&self.rewritten_min_cosine) {
            return Err(format!(
                "rewritten cosine threshold {} must be in [-1, 2] (above 1 turns rewritten pairs off)",
                self.rewritten_min_cosine
            ));
        }
        if !(1..=100).contains(&self.candidates) {
            return Err(format!("candidates {} must be between 1 and 100", self.candidates));
        }
        Ok(())
    }
}
