//! `simtheme ingest PATH...`: files and directories of .txt/.md/.html into the data directory,
//! with a progress bar, a summary table and a throughput line (pages/s, tokens/s and the time
//! split between cleaning, embedding and storage).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::corpus::DocumentMeta;
use crate::engine::{Engine, Format, IngestInput, IngestStatus, IngestTimings};

/// Collects ingestible files under `paths` (directories recursively), sorted.
pub fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, Format)>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            let format = format_of(p).with_context(|| format!("{}: not a .txt, .md or .html file", p.display()))?;
            out.push((p.clone(), format));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn format_of(p: &Path) -> Option<Format> {
    p.extension().and_then(|e| e.to_str()).and_then(Format::from_extension)
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Format)>) -> anyhow::Result<()> {
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

/// Ingests the files and prints one row per document, the counts and the throughput line
/// ([`IngestTotals::line`]). Fails (exit code 1) when any document failed, after ingesting
/// all the others.
pub fn run_ingest(mut config: Config, paths: &[PathBuf], tags: &[String]) -> anyhow::Result<()> {
    config.seed_when_empty = false;
    let files = collect_files(paths)?;
    if files.is_empty() {
        anyhow::bail!("no .txt, .md or .html files under the given paths");
    }
    let runtime = super::runtime()?;
    let engine = runtime.block_on(Engine::open(config))?;
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let mut rows = Vec::new();
    let started = Instant::now();
    for (i, (path, format)) in files.iter().enumerate() {
        bar.set_message(path.display().to_string());
        let result = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    let input = IngestInput {
                        text,
                        name: path.display().to_string(),
                        meta: DocumentMeta { tags: tags.to_vec(), ..Default::default() },
                        format: *format,
                    };
                    runtime.block_on(engine.ingest_one(i, input))
                }
                Err(_) => failed(i, "file is not valid UTF-8"),
            },
            Err(e) => failed(i, &format!("cannot read: {e}")),
        };
        rows.push((path.clone(), result));
        bar.inc(1);
    }
    bar.finish_and_clear();
    runtime.block_on(engine.checkpoint())?;
    let mut totals = IngestTotals { pages: rows.len(), wall: started.elapsed(), ..Default::default() };
    for (_, r) in &rows {
        totals.tokens += r.tokens;
        totals.stages += r.timings;
    }

    println!("{:<40} {:<16} {:<15} {:>5} {:>6} {:>4} {:<10}", "file", "document", "status", "paras", "chunks", "dups", "date");
    let mut failures = 0;
    for (path, r) in &rows {
        let status = match &r.status {
            IngestStatus::Inserted => "inserted".to_string(),
            IngestStatus::AlreadyPresent => "already present".to_string(),
            IngestStatus::Failed(_) => {
                failures += 1;
                "FAILED".to_string()
            }
        };
        let name: String = path.display().to_string().chars().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        println!(
            "{:<40} {:<16} {:<15} {:>5} {:>6} {:>4} {:<10}",
            name,
            r.document_id,
            status,
            r.paragraphs,
            r.chunks,
            r.duplicates,
            r.date.as_deref().unwrap_or("undated")
        );
        if let IngestStatus::Failed(e) = &r.status {
            println!("    error: {e}");
        }
    }
    let inserted = rows.iter().filter(|(_, r)| r.status == IngestStatus::Inserted).count();
    let present = rows.iter().filter(|(_, r)| r.status == IngestStatus::AlreadyPresent).count();
    println!("{} files: {inserted} inserted, {present} already present, {failures} failed", rows.len());
    println!("{}", totals.line());
    if failures > 0 {
        anyhow::bail!("{failures} document(s) failed");
    }
    Ok(())
}

fn failed(index: usize, msg: &str) -> crate::engine::IngestResult {
    crate::engine::IngestResult::rejected(index, String::new(), msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_line_names_every_stage_and_the_rest() {
        let totals = IngestTotals {
            pages: 4,
            tokens: 1000,
            wall: Duration::from_secs(2),
            stages: IngestTimings { cleaning: Duration::from_millis(100), embedding: Duration::from_millis(1500), storage: Duration::from_millis(200) },
        };
        assert_eq!(
            totals.line(),
            "4 pages, 1000 tokens in 2.00 s: 2.00 pages/s, 500 tokens/s; time split: cleaning 0.10 s (5.0%), \
             embedding 1.50 s (75.0%), storage 0.20 s (10.0%), other 0.20 s (10.0%)"
        );
    }
}
