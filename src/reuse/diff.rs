//! The diff shown for an edited paragraph: character by character for Chinese, word by word for
//! other scripts (see [`super::text::units`]), as runs of kept, deleted and inserted text.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use similar::{capture_diff_slices_deadline, Algorithm, DiffTag};

use super::text::units;

/// What happened to a run of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffOp {
    /// In both versions.
    Equal,
    /// Only in the older version.
    Delete,
    /// Only in the newer version.
    Insert,
}

/// A run of text with one [`DiffOp`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSegment {
    /// What happened to it.
    pub op: DiffOp,
    /// The text of the run.
    pub text: String,
}

/// Longest time one diff may take before it falls back to a coarser (still correct) one.
const DIFF_TIME_LIMIT: Duration = Duration::from_millis(50);

/// Diff of `old` against `new`: consecutive runs of the same op are merged; a replaced run comes
/// out as its deletion followed by its insertion. Concatenating the `Equal` and `Delete` runs
/// gives `old`, the `Equal` and `Insert` runs give `new`.
pub fn diff(old: &str, new: &str) -> Vec<DiffSegment> {
    let a: Vec<&str> = units(old).into_iter().map(|(u, _)| u).collect();
    let b: Vec<&str> = units(new).into_iter().map(|(u, _)| u).collect();
    let deadline = std::time::Instant::now().checked_add(DIFF_TIME_LIMIT);
    let ops = capture_diff_slices_deadline(Algorithm::Myers, &a, &b, deadline);
    let mut out: Vec<DiffSegment> = Vec::new();
    let mut push = |op: DiffOp, parts: &[&str]| {
        if parts.is_empty() {
            return;
        }
        let text: String = parts.concat();
        match out.last_mut() {
            Some(last) if last.op == op => last.text.push_str(&text),
            _ => out.push(DiffSegment { op, text }),
        }
    };
    for op in &ops {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => push(DiffOp::Equal, &a[old_range]),
            DiffTag::Delete => push(DiffOp::Delete, &a[old_range]),
            DiffTag::Insert => push(DiffOp::Insert, &b[new_range]),
            DiffTag::Replace => {
                push(DiffOp::Delete, &a[old_range]);
                push(DiffOp::Insert, &b[new_range]);
            }
        }
    }
    out
}

/// One-line rendering: deleted runs as `[-text-]`, inserted runs as `{+text+}` (as `wdiff` does).
pub fn render_inline(segments: &[DiffSegment]) -> String {
    let mut s = String::new();
    for seg in segments {
        match seg.op {
            DiffOp::Equal => s.push_str(&seg.text),
            DiffOp::Delete => {
                s.push_str("[-");
                s.push_str(&seg.text);
                s.push_str("-]");
            }
            DiffOp::Insert => {
                s.push_str("{+");
                s.push_str(&seg.text);
                s.push_str("+}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(segs: &[DiffSegment], skip: DiffOp) -> String {
        segs.iter().filter(|s| s.op != skip).map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn chinese_by_character_english_by_word() {
        let (a, b) = ("今年国内生产总值增长6%左右。", "今年国内生产总值增长5%左右。");
        let d = diff(a, b);
        assert_eq!(render_inline(&d), "今年国内生产总值增长[-6-]{+5+}%左右。");
        assert_eq!((side(&d, DiffOp::Insert), side(&d, DiffOp::Delete)), (a.to_string(), b.to_string()));
        let d = diff("We will raise the GST in 2021.", "We will not raise the GST in 2022.");
        assert_eq!(render_inline(&d), "We will {+not +}raise the GST in [-2021-]{+2022+}.");
    }

    #[test]
    fn identical_and_empty() {
        assert_eq!(diff("same", "same"), vec![DiffSegment { op: DiffOp::Equal, text: "same".into() }]);
        assert_eq!(render_inline(&diff("", "new")), "{+new+}");
        assert!(diff("", "").is_empty());
    }
}
