//! Splits user text into bare words and quoted phrases. Shared by the keyword query parser and
//! `must_contain`, so both read quotes the same way.
//!
//! Rules: ASCII `"` and the CJK quotes `“ ” 「 」 『 』 ＂` open and close phrases (any of them
//! closes any of them, so mismatched pairs still work); an unclosed quote runs to the end of
//! the text. Outside quotes, whitespace separates pieces. Every other character (`*`, `:`,
//! `(`, `+`, `-` ...) is plain text: there is no operator syntax, so nothing can be a syntax
//! error.

/// One piece of user text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The text, trimmed; never empty.
    pub text: String,
    /// True when it was written in quotes (a phrase to match as a whole).
    pub quoted: bool,
}

/// True for characters that open or close a quoted phrase.
pub fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '「' | '」' | '『' | '』' | '＂')
}

/// Splits `text` into pieces in reading order (empty pieces and empty quotes are skipped).
pub fn split_pieces(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let flush = |current: &mut String, quoted: bool, pieces: &mut Vec<Piece>| {
        let t = current.trim();
        if !t.is_empty() {
            pieces.push(Piece { text: t.to_string(), quoted });
        }
        current.clear();
    };
    for c in text.chars() {
        if is_quote(c) {
            flush(&mut current, quoted, &mut pieces);
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            flush(&mut current, quoted, &mut pieces);
        } else {
            current.push(c);
        }
    }
    flush(&mut current, quoted, &mut pieces);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str, quoted: bool) -> Piece {
        Piece { text: text.into(), quoted }
    }

    #[test]
    fn words_and_phrases() {
        assert_eq!(split_pieces(r#"专精特新  "小巨人 企业" 6G"#), vec![p("专精特新", false), p("小巨人 企业", true), p("6G", false)]);
        assert_eq!(split_pieces("“两业融合”发展"), vec![p("两业融合", true), p("发展", false)]);
        assert_eq!(split_pieces("「數實融合」"), vec![p("數實融合", true)]);
    }

    #[test]
    fn syntax_characters_are_text() {
        assert_eq!(split_pieces("title:(AI* OR 5G)"), vec![p("title:(AI*", false), p("OR", false), p("5G)", false)]);
        assert_eq!(split_pieces(r#"abc "def"#), vec![p("abc", false), p("def", true)]);
        assert!(split_pieces(r#" "" “” "#).is_empty());
        assert!(split_pieces("").is_empty());
    }
}
