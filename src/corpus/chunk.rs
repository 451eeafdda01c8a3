//! Sentence splitting and packing of sentences into size-bounded chunks.

use super::furniture::is_sentence_end;

/// Closing quotes/brackets that belong to the sentence they follow.
fn is_closer(c: char) -> bool {
    matches!(c, '”' | '’' | '」' | '』' | '"' | '\'' | ')' | '）' | '》' | '】' | '〉')
}

/// Splits at sentence ends (`。！？!?；;`, plus `.` after a letter before a space), keeping
/// trailing closing quotes and spaces with the sentence. Spans are char offsets covering `chars`.
pub(crate) fn sentence_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let n = chars.len();
    let mut spans = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < n {
        let c = chars[i];
        let latin_stop = c == '.' && i > 0 && chars[i - 1].is_alphabetic() && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if is_sentence_end(c) || latin_stop {
            let mut end = i + 1;
            while end < n && (is_sentence_end(chars[end]) || is_closer(chars[end])) {
                end += 1;
            }
            while end < n && chars[end].is_whitespace() {
                end += 1;
            }
            spans.push((start, end));
            start = end;
            i = end;
        } else {
            i += 1;
        }
    }
    if start < n {
        spans.push((start, n));
    }
    spans
}

/// Splits one over-long span at commas, then hard-splits what is still above `max`.
fn split_long(chars: &[char], (s, e): (usize, usize), max: usize) -> Vec<(usize, usize)> {
    let mut clauses = Vec::new();
    let mut start = s;
    for (i, &c) in chars.iter().enumerate().take(e).skip(s) {
        if matches!(c, '，' | ',' | '、' | '：' | ':') && i + 1 > start {
            clauses.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < e {
        clauses.push((start, e));
    }
    let mut packed: Vec<(usize, usize)> = Vec::new();
    for (cs, ce) in clauses {
        match packed.last_mut() {
            Some(last) if ce - last.0 <= max => last.1 = ce,
            _ => packed.push((cs, ce)),
        }
    }
    let mut out = Vec::new();
    for (ps, pe) in packed {
        let len = pe - ps;
        if len <= max {
            out.push((ps, pe));
            continue;
        }
        let parts = len.div_ceil(max);
        let size = len.div_ceil(parts);
        let mut a = ps;
        while a < pe {
            let b = (a + size).min(pe);
            out.push((a, b));
            a = b;
        }
    }
    out
}

/// Packs whole sentences of a paragraph into chunks of about `target` chars, never above `max`.
///
/// Returns char spans `(start, end)` that exactly cover `0..len` in order.
pub(crate) fn chunk_spans(text: &str, target: usize, max: usize) -> Vec<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let max = max.max(1);
    let target = target.clamp(1, max);
    let mut pieces = Vec::new();
    for span in sentence_spans(&chars) {
        if span.1 - span.0 > max {
            pieces.extend(split_long(&chars, span, max));
        } else {
            pieces.push(span);
        }
    }
    let mut chunks: Vec<(usize, usize)> = Vec::new();
    let mut cur: Option<(usize, usize)> = None;
    for (ps, pe) in pieces {
        cur = match cur {
            None => Some((ps, pe)),
            Some((cs, ce)) => {
                let merged = pe - cs;
                let small = ce - cs < target / 2;
                if merged <= target || (small && merged <= max) {
                    Some((cs, pe))
                } else {
                    chunks.push((cs, ce));
                    Some((ps, pe))
                }
            }
        };
    }
    chunks.extend(cur);
    if chunks.len() >= 2 {
        let (ls, le) = chunks[chunks.len() - 1];
        let (ps, _) = chunks[chunks.len() - 2];
        if le - ls < target / 4 && le - ps <= max {
            chunks.pop();
            if let Some(prev) = chunks.last_mut() {
                prev.1 = le;
            }
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_cover(text: &str, spans: &[(usize, usize)], max: usize) {
        let n = text.chars().count();
        assert_eq!(spans.first().map(|s| s.0), Some(0));
        assert_eq!(spans.last().map(|s| s.1), Some(n));
        for w in spans.windows(2) {
            assert_eq!(w[0].1, w[1].0);
        }
        for s in spans {
            assert!(s.1 > s.0 && s.1 - s.0 <= max, "{s:?}");
        }
    }

    #[test]
    fn sentences_keep_closing_quotes() {
        let chars: Vec<char> = "他說:“好。”然後走了!再見".chars().collect();
        let spans = sentence_spans(&chars);
        let parts: Vec<String> = spans.iter().map(|&(a, b)| chars[a..b].iter().collect()).collect();
        assert_eq!(parts, vec!["他說:“好。”", "然後走了!", "再見"]);
    }

    #[test]
    fn decimals_are_not_sentence_ends() {
        let chars: Vec<char> = "達到39.9萬億元。Next one. End".chars().collect();
        assert_eq!(sentence_spans(&chars).len(), 3);
    }

    #[test]
    fn packs_to_target_and_respects_max() {
        let sentence = "中央企業加速傳統產業轉型升級,提升核心競爭力。"; // 23 chars
        let text = sentence.repeat(20);
        let spans = chunk_spans(&text, 100, 150);
        check_cover(&text, &spans, 150);
        assert!(spans.len() >= 4 && spans.len() <= 6, "{spans:?}");
        for &(a, b) in &spans {
            assert_eq!((b - a) % 23, 0, "chunks hold whole sentences");
        }
    }

    #[test]
    fn monster_sentence_is_split_at_commas_then_hard() {
        let text = "產業鏈協同,".repeat(100);
        let spans = chunk_spans(&text, 50, 80);
        check_cover(&text, &spans, 80);
        let nocomma = "字".repeat(1000);
        let spans = chunk_spans(&nocomma, 150, 300);
        check_cover(&nocomma, &spans, 300);
    }

    #[test]
    fn degenerate_configs_do_not_panic() {
        let spans = chunk_spans("一句話。兩句話。", 0, 0);
        check_cover("一句話。兩句話。", &spans, 1);
        assert!(chunk_spans("", 150, 300).is_empty());
    }
}
