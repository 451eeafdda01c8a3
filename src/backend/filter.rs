//! Filters on paragraphs: publication years, documents, tags. Validated once, then applied
//! by searches and clustering alike.

use super::BackendError;

/// Accepted publication years.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YearFilter {
    /// Accepted years; empty means no list restriction.
    pub years: Vec<i32>,
    /// Lowest accepted year, inclusive.
    pub from: Option<i32>,
    /// Highest accepted year, inclusive.
    pub to: Option<i32>,
    /// Accept undated documents too.
    pub include_undated: bool,
}

impl YearFilter {
    /// Does a document of year `year` pass?
    pub fn accepts(&self, year: Option<i32>) -> bool {
        match year {
            None => self.include_undated,
            Some(y) => {
                (self.years.is_empty() || self.years.contains(&y)) && self.from.is_none_or(|f| y >= f) && self.to.is_none_or(|t| y <= t)
            }
        }
    }
}

/// Restrictions on which paragraphs take part. Empty fields restrict nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParagraphFilter {
    /// Publication years; `None` accepts every year and undated documents.
    pub years: Option<YearFilter>,
    /// Only these documents.
    pub document_ids: Vec<String>,
    /// Only documents with at least one of these tags.
    pub tags: Vec<String>,
}

impl ParagraphFilter {
    /// True when nothing is restricted.
    pub fn is_empty(&self) -> bool {
        self.years.is_none() && self.document_ids.is_empty() && self.tags.is_empty()
    }

    /// Checks the filter itself: an inverted year range or absurd years are errors.
    pub fn validate(&self) -> Result<(), BackendError> {
        if let Some(y) = &self.years {
            if let (Some(f), Some(t)) = (y.from, y.to) {
                if f > t {
                    return Err(BackendError::InvalidArgument(format!("year filter is inverted: from {f} is after to {t}; swap them")));
                }
            }
            for year in y.years.iter().chain(y.from.iter()).chain(y.to.iter()) {
                if !(1000..=9999).contains(year) {
                    return Err(BackendError::InvalidArgument(format!("year {year} is not a four-digit year")));
                }
            }
        }
        if self.document_ids.iter().any(|d| d.trim().is_empty()) {
            return Err(BackendError::InvalidArgument("document_ids contains an empty id".into()));
        }
        Ok(())
    }

    /// Does a paragraph of document `doc` (year, tags) pass?
    pub fn accepts(&self, doc: &str, year: Option<i32>, tags: &[String]) -> bool {
        self.years.as_ref().is_none_or(|y| y.accepts(year))
            && (self.document_ids.is_empty() || self.document_ids.iter().any(|d| d == doc))
            && (self.tags.is_empty() || self.tags.iter().any(|t| tags.contains(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_list_and_range_combine() {
        let f = YearFilter { years: vec![2023, 2024], from: Some(2024), to: None, include_undated: false };
        assert!(f.accepts(Some(2024)));
        assert!(!f.accepts(Some(2023)));
        assert!(!f.accepts(None));
        let undated = YearFilter { include_undated: true, ..Default::default() };
        assert!(undated.accepts(None) && undated.accepts(Some(1999)));
    }

    #[test]
    fn inverted_range_is_rejected() {
        let f =
            ParagraphFilter { years: Some(YearFilter { from: Some(2024), to: Some(2023), ..Default::default() }), ..Default::default() };
        let err = f.validate().unwrap_err().to_string();
        assert!(err.contains("inverted"), "{err}");
    }

    #[test]
    fn documents_and_tags_restrict() {
        let f = ParagraphFilter { document_ids: vec!["a".into()], tags: vec!["x".into()], years: None };
        assert!(f.accepts("a", None, &["x".into(), "y".into()]));
        assert!(!f.accepts("b", None, &["x".into()]));
        assert!(!f.accepts("a", None, &["y".into()]));
        assert!(ParagraphFilter::default().accepts("z", Some(1), &[]));
    }
}
