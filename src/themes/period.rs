//! Periods (inclusive year ranges such as 2013–2017) and their validation against the
//! years a corpus spans.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ThemeInput, ThemesError};

/// Lowest year a period may name.
pub const MIN_YEAR: i32 = 0;
/// Highest year a period may name.
pub const MAX_YEAR: i32 = 9999;

/// An inclusive range of years, `from ≤ to`; a single year is `from == to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    /// First year, inclusive.
    pub from: i32,
    /// Last year, inclusive.
    pub to: i32,
}

impl Period {
    /// The period of one year.
    pub fn year(y: i32) -> Period {
        Period { from: y, to: y }
    }

    /// Does the period hold `year` (undated never)?
    pub fn contains(&self, year: Option<i32>) -> bool {
        year.is_some_and(|y| y >= self.from && y <= self.to)
    }

    /// Number of years the period names.
    pub fn len(&self) -> u32 {
        (self.to - self.from + 1).max(0) as u32
    }

    /// Never true for a valid period (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.to < self.from
    }

    /// Do the two periods share a year?
    pub fn overlaps(&self, other: &Period) -> bool {
        self.from <= other.to && other.from <= self.to
    }

    /// Checks the range: years in [`MIN_YEAR`]..=[`MAX_YEAR`] and `from ≤ to`. `name` names
    /// the period in the message ("period A").
    pub fn validate(&self, name: &str) -> Result<(), ThemesError> {
        for y in [self.from, self.to] {
            if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
                return Err(ThemesError::InvalidArgument(format!(
                    "{name} names year {y}; years must be between {MIN_YEAR} and {MAX_YEAR}"
                )));
            }
        }
        if self.from > self.to {
            return Err(ThemesError::InvalidArgument(format!(
                "{name} {}–{} is inverted; write the earlier year first ({}–{})",
                self.from, self.to, self.to, self.from
            )));
        }
        Ok(())
    }

    /// Parses `2013`, `2013-2017`, `2013–2017` (en dash), `2013..2017` or `2013:2017`.
    pub fn parse(s: &str) -> Result<Period, ThemesError> {
        let t = s.trim();
        let bad = || ThemesError::InvalidArgument(format!("cannot read '{s}' as a year or a period; write e.g. 2019 or 2013-2017"));
        let num = |x: &str| x.trim().parse::<i32>().map_err(|_| bad());
        let parts: Option<(&str, &str)> = ["..", "–", "—", ":", "-"].iter().find_map(|sep| t.split_once(sep));
        let p = match parts {
            Some((a, b)) => Period { from: num(a)?, to: num(b)? },
            None => Period::year(num(t)?),
        };
        p.validate("the period")?;
        Ok(p)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}–{}", self.from, self.to)
        }
    }
}

/// First and last dated year of `inputs` (`None` when none is dated).
pub fn corpus_span(inputs: &[ThemeInput]) -> Option<Period> {
    let mut years = inputs.iter().filter_map(|i| i.year);
    let first = years.next()?;
    let (lo, hi) = years.fold((first, first), |(lo, hi), y| (lo.min(y), hi.max(y)));
    Some(Period { from: lo, to: hi })
}

/// "the clustered paragraphs span 1954–2024" (or say that none is dated).
pub fn span_phrase(inputs: &[ThemeInput]) -> String {
    match corpus_span(inputs) {
        Some(p) if p.from == p.to => format!("the clustered paragraphs are all from {}", p.from),
        Some(p) => format!("the clustered paragraphs span {}–{}", p.from, p.to),
        None => "no clustered paragraph is dated (ingest documents with dates)".into(),
    }
}

/// Checks two periods for comparison without data: each valid (named `names`), different
/// and disjoint.
pub fn check_distinct(a: &Period, b: &Period, names: [&str; 2]) -> Result<(), ThemesError> {
    a.validate(names[0])?;
    b.validate(names[1])?;
    if a == b {
        let what = if a.from == a.to { "the same year" } else { "the same period" };
        return Err(ThemesError::InvalidArgument(format!(
            "{} and {} are both {a} ({what}); give two different years or periods",
            names[0], names[1]
        )));
    }
    if a.overlaps(b) {
        return Err(ThemesError::InvalidArgument(format!(
            "periods {a} and {b} overlap; give disjoint periods, e.g. {}–{} and {}–{}",
            a.from.min(b.from),
            a.from.max(b.from) - 1,
            a.from.max(b.from),
            a.to.max(b.to)
        )));
    }
    Ok(())
}

/// Checks two periods for comparison: [`check_distinct`], and each holding at least one
/// paragraph of `inputs` ([`ThemesError::NoData`] otherwise, naming the corpus span).
/// Returns the number of paragraphs in each.
pub fn validate_pair(a: &Period, b: &Period, inputs: &[ThemeInput]) -> Result<(usize, usize), ThemesError> {
    check_distinct(a, b, ["period A", "period B"])?;
    let count = |p: &Period| inputs.iter().filter(|i| p.contains(i.year)).count();
    let (na, nb) = (count(a), count(b));
    for (n, p, name) in [(na, a, "period A"), (nb, b, "period B")] {
        if n == 0 {
            return Err(ThemesError::NoData(format!(
                "no clustered paragraph is from {name} ({p}): {}; pick years inside it",
                span_phrase(inputs)
            )));
        }
    }
    Ok((na, nb))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dated(years: &[i32]) -> Vec<ThemeInput> {
        years
            .iter()
            .enumerate()
            .map(|(i, &y)| ThemeInput { id: i as i64, year: Some(y), text: String::new(), simplified: String::new(), vector: vec![1.0] })
            .collect()
    }

    #[test]
    fn parses_years_and_ranges() {
        assert_eq!(Period::parse("2019").unwrap(), Period::year(2019));
        for s in ["2013-2017", "2013–2017", "2013..2017", " 2013 : 2017 "] {
            assert_eq!(Period::parse(s).unwrap(), Period { from: 2013, to: 2017 }, "{s}");
        }
        let e = Period::parse("2017-2013").unwrap_err().to_string();
        assert!(e.contains("inverted") && e.contains("2013–2017"), "{e}");
        assert!(Period::parse("20x3").unwrap_err().to_string().contains("2013-2017"));
        assert!(Period::parse("12345").is_err());
        assert_eq!(Period { from: 2013, to: 2017 }.to_string(), "2013–2017");
        assert_eq!(Period { from: 2013, to: 2017 }.len(), 5);
    }

    #[test]
    fn pair_validation_names_the_fix() {
        let inputs = dated(&[1954, 1960, 2013, 2016, 2020, 2024]);
        let a = Period { from: 2013, to: 2017 };
        let b = Period { from: 2018, to: 2024 };
        assert_eq!(validate_pair(&a, &b, &inputs).unwrap(), (2, 2));
        let e = validate_pair(&a, &Period { from: 2017, to: 2020 }, &inputs).unwrap_err();
        assert!(matches!(e, ThemesError::InvalidArgument(_)) && e.to_string().contains("overlap"));
        let e = validate_pair(&a, &a, &inputs).unwrap_err();
        assert!(e.to_string().contains("two different"));
        let e = validate_pair(&a, &Period { from: 2030, to: 2031 }, &inputs).unwrap_err();
        assert!(matches!(e, ThemesError::NoData(_)));
        assert!(e.to_string().contains("span 1954–2024"), "{e}");
        let e = validate_pair(&Period { from: 2017, to: 2013 }, &b, &inputs).unwrap_err();
        assert!(matches!(e, ThemesError::InvalidArgument(_)) && e.to_string().contains("inverted"));
        // a gap inside the corpus (no paragraph from 1970–1979) is NoData too
        let e = validate_pair(&Period { from: 1970, to: 1979 }, &b, &inputs).unwrap_err();
        assert!(matches!(e, ThemesError::NoData(_)), "{e}");
        assert_eq!(corpus_span(&dated(&[])), None);
    }
}
