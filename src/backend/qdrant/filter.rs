//! Search filters as Qdrant filters, so Qdrant applies them during the search (no
//! post-filtering that could leave fewer than `k` hits).

use qdrant_client::qdrant::{Condition, Filter, Range};

use super::schema::KIND_CHUNK;
use crate::backend::{Exclusions, ParagraphFilter};

/// Committed points of one kind.
pub fn of_kind(kind: &str) -> Filter {
    Filter {
        must: vec![Condition::matches("kind", kind.to_string())],
        must_not: vec![Condition::matches("pending", true)],
        ..Default::default()
    }
}

/// Committed chunk points that pass `filter` and are not excluded.
pub fn chunks(filter: &ParagraphFilter, exclude: &Exclusions) -> Filter {
    let mut f = of_kind(KIND_CHUNK);
    add_paragraph_filter(&mut f, filter);
    if let Some(p) = exclude.paragraph {
        f.must_not.push(Condition::matches("paragraph_id", p));
    }
    if let Some(d) = &exclude.document {
        f.must_not.push(Condition::matches("document_id", d.clone()));
    }
    f
}

/// Adds the year, document and tag restrictions of `filter` to `f`.
pub fn add_paragraph_filter(f: &mut Filter, filter: &ParagraphFilter) {
    if let Some(y) = &filter.years {
        let mut dated = Vec::new();
        if !y.years.is_empty() {
            dated.push(Condition::matches("year", y.years.iter().map(|&v| i64::from(v)).collect::<Vec<i64>>()));
        }
        if y.from.is_some() || y.to.is_some() {
            let range = Range { gte: y.from.map(f64::from), lte: y.to.map(f64::from), ..Default::default() };
            dated.push(Condition::range("year", range));
        }
        // A year must be present unless undated paragraphs are accepted.
        let mut dated_filter = Filter::must(dated);
        dated_filter.must_not.push(Condition::is_empty("year"));
        if y.include_undated {
            f.must.push(Filter::should([dated_filter.into(), Condition::is_empty("year")]).into());
        } else {
            f.must.push(dated_filter.into());
        }
    }
    if !filter.document_ids.is_empty() {
        f.must.push(Condition::matches("document_id", filter.document_ids.clone()));
    }
    if !filter.tags.is_empty() {
        f.must.push(Condition::matches("tags", filter.tags.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::YearFilter;

    #[test]
    fn every_restriction_becomes_a_condition() {
        let filter = ParagraphFilter {
            years: Some(YearFilter { years: vec![2023], from: Some(2020), to: None, include_undated: true }),
            document_ids: vec!["a".into()],
            tags: vec!["t".into()],
        };
        let f = chunks(&filter, &Exclusions { paragraph: Some(7), document: Some("b".into()) });
        // kind + years + documents + tags; pending + two exclusions.
        assert_eq!(f.must.len(), 4);
        assert_eq!(f.must_not.len(), 3);
        let empty = chunks(&ParagraphFilter::default(), &Exclusions::default());
        assert_eq!((empty.must.len(), empty.must_not.len()), (1, 1));
    }
}
