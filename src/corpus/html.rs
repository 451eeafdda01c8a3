//! Minimal HTML to text conversion for scraped pages.

use std::sync::OnceLock;

use regex::Regex;

use super::furniture::cached;

/// True when the input looks like an HTML document or fragment.
pub(crate) fn looks_like_html(s: &str) -> bool {
    static TAG: OnceLock<Option<Regex>> = OnceLock::new();
    cached(&TAG, r"(?i)<(html|body|head|p|div|br|h[1-6]|title|span|table|article)\b[^>]*>").is_some_and(|re| re.is_match(s))
}

/// Decodes one entity body (without `&` and `;`).
fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "ldquo" => '“',
        "rdquo" => '”',
        "lsquo" => '‘',
        "rsquo" => '’',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "middot" => '·',
        "copy" => '©',
        "laquo" => '«',
        "raquo" => '»',
        _ => return None,
    })
}

/// Replaces HTML character references; unknown ones are left as they are.
pub(crate) fn decode_entities(s: &str) -> String {
    static ENT: OnceLock<Option<Regex>> = OnceLock::new();
    match cached(&ENT, r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});") {
        Some(re) => re
            .replace_all(s, |c: &regex::Captures| match decode_entity(&c[1]) {
                Some(ch) => ch.to_string(),
                None => c[0].to_string(),
            })
            .into_owned(),
        None => s.to_string(),
    }
}

/// Converts HTML to plain text: `script`/`style`/comments dropped, block-level tags become
/// line breaks, all other tags are removed, and entities are decoded (after tag removal, so
/// `&lt;p&gt;` stays literal text).
pub fn strip_html(html: &str) -> String {
    static DROP: OnceLock<Option<Regex>> = OnceLock::new();
    static BLOCK: OnceLock<Option<Regex>> = OnceLock::new();
    static TAG: OnceLock<Option<Regex>> = OnceLock::new();
    let mut t = html.to_string();
    if let Some(re) =
        cached(&DROP, r"(?is)<!--.*?-->|<script\b.*?</script\s*>|<style\b.*?</style\s*>|<noscript\b.*?</noscript\s*>|<head\b.*?</head\s*>")
    {
        t = re.replace_all(&t, "\n").into_owned();
    }
    if let Some(re) = cached(
        &BLOCK,
        r"(?i)</?(p|div|br|li|ul|ol|h[1-6]|tr|table|section|article|header|footer|nav|blockquote|pre|title|dd|dt|dl|hr|aside|main|figure|figcaption)\b[^>]*>",
    ) {
        t = re.replace_all(&t, "\n").into_owned();
    }
    if let Some(re) = cached(&TAG, r"(?s)<[a-zA-Z/!][^>]*>") {
        t = re.replace_all(&t, "").into_owned();
    }
    decode_entities(&t)
}

/// Text of the first `<h1>`, else of `<title>`, with tags stripped.
pub(crate) fn extract_heading(html: &str) -> Option<String> {
    static H1: OnceLock<Option<Regex>> = OnceLock::new();
    static TITLE: OnceLock<Option<Regex>> = OnceLock::new();
    for (cell, pat) in [(&H1, r"(?is)<h1\b[^>]*>(.*?)</h1\s*>"), (&TITLE, r"(?is)<title\b[^>]*>(.*?)</title\s*>")] {
        if let Some(c) = cached(cell, pat).and_then(|re| re.captures(html)) {
            let text = strip_html(&c[1]).split_whitespace().collect::<Vec<_>>().join(" ");
            if !text.is_empty() {
                return Some(text);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_blocks() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body><script>var a='<p>';</script>\
                    <h1>標題</h1><p>第一段&nbsp;文字&amp;更多。</p><div>第二段<br>換行</div><!-- c --></body></html>";
        let text = strip_html(html);
        assert!(!text.contains('<') && !text.contains("var a") && !text.contains("p{}"));
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert_eq!(lines, vec!["標題", "第一段\u{a0}文字&更多。", "第二段", "換行"]);
    }

    #[test]
    fn entities() {
        assert_eq!(decode_entities("&lt;p&gt; &#20013;&#x6587; &ldquo;x&rdquo; &bogus;"), "<p> 中文 “x” &bogus;");
        assert_eq!(strip_html("&lt;b&gt;bold&lt;/b&gt;"), "<b>bold</b>");
    }

    #[test]
    fn headings_and_detection() {
        assert!(looks_like_html("<p>x</p>"));
        assert!(!looks_like_html("a < b > c"));
        assert_eq!(extract_heading("<title>頁面</title><h1>文章 <b>標題</b></h1>").as_deref(), Some("文章 標題"));
    }
}
