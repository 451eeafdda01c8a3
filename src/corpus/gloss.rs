//! Removal of pinyin glosses inserted after Han characters, e.g. `經(jīng)濟`.

use super::script::is_cjk_ideograph;

/// Pinyin finals (with `ü` written as `v`); combined with an optional initial.
const FINALS: &[&str] = &[
    "a", "o", "e", "i", "u", "v", "ai", "ei", "ao", "ou", "an", "en", "ang", "eng", "ong", "er", "ia", "ie", "iao", "iu", "ian", "in",
    "iang", "ing", "iong", "ua", "uo", "uai", "ui", "uan", "un", "uang", "ue", "ueng", "ve", "van", "vn",
];

/// Pinyin initials, two-letter ones first so that `zh`/`ch`/`sh` win over `z`/`c`/`s`.
const INITIALS: &[&str] =
    &["zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c", "s", "y", "w"];

/// Maps a (possibly tone-marked) lowercase pinyin letter to its bare ASCII form.
fn strip_tone(c: char) -> Option<char> {
    Some(match c {
        'a'..='z' => c,
        'ā' | 'á' | 'ǎ' | 'à' => 'a',
        'ē' | 'é' | 'ě' | 'è' => 'e',
        'ī' | 'í' | 'ǐ' | 'ì' => 'i',
        'ō' | 'ó' | 'ǒ' | 'ò' => 'o',
        'ū' | 'ú' | 'ǔ' | 'ù' => 'u',
        'ǖ' | 'ǘ' | 'ǚ' | 'ǜ' | 'ü' => 'v',
        _ => return None,
    })
}

/// True when `word` (lowercase letters, tone marks allowed, optional tone digit) is one pinyin syllable.
pub(crate) fn is_pinyin_syllable(word: &str) -> bool {
    let word = word.strip_suffix(|c: char| ('1'..='5').contains(&c)).unwrap_or(word);
    if word.is_empty() || word.chars().count() > 6 {
        return false;
    }
    let mut bare = String::with_capacity(word.len());
    for c in word.chars() {
        match strip_tone(c) {
            Some(b) => bare.push(b),
            None => return false,
        }
    }
    if FINALS.contains(&bare.as_str()) {
        return true;
    }
    INITIALS.iter().any(|ini| bare.strip_prefix(ini).is_some_and(|rest| FINALS.contains(&rest)))
}

/// If `chars[start]` opens a parenthesised pinyin syllable, returns the index just past it.
fn gloss_end(chars: &[char], start: usize) -> Option<usize> {
    if chars[start] != '(' && chars[start] != '（' {
        return None;
    }
    let mut j = start + 1;
    while j < chars.len() && j - start <= 8 {
        let c = chars[j];
        if c == ')' || c == '）' {
            let word: String = chars[start + 1..j].iter().collect();
            return is_pinyin_syllable(&word).then_some(j + 1);
        }
        j += 1;
    }
    None
}

/// Removes pinyin glosses (`(jīng)`, `(zhi)(zhi)`, `（guó）`) that directly follow a Han character.
///
/// Only single Latin-letter pinyin syllables in ASCII or full-width parentheses are removed;
/// genuine parentheses such as `(閆秋圖)`, `(2024—2025年)`, `(AI)` or `(see below)` survive.
pub fn remove_pinyin_glosses(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut after_han = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if after_han {
            if let Some(end) = gloss_end(&chars, i) {
                i = end;
                continue;
            }
        }
        out.push(c);
        after_han = is_cjk_ideograph(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllables() {
        for ok in ["jīng", "zhi", "guó", "qian", "chuang", "lüe", "nǚ", "er", "a", "zhuan", "xiong", "shi4"] {
            assert!(is_pinyin_syllable(ok), "{ok}");
        }
        for bad in ["AI", "see", "2024", "gdp", "hello", "x", "", "zhongguo"] {
            assert!(!is_pinyin_syllable(bad), "{bad}");
        }
    }

    #[test]
    fn removes_marked_and_unmarked_glosses() {
        assert_eq!(remove_pinyin_glosses("經(jīng)濟網(wǎng)"), "經濟網");
        assert_eq!(remove_pinyin_glosses("制(zhi)(zhi)造業"), "制造業");
        assert_eq!(remove_pinyin_glosses("國(guó)企"), "國企");
        assert_eq!(remove_pinyin_glosses("當前(qian)位置"), "當前位置");
        assert_eq!(remove_pinyin_glosses("中（zhōng）國"), "中國");
        assert_eq!(remove_pinyin_glosses("制(zhi)(zhi)(zhi)(zhi)造"), "制造");
    }

    #[test]
    fn keeps_genuine_parentheses() {
        for keep in [
            "(閆秋圖)",
            "高質量發展。(閆秋圖)",
            "《2024—2025年節能降碳行動方案》",
            "落實好(2024—2025年)方案",
            "人工智能(AI)應用",
            "首台(套)首批次",
            "see (below) here",
            "占比(30%)",
            "模型(see appendix)",
        ] {
            assert_eq!(remove_pinyin_glosses(keep), keep);
        }
    }

    #[test]
    fn gloss_must_follow_han() {
        assert_eq!(remove_pinyin_glosses("word(jing)"), "word(jing)");
        assert_eq!(remove_pinyin_glosses("“全(quan)”就是"), "“全”就是");
        assert_eq!(remove_pinyin_glosses("(jing)開頭"), "(jing)開頭");
    }
}
