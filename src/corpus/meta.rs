//! Metadata detection from the page header: date, source and title.

use std::sync::OnceLock;

use regex::Regex;

use super::clean::{clean_and_classify, clean_line, split_lines};
use super::furniture::{cached, is_sentence_end, LineKind};
use super::html::{extract_heading, looks_like_html, strip_html};
use super::script::{is_cjk_ideograph, to_simplified};
use super::CorpusError;

/// Cleaned, classified lines of a page (HTML is stripped first).
fn classified_lines(raw: &str) -> Vec<(LineKind, String)> {
    let text = if looks_like_html(raw) { strip_html(raw) } else { raw.to_string() };
    split_lines(&text).into_iter().map(clean_and_classify).collect()
}

/// Header-ish lines: furniture that can carry metadata (not body, spam or blank).
fn is_header_kind(kind: LineKind) -> bool {
    matches!(kind, LineKind::Meta | LineKind::Share | LineKind::Breadcrumb | LineKind::Nav | LineKind::Credit)
}

/// Builds `YYYY-MM-DD` from parts when they form a real calendar date (years 1800–2100).
fn valid_ymd(y: &str, m: &str, d: &str) -> Option<String> {
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1800..=2100).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=days).contains(&d).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

const DATE: &str = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})";

/// Detects the publication date (`YYYY-MM-DD`) from the page header.
///
/// Only header/meta lines are searched (e.g. `發布時間:2024-08-01`, `2023年09月15日 15:07`,
/// `发布时间：2023 年 7 月 17 日`, `日期:2024-07-08`); dates inside body text are ignored,
/// so a page without a header date stays undated.
pub fn detect_date(raw: &str) -> Option<String> {
    static LABELLED: OnceLock<Option<Regex>> = OnceLock::new();
    static ANY: OnceLock<Option<Regex>> = OnceLock::new();
    let labelled = cached(&LABELLED, &format!(r"(发布时间|发布日期|发表时间|更新时间|日期|时间)\s*[:：]\s*{DATE}"))?;
    let any = cached(&ANY, DATE)?;
    let header: Vec<String> =
        classified_lines(raw).into_iter().filter(|(k, _)| is_header_kind(*k)).map(|(_, t)| to_simplified(&t)).collect();
    for re in [labelled, any] {
        for line in &header {
            for caps in re.captures_iter(line) {
                let n = caps.len();
                if let Some(d) = valid_ymd(&caps[n - 3], &caps[n - 2], &caps[n - 1]) {
                    return Some(d);
                }
            }
        }
    }
    None
}

/// Detects the source / publisher (`經濟網`, `人民政協網`, …), in the page's original script.
///
/// Looks at `來源:` / `文章來源:` / `来源：` fields of header lines first; failing that, a
/// lead sentence of the form `在《學習時報》發表…` names the publication.
pub fn detect_source(raw: &str) -> Option<String> {
    static LABEL: OnceLock<Option<Regex>> = OnceLock::new();
    static LEAD: OnceLock<Option<Regex>> = OnceLock::new();
    let label = cached(&LABEL, r"(?:文章|信息|新聞|新闻)?(?:來源|来源|稿源|出處|出处)\s*[:：]\s*([^\s|｜,，;；:：]+)")?;
    let lines = classified_lines(raw);
    for (kind, text) in &lines {
        if is_header_kind(*kind) {
            if let Some(c) = label.captures(text) {
                let name = c[1].trim_matches(|ch: char| !ch.is_alphanumeric()).to_string();
                if !name.is_empty() {
                    return Some(name);
                }
            }
        }
    }
    let lead = cached(&LEAD, r"在《([^》]{2,12}(?:报|報|刊|志|誌))》上?(?:发表|發表)")?;
    let first_body = lines.iter().find(|(k, _)| *k == LineKind::Body)?;
    lead.captures(&first_body.1).map(|c| c[1].to_string())
}

/// A line that could be a title: not too short or long, no sentence-final punctuation at the end.
pub(crate) fn title_like(s: &str) -> bool {
    let n = s.chars().count();
    (5..=80).contains(&n)
        && !s.ends_with(|c: char| is_sentence_end(c) || c == ':' || c == '：' || c == ',' || c == '，')
        && s.chars().any(char::is_alphabetic)
}

/// Short all-Han fragment that continues a broken title line (`功能`).
fn title_fragment(s: &str) -> bool {
    let n = s.chars().count();
    (1..=8).contains(&n) && s.chars().all(is_cjk_ideograph)
}

/// Detects the article title (original script, cleaned).
///
/// Tries, in order: an HTML `<h1>`/`<title>`; a markdown `# ` heading (re-joining a title
/// broken over two lines); the title-like line right above the first header line that carries
/// date/source; the title-like line right after a breadcrumb. Returns `None` otherwise.
pub fn detect_title(raw: &str) -> Option<String> {
    if looks_like_html(raw) {
        if let Some(t) = extract_heading(raw).and_then(|t| clean_line(&t)) {
            return Some(t);
        }
    }
    let text = if looks_like_html(raw) { strip_html(raw) } else { raw.to_string() };
    let raw_lines = split_lines(&text);
    let lines: Vec<(LineKind, String)> = raw_lines.iter().map(|l| clean_and_classify(l)).collect();
    let next_body = |from: usize| {
        lines[from..].iter().find(|(k, _)| *k != LineKind::Empty).filter(|(k, _)| *k == LineKind::Body).map(|(_, t)| t.clone())
    };
    for (i, l) in raw_lines.iter().enumerate().take(40) {
        if l.trim_start().starts_with('#') && lines[i].0 == LineKind::Body {
            let mut title = lines[i].1.clone();
            if let Some(frag) = next_body(i + 1).filter(|f| title_fragment(f)) {
                title.push_str(&frag);
            }
            return Some(title);
        }
    }
    let header_at = lines
        .iter()
        .take(30)
        .position(|(k, t)| matches!(k, LineKind::Meta | LineKind::Share) && t.chars().any(|c| c.is_ascii_digit() || is_cjk_ideograph(c)));
    if let Some(h) = header_at {
        let prev = lines[..h].iter().rev().find(|(k, _)| *k == LineKind::Body);
        if let Some((_, t)) = prev.filter(|(_, t)| title_like(t)) {
            return Some(t.clone());
        }
    }
    let crumb = lines.iter().take(30).position(|(k, _)| *k == LineKind::Breadcrumb)?;
    next_body(crumb + 1).filter(|t| title_like(t))
}

/// Validates a caller-supplied date (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`, years 1800–2100).
pub fn validate_date(s: &str) -> Result<String, CorpusError> {
    static SHAPE: OnceLock<Option<Regex>> = OnceLock::new();
    let bad = || CorpusError::InvalidDate(s.to_string());
    let t = s.trim();
    let caps = cached(&SHAPE, r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$").and_then(|re| re.captures(t)).ok_or_else(bad)?;
    let year: i32 = caps[1].parse().map_err(|_| bad())?;
    if !(1800..=2100).contains(&year) {
        return Err(bad());
    }
    match (caps.get(2), caps.get(3)) {
        (None, _) => Ok(t.to_string()),
        (Some(m), None) => {
            let m: u32 = m.as_str().parse().map_err(|_| bad())?;
            if (1..=12).contains(&m) {
                Ok(t.to_string())
            } else {
                Err(bad())
            }
        }
        (Some(m), Some(d)) => valid_ymd(&caps[1], m.as_str(), d.as_str()).ok_or_else(bad),
    }
}

/// Year of a `YYYY[-MM[-DD]]` date.
pub(crate) fn year_of(date: &str) -> Option<i32> {
    date.get(..4)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formats() {
        assert_eq!(detect_date("文章來源:經濟網 發布時間:2024-08-01\n正文。").as_deref(), Some("2024-08-01"));
        assert_eq!(detect_date("標題\n2023年09月15日 15:07 | 來源:人民政協網").as_deref(), Some("2023-09-15"));
        assert_eq!(detect_date("发布时间：2023 年 7 月 17 日\n").as_deref(), Some("2023-07-17"));
        assert_eq!(detect_date("來源:高新院 日期:2024-07-08 點擊:").as_deref(), Some("2024-07-08"));
    }

    #[test]
    fn never_invents_dates() {
        assert_eq!(detect_date("落實好《2024—2025年節能降碳行動方案》,深入推進。"), None);
        assert_eq!(detect_date("2024年7月22日至23日,中央企業負責人研討班在京召開。"), None);
        assert_eq!(detect_date("日期:2024-13-40"), None);
        assert_eq!(detect_date(""), None);
    }

    #[test]
    fn sources() {
        assert_eq!(detect_source("文章來源:經(jīng)濟網(wǎng) 發布時間:2024-08-01").as_deref(), Some("經濟網"));
        assert_eq!(detect_source("2023年09月15日 15:07 | 來源:人民政協網 分享到:").as_deref(), Some("人民政協網"));
        assert_eq!(detect_source("29日,部長金壮龙在《学习时报》发表署名文章。").as_deref(), Some("学习时报"));
        assert_eq!(detect_source("沒有來源的正文段落。"), None);
    }

    #[test]
    fn titles() {
        assert_eq!(detect_title("# 國資委 增強核心\n\n功能\n\n正文。").as_deref(), Some("國資委 增強核心功能"));
        assert_eq!(
            detect_title("首頁>經濟\n\n聚焦產業鏈行動在京啟動\n\n2023年09月15日 | 來源:網").as_deref(),
            Some("聚焦產業鏈行動在京啟動")
        );
        assert_eq!(detect_title("2024年7月22日,中央企業負責人研討班在京召開。"), None);
    }

    #[test]
    fn meta_date_validation() {
        assert_eq!(validate_date("2024").ok().as_deref(), Some("2024"));
        assert_eq!(validate_date("2024-07").ok().as_deref(), Some("2024-07"));
        assert_eq!(validate_date("2024-02-29").ok().as_deref(), Some("2024-02-29"));
        for bad in ["2023-02-29", "24", "2024-13", "yesterday", "2024/07/01", ""] {
            assert!(validate_date(bad).is_err(), "{bad}");
        }
        assert_eq!(year_of("2023-09-15"), Some(2023));
    }
}
