//! Query stop words: function words that carry no search intent. They are still indexed (so
//! quoted phrases containing them match) but are dropped from the scored terms of a query.
//!
//! Deliberately short and separate from the theme-label list ([`crate::themes::stopwords`]):
//! policy vocabulary that is boiler-plate in a theme label (推进, 发展) is a legitimate search
//! term.

/// Chinese function words, question words and fillers (simplified script).
const ZH: &[&str] = &[
    "的",
    "了",
    "着",
    "过",
    "和",
    "与",
    "及",
    "以及",
    "或",
    "或者",
    "而",
    "并",
    "并且",
    "也",
    "还",
    "都",
    "就",
    "又",
    "在",
    "是",
    "为",
    "对",
    "从",
    "向",
    "把",
    "被",
    "将",
    "由",
    "以",
    "于",
    "之",
    "其",
    "这",
    "那",
    "这些",
    "那些",
    "这个",
    "那个",
    "我",
    "我们",
    "你",
    "你们",
    "他",
    "他们",
    "她",
    "它",
    "它们",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "么",
    "如何",
    "怎么",
    "怎样",
    "怎么样",
    "什么",
    "哪些",
    "哪个",
    "哪",
    "为什么",
    "是否",
    "有没有",
    "多少",
    "几",
    "等",
    "等等",
    "个",
    "些",
    "有",
    "有关",
    "关于",
    "方面",
    "一些",
    "哪里",
    "谁",
];

/// English function words and question words (lowercase, before stemming).
const EN: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "without", "into", "onto", "about", "as", "and", "or",
    "but", "nor", "so", "if", "then", "than", "that", "this", "these", "those", "it", "its", "is", "are", "was", "were", "be", "been",
    "being", "am", "do", "does", "did", "done", "have", "has", "had", "will", "would", "shall", "should", "can", "could", "may", "might",
    "must", "not", "no", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "i", "me", "my", "we", "us", "our", "you",
    "your", "he", "him", "his", "she", "her", "they", "them", "their", "there", "here", "any", "some", "such", "very", "too", "also",
    "just", "up", "out", "over", "under", "via", "per",
];

/// True when `word` (lowercased, unstemmed) is a query stop word.
pub fn is_stop_word(word: &str) -> bool {
    ZH.contains(&word) || EN.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_only() {
        for w in ["的", "如何", "the", "how", "does"] {
            assert!(is_stop_word(w), "{w}");
        }
        for w in ["发展", "推进", "专精特新", "digital", "6g", "ai"] {
            assert!(!is_stop_word(w), "{w}");
        }
    }
}
