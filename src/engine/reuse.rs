//! Text reuse between two documents, years or periods of the stored corpus: reads both sides'
//! paragraphs with their vectors and aligns them with [`crate::reuse`] on the blocking pool.

use crate::backend::{ParagraphVector, YearCount};
use crate::reuse::{compare, AlignInput, ReuseParagraph, ReuseParams, ReuseReport};

use super::{Engine, EngineError, ParagraphFilter, YearFilter};

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReuseScope {
    /// One stored document, by id.
    Document(String),
    /// Every dated document of the years `from..=to` (one year when equal).
    Years {
        /// First year, inclusive.
        from: i32,
        /// Last year, inclusive.
        to: i32,
    },
}

impl ReuseScope {
    /// `document 1a2b…`, `2019` or `2013–2017`.
    pub fn label(&self) -> String {
        match self {
            ReuseScope::Document(id) => format!("document {id}"),
            ReuseScope::Years { from, to } if from == to => from.to_string(),
            ReuseScope::Years { from, to } => format!("{from}–{to}"),
        }
    }

    fn filter(&self) -> ParagraphFilter {
        match self {
            ReuseScope::Document(id) => ParagraphFilter { document_ids: vec![id.clone()], ..ParagraphFilter::default() },
            ReuseScope::Years { from, to } => ParagraphFilter {
                years: Some(YearFilter { from: Some(*from), to: Some(*to), ..YearFilter::default() }),
                ..ParagraphFilter::default()
            },
        }
    }
}

/// What to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct ReuseQuery {
    /// The older side.
    pub from: ReuseScope,
    /// The newer side.
    pub to: ReuseScope,
    /// Thresholds.
    pub params: ReuseParams,
}

/// `1960–1975, 1978, 1980–2025`.
fn year_ranges(years: &[YearCount]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < years.len() {
        let start = years[i].year;
        let mut end = start;
        while i + 1 < years.len() && years[i + 1].year == end + 1 {
            i += 1;
            end += 1;
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}–{end}") });
        i += 1;
    }
    parts.join(", ")
}

impl Engine {
    /// Which paragraphs of `query.from` the newer `query.to` carried over verbatim, edited or
    /// rewritten, dropped, or added. Errors: a document that is not stored (NOT_FOUND), a
    /// period without dated paragraphs or bad thresholds (INVALID_ARGUMENT, naming the years
    /// the corpus has), a side above `max_reuse_paragraphs` (RESOURCE_EXHAUSTED).
    pub async fn reuse(&self, query: &ReuseQuery) -> Result<ReuseReport, EngineError> {
        query.params.validate().map_err(EngineError::InvalidArgument)?;
        let from = self.reuse_side(&query.from).await?;
        let to = self.reuse_side(&query.to).await?;
        let (from_label, to_label, params) = (query.from.label(), query.to.label(), query.params.clone());
        tokio::task::spawn_blocking(move || compare(from_label, to_label, from, to, &params))
            .await
            .map_err(|e| EngineError::Internal(format!("reuse task failed: {e}")))
    }

    /// The paragraphs of one side in reading order (date, document, position).
    async fn reuse_side(&self, scope: &ReuseScope) -> Result<Vec<(ReuseParagraph, AlignInput)>, EngineError> {
        match scope {
            ReuseScope::Document(id) if id.trim().is_empty() => {
                return Err(EngineError::InvalidArgument(
                    "document id is empty; give a document id as returned by AddDocuments or ListDocuments".into(),
                ));
            }
            ReuseScope::Years { from, to } if from > to => {
                return Err(EngineError::InvalidArgument(format!("period {from}–{to} is inverted; write the earlier year first")));
            }
            _ => {}
        }
        let filter = scope.filter();
        filter.validate()?;
        let limit = self.config().max_reuse_paragraphs;
        let found = self.backend().paragraph_vectors(filter, limit.saturating_add(1)).await?;
        if found.len() > limit {
            return Err(EngineError::ResourceExhausted(format!(
                "{} holds more than {limit} paragraphs, the most one side of a reuse comparison may hold; compare shorter periods or single documents, or raise --max-reuse-paragraphs",
                scope.label()
            )));
        }
        if found.is_empty() {
            return Err(match scope {
                ReuseScope::Document(id) => EngineError::NotFound(format!("document {id} is not stored; ListDocuments gives the ids")),
                ReuseScope::Years { .. } => {
                    let years = self.backend().stats().await?.store.years;
                    let have =
                        if years.is_empty() { "no dated documents at all".to_string() } else { format!("years {}", year_ranges(&years)) };
                    EngineError::InvalidArgument(format!(
                        "no stored paragraph is dated {}; the corpus has {have} (undated documents take no part: date them when ingesting)",
                        scope.label()
                    ))
                }
            });
        }
        let mut side: Vec<(ReuseParagraph, AlignInput)> = found
            .into_iter()
            .map(|ParagraphVector { paragraph: p, vector }| {
                let input = AlignInput { text: p.simplified.clone(), vector };
                let para = ReuseParagraph {
                    id: p.id,
                    document_id: p.document_id,
                    document_title: p.doc_title,
                    date: p.doc_date,
                    year: p.year,
                    position: p.position,
                    text: p.text,
                };
                (para, input)
            })
            .collect();
        side.sort_by(|(a, _), (b, _)| (&a.date, &a.document_id, a.position).cmp(&(&b.date, &b.document_id, b.position)));
        Ok(side)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_year_ranges() {
        assert_eq!(ReuseScope::Years { from: 2019, to: 2019 }.label(), "2019");
        assert_eq!(ReuseScope::Years { from: 2013, to: 2017 }.label(), "2013–2017");
        assert_eq!(ReuseScope::Document("ab".into()).label(), "document ab");
        let y = |year| YearCount { year, documents: 1, paragraphs: 1 };
        assert_eq!(year_ranges(&[y(1960), y(1961), y(1962), y(1978), y(1980), y(1981)]), "1960–1962, 1978, 1980–1981");
        assert_eq!(year_ranges(&[]), "");
    }
}
