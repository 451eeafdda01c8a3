//! Options of `simtheme ingest`, and CSV / JSONL files read as one document per row.
//!
//! A CSV file needs a header line; a JSONL file holds one JSON object per line (blank lines
//! skipped). The text column is required (`--text-column`, default `text`). Date, title, source
//! and tags columns are optional: a default name that is absent is simply not read, a name given
//! on the command line must exist. A row whose text is empty is skipped and reported. A date that
//! is not `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a time after the day is dropped) **rejects the whole
//! file** before any of its rows is stored, listing every bad row: fixing the file and running
//! again then imports all rows with their dates, instead of leaving some stored without one.

use std::path::Path;

use crate::corpus::{date_part, validate_date, DocumentMeta};

/// Options of `simtheme ingest`: metadata for every document and the columns of CSV/JSONL files.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IngestArgs {
    /// Tags to attach to every document (added to front matter and column tags).
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Date of every document: YYYY, YYYY-MM or YYYY-MM-DD. Overrides every other source. Without
    /// it a document's date is, in order: a CSV/JSONL date column, the Markdown front matter's
    /// `date:`, a date line in the page header, a date in the file name (`2019.txt`,
    /// `report_2019.md`, `2019-03-05 notes.txt`, `1978年报告.txt`).
    #[arg(long)]
    pub date: Option<String>,
    /// CSV/JSONL: column holding the text of each document [default: text].
    #[arg(long)]
    pub text_column: Option<String>,
    /// CSV/JSONL: column holding the date (YYYY, YYYY-MM, YYYY-MM-DD) [default: date, when present].
    #[arg(long)]
    pub date_column: Option<String>,
    /// CSV/JSONL: column holding the title [default: title, when present].
    #[arg(long)]
    pub title_column: Option<String>,
    /// CSV/JSONL: column holding the source / publisher [default: source, when present].
    #[arg(long)]
    pub source_column: Option<String>,
    /// CSV/JSONL: column holding tags, separated by `,` or `;` (JSONL: also an array) [default: tags, when present].
    #[arg(long)]
    pub tags_column: Option<String>,
    /// CSV/JSONL: column holding each document's key (e.g. its URL): a row whose key is stored
    /// replaces the stored version [default: key, when present].
    #[arg(long)]
    pub key_column: Option<String>,
    /// Files: key each document by its path as given on the command line (e.g.
    /// `reports/2016.txt`), so ingesting an edited file again replaces the stored version
    /// instead of adding a second one. Run from the same directory each time.
    #[arg(long)]
    pub key_from_path: bool,
}

/// One document read from a row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDocument {
    /// 1-based number of the data row (the CSV header and blank JSONL lines not counted).
    pub row: usize,
    /// The row's text.
    pub text: String,
    /// Metadata from the row's columns (date validated), plus `--tags`.
    pub meta: DocumentMeta,
}

/// The rows of one file: the documents and the rows skipped for an empty text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Documents, in file order.
    pub documents: Vec<RowDocument>,
    /// Row numbers whose text was empty.
    pub empty: Vec<usize>,
}

/// A column and whether the user named it (then it must exist).
struct Column<'a> {
    name: &'a str,
    named: bool,
}

impl<'a> Column<'a> {
    fn new(given: &'a Option<String>, default: &'a str) -> Self {
        Column { name: given.as_deref().unwrap_or(default), named: given.is_some() }
    }
}

/// The cells of one row, by column name.
trait RowCells {
    fn cell(&self, column: &str) -> Option<String>;
    fn tags(&self, column: &str) -> Vec<String> {
        self.cell(column).map(|c| split_tags(&c)).unwrap_or_default()
    }
}

fn split_tags(s: &str) -> Vec<String> {
    s.split([',', ';', '，', '；']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

fn missing_column(path: &Path, option: &str, name: &str, available: &[String]) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: no column `{name}`; the file has: {}. Name the right one with {option}",
        path.display(),
        if available.is_empty() { "(none)".to_string() } else { available.join(", ") }
    )
}

/// Checks the named columns against those of the file; returns which optional ones to read.
fn resolve<'a>(path: &Path, args: &'a IngestArgs, available: &[String]) -> anyhow::Result<[Option<&'a str>; 6]> {
    let cols = [
        ("--text-column", Column { name: args.text_column.as_deref().unwrap_or("text"), named: true }),
        ("--date-column", Column::new(&args.date_column, "date")),
        ("--title-column", Column::new(&args.title_column, "title")),
        ("--source-column", Column::new(&args.source_column, "source")),
        ("--tags-column", Column::new(&args.tags_column, "tags")),
        ("--key-column", Column::new(&args.key_column, "key")),
    ];
    let mut out = [None; 6];
    for (i, (option, col)) in cols.into_iter().enumerate() {
        if available.iter().any(|a| a == col.name) {
            out[i] = Some(col.name);
        } else if col.named {
            return Err(missing_column(path, option, col.name, available));
        }
    }
    Ok(out)
}

/// Reads one row into a document, or records a bad date.
fn row_document(
    row: usize,
    cells: &dyn RowCells,
    columns: &[Option<&str>; 6],
    args: &IngestArgs,
    rows: &mut Rows,
    bad_dates: &mut Vec<String>,
) {
    let [text, date, title, source, tags, key] = *columns;
    let text = text.and_then(|c| cells.cell(c)).unwrap_or_default();
    if text.trim().is_empty() {
        rows.empty.push(row);
        return;
    }
    let date = match (&args.date, date.and_then(|c| cells.cell(c)).filter(|d| !d.trim().is_empty())) {
        (Some(given), _) => Some(given.clone()),
        (None, Some(d)) => match validate_date(date_part(&d)) {
            Ok(valid) => Some(valid),
            Err(_) => {
                bad_dates.push(format!("row {row}: `{d}`"));
                None
            }
        },
        (None, None) => None,
    };
    let mut all_tags = args.tags.clone();
    for t in tags.map(|c| cells.tags(c)).unwrap_or_default() {
        if !all_tags.contains(&t) {
            all_tags.push(t);
        }
    }
    let cell = |c: Option<&str>| c.and_then(|c| cells.cell(c)).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let meta = DocumentMeta { title: cell(title), source: cell(source), date, tags: all_tags, key: cell(key) };
    rows.documents.push(RowDocument { row, text, meta });
}

fn finish(path: &Path, rows: Rows, bad_dates: Vec<String>) -> anyhow::Result<Rows> {
    if bad_dates.is_empty() {
        return Ok(rows);
    }
    let shown: Vec<&str> = bad_dates.iter().take(20).map(String::as_str).collect();
    let more = bad_dates.len().saturating_sub(shown.len());
    anyhow::bail!(
        "{}: {} row(s) have a date that is not YYYY, YYYY-MM or YYYY-MM-DD: {}{}. Nothing of this file was imported; fix the dates (or give --date for all rows, or clear the cells) and run again",
        path.display(),
        bad_dates.len(),
        shown.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    )
}

struct CsvRow<'a> {
    headers: &'a [String],
    record: &'a csv::StringRecord,
}

impl RowCells for CsvRow<'_> {
    fn cell(&self, column: &str) -> Option<String> {
        let i = self.headers.iter().position(|h| h == column)?;
        self.record.get(i).map(str::to_string)
    }
}

/// Reads a CSV file (header line first) as one document per row.
pub fn read_csv(path: &Path, args: &IngestArgs) -> anyhow::Result<Rows> {
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("{}: cannot read the header line: {e}", path.display()))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let columns = resolve(path, args, &headers)?;
    let (mut rows, mut bad) = (Rows::default(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| anyhow::anyhow!("{}: row {}: {e}", path.display(), i + 1))?;
        row_document(i + 1, &CsvRow { headers: &headers, record: &record }, &columns, args, &mut rows, &mut bad);
    }
    finish(path, rows, bad)
}

struct JsonRow<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl RowCells for JsonRow<'_> {
    fn cell(&self, column: &str) -> Option<String> {
        match self.0.get(column)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            serde_json::Value::Array(items) => {
                Some(items.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect::<Vec<_>>().join(","))
            }
            other => Some(other.to_string()),
        }
    }
}

/// Reads a JSONL file (one JSON object per line) as one document per row.
pub fn read_jsonl(path: &Path, args: &IngestArgs) -> anyhow::Result<Rows> {
    let content = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    let mut objects = Vec::new();
    for (n, line) in content.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(map)) => objects.push(map),
            Ok(_) => anyhow::bail!("{}: line {}: not a JSON object; each line must be one {{\"text\": ...}} object", path.display(), n + 1),
            Err(e) => anyhow::bail!("{}: line {}: not valid JSON ({e})", path.display(), n + 1),
        }
    }
    let mut keys: Vec<String> = Vec::new();
    for o in &objects {
        for k in o.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let columns = resolve(path, args, &keys)?;
    let (mut rows, mut bad) = (Rows::default(), Vec::new());
    for (i, o) in objects.iter().enumerate() {
        row_document(i + 1, &JsonRow(o), &columns, args, &mut rows, &mut bad);
    }
    finish(path, rows, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, content: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn csv_rows_with_default_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "export_2024.csv", "text,date,title,tags,extra\n\"First, quoted\ntext.\",2019-03-05,T1,\"a; b\",x\n,2020,T2,,y\nThird.,2021-02-03T10:00:00Z,,,z\nFourth.,,,,\n");
        let args = IngestArgs { tags: vec!["cli".into()], ..Default::default() };
        let rows = read_csv(&p, &args).unwrap();
        assert_eq!(rows.empty, vec![2]);
        let docs = &rows.documents;
        assert_eq!(docs.iter().map(|d| d.row).collect::<Vec<_>>(), vec![1, 3, 4]);
        assert_eq!(docs[0].text, "First, quoted\ntext.");
        assert_eq!(docs[0].meta.date.as_deref(), Some("2019-03-05"));
        assert_eq!(docs[0].meta.title.as_deref(), Some("T1"));
        assert_eq!(docs[0].meta.tags, vec!["cli".to_string(), "a".into(), "b".into()]);
        assert_eq!(docs[1].meta.date.as_deref(), Some("2021-02-03"));
        assert_eq!(docs[2].meta.date, None, "no date cell and no --date: undated (the file name is not used)");
        assert_eq!(docs[0].meta.source, None, "no source column: not read");
    }

    #[test]
    fn csv_named_columns_and_flag_date() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "s.csv", "body;year;who\nHello.;1999;Alice\n");
        // `;`-separated files are not sniffed: the header is one column.
        let err = read_csv(&p, &IngestArgs { text_column: Some("body".into()), ..Default::default() }).unwrap_err().to_string();
        assert!(err.contains("no column `body`") && err.contains("body;year;who") && err.contains("--text-column"), "{err}");
        let p = write(&dir, "c.csv", "body,year,who\nHello.,1999,Alice\n");
        let args = IngestArgs {
            text_column: Some("body".into()),
            date_column: Some("year".into()),
            source_column: Some("who".into()),
            ..Default::default()
        };
        let rows = read_csv(&p, &args).unwrap();
        assert_eq!(rows.documents[0].meta.date.as_deref(), Some("1999"));
        assert_eq!(rows.documents[0].meta.source.as_deref(), Some("Alice"));
        let flag = IngestArgs { date: Some("2001-05".into()), ..args.clone() };
        assert_eq!(read_csv(&p, &flag).unwrap().documents[0].meta.date.as_deref(), Some("2001-05"), "--date overrides the column");
    }

    #[test]
    fn csv_errors_name_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "a.csv", "content,when\nx,2019\n");
        let err = read_csv(&p, &IngestArgs::default()).unwrap_err().to_string();
        assert!(err.contains("no column `text`") && err.contains("content, when") && err.contains("--text-column"), "{err}");
        let err = read_csv(&p, &IngestArgs { text_column: Some("content".into()), date_column: Some("date".into()), ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(err.contains("no column `date`") && err.contains("--date-column"), "{err}");
        let p = write(&dir, "b.csv", "text,date\nok,2019\nbad,2019-13\nalso bad,March 2019\nfine,\n");
        let err = read_csv(&p, &IngestArgs::default()).unwrap_err().to_string();
        assert!(err.contains("2 row(s)") && err.contains("row 2: `2019-13`") && err.contains("row 3: `March 2019`"), "{err}");
        assert!(err.contains("Nothing of this file was imported"), "{err}");
    }

    #[test]
    fn jsonl_rows_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "r.jsonl", "{\"text\": \"One.\", \"date\": 2019, \"tags\": [\"x\", \"y\"], \"source\": \"S\"}\n\n{\"text\": \"Two.\", \"date\": null}\n{\"text\": \"\"}\n");
        let rows = read_jsonl(&p, &IngestArgs::default()).unwrap();
        assert_eq!(rows.documents.len(), 2);
        assert_eq!(rows.empty, vec![3]);
        assert_eq!(rows.documents[0].meta.date.as_deref(), Some("2019"));
        assert_eq!(rows.documents[0].meta.tags, vec!["x".to_string(), "y".into()]);
        assert_eq!(rows.documents[0].meta.source.as_deref(), Some("S"));
        assert_eq!(rows.documents[1].meta.date, None);
        let bad = write(&dir, "b.jsonl", "{\"text\": \"One.\", \"date\": \"19/03/2019\"}\n");
        let err = read_jsonl(&bad, &IngestArgs::default()).unwrap_err().to_string();
        assert!(err.contains("row 1: `19/03/2019`"), "{err}");
        let broken = write(&dir, "c.jsonl", "{\"text\": \"One.\"}\n[1, 2]\n");
        let err = read_jsonl(&broken, &IngestArgs::default()).unwrap_err().to_string();
        assert!(err.contains("line 2: not a JSON object"), "{err}");
        let keys = write(&dir, "d.jsonl", "{\"body\": \"One.\", \"year\": 2019}\n");
        let err = read_jsonl(&keys, &IngestArgs::default()).unwrap_err().to_string();
        assert!(err.contains("no column `text`") && err.contains("body, year"), "{err}");
    }
}
