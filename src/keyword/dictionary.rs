//! One jieba segmenter with one user dictionary, shared by the keyword index and the theme
//! labels ([`crate::themes::keywords`]).
//!
//! jieba's general dictionary splits many policy terms (专精特新 → 专/精/特/新, 两业融合 →
//! 两业/融合), which hurts both exact-term search and theme labels. The built-in user dictionary
//! ([`BUILTIN_USER_DICTIONARY`], `policy_terms.txt` next to this file) joins them; a deployment
//! can add its own terms with [`install_user_dictionary`] (the `--user-dict FILE` option) before
//! anything is segmented.
//!
//! Dictionary format, one entry per line: `word [frequency [tag]]`. Blank lines and lines
//! starting with `#` are ignored. Words are converted to simplified script (the indexed text is
//! simplified). Without a frequency the word gets the smallest frequency that keeps it whole
//! (jieba's `suggest_freq`), so listed terms are never split.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;
use sha2::{Digest, Sha256};

use super::KeywordError;
use crate::corpus::to_simplified;

/// The shipped user dictionary: policy terms of the seed corpus (and of Chinese industrial
/// policy in general) that jieba's general dictionary splits.
pub const BUILTIN_USER_DICTIONARY: &str = include_str!("policy_terms.txt");

/// Longest accepted dictionary word, in characters.
pub const MAX_WORD_CHARS: usize = 32;

/// A jieba instance loaded with the general dictionary plus the user dictionaries.
pub struct Segmenter {
    jieba: Jieba,
    fingerprint: String,
    user_words: Vec<String>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter").field("fingerprint", &self.fingerprint).field("user_words", &self.user_words.len()).finish()
    }
}

/// One parsed dictionary line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictionaryEntry {
    /// The word, in simplified script.
    pub word: String,
    /// Its frequency; `None` lets jieba choose one that keeps the word whole.
    pub frequency: Option<usize>,
    /// Part-of-speech tag (informative).
    pub tag: Option<String>,
}

/// Parses dictionary text (see the module documentation for the format).
pub fn parse_dictionary(origin: &str, text: &str) -> Result<Vec<DictionaryEntry>, KeywordError> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |message: String| KeywordError::UserDictionary {
            origin: origin.to_string(),
            message: format!("line {}: {message}", number + 1),
        };
        let mut fields = line.split_whitespace();
        let word = to_simplified(fields.next().unwrap_or_default());
        if word.chars().count() > MAX_WORD_CHARS {
            return Err(fail(format!("word `{word}` is longer than {MAX_WORD_CHARS} characters")));
        }
        if !word.chars().any(char::is_alphanumeric) {
            return Err(fail(format!("`{word}` has no letter or digit")));
        }
        let frequency = match fields.next() {
            None => None,
            Some(f) => Some(
                f.parse::<usize>()
                    .map_err(|_| fail(format!("frequency `{f}` is not a non-negative integer (format: word [frequency [tag]])")))?,
            ),
        };
        let tag = fields.next().map(str::to_string);
        if let Some(extra) = fields.next() {
            return Err(fail(format!("unexpected fourth field `{extra}` (format: word [frequency [tag]])")));
        }
        entries.push(DictionaryEntry { word, frequency, tag });
    }
    Ok(entries)
}

impl Segmenter {
    /// jieba's general dictionary plus the built-in user dictionary plus, optionally, an extra
    /// dictionary text (`origin` names it in errors).
    pub fn new(extra: Option<(&str, &str)>) -> Result<Segmenter, KeywordError> {
        let mut entries = parse_dictionary("built-in", BUILTIN_USER_DICTIONARY)?;
        if let Some((origin, text)) = extra {
            entries.extend(parse_dictionary(origin, text)?);
        }
        let mut jieba = Jieba::new();
        let mut hasher = Sha256::new();
        for e in &entries {
            jieba.add_word(&e.word, e.frequency, e.tag.as_deref());
            hasher.update(format!("{}\t{:?}\n", e.word, e.frequency).as_bytes());
        }
        let mut fingerprint = hex::encode(hasher.finalize());
        fingerprint.truncate(16);
        let user_words = entries.into_iter().map(|e| e.word).collect();
        Ok(Segmenter { jieba, fingerprint, user_words })
    }

    /// The loaded jieba instance.
    pub fn jieba(&self) -> &Jieba {
        &self.jieba
    }

    /// Identifies the dictionary contents (16 hex chars); an index built with another
    /// fingerprint segments differently and must be rebuilt.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Words of the user dictionaries (built-in first), simplified.
    pub fn user_words(&self) -> &[String] {
        &self.user_words
    }
}

static SHARED: OnceLock<Arc<Segmenter>> = OnceLock::new();

/// The process-wide segmenter: the one installed by [`install_user_dictionary`], else (on first
/// use) the general plus built-in dictionaries.
pub fn shared_segmenter() -> Arc<Segmenter> {
    Arc::clone(SHARED.get_or_init(|| {
        // The built-in dictionary is parsed by a unit test, so this cannot fail at run time.
        Arc::new(Segmenter::new(None).expect("built-in user dictionary parses"))
    }))
}

/// Adds the user dictionary `path` to the process-wide segmenter. Must run before the first
/// segmentation (at start-up); installing the same dictionary again is a no-op, a different
/// one after first use is an error (already indexed text would be segmented differently).
pub fn install_user_dictionary(path: &Path) -> Result<Arc<Segmenter>, KeywordError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| KeywordError::UserDictionary { origin: origin.clone(), message: format!("cannot read: {e}") })?;
    let wanted = Arc::new(Segmenter::new(Some((&origin, &text)))?);
    let installed = SHARED.get_or_init(|| Arc::clone(&wanted));
    if installed.fingerprint() != wanted.fingerprint() {
        return Err(KeywordError::UserDictionary {
            origin,
            message: "the segmenter is already in use with another dictionary; install the user dictionary at start-up".into(),
        });
    }
    Ok(Arc::clone(installed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_dictionary_parses_and_joins_policy_terms() {
        let entries = parse_dictionary("built-in", BUILTIN_USER_DICTIONARY).unwrap();
        assert!(entries.len() >= 20, "{}", entries.len());
        let seg = shared_segmenter();
        for term in ["专精特新", "新质生产力", "数实融合", "两业融合", "小巨人"] {
            assert!(entries.iter().any(|e| e.word == term), "{term} missing from the built-in dictionary");
            let sentence = format!("推动{term}发展");
            let cut = seg.jieba().cut(&sentence, false);
            assert!(cut.contains(&term), "{term} is split: {cut:?}");
        }
        // Without the user dictionary jieba splits them (the reason the dictionary exists).
        let plain = Jieba::new();
        assert!(!plain.cut("推动专精特新发展", false).contains(&"专精特新"));
    }

    #[test]
    fn extra_dictionary_extends_and_changes_fingerprint() {
        let base = Segmenter::new(None).unwrap();
        assert!(!base.jieba().cut("发展银发经济产业", false).contains(&"银发经济"));
        let extended = Segmenter::new(Some(("extra.txt", "# comment\n\n銀髮經濟 5000 n\n"))).unwrap();
        assert!(extended.jieba().cut("发展银发经济产业", false).contains(&"银发经济"));
        assert_ne!(base.fingerprint(), extended.fingerprint());
        assert_eq!(base.fingerprint(), Segmenter::new(None).unwrap().fingerprint());
        assert_eq!(extended.user_words().last().map(String::as_str), Some("银发经济"));
    }

    #[test]
    fn malformed_dictionaries_name_the_line() {
        for (text, needle) in
            [("好词\n坏词 x\n", "line 2"), ("词 1 n extra\n", "fourth field"), ("，，\n", "no letter"), (&"长".repeat(40), "longer than")]
        {
            let err = Segmenter::new(Some(("user.txt", text))).unwrap_err().to_string();
            assert!(err.contains("user.txt") && err.contains(needle), "{err}");
        }
    }

    #[test]
    fn installing_a_missing_file_fails_clearly() {
        let err = install_user_dictionary(Path::new("/nonexistent/dict.txt")).unwrap_err().to_string();
        assert!(err.contains("cannot read"), "{err}");
    }
}
