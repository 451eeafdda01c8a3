//! Line- and page-level cleaning: whitespace, pinyin glosses, inline markers and furniture.

use std::sync::OnceLock;

use regex::Regex;

use super::furniture::{cached, classify, LineKind};
use super::gloss::remove_pinyin_glosses;
use super::script::is_cjk_ideograph;

/// CJK punctuation and full-width forms (not ideographs).
pub(crate) fn is_cjk_punct(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
        || matches!(c, '“' | '”' | '‘' | '’' | '—' | '…' | '·')
}

/// Maps exotic spaces to ASCII space, drops zero-width and control characters.
fn map_spaces(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => None,
            '\u{3000}' | '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{1680}' => Some(' '),
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' | '\u{0B}' | '\u{0C}' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Decides whether the single space between `prev` and `next` is noise in CJK text.
fn drop_space(before_prev: Option<char>, prev: char, next: char) -> bool {
    let han = is_cjk_ideograph;
    // Curly quotes are left alone: a space after `”` often separates headline parts.
    let punct = |c: char| is_cjk_punct(c) && !matches!(c, '“' | '”' | '‘' | '’');
    let wide = |c: char| han(c) || punct(c);
    (punct(prev) && (wide(next) || next.is_alphanumeric()))
        || (punct(next) && (wide(prev) || prev.is_alphanumeric()))
        || (han(prev) && next.is_ascii_digit())
        || (prev.is_ascii_digit() && han(next))
        || (matches!(prev, ',' | ';' | ':' | '!' | '?') && han(next) && before_prev.is_some_and(|b| han(b) || b.is_ascii_digit()))
}

/// Normalises whitespace inside one line: odd spaces become ASCII spaces, runs collapse to one,
/// the line is trimmed, and spaces that merely separate CJK text from CJK punctuation or digits
/// are removed. Chinese text is never joined with new spaces.
pub(crate) fn normalize_ws(s: &str) -> String {
    let mapped = map_spaces(s);
    let chars: Vec<char> = mapped.split_whitespace().collect::<Vec<_>>().join(" ").chars().collect();
    let mut out = String::with_capacity(mapped.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' && i > 0 && i + 1 < chars.len() {
            let before_prev = if i >= 2 { Some(chars[i - 2]) } else { None };
            if drop_space(before_prev, chars[i - 1], chars[i + 1]) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Removes inline noise: page markers, a markdown heading prefix and stock-promotion spam.
fn strip_inline_noise(s: &str) -> String {
    static MARKER: OnceLock<Option<Regex>> = OnceLock::new();
    static HASHES: OnceLock<Option<Regex>> = OnceLock::new();
    static PROMO: OnceLock<Option<Regex>> = OnceLock::new();
    let mut t = s.to_string();
    if let Some(re) = cached(&MARKER, r"(?i)<\s*/?\s*page[_ ]?(div|break)?\s*/?\s*>") {
        t = re.replace_all(&t, " ").into_owned();
    }
    if let Some(re) = cached(&HASHES, r"^\s*#{1,6}\s+") {
        t = re.replace(&t, "").into_owned();
    }
    if let Some(re) = cached(&PROMO, r"(?:\p{Han}{2})?(?:线上|線上|在线|在線|网上|網上)配[资資](?:股票|炒股|平台|平臺|开户|開戶)")
    {
        t = re.replace_all(&t, "").into_owned();
    }
    t
}

/// One cleaning pass over a line.
fn clean_pass(s: &str) -> String {
    normalize_ws(&strip_inline_noise(&remove_pinyin_glosses(&normalize_ws(s))))
}

/// Cleans one line and tells what kind of line it is.
pub(crate) fn clean_and_classify(s: &str) -> (LineKind, String) {
    let mut cur = clean_pass(s);
    for _ in 0..4 {
        let next = clean_pass(&cur);
        if next == cur {
            break;
        }
        cur = next;
    }
    (classify(&cur), cur)
}

/// Cleans one line: removes pinyin glosses, page markers and stray whitespace.
///
/// Returns `None` when the whole line is furniture (navigation, breadcrumb, header, share
/// widget, editor credit), SEO spam, or empty.
pub fn clean_line(s: &str) -> Option<String> {
    match clean_and_classify(s) {
        (LineKind::Body, text) => Some(text),
        _ => None,
    }
}

/// A short line of Latin words only (e.g. `Network`), furniture on a Chinese page.
fn is_short_latin(line: &str) -> bool {
    !line.chars().any(is_cjk_ideograph)
        && line.chars().count() <= 24
        && line.split_whitespace().count() <= 3
        && !line.chars().any(|c| c.is_ascii_digit() || super::furniture::is_sentence_end(c))
}

/// Splits a page into lines, accepting `\n`, `\r\n` and `\r`.
pub(crate) fn split_lines(raw: &str) -> Vec<&str> {
    raw.split(['\n', '\r', '\u{2028}', '\u{2029}']).collect()
}

/// Cleans a whole page.
///
/// Every line goes through [`clean_line`]; dropped lines and blank lines become block
/// separators (one blank line). On pages that are mostly Chinese, short Latin-only lines
/// (menu residue such as `Network`) are dropped too. The result is idempotent:
/// `clean_text(&clean_text(x)) == clean_text(x)`.
pub fn clean_text(raw: &str) -> String {
    let lines: Vec<Option<String>> = split_lines(raw).into_iter().map(clean_line).collect();
    let (mut han, mut alpha) = (0usize, 0usize);
    for l in lines.iter().flatten().filter(|l| !is_short_latin(l)) {
        han += l.chars().filter(|c| is_cjk_ideograph(*c)).count();
        alpha += l.chars().filter(|c| c.is_alphabetic()).count();
    }
    let chinese_page = han >= 20 && han * 2 >= alpha;
    let mut out = String::with_capacity(raw.len());
    let mut pending_gap = false;
    for line in lines {
        match line {
            Some(l) if !(chinese_page && is_short_latin(&l)) => {
                if !out.is_empty() {
                    out.push_str(if pending_gap { "\n\n" } else { "\n" });
                }
                out.push_str(&l);
                pending_gap = false;
            }
            _ => pending_gap = true,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_normalisation() {
        assert_eq!(normalize_ws("\u{3000}\u{3000}首先,我們繼續"), "首先,我們繼續");
        assert_eq!(normalize_ws("2023 年 7 月 17 日"), "2023年7月17日");
        assert_eq!(normalize_ws("面臨的問題, 統一思想"), "面臨的問題,統一思想");
        assert_eq!(normalize_ws("等 6 家企業"), "等6家企業");
        assert_eq!(normalize_ws("a  \u{a0} b"), "a b");
        assert_eq!(normalize_ws("Hello, world"), "Hello, world");
        assert_eq!(normalize_ws("早開工、 早投產"), "早開工、早投產");
    }

    #[test]
    fn clean_line_removes_glosses_and_markers() {
        assert_eq!(
            clean_line("完善司庫體系建設,堅決守住依法合規經營底線。<PAGE_DIV> ").as_deref(),
            Some("完善司庫體系建設,堅決守住依法合規經營底線。")
        );
        assert_eq!(clean_line(" 黨(dang)的二十大(da)強調").as_deref(), Some("黨的二十大強調"));
        assert_eq!(clean_line("# 標題 文字").as_deref(), Some("標題 文字"));
        assert_eq!(clean_line("【責任編輯:張宇暉】"), None);
        assert_eq!(clean_line("   "), None);
    }

    #[test]
    fn removes_stock_promotion_spam() {
        assert_eq!(
            clean_line("強化金融精準有效服務楊方線上配資股票,深化產融合作。").as_deref(),
            Some("強化金融精準有效服務,深化產融合作。")
        );
    }

    #[test]
    fn clean_text_drops_latin_residue_on_chinese_pages() {
        let page = "Network\n中央企業加速傳統產業轉型升級,提升核心競爭力,筑牢現代化產業體系基底。";
        assert!(!clean_text(page).contains("Network"));
        let english = "Network\nThis is an English page about networks.";
        assert!(clean_text(english).contains("Network"));
    }

    #[test]
    fn clean_text_is_idempotent_on_seeds_snippet() {
        let page = "首 頁 資訊 宏觀 金融 行業 國企\n\n\n聚焦“五共” 中央\n企業(yè)\r\n\r\n編輯:秦云";
        let once = clean_text(page);
        assert_eq!(clean_text(&once), once);
        assert_eq!(once, "聚焦“五共” 中央\n企業");
    }
}
