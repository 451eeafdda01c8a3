//! `simtheme ingest PATH...`: files and directories of .txt/.md/.html pages and .csv/.jsonl
//! tables (one document per row, see [`super::ingest_rows`]) into the data directory, with a
//! progress bar, a summary table, the count of dated and undated documents (a warning when most
//! are undated) and a throughput line (pages/s, tokens/s and the time split between cleaning,
//! embedding and storage).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::corpus::{validate_date, DateSource, DocumentMeta};
use crate::engine::{Engine, Format, IngestInput, IngestResult, IngestStatus, IngestTimings};

use super::ingest_rows::{read_csv, read_jsonl, IngestArgs};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    /// One page (.txt, .md, .html).
    Page(Format),
    /// A CSV table, one document per row.
    Csv,
    /// JSON lines, one document per line.
    Jsonl,
}

/// Collects ingestible files under `paths` (directories recursively), sorted.
pub fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, FileKind)>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            let format = format_of(p).with_context(|| format!("{}: not a .txt, .md, .html, .csv or .jsonl file", p.display()))?;
            out.push((p.clone(), format));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn format_of(p: &Path) -> Option<FileKind> {
    let ext = p.extension().and_then(|e| e.to_str())?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(FileKind::Csv),
        "jsonl" | "ndjson" => Some(FileKind::Jsonl),
        other => Format::from_extension(other).map(FileKind::Page),
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, FileKind)>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if let Some(f) = format_of(&path) {
            out.push((path, f));
        }
    }
    Ok(())
}

/// Throughput of one `simtheme ingest` run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestTotals {
    /// Files processed (inserted, already present or failed).
    pub pages: usize,
    /// Tokens fed to the model.
    pub tokens: u64,
    /// Wall time from the first file read to the end of the final checkpoint (model loading
    /// and opening the store excluded).
    pub wall: Duration,
    /// Per-stage wall time of every document, summed.
    pub stages: IngestTimings,
}

impl IngestTotals {
    /// One line: pages/s, tokens/s and the split of the wall time between cleaning,
    /// embedding, storage and the rest (reading files, the final index dump).
    pub fn line(&self) -> String {
        let wall = self.wall.as_secs_f64().max(1e-9);
        let part = |d: Duration| format!("{:.2} s ({:.1}%)", d.as_secs_f64(), 100.0 * d.as_secs_f64() / wall);
        format!(
            "{} pages, {} tokens in {:.2} s: {:.2} pages/s, {:.0} tokens/s; time split: cleaning {}, embedding {}, storage {}, other {}",
            self.pages,
            self.tokens,
            wall,
            self.pages as f64 / wall,
            self.tokens as f64 / wall,
            part(self.stages.cleaning),
            part(self.stages.embedding),
            part(self.stages.storage),
            part(self.wall.saturating_sub(self.stages.total())),
        )
    }
}

/// Documents read from one file: a page, or the rows of a table.
fn inputs_of(path: &Path, kind: FileKind, args: &IngestArgs) -> Result<Vec<(String, IngestInput)>, String> {
    let name = path.display().to_string();
    let rows = match kind {
        FileKind::Page(format) => {
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
            let text = String::from_utf8(bytes).map_err(|_| "file is not valid UTF-8".to_string())?;
            let key = args.key_from_path.then(|| name.clone());
            let meta = DocumentMeta { date: args.date.clone(), tags: args.tags.clone(), key, ..Default::default() };
            return Ok(vec![(name.clone(), IngestInput { text, name, meta, format, date_from_name: true })]);
        }
        FileKind::Csv => read_csv(path, args),
        FileKind::Jsonl => read_jsonl(path, args),
    }
    .map_err(|e| e.to_string())?;
    if !rows.empty.is_empty() {
        eprintln!("{name}: skipped {} row(s) with an empty text: {:?}", rows.empty.len(), rows.empty);
    }
    Ok(rows
        .documents
        .into_iter()
        .map(|r| {
            let label = format!("{name}#{}", r.row);
            let input = IngestInput { text: r.text, name: label.clone(), meta: r.meta, format: Format::Text, date_from_name: false };
            (label, input)
        })
        .collect())
}

/// How many stored documents are dated, and by what; one line, plus a warning when most are not.
pub fn dating_summary(results: &[&IngestResult]) -> (String, Option<String>) {
    let ok: Vec<&&IngestResult> = results.iter().filter(|r| !matches!(r.status, IngestStatus::Failed(_))).collect();
    let count = |s: DateSource| ok.iter().filter(|r| r.date_source == Some(s)).count();
    let undated = ok.iter().filter(|r| r.date.is_none()).count();
    let dated = ok.len() - undated;
    let parts: Vec<String> = [
        (DateSource::Given, "given"),
        (DateSource::FrontMatter, "front matter"),
        (DateSource::Header, "page header"),
        (DateSource::FileName, "file name"),
    ]
    .iter()
    .filter_map(|(s, label)| {
        let n = count(*s);
        (n > 0).then(|| format!("{label} {n}"))
    })
    .collect();
    let line = if parts.is_empty() {
        format!("{dated} dated, {undated} undated")
    } else {
        format!("{dated} dated ({}), {undated} undated", parts.join(", "))
    };
    let warning = (undated * 2 > ok.len()).then(|| {
        format!(
            "WARNING: {undated} of {} documents are UNDATED: themes over time, year comparisons and text reuse by year leave them out.\n\
             Date them with --date YYYY[-MM[-DD]] (one date for all), a year in each file name (2019.txt, report_2019.md, \
             2019-03-05 notes.txt), a `date: 2019-03-05` line in Markdown front matter (a block between `---` lines opening the file), or a date column \
             in CSV/JSONL (--date-column). Documents already stored keep their date: delete them first to re-date them.",
            ok.len()
        )
    });
    (line, warning)
}

/// A note naming the documents whose page-header date lost to another year in their file
/// name (up to three examples), or `None` when there is none.
pub fn overruled_note(rows: &[(&str, &IngestResult)]) -> Option<String> {
    let overruled: Vec<String> = rows
        .iter()
        .filter_map(|(label, r)| {
            let header = r.overruled_header_date.as_deref()?;
            Some(format!("{label}: header {header}, used {}", r.date.as_deref().unwrap_or("-")))
        })
        .collect();
    if overruled.is_empty() {
        return None;
    }
    let more = if overruled.len() > 3 { format!("; and {} more", overruled.len() - 3) } else { String::new() };
    let examples = overruled.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
    Some(format!(
        "note: {} page-header date(s) of another year than the file name's were set aside, the file name's year used \
         (an archive's re-posting date, most often): {examples}{more}. Give --date to choose the date yourself.",
        overruled.len()
    ))
}

/// Ingests the files and prints one row per document, the counts and the throughput line
/// ([`IngestTotals::line`]). Fails (exit code 1) when any document failed, after ingesting
/// all the others.
pub fn run_ingest(mut config: Config, paths: &[PathBuf], args: &IngestArgs) -> anyhow::Result<()> {
    config.seed_when_empty = false;
    if let Some(d) = &args.date {
        validate_date(d).map_err(|e| anyhow::anyhow!("--date: {e}"))?;
    }
    let files = collect_files(paths)?;
    if files.is_empty() {
        anyhow::bail!("no .txt, .md, .html, .csv or .jsonl files under the given paths");
    }
    let runtime = super::runtime()?;
    let engine = runtime.block_on(Engine::open(config))?;
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let mut rows = Vec::new();
    let started = Instant::now();
    for (path, kind) in &files {
        bar.set_message(path.display().to_string());
        match inputs_of(path, *kind, args) {
            Ok(inputs) => {
                for (label, input) in inputs {
                    let i = rows.len();
                    rows.push((label, runtime.block_on(engine.ingest_one(i, input))));
                }
            }
            Err(e) => rows.push((path.display().to_string(), failed(rows.len(), &e))),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    runtime.block_on(engine.checkpoint())?;
    let mut totals = IngestTotals { pages: rows.len(), wall: started.elapsed(), ..Default::default() };
    for (_, r) in &rows {
        totals.tokens += r.tokens;
        totals.stages += r.timings;
    }

    println!(
        "{:<40} {:<16} {:<15} {:>5} {:>6} {:>4} {:<10} {:<12}",
        "file", "document", "status", "paras", "chunks", "dups", "date", "date from"
    );
    let mut failures = 0;
    for (label, r) in &rows {
        let status = match &r.status {
            IngestStatus::Inserted => "inserted".to_string(),
            IngestStatus::Replaced(_) => "replaced".to_string(),
            IngestStatus::AlreadyPresent => "already present".to_string(),
            IngestStatus::Failed(_) => {
                failures += 1;
                "FAILED".to_string()
            }
        };
        let name: String = label.chars().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        println!(
            "{:<40} {:<16} {:<15} {:>5} {:>6} {:>4} {:<10} {:<12}",
            name,
            r.document_id,
            status,
            r.paragraphs,
            r.chunks,
            r.duplicates,
            r.date.as_deref().unwrap_or("undated"),
            r.date_source.map(|s| s.as_str()).unwrap_or("-")
        );
        if let IngestStatus::Failed(e) = &r.status {
            println!("    error: {e}");
        }
    }
    let inserted = rows.iter().filter(|(_, r)| r.status == IngestStatus::Inserted).count();
    let replaced = rows.iter().filter(|(_, r)| matches!(r.status, IngestStatus::Replaced(_))).count();
    let present = rows.iter().filter(|(_, r)| r.status == IngestStatus::AlreadyPresent).count();
    // Replacements only happen with keys; the line keeps its shape without them.
    let replaced = if replaced > 0 { format!(" {replaced} replaced,") } else { String::new() };
    println!(
        "{} documents from {} files: {inserted} inserted,{replaced} {present} already present, {failures} failed",
        rows.len(),
        files.len()
    );
    let (dating, warning) = dating_summary(&rows.iter().map(|(_, r)| r).collect::<Vec<_>>());
    println!("dates: {dating}");
    if let Some(w) = warning {
        eprintln!("\n{w}\n");
    }
    if let Some(note) = overruled_note(&rows.iter().map(|(label, r)| (label.as_str(), r)).collect::<Vec<_>>()) {
        eprintln!("{note}");
    }
    println!("{}", totals.line());
    if failures > 0 {
        anyhow::bail!("{failures} document(s) failed");
    }
    Ok(())
}

fn failed(index: usize, msg: &str) -> IngestResult {
    IngestResult::rejected(index, String::new(), msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(date: Option<&str>, source: Option<DateSource>, failed: bool) -> IngestResult {
        let mut r = IngestResult::rejected(0, String::new(), "x".into());
        if !failed {
            r.status = IngestStatus::Inserted;
        }
        r.date = date.map(str::to_string);
        r.date_source = source;
        r
    }

    #[test]
    fn dating_summary_counts_sources_and_warns_when_most_are_undated() {
        let dated = [
            result(Some("2019"), Some(DateSource::FileName), false),
            result(Some("2020"), Some(DateSource::FileName), false),
            result(Some("2021-01"), Some(DateSource::FrontMatter), false),
            result(None, None, false),
            result(None, None, true),
        ];
        let (line, warning) = dating_summary(&dated.iter().collect::<Vec<_>>());
        assert_eq!(line, "3 dated (front matter 1, file name 2), 1 undated");
        assert_eq!(warning, None);
        let undated = [result(None, None, false), result(None, None, false), result(Some("2019"), Some(DateSource::Given), false)];
        let (line, warning) = dating_summary(&undated.iter().collect::<Vec<_>>());
        assert_eq!(line, "1 dated (given 1), 2 undated");
        let w = warning.unwrap();
        assert!(
            w.contains("2 of 3 documents are UNDATED") && w.contains("--date") && w.contains("front matter") && w.contains("file name"),
            "{w}"
        );
    }

    #[test]
    fn overruled_header_dates_are_named() {
        let mut r = result(Some("1995"), Some(DateSource::FileName), false);
        r.overruled_header_date = Some("2006-02-16".into());
        let plain = result(Some("1996"), Some(DateSource::FileName), false);
        assert_eq!(overruled_note(&[("1996.txt", &plain)]), None);
        let note = overruled_note(&[("1995.txt", &r), ("1996.txt", &plain)]).unwrap();
        assert!(note.starts_with("note: 1 page-header date") && note.contains("1995.txt: header 2006-02-16, used 1995"), "{note}");
    }

    #[test]
    fn table_files_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.csv", "b.JSONL", "c.md", "d.pdf"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let kinds: Vec<FileKind> = collect_files(&[dir.path().to_path_buf()]).unwrap().into_iter().map(|(_, k)| k).collect();
        assert_eq!(kinds, vec![FileKind::Csv, FileKind::Jsonl, FileKind::Page(Format::Markdown)]);
    }

    #[test]
    fn totals_line_names_every_stage_and_the_rest() {
        let totals = IngestTotals {
            pages: 4,
            tokens: 1000,
            wall: Duration::from_secs(2),
            stages: IngestTimings {
                cleaning: Duration::from_millis(100),
                embedding: Duration::from_millis(1500),
                storage: Duration::from_millis(200),
            },
        };
        assert_eq!(
            totals.line(),
            "4 pages, 1000 tokens in 2.00 s: 2.00 pages/s, 500 tokens/s; time split: cleaning 0.10 s (5.0%), \
             embedding 1.50 s (75.0%), storage 0.20 s (10.0%), other 0.20 s (10.0%)"
        );
    }
}
