//! Front matter: a YAML-ish block at the very top of a Markdown (or text) page, read for its
//! metadata and removed from the text.
//!
//! ```text
//! ---
//! title: "Budget Statement 2019"
//! date: 2019-02-18
//! source: Ministry of Finance
//! tags: [budget, fiscal]
//! ---
//! ```
//!
//! The block starts with a line `---` (first line, a byte-order mark allowed) and ends at the next
//! `---` or `...` line within the first 100 lines. Inside, every non-blank line must be a
//! `key: value` pair, a `- item` of a list, an indented continuation or a `#` comment;
//! otherwise the page has no front matter and is left untouched (a `---` rule opening a plain
//! page stays text). Keys are case-insensitive; `date`, `title`, `source` and `tags` are read
//! (`tags` as `[a, b]`, `a, b` or a `- item` list), other keys are dropped with the block.

/// Metadata read from a front matter block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontMatter {
    /// The `date:` value as written (quotes removed), not yet validated.
    pub date: Option<String>,
    /// The `title:` value.
    pub title: Option<String>,
    /// The `source:` value.
    pub source: Option<String>,
    /// The `tags:` values.
    pub tags: Vec<String>,
}

/// Lines searched for the closing `---`.
const MAX_LINES: usize = 100;

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn non_empty(v: &str) -> Option<String> {
    let v = unquote(v).trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// `[a, b]`, `a, b` or a single value.
fn inline_list(v: &str) -> Vec<String> {
    let v = v.trim();
    let v = v.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(v);
    v.split([',', '，']).filter_map(non_empty).collect()
}

/// A `key: value` line: key of letters, digits, `_` or `-`, starting with a letter.
fn key_value(line: &str) -> Option<(String, &str)> {
    let (key, value) = line.split_once(':')?;
    let mut chars = key.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then(|| (key.to_ascii_lowercase(), value))
}

/// Splits off a front matter block: its metadata and the byte offset where the body starts.
/// `None` when `raw` does not open with a well-formed block.
pub fn split_front_matter(raw: &str) -> Option<(FrontMatter, usize)> {
    let bom = if raw.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let mut offset = bom;
    let mut lines = raw[bom..].split_inclusive('\n');
    let first = lines.next()?;
    if first.trim_end() != "---" {
        return None;
    }
    offset += first.len();
    let mut fm = FrontMatter::default();
    let mut current: Option<String> = None;
    for line in lines.take(MAX_LINES) {
        offset += line.len();
        let text = line.trim_end();
        if text == "---" || text == "..." {
            return Some((fm, offset));
        }
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            continue;
        }
        let indented = text.starts_with([' ', '\t']);
        if let Some(item) = text.trim_start().strip_prefix("- ").or_else(|| (text.trim() == "-").then_some("")) {
            // A list item belongs to the last key.
            current.as_ref()?;
            if current.as_deref() == Some("tags") {
                fm.tags.extend(non_empty(item));
            }
            continue;
        }
        if indented {
            current.as_ref()?;
            continue;
        }
        let (key, value) = key_value(text)?;
        match key.as_str() {
            "date" => fm.date = non_empty(value),
            "title" => fm.title = non_empty(value),
            "source" => fm.source = non_empty(value),
            "tags" => fm.tags.extend(inline_list(value)),
            _ => {}
        }
        current = Some(key);
    }
    None
}

/// Reduces a front matter date to `YYYY[-MM[-DD]]`: a time after the day (`2019-02-18T10:00:00Z`,
/// `2019-02-18 10:00`) is dropped. Anything else is returned as written, for validation.
pub fn date_part(value: &str) -> &str {
    let v = value.trim();
    let bytes = v.as_bytes();
    let is_day = bytes.len() > 10
        && bytes[..10].iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
        && matches!(bytes[10], b'T' | b' ');
    if is_day {
        &v[..10]
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_strips_a_block() {
        let raw =
            "---\ntitle: \"Budget 2019\"\nDate: 2019-02-18T10:00:00Z\nsource: MOF\ntags: [budget, fiscal]\nauthor: x\n---\nBody text.\n";
        let (fm, at) = split_front_matter(raw).unwrap();
        assert_eq!(fm.title.as_deref(), Some("Budget 2019"));
        assert_eq!(fm.date.as_deref().map(date_part), Some("2019-02-18"));
        assert_eq!(fm.source.as_deref(), Some("MOF"));
        assert_eq!(fm.tags, vec!["budget".to_string(), "fiscal".to_string()]);
        assert_eq!(&raw[at..], "Body text.\n");
    }

    #[test]
    fn block_lists_comments_bom_and_dots() {
        let raw =
            "\u{feff}---\r\n# note\r\ntags:\r\n  - 预算\r\n  - fiscal\r\ndate: '2019'\r\nnotes: |\r\n  free text: here\r\n...\r\n正文。";
        let (fm, at) = split_front_matter(raw).unwrap();
        assert_eq!(fm.tags, vec!["预算".to_string(), "fiscal".to_string()]);
        assert_eq!(fm.date.as_deref(), Some("2019"));
        assert_eq!(&raw[at..], "正文。");
    }

    #[test]
    fn not_front_matter() {
        // A horizontal rule and prose, an unclosed block, a block that is not key: value.
        assert_eq!(split_front_matter("---\nThis is a paragraph, not metadata.\n---\nText"), None);
        assert_eq!(split_front_matter("---\ndate: 2019\nno closing line"), None);
        assert_eq!(split_front_matter("Text\n---\ndate: 2019\n---\n"), None);
        assert_eq!(split_front_matter("  - item before any key\n"), None);
        assert_eq!(split_front_matter("---\n- orphan item\n---\n"), None);
        assert_eq!(split_front_matter(""), None);
    }

    #[test]
    fn date_part_keeps_unusual_values_for_validation() {
        assert_eq!(date_part("2019-02-18 10:00"), "2019-02-18");
        assert_eq!(date_part(" 2019-02 "), "2019-02");
        assert_eq!(date_part("18/02/2019"), "18/02/2019");
    }
}
