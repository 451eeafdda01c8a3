//! Dates taken from a file name (`2024.txt`, `2019-03-05 report.md`, `report_2019.html`,
//! `1978年政府工作报告.txt`), and where a document's date came from.
//!
//! Only the last path component is read, without its extension. A year is a run of exactly four
//! ASCII digits between 1800 and 2100, not glued to a letter or another digit (`v2019`, `a2019b`
//! and the digits inside a hash are ignored). It may be followed by a month and a day
//! (`2019-03-05`, `2019.03.05`, `2019_03_05`, `2019年3月5日`, or `20190305` as one run), or a
//! two-digit month (`2019-03`). The name is refused (no date) when:
//! * the year stands next to another number through a single separator: ranges
//!   (`2013-2017`, `2013至2017`), phone numbers (`555-2019-0143`), versions (`2019.1`), parts
//!   (`2019_2`);
//! * a counter word or sign precedes it (`chapter-1999`, `no_2019`, `第2019号`) or a counter
//!   follows it (`2019号`, `2019章`);
//! * two different years remain (`report 2019 vs 2018`).

use serde::{Deserialize, Serialize};

/// Where a document's date came from, in order of precedence (the first that gives one wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DateSource {
    /// Given by the caller (`--date`, the request's `date` field, a CSV/JSONL date column).
    Given,
    /// The `date:` field of the document's front matter.
    FrontMatter,
    /// A date line in the page header (`發布時間:2024-08-01`).
    Header,
    /// The file name (`2024.txt`).
    FileName,
}

impl DateSource {
    /// Stable lower-case name: `given`, `front_matter`, `header`, `file_name`.
    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::Given => "given",
            DateSource::FrontMatter => "front_matter",
            DateSource::Header => "header",
            DateSource::FileName => "file_name",
        }
    }
}

/// Years a file name may carry. Below 1800 four-digit numbers are mostly counters or codes.
pub const NAME_YEARS: std::ops::RangeInclusive<i32> = 1800..=2100;

/// Words that make the number after them a counter, not a year (compared in lower case).
const COUNTER_WORDS: &[&str] = &[
    "chapter", "chap", "ch", "part", "pt", "page", "pg", "p", "pp", "vol", "volume", "no", "nr", "num", "number", "issue", "item", "id",
    "section", "sec", "episode", "ep", "tel", "phone", "fax", "room", "case", "ticket", "order", "invoice", "ref", "version", "ver", "rev",
    "release", "build", "step", "lesson", "unit", "figure", "fig", "table", "tab", "appendix", "annex", "file", "img", "image", "scan",
    "dsc", "photo",
];

/// Signs right before a number that make it a counter.
const COUNTER_BEFORE: &[char] = &['#', '№', '第'];
/// Characters right after a number that make it a counter (`2019号`, `2019章`).
const COUNTER_AFTER: &[char] = &['号', '號', '章', '节', '節', '页', '頁', '条', '條', '期', '卷', '版', '次', '个', '個', '%'];
/// Single separators that join a year to a neighbouring number (range, phone, version).
const JOINERS: &[char] = &['-', '.', '_', ' ', '~', '–', '—', '至', '到', '+', ',', '，', '、', 'x', '×'];

fn leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` of year `y` (0 for an invalid month).
fn days_in(y: i32, m: u32) -> u32 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    }
}

/// A date found in a name, at one of three precisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Found {
    Year(i32),
    Month(i32, u32),
    Day(i32, u32, u32),
}

impl Found {
    fn year(self) -> i32 {
        match self {
            Found::Year(y) | Found::Month(y, _) | Found::Day(y, _, _) => y,
        }
    }

    fn precision(self) -> u8 {
        match self {
            Found::Year(_) => 0,
            Found::Month(..) => 1,
            Found::Day(..) => 2,
        }
    }

    fn render(self) -> String {
        match self {
            Found::Year(y) => format!("{y:04}"),
            Found::Month(y, m) => format!("{y:04}-{m:02}"),
            Found::Day(y, m, d) => format!("{y:04}-{m:02}-{d:02}"),
        }
    }
}

/// A maximal run of ASCII digits: `[start, end)` in chars.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
}

fn digit_runs(chars: &[char]) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            runs.push(Run { start, end: i });
        } else {
            i += 1;
        }
    }
    runs
}

fn number(chars: &[char], r: Run) -> u32 {
    chars[r.start..r.end].iter().fold(0u32, |n, c| n.saturating_mul(10).saturating_add(c.to_digit(10).unwrap_or(0)))
}

/// The file name without directories and without its extension.
fn stem(name: &str) -> &str {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match file.rfind('.') {
        Some(dot) if dot > 0 && (1..=5).contains(&(file.len() - dot - 1)) && file[dot + 1..].chars().all(|c| c.is_ascii_alphabetic()) => {
            &file[..dot]
        }
        _ => file,
    }
}

/// True when a counter word or sign stands right before position `at` (one separator allowed).
fn counter_before(chars: &[char], at: usize) -> bool {
    let mut i = at;
    if i > 0 && COUNTER_BEFORE.contains(&chars[i - 1]) {
        return true;
    }
    if i > 0 && matches!(chars[i - 1], '-' | '_' | ' ' | '.') {
        i -= 1;
    }
    if i > 0 && COUNTER_BEFORE.contains(&chars[i - 1]) {
        return true;
    }
    let end = i;
    while i > 0 && chars[i - 1].is_ascii_alphabetic() {
        i -= 1;
    }
    let word: String = chars[i..end].iter().collect::<String>().to_ascii_lowercase();
    !word.is_empty() && COUNTER_WORDS.contains(&word.as_str())
}

/// True when the char at `i` (if any) glues a number to a word: an ASCII letter or digit.
fn glued(chars: &[char], i: Option<usize>) -> bool {
    i.and_then(|i| chars.get(i)).is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Reads month and day after a year run ending at `end`: `-03-05`, `.3.5`, `年3月5日`, `-03`.
/// Returns the date and the char index where it ends.
fn month_day(chars: &[char], runs: &[Run], idx: usize, year: i32) -> Option<(Found, usize)> {
    let sep = *chars.get(runs[idx].end)?;
    let month_run = *runs.get(idx + 1).filter(|r| r.start == runs[idx].end + 1)?;
    let month = number(chars, month_run);
    let month_len = month_run.end - month_run.start;
    let (day_sep, needs_two_digits) = match sep {
        '年' => ('月', false),
        '-' | '.' | '_' => (sep, true),
        _ => return None,
    };
    if days_in(year, month) == 0 || month_len > 2 || (needs_two_digits && month_len != 2) {
        return None;
    }
    let after_month = chars.get(month_run.end).copied();
    if after_month == Some(day_sep) {
        if let Some(day_run) = runs.get(idx + 2).filter(|r| r.start == month_run.end + 1) {
            let day = number(chars, *day_run);
            let day_len = day_run.end - day_run.start;
            let ok = day_len <= 2 && (!needs_two_digits || day_len == 2) && (1..=days_in(year, month)).contains(&day);
            if !ok {
                return None;
            }
            let end = if sep == '年' && chars.get(day_run.end) == Some(&'日') { day_run.end + 1 } else { day_run.end };
            return Some((Found::Day(year, month, day), end));
        }
    }
    if sep == '年' {
        return (after_month == Some('月')).then_some((Found::Month(year, month), month_run.end + 1));
    }
    // `2019-03` must not be followed by another number (`2019-03-2021` is not a month).
    let joined = after_month.is_some_and(|c| JOINERS.contains(&c)) && chars.get(month_run.end + 1).is_some_and(char::is_ascii_digit);
    (!joined && !glued(chars, Some(month_run.end))).then_some((Found::Month(year, month), month_run.end))
}

/// True when another number sits next to `[start, end)` through at most one joining char.
fn next_to_number(chars: &[char], start: usize, end: usize) -> bool {
    let before = start.checked_sub(1).and_then(|i| chars.get(i)).copied();
    let before2 = start.checked_sub(2).and_then(|i| chars.get(i)).copied();
    let after = chars.get(end).copied();
    let after2 = chars.get(end + 1).copied();
    let number_before = before.is_some_and(|c| c.is_ascii_digit())
        || (before.is_some_and(|c| JOINERS.contains(&c)) && before2.is_some_and(|c| c.is_ascii_digit()));
    let number_after = after.is_some_and(|c| c.is_ascii_digit())
        || (after.is_some_and(|c| JOINERS.contains(&c)) && after2.is_some_and(|c| c.is_ascii_digit()));
    number_before || number_after
}

/// The date a file name carries (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`), if it carries exactly one
/// plausible one. See the module docs for the rules; directories are not read.
pub fn date_from_name(name: &str) -> Option<String> {
    let chars: Vec<char> = stem(name).chars().collect();
    let runs = digit_runs(&chars);
    let mut found: Vec<Found> = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        let r = runs[i];
        let len = r.end - r.start;
        let start_glued = glued(&chars, r.start.checked_sub(1));
        if start_glued || counter_before(&chars, r.start) {
            i += 1;
            continue;
        }
        if len == 8 && !glued(&chars, Some(r.end)) && !next_to_number(&chars, r.start, r.end) {
            let n = number(&chars, r);
            let (y, m, d) = ((n / 10_000) as i32, (n / 100) % 100, n % 100);
            if NAME_YEARS.contains(&y) && (1..=days_in(y, m)).contains(&d) {
                found.push(Found::Day(y, m, d));
            }
            i += 1;
            continue;
        }
        let year = number(&chars, r) as i32;
        if len != 4 || !NAME_YEARS.contains(&year) {
            i += 1;
            continue;
        }
        if let Some((date, end)) = month_day(&chars, &runs, i, year) {
            let consumed = runs[i..].iter().take_while(|x| x.end <= end).count();
            if next_to_number(&chars, r.start, end) || chars.get(end).is_some_and(|c| COUNTER_AFTER.contains(c)) {
                return None;
            }
            found.push(date);
            i += consumed.max(1);
            continue;
        }
        if glued(&chars, Some(r.end)) || chars.get(r.end).is_some_and(|c| COUNTER_AFTER.contains(c)) {
            i += 1;
            continue;
        }
        if next_to_number(&chars, r.start, r.end) {
            return None;
        }
        found.push(Found::Year(year));
        i += 1;
    }
    let first = *found.first()?;
    if found.iter().any(|f| f.year() != first.year()) {
        return None;
    }
    let best = found.iter().copied().max_by_key(|f| f.precision())?;
    // Two different full dates of the same year: keep only what they agree on.
    if found.iter().any(|f| f.precision() == best.precision() && *f != best) {
        return Some(Found::Year(best.year()).render());
    }
    Some(best.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str) -> Option<String> {
        date_from_name(name)
    }

    #[test]
    fn years_months_and_days() {
        assert_eq!(d("2024.txt").as_deref(), Some("2024"));
        assert_eq!(d("corpus/1960.txt").as_deref(), Some("1960"));
        assert_eq!(d("2019-03-05 report.md").as_deref(), Some("2019-03-05"));
        assert_eq!(d("report_2019.html").as_deref(), Some("2019"));
        assert_eq!(d("1978年政府工作报告.txt").as_deref(), Some("1978"));
        assert_eq!(d("政府工作报告2019.txt").as_deref(), Some("2019"));
        assert_eq!(d("2019年3月5日讲话.txt").as_deref(), Some("2019-03-05"));
        assert_eq!(d("2019年3月讲话.txt").as_deref(), Some("2019-03"));
        assert_eq!(d("20190305_minutes.txt").as_deref(), Some("2019-03-05"));
        assert_eq!(d("budget-2019-03.md").as_deref(), Some("2019-03"));
        assert_eq!(d("speech.2019.03.05.txt").as_deref(), Some("2019-03-05"));
        assert_eq!(d("2019 budget speech (2019).txt").as_deref(), Some("2019"));
        assert_eq!(d("2019-03-05 notes 2019.txt").as_deref(), Some("2019-03-05"));
        assert_eq!(d(r"C:\reports\sotu_1790.txt"), None, "1790 is before 1800");
        assert_eq!(d(r"C:\reports\sotu_1801.txt").as_deref(), Some("1801"));
    }

    #[test]
    fn false_positives_are_refused() {
        for name in [
            "v2.txt",
            "chapter-1000.txt",
            "chapter-1999.txt",
            "Chapter 2001.md",
            "no_2019.txt",
            "#2019.txt",
            "第2019号文件.txt",
            "2019号文件.txt",
            "555-2019-0143.txt",
            "tel 6520 1999.txt",
            "2013-2017.txt",
            "2013至2017年规划.txt",
            "plan 2013–2017.md",
            "notes_3000.txt",
            "a2019b.txt",
            "v2019.1.txt",
            "2019.1.txt",
            "2019_2.txt",
            "000_69f6f2a82077467b.txt",
            "004_02b4ba6e7c9445bd.txt",
            "report 2019 vs 2018.txt",
            "2019-13-01.txt",
            "20191340.txt",
            "archive/2019/notes.txt",
            "12345678.txt",
            "",
        ] {
            assert_eq!(d(name), None, "{name}");
        }
    }

    #[test]
    fn day_precision_wins_and_conflicting_days_keep_the_year() {
        assert_eq!(d("2019-03-05_2019-03-06.txt"), None, "joined dates look like a range");
        assert_eq!(d("2019-03-05 and 2019-03-06.txt").as_deref(), Some("2019"));
    }
}
