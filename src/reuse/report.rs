//! A reuse report: every paragraph of both versions with what happened to it, counts, and the
//! CSV export.

use serde::{Deserialize, Serialize};

use super::align::{align, AlignInput};
use super::diff::{diff, render_inline, DiffSegment};
use super::{ReuseKind, ReuseParams};

/// A stored paragraph as a reuse report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReuseParagraph {
    /// Paragraph id.
    pub id: i64,
    /// Its document.
    pub document_id: String,
    /// The document's title, when known.
    pub document_title: Option<String>,
    /// The document's date, when known.
    pub date: Option<String>,
    /// The document's year, when known.
    pub year: Option<i32>,
    /// 0-based position in its document.
    pub position: u32,
    /// The paragraph text (original script).
    pub text: String,
}

/// One paragraph pair, or a paragraph present on one side only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReuseEntry {
    /// What happened.
    pub kind: ReuseKind,
    /// The older paragraph (absent for `new`).
    pub from: Option<ReuseParagraph>,
    /// The newer paragraph (absent for `dropped`).
    pub to: Option<ReuseParagraph>,
    /// Text similarity of the pair, 0–1 (1 for verbatim; 0 when unpaired).
    pub similarity: f32,
    /// Cosine of the paragraph embeddings, when both are known.
    pub cosine: Option<f32>,
    /// Older → newer diff, for `edited` pairs only (empty otherwise).
    pub diff: Vec<DiffSegment>,
}

/// Counts of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReuseCounts {
    /// Paragraphs of the older side.
    pub from_paragraphs: u32,
    /// Paragraphs of the newer side.
    pub to_paragraphs: u32,
    /// Pairs carried over verbatim.
    pub verbatim: u32,
    /// Pairs carried over with edits.
    pub edited: u32,
    /// Pairs rewritten.
    pub rewritten: u32,
    /// Older paragraphs with no counterpart.
    pub dropped: u32,
    /// Newer paragraphs with no counterpart.
    pub new: u32,
    /// Share (0–1) of the newer side's characters in verbatim or edited paragraphs.
    pub reused_share: f64,
}

impl ReuseCounts {
    /// The count of one kind.
    pub fn of(&self, kind: ReuseKind) -> u32 {
        match kind {
            ReuseKind::Verbatim => self.verbatim,
            ReuseKind::Edited => self.edited,
            ReuseKind::Rewritten => self.rewritten,
            ReuseKind::Dropped => self.dropped,
            ReuseKind::New => self.new,
        }
    }
}

/// A reuse report between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReuseReport {
    /// What the older side is (`document 1a2b…`, `2019`, `2013–2017`).
    pub from_label: String,
    /// What the newer side is.
    pub to_label: String,
    /// Thresholds used.
    pub params: ReuseParams,
    /// Counts.
    pub counts: ReuseCounts,
    /// Pairs and new paragraphs in the newer side's order, then dropped ones in the older order.
    pub entries: Vec<ReuseEntry>,
    /// Milliseconds the alignment took (reading the paragraphs excluded).
    pub elapsed_ms: f64,
}

/// Aligns two sides (each paragraph with the text to compare and its vector) into a report.
pub fn compare(
    from_label: String,
    to_label: String,
    from: Vec<(ReuseParagraph, AlignInput)>,
    to: Vec<(ReuseParagraph, AlignInput)>,
    params: &ReuseParams,
) -> ReuseReport {
    let started = std::time::Instant::now();
    let (from_paras, from_inputs): (Vec<ReuseParagraph>, Vec<AlignInput>) = from.into_iter().unzip();
    let (to_paras, to_inputs): (Vec<ReuseParagraph>, Vec<AlignInput>) = to.into_iter().unzip();
    let aligned = align(&from_inputs, &to_inputs, params);
    let mut counts = ReuseCounts { from_paragraphs: from_paras.len() as u32, to_paragraphs: to_paras.len() as u32, ..Default::default() };
    let (mut reused_chars, mut to_chars) = (0usize, 0usize);
    let mut entries = Vec::with_capacity(aligned.len());
    for a in aligned {
        let from = a.from.map(|i| from_paras[i].clone());
        let to = a.to.map(|j| to_paras[j].clone());
        let chars = to.as_ref().map_or(0, |p| p.text.chars().count());
        to_chars += chars;
        match a.kind {
            ReuseKind::Verbatim => counts.verbatim += 1,
            ReuseKind::Edited => counts.edited += 1,
            ReuseKind::Rewritten => counts.rewritten += 1,
            ReuseKind::Dropped => counts.dropped += 1,
            ReuseKind::New => counts.new += 1,
        }
        if matches!(a.kind, ReuseKind::Verbatim | ReuseKind::Edited) {
            reused_chars += chars;
        }
        let diff = match (&a.kind, &from, &to) {
            (ReuseKind::Edited, Some(f), Some(t)) => diff(&f.text, &t.text),
            _ => Vec::new(),
        };
        entries.push(ReuseEntry { kind: a.kind, from, to, similarity: a.similarity, cosine: a.cosine, diff });
    }
    counts.reused_share = if to_chars == 0 { 0.0 } else { reused_chars as f64 / to_chars as f64 };
    ReuseReport { from_label, to_label, params: params.clone(), counts, entries, elapsed_ms: started.elapsed().as_secs_f64() * 1e3 }
}

/// Columns of [`ReuseReport::to_csv`], in order.
pub const CSV_COLUMNS: [&str; 14] = [
    "kind",
    "similarity",
    "cosine",
    "from_paragraph",
    "from_document",
    "from_year",
    "from_position",
    "to_paragraph",
    "to_document",
    "to_year",
    "to_position",
    "from_text",
    "to_text",
    "diff",
];

impl ReuseReport {
    /// One CSV row per entry with a header ([`CSV_COLUMNS`]); empty cells for what an entry
    /// lacks. `diff` marks deletions `[-…-]` and insertions `{+…+}`. Ready for pandas or a
    /// spreadsheet (RFC 4180 quoting, UTF-8).
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(CSV_COLUMNS)?;
        let opt = |v: Option<String>| v.unwrap_or_default();
        for e in &self.entries {
            let side = |p: &Option<ReuseParagraph>| match p {
                Some(p) => [p.id.to_string(), p.document_id.clone(), opt(p.year.map(|y| y.to_string())), p.position.to_string()],
                None => Default::default(),
            };
            let [fid, fdoc, fyear, fpos] = side(&e.from);
            let [tid, tdoc, tyear, tpos] = side(&e.to);
            w.write_record([
                e.kind.as_str().to_string(),
                format!("{:.4}", e.similarity),
                opt(e.cosine.map(|c| format!("{c:.4}"))),
                fid,
                fdoc,
                fyear,
                fpos,
                tid,
                tdoc,
                tyear,
                tpos,
                opt(e.from.as_ref().map(|p| p.text.clone())),
                opt(e.to.as_ref().map(|p| p.text.clone())),
                render_inline(&e.diff),
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(id: i64, text: &str) -> (ReuseParagraph, AlignInput) {
        let p = ReuseParagraph {
            id,
            document_id: format!("doc{}", id / 100),
            document_title: None,
            date: None,
            year: Some(2000 + (id / 100) as i32),
            position: (id % 100) as u32,
            text: text.into(),
        };
        (p, AlignInput { text: text.into(), vector: Vec::new() })
    }

    #[test]
    fn report_counts_diffs_and_csv_that_parses() {
        let from =
            vec![para(100, "今年经济增长6%左右, \"稳中求进\"。"), para(101, "这一段被删去了,不再出现。"), para(102, "保持不变的一段。")];
        let to = vec![para(200, "保持不变的一段。"), para(201, "今年经济增长5%左右, \"稳中求进\"。"), para(202, "全新的一段,\n跨两行。")];
        let r = compare("2019".into(), "2020".into(), from, to, &ReuseParams::default());
        let c = &r.counts;
        assert_eq!((c.verbatim, c.edited, c.rewritten, c.dropped, c.new), (1, 1, 0, 1, 1));
        let total: usize = [200, 201, 202]
            .iter()
            .map(|i| r.entries.iter().find(|e| e.to.as_ref().map(|p| p.id) == Some(*i)).unwrap().to.as_ref().unwrap().text.chars().count())
            .sum();
        let reused = "保持不变的一段。".chars().count() + "今年经济增长5%左右, \"稳中求进\"。".chars().count();
        assert!((c.reused_share - reused as f64 / total as f64).abs() < 1e-9);
        let edited = r.entries.iter().find(|e| e.kind == ReuseKind::Edited).unwrap();
        assert_eq!(render_inline(&edited.diff), "今年经济增长[-6-]{+5+}%左右, \"稳中求进\"。");

        let csv_text = r.to_csv().unwrap();
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), CSV_COLUMNS.to_vec());
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(rows.len(), 4);
        let kinds: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
        assert_eq!(kinds, vec!["verbatim", "edited", "new", "dropped"]);
        assert_eq!(&rows[1][11], "今年经济增长6%左右, \"稳中求进\"。", "quotes and commas survive");
        assert_eq!(&rows[2][12], "全新的一段,\n跨两行。", "line breaks survive");
        assert_eq!((&rows[2][3], &rows[2][7], &rows[2][9]), ("", "202", "2002"));
        assert_eq!(&rows[3][3], "101");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["counts"]["edited"], 1);
        assert_eq!(json["entries"][1]["diff"][1]["op"], "delete");
    }
}
