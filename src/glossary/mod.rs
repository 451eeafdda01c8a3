//! A bilingual glossary of policy terms that joins questions in one language to exact terms in
//! the other: 供给侧结构性改革 ⇄ "supply-side structural reform". The search engine looks the
//! glossary's phrases up in a KEYWORD or HYBRID query ([`Glossary::bridge`]) and adds their
//! other-language terms to the keyword side only; the dense side is unchanged.
//!
//! A glossary is a table with a header row naming the columns `zh` and `en` (and optionally
//! `source`), tab-separated (a tab in the header) or comma-separated (CSV with quotes; a comma
//! in the header). A cell holds one term or several separated by `|`: the official rendering first,
//! then variants and abbreviations. The shipped glossary ([`SHIPPED`]) covers Chinese
//! national policy and Singapore's schemes; `--glossary FILE` adds entries to it.

mod matcher;

use std::path::{Path, PathBuf};

pub use matcher::{normalise_english, Bridge, Side};

use crate::corpus::to_simplified;

/// The shipped glossary (TSV): see `src/glossary/policy_glossary.tsv` for its sources.
pub const SHIPPED: &str = include_str!("policy_glossary.tsv");
/// Name of the shipped glossary in reports.
pub const SHIPPED_NAME: &str = "shipped policy glossary";
/// Most alternatives of one side of an entry.
pub const MAX_ALTERNATIVES: usize = 12;
/// Longest term, in characters.
pub const MAX_TERM_CHARS: usize = 120;

/// One glossary entry: the same concept in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Chinese terms (simplified script), the official one first.
    pub zh: Vec<String>,
    /// English renderings, the official one first.
    pub en: Vec<String>,
    /// Where the rendering comes from ("" when the file names none).
    pub source: String,
    /// Which file it came from and on which line (`shipped policy glossary:12`).
    pub origin: String,
}

impl Entry {
    /// `供给侧结构性改革 = supply-side structural reform`.
    pub fn title(&self) -> String {
        format!("{} = {}", self.zh[0], self.en[0])
    }
}

/// A line of a glossary file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

/// A glossary file that cannot be used at all (unreadable, no `zh`/`en` header, no entry).
#[derive(Debug, thiserror::Error)]
#[error("glossary {path}: {message}")]
pub struct GlossaryError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The entries of one source, and the lines that were skipped.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Entries read.
    pub entries: Vec<Entry>,
    /// Lines skipped, with the reason.
    pub errors: Vec<LineError>,
}

fn split_terms(cell: &str, simplify: bool) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for t in cell.split('|').map(str::trim).filter(|t| !t.is_empty()) {
        if t.chars().count() > MAX_TERM_CHARS {
            return Err(format!("the term \"{}…\" is longer than {MAX_TERM_CHARS} characters", t.chars().take(20).collect::<String>()));
        }
        let t = if simplify { to_simplified(t) } else { t.to_string() };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_ALTERNATIVES {
        return Err(format!("{} alternatives, above the limit of {MAX_ALTERNATIVES}", out.len()));
    }
    Ok(out)
}

/// Reads a glossary table from `text`; `name` labels its entries and errors. Bad lines are
/// skipped and reported; an unusable table (no `zh` and `en` columns) is an error.
pub fn parse(text: &str, name: &str, tab_separated: bool) -> Result<Loaded, GlossaryError> {
    let fail = |message: String| GlossaryError { path: name.to_string(), message };
    let first_line = text.lines().find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).unwrap_or("");
    // the header row decides; the file name only when the header holds neither separator
    let delimiter = match (first_line.contains('\t'), first_line.contains(',')) {
        (true, _) => b'\t',
        (false, true) => b',',
        (false, false) if tab_separated => b'\t',
        _ => b',',
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .comment(Some(b'#'))
        .quoting(delimiter == b',')
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| fail(format!("cannot read the header row: {e}")))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let (Some(zh), Some(en)) = (column("zh"), column("en")) else {
        return Err(fail(format!(
            "the first row must name the columns zh and en (and optionally source), e.g. \"zh\\ten\\tsource\"; found {:?}",
            headers.iter().collect::<Vec<_>>()
        )));
    };
    let source = column("source");
    let mut loaded = Loaded::default();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                loaded.errors.push(LineError { line, message: format!("cannot be read: {e}") });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: usize| record.get(i).unwrap_or("");
        let terms = split_terms(cell(zh), true).and_then(|z| split_terms(cell(en), false).map(|e| (z, e)));
        match terms {
            Ok((z, e)) if !z.is_empty() && !e.is_empty() => loaded.entries.push(Entry {
                zh: z,
                en: e,
                source: source.map(|s| cell(s).trim().to_string()).unwrap_or_default(),
                origin: format!("{name}:{line}"),
            }),
            Ok(_) => loaded.errors.push(LineError { line, message: "needs a term in both the zh and the en column".into() }),
            Err(message) => loaded.errors.push(LineError { line, message }),
        }
    }
    Ok(loaded)
}

/// Reads a glossary file (CSV, or TSV for `.tsv`/`.tab` or a tab in the header). Errors when
/// the file cannot be read, has no `zh`/`en` header, or holds no entry at all.
pub fn load_file(path: &Path) -> Result<Loaded, GlossaryError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| GlossaryError { path: name.clone(), message: format!("cannot be read: {e}") })?;
    let tsv = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("tsv") || e.eq_ignore_ascii_case("tab"));
    let loaded = parse(&text, &name, tsv)?;
    if loaded.entries.is_empty() {
        let why = loaded.errors.first().map(|e| format!(" (line {}: {})", e.line, e.message)).unwrap_or_default();
        return Err(GlossaryError { path: name, message: format!("holds no usable entry{why}") });
    }
    Ok(loaded)
}

/// The glossary the engine consults: the shipped entries plus those of `--glossary`.
#[derive(Debug, Clone, Default)]
pub struct Glossary {
    entries: Vec<Entry>,
    matcher: matcher::Matcher,
    /// The extra file, when one was given.
    pub file: Option<PathBuf>,
    /// Lines of the extra file that were skipped.
    pub errors: Vec<LineError>,
}

impl Glossary {
    /// A glossary of `entries` (shipped and extra, in that order).
    pub fn new(entries: Vec<Entry>, file: Option<PathBuf>, errors: Vec<LineError>) -> Glossary {
        let matcher = matcher::Matcher::new(&entries);
        Glossary { entries, matcher, file, errors }
    }

    /// The shipped glossary alone.
    pub fn shipped() -> Glossary {
        let loaded = parse(SHIPPED, SHIPPED_NAME, true).expect("the shipped glossary has a header");
        debug_assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        Glossary::new(loaded.entries, None, Vec::new())
    }

    /// The shipped glossary extended with `file` (skipped lines are kept in `errors`).
    pub fn with_file(file: &Path) -> Result<Glossary, GlossaryError> {
        let extra = load_file(file)?;
        let mut entries = Glossary::shipped().entries;
        entries.extend(extra.entries);
        Ok(Glossary::new(entries, Some(file.to_path_buf()), extra.errors))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry `i`.
    pub fn entry(&self, i: usize) -> &Entry {
        &self.entries[i]
    }

    /// Every other term of the entry `phrase` belongs to when it is, as a whole, a glossary
    /// phrase (either language, normalised as in [`Glossary::bridge`]): the other language's
    /// terms and its own language's variants. Empty otherwise.
    pub fn alternatives(&self, phrase: &str) -> Vec<String> {
        let found = self.bridge(phrase);
        let [b] = found.as_slice() else { return Vec::new() };
        let whole = match b.side {
            Side::Chinese => to_simplified(phrase.trim()) == b.matched,
            Side::English => normalise_english(phrase) == normalise_english(&b.matched),
        };
        if !whole {
            return Vec::new();
        }
        let e = self.entry(b.entry);
        let own = match b.side {
            Side::Chinese => &e.zh,
            Side::English => &e.en,
        };
        own.iter().filter(|t| **t != b.matched).cloned().chain(b.added.iter().cloned()).collect()
    }

    /// Glossary phrases found in `query` (either language, longest match first, no overlap),
    /// each with the other language's terms to add to the keyword side.
    pub fn bridge(&self, query: &str) -> Vec<Bridge> {
        self.matcher.find(query, &self.entries)
    }
}

#[cfg(test)]
mod tests;
