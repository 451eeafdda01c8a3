//! Themes × time buckets: member counts and shares per bucket of 1, 5, 10 … years (aligned on
//! multiples of the bucket size, so 5-year buckets are 1950–1954, 1955–1959, …), and each
//! theme's life cycle (the bucket it first appears in, peaks, and fades).
//!
//! Works on a flat list of themes, so it applies equally to one level of a theme tree.
//!
//! Life-cycle rules, for a presence threshold `x` (share of the bucket's paragraphs, default
//! [`super::PRESENCE_MIN`] = 2 %); buckets without any paragraph are skipped:
//! * `first`: the first bucket with share ≥ x;
//! * `peak`: the bucket with the highest share (the earliest on ties);
//! * `last`: the last bucket with share ≥ x;
//! * `fade`: the first bucket (with paragraphs) after `last`: from there to the end of the
//!   corpus the theme stays under x. Absent when the theme is still present in the final
//!   bucket, so a theme that fades and comes back has no fade.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::period::Period;
use super::{Theme, ThemeInput, ThemesError};

/// Largest accepted bucket size, in years.
pub const MAX_BUCKET_YEARS: u32 = 100;

/// First year of the bucket of `size` years holding `year` (aligned on multiples of `size`).
pub fn bucket_start(year: i32, size: u32) -> i32 {
    let s = size.max(1) as i32;
    year.div_euclid(s) * s
}

/// Checks a bucket size: 0 means 1; at most [`MAX_BUCKET_YEARS`].
pub fn bucket_size(requested: u32) -> Result<u32, ThemesError> {
    match requested {
        0 => Ok(1),
        n if n > MAX_BUCKET_YEARS => Err(ThemesError::InvalidArgument(format!(
            "bucket of {n} years is above the maximum of {MAX_BUCKET_YEARS}; use e.g. 1, 5 or 10"
        ))),
        n => Ok(n),
    }
}

/// Checks a presence threshold: 0 means [`super::PRESENCE_MIN`]; otherwise in (0, 1].
pub fn presence_share(requested: f32) -> Result<f32, ThemesError> {
    if requested == 0.0 {
        Ok(super::PRESENCE_MIN)
    } else if requested.is_finite() && requested > 0.0 && requested <= 1.0 {
        Ok(requested)
    } else {
        Err(ThemesError::InvalidArgument(format!("presence share {requested} is not in (0, 1]; give a fraction such as 0.02 for 2%")))
    }
}

/// One time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Years covered (inclusive); `from == to` for yearly buckets.
    pub period: Period,
    /// Input paragraphs dated in the bucket (outliers included); 0 for a gap.
    pub paragraphs: u32,
}

/// A theme's first appearance, peak and fading (bucket start years; see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Theme id.
    pub theme_id: u32,
    /// First bucket with share ≥ the threshold.
    pub first: Option<i32>,
    /// Bucket of the highest share; `None` when the theme has no dated member.
    pub peak: Option<i32>,
    /// Share in the peak bucket, in [0, 1].
    pub peak_share: f32,
    /// Last bucket with share ≥ the threshold.
    pub last: Option<i32>,
    /// First bucket after `last`; `None` while the theme is present in the final bucket.
    pub fade: Option<i32>,
    /// Buckets with share ≥ the threshold.
    pub present_buckets: u32,
}

/// Member counts of each theme in each bucket between the corpus' first and last dated year.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareGrid {
    /// Bucket size in years.
    pub bucket_years: u32,
    /// Buckets ascending, gaps (no paragraph) included so the time axis stays linear.
    pub buckets: Vec<Bucket>,
    /// `counts[t][b]`: members of theme `t` (position in the theme list) in bucket `b`.
    pub counts: Vec<Vec<u32>>,
    /// Undated input paragraphs.
    pub undated: u32,
    /// Undated members of each theme.
    pub undated_counts: Vec<u32>,
}

impl ShareGrid {
    /// Counts `themes`' members (looked up by id in `inputs`; unknown ids are skipped) per
    /// bucket of `bucket_years` (validated with [`bucket_size`]). Shares are of all of
    /// `inputs` in the bucket, outliers included.
    pub fn new(themes: &[Theme], inputs: &[ThemeInput], bucket_years: u32) -> Result<ShareGrid, ThemesError> {
        let size = bucket_size(bucket_years)?;
        let span = super::period::corpus_span(inputs);
        let first = span.map_or(0, |p| bucket_start(p.from, size));
        let n = span.map_or(0, |p| ((bucket_start(p.to, size) - first) / size as i32 + 1) as usize);
        let pos = |y: i32| ((bucket_start(y, size) - first) / size as i32) as usize;
        let mut buckets: Vec<Bucket> = (0..n)
            .map(|b| {
                let from = first + (b as i32) * size as i32;
                Bucket { period: Period { from, to: from + size as i32 - 1 }, paragraphs: 0 }
            })
            .collect();
        let mut undated = 0;
        let mut year_of = HashMap::with_capacity(inputs.len());
        for i in inputs {
            year_of.entry(i.id).or_insert(i.year);
            match i.year {
                Some(y) => buckets[pos(y)].paragraphs += 1,
                None => undated += 1,
            }
        }
        let mut counts = vec![vec![0u32; n]; themes.len()];
        let mut undated_counts = vec![0u32; themes.len()];
        for (t, theme) in themes.iter().enumerate() {
            for id in &theme.members {
                match year_of.get(id) {
                    Some(Some(y)) => counts[t][pos(*y)] += 1,
                    Some(None) => undated_counts[t] += 1,
                    None => {}
                }
            }
        }
        Ok(ShareGrid { bucket_years: size, buckets, counts, undated, undated_counts })
    }

    /// Share of bucket `b`'s paragraphs in theme `t`; `None` for a gap.
    pub fn share(&self, t: usize, b: usize) -> Option<f32> {
        let total = self.buckets[b].paragraphs;
        (total > 0).then(|| self.counts[t][b] as f32 / total as f32)
    }

    /// Share of the undated paragraphs in theme `t`; `None` when none is undated.
    pub fn undated_share(&self, t: usize) -> Option<f32> {
        (self.undated > 0).then(|| self.undated_counts[t] as f32 / self.undated as f32)
    }

    /// Life cycle of theme `t` (id `theme_id`) with presence threshold `presence`.
    pub fn lifecycle(&self, t: usize, theme_id: u32, presence: f32) -> Lifecycle {
        let mut lc = Lifecycle { theme_id, first: None, peak: None, peak_share: 0.0, last: None, fade: None, present_buckets: 0 };
        let mut last_idx = None;
        for (b, bucket) in self.buckets.iter().enumerate() {
            let Some(s) = self.share(t, b) else { continue };
            let start = bucket.period.from;
            if self.counts[t][b] > 0 && (lc.peak.is_none() || s > lc.peak_share) {
                lc.peak = Some(start);
                lc.peak_share = s;
            }
            if s >= presence {
                lc.first.get_or_insert(start);
                lc.last = Some(start);
                lc.present_buckets += 1;
                last_idx = Some(b);
            }
        }
        if let Some(l) = last_idx {
            lc.fade = (l + 1..self.buckets.len()).find(|&b| self.buckets[b].paragraphs > 0).map(|b| self.buckets[b].period.from);
        }
        lc
    }

    /// Life cycles of every theme, in theme-list order.
    pub fn lifecycles(&self, themes: &[Theme], presence: f32) -> Vec<Lifecycle> {
        themes.iter().enumerate().map(|(t, th)| self.lifecycle(t, th.id, presence)).collect()
    }

    /// Theme positions ordered by peak bucket (then first bucket, then id); themes without a
    /// dated member last.
    pub fn order_by_peak(&self, themes: &[Theme], presence: f32) -> Vec<usize> {
        let lcs = self.lifecycles(themes, presence);
        let mut order: Vec<usize> = (0..themes.len()).collect();
        order.sort_by_key(|&t| {
            let lc = &lcs[t];
            (lc.peak.is_none(), lc.peak.unwrap_or(0), lc.first.unwrap_or(i32::MAX), lc.theme_id)
        });
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(id: u32, members: Vec<i64>) -> Theme {
        crate::themes::testutil::member_theme(id, format!("t{id}"), members)
    }

    /// 10 paragraphs a year in 1950..=1969 except 1957 (a gap year), ids year*100 + k.
    fn corpus() -> Vec<ThemeInput> {
        let mut v = Vec::new();
        for y in 1950..=1969 {
            if y == 1957 {
                continue;
            }
            for k in 0..10 {
                v.push(ThemeInput {
                    id: y as i64 * 100 + k,
                    year: Some(y),
                    text: String::new(),
                    simplified: String::new(),
                    vector: vec![1.0],
                });
            }
        }
        v.push(ThemeInput { id: 1, year: None, text: String::new(), simplified: String::new(), vector: vec![1.0] });
        v
    }

    #[test]
    fn buckets_are_aligned_and_keep_gaps() {
        assert_eq!(bucket_start(1954, 5), 1950);
        assert_eq!(bucket_start(1955, 5), 1955);
        assert_eq!(bucket_start(1969, 10), 1960);
        assert_eq!(bucket_start(-3, 5), -5);
        assert_eq!(bucket_size(0).unwrap(), 1);
        assert!(bucket_size(101).unwrap_err().to_string().contains("maximum of 100"));
        assert!(presence_share(1.5).is_err() && presence_share(f32::NAN).is_err());
        let inputs = corpus();
        let t = theme(0, inputs.iter().map(|i| i.id).filter(|&id| id > 1 && id % 100 < 3).collect());
        let g = ShareGrid::new(std::slice::from_ref(&t), &inputs, 5).unwrap();
        let spans: Vec<(i32, i32, u32)> = g.buckets.iter().map(|b| (b.period.from, b.period.to, b.paragraphs)).collect();
        assert_eq!(spans, vec![(1950, 1954, 50), (1955, 1959, 40), (1960, 1964, 50), (1965, 1969, 50)]);
        assert_eq!(g.counts[0], vec![15, 12, 15, 15]);
        assert!((g.share(0, 1).unwrap() - 0.3).abs() < 1e-6);
        assert_eq!((g.undated, g.undated_counts[0]), (1, 0));
        let yearly = ShareGrid::new(&[t], &inputs, 1).unwrap();
        assert_eq!(yearly.buckets.len(), 20);
        assert_eq!(yearly.share(0, 7), None, "1957 is a gap");
    }

    #[test]
    fn lifecycle_first_peak_fade() {
        let inputs = corpus();
        // theme 0: 1 member a year 1950–1952 (10% each), 4 in 1955 (peak), 2 in 1958, none after.
        let mut m = vec![195000, 195100, 195200];
        m.extend([195500, 195501, 195502, 195503, 195800, 195801]);
        // theme 1: present in the last year, so it has not faded; peak tie 1960/1969 → 1960.
        let t1 = theme(1, vec![196000, 196001, 196900, 196901]);
        // theme 2: one member a year 1961–1963 = 10%, below a 15% threshold everywhere.
        let t2 = theme(2, vec![196100, 196200, 196300]);
        let themes = [theme(0, m), t1, t2];
        let g = ShareGrid::new(&themes, &inputs, 1).unwrap();
        let lc = g.lifecycles(&themes, 0.15);
        assert_eq!(
            lc[0],
            Lifecycle {
                theme_id: 0,
                first: Some(1955),
                peak: Some(1955),
                peak_share: 0.4,
                last: Some(1958),
                fade: Some(1959),
                present_buckets: 2
            }
        );
        assert_eq!((lc[1].first, lc[1].peak, lc[1].last, lc[1].fade), (Some(1960), Some(1960), Some(1969), None));
        assert_eq!((lc[2].first, lc[2].peak, lc[2].last, lc[2].fade, lc[2].present_buckets), (None, Some(1961), None, None, 0));
        // at 5 %, theme 0 appears in 1950
        let lc5 = g.lifecycle(0, 0, 0.05);
        assert_eq!((lc5.first, lc5.last, lc5.fade), (Some(1950), Some(1958), Some(1959)));
        // last present in 1956: it fades in 1958, the next year with paragraphs (1957 is a gap)
        let only_1956 = [theme(3, vec![195600, 195601])];
        let g2 = ShareGrid::new(&only_1956, &inputs, 1).unwrap();
        assert_eq!(g2.lifecycle(0, 3, 0.15).fade, Some(1958));
        assert_eq!(g.order_by_peak(&themes, 0.15), vec![0, 1, 2]);
        // 10-year buckets: theme 0 peaks in the 1950s
        let g10 = ShareGrid::new(&themes, &inputs, 10).unwrap();
        assert_eq!(g10.lifecycle(0, 0, 0.02).peak, Some(1950));
    }
}
