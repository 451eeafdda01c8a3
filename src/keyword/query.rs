//! Keyword query parsing: user text → scored terms, phrase boosts and required phrases, built
//! into a tantivy query without going through tantivy's query language (so no user input can
//! be a syntax error).
//!
//! The text is converted to simplified script and split into bare pieces and quoted phrases
//! ([`super::lexer`]). Then:
//! * every word and sub-word of a bare piece that is not a stop word is an optional (SHOULD)
//!   term, scored by BM25; at least one must match;
//! * a bare piece of 2 to [`MAX_BOOST_PHRASE_WORDS`] words is also an optional phrase, so the
//!   exact sequence (e.g. an unknown name that jieba cut into single characters) scores higher;
//! * a quoted phrase is required (MUST): a one-word phrase as a term, a longer one as an exact
//!   sequence of words (stop words included).

use std::collections::BTreeSet;

use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::analyzer::JiebaTokenizer;
use super::lexer::split_pieces;
use super::stopwords::is_stop_word;
use super::KeywordError;
use crate::corpus::to_simplified;

/// Most distinct scored terms in one query.
pub const MAX_QUERY_TERMS: usize = 128;
/// Most quoted phrases in one query.
pub const MAX_QUERY_PHRASES: usize = 16;
/// Bare pieces with more words than this get no phrase boost (long questions never match
/// verbatim).
pub const MAX_BOOST_PHRASE_WORDS: usize = 8;

/// A phrase: terms with their position offsets from the first term.
pub type Phrase = Vec<(usize, String)>;

/// A parsed keyword query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordQuery {
    simplified: String,
    terms: Vec<String>,
    boost_phrases: Vec<Phrase>,
    required: Vec<Phrase>,
    /// Terms of each added phrase (glossary bridging), in order.
    added: Vec<Vec<String>>,
}

fn phrase_of(tokens: &[super::analyzer::WordToken]) -> Phrase {
    let words: Vec<_> = tokens.iter().filter(|t| !t.subword).collect();
    let first = words.first().map_or(0, |t| t.position);
    words.iter().map(|t| (t.position - first, t.term.clone())).collect()
}

impl KeywordQuery {
    /// Parses user text. Errors: [`KeywordError::EmptyQuery`] for blank text,
    /// [`KeywordError::NoSearchableTerms`] when nothing but stop words and punctuation remains,
    /// [`KeywordError::InvalidArgument`] above [`MAX_QUERY_TERMS`] / [`MAX_QUERY_PHRASES`].
    pub fn parse(text: &str, tokenizer: &mut JiebaTokenizer) -> Result<KeywordQuery, KeywordError> {
        Self::parse_with(text, &[], tokenizer)
    }

    /// Like [`KeywordQuery::parse`], plus `added` phrases (e.g. a glossary's other-language
    /// terms), each read as one bare piece: its words are scored terms and the whole phrase
    /// a boost. Errors as `parse` (the added phrases count towards the term limit).
    pub fn parse_with(text: &str, added: &[String], tokenizer: &mut JiebaTokenizer) -> Result<KeywordQuery, KeywordError> {
        if text.trim().is_empty() {
            return Err(KeywordError::EmptyQuery);
        }
        let simplified = to_simplified(text.trim());
        let mut terms: BTreeSet<String> = BTreeSet::new();
        let mut ordered_terms = Vec::new();
        let mut boost_phrases = Vec::new();
        let mut required = Vec::new();
        let mut added_terms = Vec::new();
        let extra = added.iter().map(|a| super::lexer::Piece { text: to_simplified(a), quoted: false });
        let given = split_pieces(&simplified).len();
        for (i, piece) in split_pieces(&simplified).into_iter().chain(extra).enumerate() {
            if i >= given {
                let words: Vec<String> =
                    tokenizer.analyze(&piece.text).into_iter().filter(|t| !t.subword && !is_stop_word(&t.word)).map(|t| t.term).collect();
                if !words.is_empty() {
                    added_terms.push(words);
                }
            }
            let tokens = tokenizer.analyze(&piece.text);
            if tokens.is_empty() {
                continue;
            }
            if piece.quoted {
                required.push(phrase_of(&tokens));
                continue;
            }
            for t in &tokens {
                if !is_stop_word(&t.word) && terms.insert(t.term.clone()) {
                    ordered_terms.push(t.term.clone());
                }
            }
            let phrase = phrase_of(&tokens);
            if (2..=MAX_BOOST_PHRASE_WORDS).contains(&phrase.len()) {
                boost_phrases.push(phrase);
            }
        }
        if ordered_terms.is_empty() && required.is_empty() {
            return Err(KeywordError::NoSearchableTerms(text.trim().chars().take(80).collect()));
        }
        if ordered_terms.len() > MAX_QUERY_TERMS {
            return Err(KeywordError::InvalidArgument(format!(
                "keyword query has {} distinct terms, above the limit of {MAX_QUERY_TERMS}; shorten it",
                ordered_terms.len()
            )));
        }
        if required.len() > MAX_QUERY_PHRASES {
            return Err(KeywordError::InvalidArgument(format!(
                "keyword query has {} quoted phrases, above the limit of {MAX_QUERY_PHRASES}",
                required.len()
            )));
        }
        Ok(KeywordQuery { simplified, terms: ordered_terms, boost_phrases, required, added: added_terms })
    }

    /// True when phrases were added to the query (glossary bridging).
    pub fn has_added(&self) -> bool {
        !self.added.is_empty()
    }

    /// The query text in simplified script.
    pub fn simplified(&self) -> &str {
        &self.simplified
    }

    /// Scored (optional) terms, in query order, without duplicates.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Required phrases (from quotes), each as (position offset, term) pairs.
    pub fn required_phrases(&self) -> &[Phrase] {
        &self.required
    }

    /// Every term worth highlighting: scored terms and the non-stop-word terms of phrases.
    pub fn highlight_terms(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.terms.iter().cloned().collect();
        for phrase in &self.required {
            out.extend(phrase.iter().map(|(_, t)| t.clone()));
        }
        out
    }

    /// Share of the scored terms that occur in `simplified_text` (after the same analysis), in
    /// [0, 1]; 1 for a query with no scored terms. A keyword ranking whose best hit covers the
    /// whole query is a strong signal (an exact term, a name, a plan number); one whose best hit
    /// matches two words of a long question is weak.
    pub fn coverage(&self, tokenizer: &mut JiebaTokenizer, simplified_text: &str) -> f64 {
        if self.terms.is_empty() {
            return 1.0;
        }
        let filter = super::analyzer::TermFilter::new(&self.terms);
        let present: BTreeSet<String> = tokenizer.analyze_parts_with(simplified_text, &filter).into_iter().map(|t| t.term).collect();
        let share = self.terms.iter().filter(|t| present.contains(*t)).count() as f64 / self.terms.len() as f64;
        // an added (bridged) phrase found whole covers the question it translates
        if self.added.iter().any(|words| words.iter().all(|w| present.contains(w))) {
            return 1.0;
        }
        share
    }

    /// The tantivy query over `field`.
    pub fn to_tantivy(&self, field: Field) -> Box<dyn Query> {
        let term_query =
            |t: &str| -> Box<dyn Query> { Box::new(TermQuery::new(Term::from_field_text(field, t), IndexRecordOption::WithFreqs)) };
        let phrase_query = |p: &Phrase| -> Box<dyn Query> {
            if p.len() == 1 {
                term_query(&p[0].1)
            } else {
                let terms = p.iter().map(|(o, t)| (*o, Term::from_field_text(field, t))).collect();
                Box::new(PhraseQuery::new_with_offset(terms))
            }
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        clauses.extend(self.terms.iter().map(|t| (Occur::Should, term_query(t))));
        clauses.extend(self.boost_phrases.iter().map(|p| (Occur::Should, phrase_query(p))));
        clauses.extend(self.required.iter().map(|p| (Occur::Must, phrase_query(p))));
        Box::new(BooleanQuery::new(clauses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyword::dictionary::shared_segmenter;

    fn parse(text: &str) -> Result<KeywordQuery, KeywordError> {
        KeywordQuery::parse(text, &mut JiebaTokenizer::new(shared_segmenter()))
    }

    #[test]
    fn terms_phrases_and_traditional_input() {
        let q = parse("專精特新 \"小巨人 企業\"").unwrap();
        assert_eq!(q.simplified(), "专精特新 \"小巨人 企业\"");
        assert!(q.terms().contains(&"专精特新".to_string()), "{q:?}");
        assert_eq!(q.required_phrases().len(), 1);
        let phrase: Vec<&str> = q.required_phrases()[0].iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(phrase, ["小巨人", "企业"]);
        assert_eq!(q.required_phrases()[0][1].0, 1);
    }

    #[test]
    fn stop_words_are_not_scored() {
        let q = parse("中小企业如何走专精特新的道路").unwrap();
        assert!(!q.terms().iter().any(|t| t == "如何" || t == "的"), "{q:?}");
        assert!(q.terms().contains(&"专精特新".to_string()));
        let en = parse("How does the digital economy work").unwrap();
        assert!(!en.terms().iter().any(|t| t == "how" || t == "the" || t == "doe" || t == "does"), "{en:?}");
    }

    #[test]
    fn bad_queries_are_clear_errors() {
        assert!(matches!(parse("   "), Err(KeywordError::EmptyQuery)));
        for text in ["的 了 吗", "the of and", "，。！", "\"\" * : ( )", "“”"] {
            let err = parse(text).unwrap_err();
            assert!(matches!(err, KeywordError::NoSearchableTerms(_)), "{text}: {err:?}");
            assert!(err.is_invalid_argument());
        }
        let long: String = (0..300).map(|i| format!("word{i} ")).collect();
        assert!(matches!(parse(&long), Err(KeywordError::InvalidArgument(_))));
    }

    #[test]
    fn syntax_characters_are_plain_text() {
        for text in ["AI*", "title:5G", "(数字化转型", "\"两业融合", "a:b:(c*) \"d"] {
            let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(!q.terms().is_empty() || !q.required_phrases().is_empty(), "{text}");
        }
        // An unclosed quote is a required phrase running to the end.
        let q = parse("\"两业融合").unwrap();
        assert_eq!(q.required_phrases().len(), 1);
    }
}
