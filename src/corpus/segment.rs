//! Segmentation of a cleaned page into headings and body paragraphs.

use std::sync::OnceLock;

use regex::Regex;

use super::dedup::normal_form;
use super::furniture::{is_sentence_end, matches};

/// Paragraphs shorter than this (in chars) are fragments, merged into neighbours.
pub(crate) const MIN_PARAGRAPH_CHARS: usize = 15;

/// Role of one cleaned line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Part of the document title.
    Title,
    /// Numbered heading or question (`3.如何…?`, `一、…`).
    Numbered,
    /// Section heading (bracketed or short unpunctuated line introducing text).
    Heading,
    /// Table of contents entry or its lead-in.
    Toc,
    /// Body text.
    Body,
}

/// A body paragraph with the heading it sits under.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BodyBlock {
    /// Nearest heading above (original script).
    pub heading: Option<String>,
    /// Paragraph text (original script, cleaned).
    pub text: String,
}

fn char_len(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

fn has_sentence_end(s: &str) -> bool {
    s.chars().any(is_sentence_end)
}

fn ends_with_colon(s: &str) -> bool {
    s.ends_with(':') || s.ends_with('：')
}

/// `1.`, `3、`, `一、`, `（二）`, `第三章` …
fn is_numbered(s: &str) -> bool {
    static NUM: OnceLock<Option<Regex>> = OnceLock::new();
    let numbered = matches(
        &NUM,
        r"^(\d{1,2}\s*[.、．)）]|[一二三四五六七八九十]{1,3}\s*[、.．]|[（(][一二三四五六七八九十\d]{1,3}[)）]|第[一二三四五六七八九十\d]{1,3}[章节節部篇])",
        s,
    );
    let n = char_len(s);
    numbered && n <= 80 && (s.ends_with(['?', '？']) || !has_sentence_end(s))
}

fn is_bracket_heading(s: &str) -> bool {
    static BR: OnceLock<Option<Regex>> = OnceLock::new();
    matches(&BR, r"^【[^】]{2,40}】$", s)
}

/// Short line without sentence punctuation: a heading if followed by body text.
fn is_heading_candidate(s: &str) -> bool {
    let n = char_len(s);
    (4..=60).contains(&n) && !has_sentence_end(s) && !ends_with_colon(s) && !s.ends_with([',', '，', '、'])
}

/// Joins two pieces of text without inventing spaces between CJK characters.
pub(crate) fn join_text(a: &str, b: &str) -> String {
    let need_space =
        a.chars().last().is_some_and(|c| c.is_ascii_alphanumeric()) && b.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if a.is_empty() {
        b.to_string()
    } else if need_space {
        format!("{a} {b}")
    } else {
        format!("{a}{b}")
    }
}

fn assign_roles(lines: &[&str], title: Option<&str>) -> Vec<Role> {
    let title_norm = title.map(normal_form).unwrap_or_default();
    let mut roles = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let norm = normal_form(line);
        let prev_title = i > 0 && roles.get(i - 1) == Some(&Role::Title);
        let is_title = !title_norm.is_empty()
            && !norm.is_empty()
            && (norm == title_norm
                || (norm.chars().count() >= 6 && title_norm.starts_with(&norm))
                || (prev_title && title_norm.ends_with(&norm)));
        roles.push(if is_title {
            Role::Title
        } else if is_numbered(line) {
            Role::Numbered
        } else if is_bracket_heading(line) {
            Role::Heading
        } else {
            Role::Body
        });
    }
    // Runs of two or more numbered lines with nothing between them are a table of contents.
    let mut i = 0;
    while i < roles.len() {
        if roles[i] != Role::Numbered {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < roles.len() && roles[j] == Role::Numbered {
            j += 1;
        }
        if j - i >= 2 {
            roles[i..j].iter_mut().for_each(|r| *r = Role::Toc);
            if i > 0 && roles[i - 1] == Role::Body && ends_with_colon(lines[i - 1]) && char_len(lines[i - 1]) <= 40 {
                roles[i - 1] = Role::Toc;
            }
        }
        i = j;
    }
    // Short unpunctuated lines followed by body text are section headings.
    for i in 0..roles.len() {
        let next_is_body = roles.get(i + 1) == Some(&Role::Body) && char_len(lines[i + 1]) >= MIN_PARAGRAPH_CHARS;
        if roles[i] == Role::Body && is_heading_candidate(lines[i]) && next_is_body {
            roles[i] = Role::Heading;
        }
    }
    roles
}

/// Splits a cleaned page (output of `clean_text`) into body paragraphs with their headings.
///
/// Lines matching `title` are dropped (the title belongs to the document), headings set the
/// `heading` of the paragraphs below them, tables of contents are dropped, and fragments
/// shorter than [`MIN_PARAGRAPH_CHARS`] are merged into a neighbouring heading or paragraph.
pub(crate) fn body_blocks(clean: &str, title: Option<&str>) -> Vec<BodyBlock> {
    let lines: Vec<&str> = clean.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let roles = assign_roles(&lines, title);
    let mut out: Vec<BodyBlock> = Vec::new();
    let mut heading: Option<String> = None;
    let mut carry = String::new();
    let mut prev_role: Option<Role> = None;
    let mut section_has_body = false;
    for (i, (&line, &role)) in lines.iter().zip(&roles).enumerate() {
        match role {
            Role::Title => heading = None,
            Role::Toc => {}
            Role::Numbered | Role::Heading => {
                heading = Some(line.to_string());
                section_has_body = false;
            }
            Role::Body if char_len(line) < MIN_PARAGRAPH_CHARS => {
                let unpunctuated = !has_sentence_end(line) && !ends_with_colon(line);
                let next_body = roles.get(i + 1) == Some(&Role::Body);
                if matches!(prev_role, Some(Role::Numbered | Role::Heading)) && unpunctuated && !section_has_body {
                    heading = heading.map(|h| join_text(&h, line));
                } else if prev_role == Some(Role::Title) && unpunctuated {
                    // Continuation of a title broken over two lines.
                } else if ends_with_colon(line) && next_body {
                    carry = join_text(&carry, line);
                } else if section_has_body && prev_role == Some(Role::Body) {
                    if let Some(last) = out.last_mut() {
                        last.text = join_text(&last.text, line);
                    }
                } else if next_body {
                    carry = join_text(&carry, line);
                }
            }
            Role::Body => {
                let text = join_text(&std::mem::take(&mut carry), line);
                out.push(BodyBlock { heading: heading.clone(), text });
                section_has_body = true;
            }
        }
        prev_role = Some(role);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY1: &str = "中央企業加速傳統產業轉型升級,提升核心競爭力,筑牢現代化產業體系基底。";
    const BODY2: &str = "國資央企發揮資金、技術等多方面優勢,加快發展戰略性新興產業。";

    #[test]
    fn headings_attach_to_following_paragraphs() {
        let page = format!("{BODY1}\n傳統產業轉型升級步伐加快,向高端化、智能化邁進\n{BODY2}\n{BODY1}一是。");
        let blocks = body_blocks(&page, None);
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[0].heading, None);
        assert_eq!(blocks[1].heading.as_deref(), Some("傳統產業轉型升級步伐加快,向高端化、智能化邁進"));
        assert_eq!(blocks[2].heading, blocks[1].heading);
    }

    #[test]
    fn toc_is_dropped_and_questions_become_headings() {
        let page =
            format!("本文將回答2個問題:\n1.如何看待形勢?\n2.如何推動轉型\n{BODY1}\n\n1.如何看待形勢?\n{BODY2}\n2.如何推動轉型\n{BODY1}");
        let blocks = body_blocks(&page, None);
        assert_eq!(blocks.len(), 3, "{blocks:?}");
        assert_eq!(blocks[0].heading, None);
        assert_eq!(blocks[1].heading.as_deref(), Some("1.如何看待形勢?"));
        assert_eq!(blocks[2].heading.as_deref(), Some("2.如何推動轉型"));
        assert!(blocks.iter().all(|b| !b.text.contains("本文將回答")));
    }

    #[test]
    fn title_lines_and_broken_title_fragments_are_not_body() {
        let page = format!("國資委舉辦研討班 增強核心\n功能\n{BODY1}");
        let blocks = body_blocks(&page, Some("國資委舉辦研討班 增強核心功能"));
        assert_eq!(blocks, vec![BodyBlock { heading: None, text: BODY1.to_string() }]);
    }

    #[test]
    fn short_fragments_merge() {
        let page = format!("【總體情況】\n{BODY1}\n(閆秋圖)\n具體來說:\n{BODY2}");
        let blocks = body_blocks(&page, None);
        assert_eq!(blocks.len(), 2);
        assert!(blocks[0].text.ends_with("(閆秋圖)"));
        assert!(blocks[1].text.starts_with("具體來說:"));
        assert_eq!(blocks[1].heading.as_deref(), Some("【總體情況】"));
    }

    #[test]
    fn join_spacing() {
        assert_eq!(join_text("增強核心", "功能"), "增強核心功能");
        assert_eq!(join_text("word", "next"), "word next");
        assert_eq!(join_text("", "x"), "x");
    }
}
