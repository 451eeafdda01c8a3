//! Paragraph weights: which paragraphs a set of units (chunks, sentences, or the paragraphs
//! themselves) holds, and what share of each paragraph's characters.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::ThemeInput;

/// A paragraph held by a tree node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParagraphWeight {
    /// Paragraph id.
    pub id: i64,
    /// Share of the paragraph's characters (its clustered units) in the node, in (0, 1].
    pub weight: f32,
}

/// Characters of every unit and of every paragraph, to weigh a node's paragraphs.
pub(crate) struct ParagraphWeights<'a> {
    paragraph_of: Option<&'a [i64]>,
    unit_chars: Vec<f32>,
    paragraph_chars: HashMap<i64, f32>,
    ids: Vec<i64>,
}

impl<'a> ParagraphWeights<'a> {
    /// Characters of `units` and of the paragraphs `paragraph_of` names (units are the
    /// paragraphs when `None`).
    pub(crate) fn new(units: &[ThemeInput], paragraph_of: Option<&'a [i64]>) -> Self {
        let unit_chars: Vec<f32> = units.iter().map(|u| u.text.chars().count().max(1) as f32).collect();
        let mut paragraph_chars = HashMap::new();
        if let Some(p) = paragraph_of {
            for (i, &pid) in p.iter().enumerate() {
                *paragraph_chars.entry(pid).or_insert(0.0) += unit_chars[i];
            }
        }
        ParagraphWeights { paragraph_of, unit_chars, paragraph_chars, ids: units.iter().map(|u| u.id).collect() }
    }

    /// The paragraphs of units `rows` with the share of each paragraph's characters they hold.
    pub(crate) fn of(&self, rows: &[usize]) -> Vec<ParagraphWeight> {
        let Some(p) = self.paragraph_of else {
            let mut out: Vec<ParagraphWeight> = rows.iter().map(|&i| ParagraphWeight { id: self.ids[i], weight: 1.0 }).collect();
            out.sort_by_key(|w| w.id);
            return out;
        };
        let mut acc: BTreeMap<i64, f32> = BTreeMap::new();
        for &i in rows {
            *acc.entry(p[i]).or_insert(0.0) += self.unit_chars[i];
        }
        acc.into_iter().map(|(id, c)| ParagraphWeight { id, weight: (c / self.paragraph_chars[&id]).min(1.0) }).collect()
    }
}
