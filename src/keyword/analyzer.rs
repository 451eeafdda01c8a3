//! Text analysis for the keyword index: jieba segmentation (with the shared user dictionary),
//! punctuation and whitespace dropped, Latin script lowercased and stemmed (English Snowball).
//! The same analysis serves indexing (as a tantivy [`Tokenizer`]), query parsing and
//! highlighting, so the three always agree.
//!
//! Each jieba word (precise mode, no HMM: unknown names fall apart into single characters the
//! same way in documents and queries) gets one position. A word longer than two characters
//! also yields its dictionary sub-words of two and three characters at the same position
//! (jieba's search mode), so a query for 融合 finds 两业融合 while a phrase query over whole
//! words still sees consecutive positions. Dropped tokens do not consume positions.
//!
//! Input is expected in simplified script: the engine indexes the simplified chunk text and
//! the query parser converts queries with [`crate::corpus::to_simplified`].

use std::sync::Arc;

use tantivy::tokenizer::{Language, RawTokenizer, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

use super::dictionary::Segmenter;

/// Name under which the analyzer is registered with tantivy.
pub const TOKENIZER_NAME: &str = "simtheme_jieba";

/// Version of the analysis rules; an index written with another version is rebuilt.
pub const ANALYZER_VERSION: u32 = 1;

/// One analysed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordToken {
    /// The indexed term: lowercased, stemmed when it contains Latin letters.
    pub term: String,
    /// The word as segmented, lowercased, before stemming (for stop-word checks).
    pub word: String,
    /// Start offset in characters.
    pub char_start: usize,
    /// End offset in characters (exclusive).
    pub char_end: usize,
    /// Start offset in bytes.
    pub byte_start: usize,
    /// End offset in bytes (exclusive).
    pub byte_end: usize,
    /// Word position (sub-words share their word's position).
    pub position: usize,
    /// True for a sub-word of a longer word (search-mode expansion).
    pub subword: bool,
}

/// The analyzer; cheap to clone (one per thread or per call).
#[derive(Clone)]
pub struct JiebaTokenizer {
    segmenter: Arc<Segmenter>,
    stemmer: TextAnalyzer,
}

impl std::fmt::Debug for JiebaTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiebaTokenizer").field("segmenter", &self.segmenter).finish()
    }
}

/// True when a segment carries searchable content (a letter or digit of any script).
fn is_content(word: &str) -> bool {
    word.chars().any(char::is_alphanumeric)
}

impl JiebaTokenizer {
    /// An analyzer over `segmenter`'s dictionaries.
    pub fn new(segmenter: Arc<Segmenter>) -> Self {
        let stemmer = TextAnalyzer::builder(RawTokenizer::default()).filter(Stemmer::new(Language::English)).build();
        JiebaTokenizer { segmenter, stemmer }
    }

    /// The segmenter in use.
    pub fn segmenter(&self) -> &Arc<Segmenter> {
        &self.segmenter
    }

    /// Lowercases and (for Latin-script words) stems one word.
    pub fn term_of(&mut self, word: &str) -> String {
        let lower = word.to_lowercase();
        if !lower.chars().any(|c| c.is_ascii_alphabetic()) {
            return lower;
        }
        let mut stream = self.stemmer.token_stream(&lower);
        let stemmed = stream.next().map(|t| t.text.clone());
        drop(stream);
        stemmed.unwrap_or(lower)
    }

    /// Analyses `text` into tokens in reading order (a word's sub-words come before it).
    pub fn analyze(&mut self, text: &str) -> Vec<WordToken> {
        let segmenter = Arc::clone(&self.segmenter);
        let jieba = segmenter.jieba();
        let mut tokens = Vec::new();
        let mut position = 0usize;
        let mut char_start = 0usize;
        let base = text.as_ptr() as usize;
        for word in jieba.cut(text, false) {
            let byte_start = word.as_ptr() as usize - base;
            let width = word.chars().count();
            if is_content(word) {
                if width > 2 {
                    let bounds: Vec<usize> = word.char_indices().map(|(i, _)| i).chain([word.len()]).collect();
                    for n in [2usize, 3] {
                        for i in 0..width.saturating_sub(n - 1) {
                            if n >= width {
                                continue;
                            }
                            let sub = &word[bounds[i]..bounds[i + n]];
                            if jieba.has_word(sub) && is_content(sub) {
                                tokens.push(WordToken {
                                    term: self.term_of(sub),
                                    word: sub.to_lowercase(),
                                    char_start: char_start + i,
                                    char_end: char_start + i + n,
                                    byte_start: byte_start + bounds[i],
                                    byte_end: byte_start + bounds[i + n],
                                    position,
                                    subword: true,
                                });
                            }
                        }
                    }
                }
                tokens.push(WordToken {
                    term: self.term_of(word),
                    word: word.to_lowercase(),
                    char_start,
                    char_end: char_start + width,
                    byte_start,
                    byte_end: byte_start + word.len(),
                    position,
                    subword: false,
                });
                position += 1;
            }
            char_start += width;
        }
        tokens
    }
}

/// True for the characters jieba segments as one block (its default "han" class: CJK
/// ideographs, ASCII letters and digits and `+#&._%-`). jieba cuts each maximal run of them
/// on its own, so a text's analysis is the concatenation of its runs' analyses.
fn in_jieba_block(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}' | '\u{2A700}'..='\u{2B73F}' | '\u{2B740}'..='\u{2B81F}'
        | '\u{2B820}'..='\u{2CEAF}' | '\u{2CEB0}'..='\u{2EBEF}' | '\u{2F800}'..='\u{2FA1F}'
        | 'a'..='z' | 'A'..='Z' | '0'..='9' | '+' | '#' | '&' | '.' | '_' | '%' | '-')
}

/// True for characters whose lowercase and stemmed forms are themselves: CJK ideographs
/// and ASCII digits.
fn is_literal(c: char) -> bool {
    c.is_ascii_digit() || (in_jieba_block(c) && !c.is_ascii())
}

/// Terms to look for in a text: decides cheaply which parts of it can yield one of them, so
/// [`JiebaTokenizer::analyze_parts_with`] segments only those (highlighting and query
/// coverage on search hits, where jieba over whole paragraphs was the largest cost).
#[derive(Debug, Clone)]
pub struct TermFilter {
    /// Terms of ideographs and digits only: such a term is the word it came from, so a part
    /// can yield it only if it contains the term as a substring.
    literal: Vec<String>,
    /// True when some term has another character (Latin words are lowercased and stemmed,
    /// so a substring test would miss them): then every part with such a character is
    /// analysed.
    other: bool,
}

impl TermFilter {
    /// A filter for these analysed terms.
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a String>) -> Self {
        let (mut literal, mut other) = (Vec::new(), false);
        for t in terms {
            if t.chars().all(is_literal) {
                literal.push(t.clone());
            } else {
                other = true;
            }
        }
        TermFilter { literal, other }
    }

    /// Can `part` yield one of the terms?
    fn admits(&self, part: &str) -> bool {
        (self.other && !part.chars().all(is_literal)) || self.literal.iter().any(|t| part.contains(t.as_str()))
    }
}

impl JiebaTokenizer {
    /// The tokens of [`JiebaTokenizer::analyze`] found in the parts of `text` that `filter`
    /// admits, with the same offsets: every token whose term the filter was built from is
    /// among them. A part is a maximal run of the characters jieba segments together, or a
    /// single other letter or digit; jieba cuts each part on its own, so analysing parts
    /// alone gives the same words. Positions restart in each part: read no phrase positions
    /// from these tokens.
    pub fn analyze_parts_with(&mut self, text: &str, filter: &TermFilter) -> Vec<WordToken> {
        let mut tokens = Vec::new();
        let mut analyze_part = |tk: &mut Self, byte: usize, ch: usize, end: usize| {
            let part = &text[byte..end];
            if filter.admits(part) {
                tokens.extend(tk.analyze(part).into_iter().map(|mut t| {
                    t.byte_start += byte;
                    t.byte_end += byte;
                    t.char_start += ch;
                    t.char_end += ch;
                    t
                }));
            }
        };
        let mut run: Option<(usize, usize)> = None; // (byte, char) start of the current run
        for (ch, (byte, c)) in text.char_indices().enumerate() {
            if in_jieba_block(c) {
                run.get_or_insert((byte, ch));
                continue;
            }
            if let Some((b, k)) = run.take() {
                analyze_part(self, b, k, byte);
            }
            if c.is_alphanumeric() {
                analyze_part(self, byte, ch, byte + c.len_utf8());
            }
        }
        if let Some((b, k)) = run {
            analyze_part(self, b, k, text.len());
        }
        tokens
    }
}

/// Token stream over pre-analysed tokens.
pub struct WordTokenStream {
    tokens: std::vec::IntoIter<Token>,
    current: Token,
}

impl TokenStream for WordTokenStream {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(t) => {
                self.current = t;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = WordTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream {
        let tokens: Vec<Token> = self
            .analyze(text)
            .into_iter()
            .map(|t| Token { offset_from: t.byte_start, offset_to: t.byte_end, position: t.position, text: t.term, position_length: 1 })
            .collect();
        WordTokenStream { tokens: tokens.into_iter(), current: Token::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyword::dictionary::shared_segmenter;

    fn tokenizer() -> JiebaTokenizer {
        JiebaTokenizer::new(shared_segmenter())
    }

    fn words(tokens: &[WordToken]) -> Vec<&str> {
        tokens.iter().filter(|t| !t.subword).map(|t| t.term.as_str()).collect()
    }

    #[test]
    fn chinese_words_subwords_and_positions() {
        let mut tk = tokenizer();
        let text = "培育专精特新“小巨人”企业，推动两业融合。";
        let tokens = tk.analyze(text);
        let w = words(&tokens);
        assert!(w.contains(&"专精特新") && w.contains(&"小巨人") && w.contains(&"两业融合"), "{w:?}");
        assert!(!w.iter().any(|t| t.chars().all(|c| !c.is_alphanumeric())), "punctuation kept: {w:?}");
        // 融合 is a sub-word of 两业融合, at the same position.
        let whole = tokens.iter().find(|t| t.term == "两业融合").unwrap();
        let sub = tokens.iter().find(|t| t.term == "融合" && t.subword).unwrap();
        assert_eq!(sub.position, whole.position);
        assert!(sub.char_start >= whole.char_start && sub.char_end <= whole.char_end);
        // Positions of whole words are consecutive across dropped punctuation.
        let positions: Vec<usize> = tokens.iter().filter(|t| !t.subword).map(|t| t.position).collect();
        assert_eq!(positions, (0..positions.len()).collect::<Vec<_>>());
        // Offsets point at the token text.
        let chars: Vec<char> = text.chars().collect();
        for t in &tokens {
            assert_eq!(chars[t.char_start..t.char_end].iter().collect::<String>(), t.word);
            assert_eq!(&text[t.byte_start..t.byte_end], t.word);
        }
    }

    #[test]
    fn english_lowercased_and_stemmed() {
        let mut tk = tokenizer();
        let tokens = tk.analyze("Digital Transformations of Factories, 5G+AI and 6G networks");
        let w = words(&tokens);
        assert!(w.contains(&"digit") || w.contains(&"digital"), "{w:?}");
        assert!(w.contains(&"transform"), "{w:?}");
        assert!(w.contains(&"factori"), "{w:?}");
        assert!(w.contains(&"5g") && w.contains(&"ai") && w.contains(&"6g"), "{w:?}");
        assert!(!w.iter().any(|t| t.trim().is_empty() || *t == "+"), "{w:?}");
        assert_eq!(tk.term_of("Networks"), tk.term_of("network"));
    }

    /// On every seed line, the parts analysis with a filter admitting everything gives
    /// the whole analysis (positions aside), and with a filter for a few terms it finds
    /// exactly the whole analysis's tokens of those terms.
    #[test]
    fn analysing_admitted_parts_equals_the_whole_analysis() {
        let mut tk = tokenizer();
        let key = |t: &WordToken| (t.term.clone(), t.word.clone(), t.char_start, t.char_end, t.byte_start, t.byte_end, t.subword);
        let mut texts: Vec<String> = crate::engine::SEED_DOCUMENTS
            .iter()
            .flat_map(|(_, raw)| raw.lines().map(crate::corpus::to_simplified))
            .filter(|l| !l.trim().is_empty())
            .collect();
        texts.push("Digital Économie：５G＋AI, 2024年 “新质生产力” ÉTÉ été\r\n数字化".into());
        let everything = TermFilter { literal: vec![String::new()], other: true }; // "" is in every part
        let mut checked = 0;
        for text in &texts {
            let whole = tk.analyze(text);
            let everything_parts: Vec<_> = tk.analyze_parts_with(text, &everything).iter().map(key).collect();
            let literal_only: Vec<_> = whole.iter().filter(|t| t.term.chars().all(is_literal)).map(key).collect();
            let mut all_literal = TermFilter::new(whole.iter().map(|t| &t.term).filter(|t| t.chars().all(is_literal)));
            all_literal.other = false;
            let parts: Vec<_> = tk.analyze_parts_with(text, &all_literal).iter().map(key).filter(|k| k.0.chars().all(is_literal)).collect();
            assert_eq!(parts, literal_only, "{text}");
            assert_eq!(everything_parts, whole.iter().map(key).collect::<Vec<_>>(), "{text}");
            for term in whole.iter().map(|t| t.term.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().take(6) {
                let filter = TermFilter::new([&term]);
                let want: Vec<_> = whole.iter().filter(|t| t.term == term).map(key).collect();
                let got: Vec<_> = tk.analyze_parts_with(text, &filter).iter().filter(|t| t.term == term).map(key).collect();
                assert_eq!(got, want, "term {term} in {text}");
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn no_content_no_tokens() {
        let mut tk = tokenizer();
        assert!(tk.analyze("，。！？ “” ... -- ()").is_empty());
        assert!(tk.analyze("").is_empty());
    }

    #[test]
    fn tantivy_stream_matches_analysis() {
        let mut tk = tokenizer();
        let text = "中央企业加速传统产业转型升级";
        let expected: Vec<String> = tk.analyze(text).into_iter().map(|t| t.term).collect();
        let mut stream = tk.token_stream(text);
        let mut got = Vec::new();
        while let Some(t) = stream.next() {
            got.push(t.text.clone());
        }
        assert_eq!(got, expected);
        assert!(!got.is_empty());
    }
}
