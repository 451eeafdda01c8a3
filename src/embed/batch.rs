//! Pure planning helpers: splitting token sequences into model windows and grouping
//! windows of similar length into padded batches under a token budget.

/// One model input: `<s> content </s>` for a slice of one text's tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Index of the text this window belongs to.
    pub text: usize,
    /// Token ids including the special tokens.
    pub ids: Vec<u32>,
    /// Weight of this window in its text's vector: its number of content tokens.
    pub weight: f32,
}

/// Splits a text's content tokens into consecutive non-overlapping windows of at most
/// `max_content` tokens, each wrapped in `bos` / `eos`. An empty sequence still yields one
/// window (`<s></s>`), so every text gets a vector.
pub fn windows(text: usize, content: &[u32], max_content: usize, bos: u32, eos: u32) -> Vec<Window> {
    let max_content = max_content.max(1);
    let wrap = |slice: &[u32]| {
        let mut ids = Vec::with_capacity(slice.len() + 2);
        ids.push(bos);
        ids.extend_from_slice(slice);
        ids.push(eos);
        Window { text, ids, weight: slice.len().max(1) as f32 }
    };
    if content.is_empty() {
        return vec![wrap(&[])];
    }
    content.chunks(max_content).map(wrap).collect()
}

/// Groups items (given by their lengths) into batches: items are sorted by length so a
/// batch holds similar lengths (little padding), and a batch's padded size
/// (`longest × count`) stays within `max_batch_tokens` (a single longer item still gets
/// a batch of its own). Returns indices into `lens`; every index appears exactly once.
pub fn plan_batches(lens: &[usize], max_batch_tokens: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| (lens[i], i));
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Sorted ascending, so the newest item is the batch's longest.
        let padded = lens[i] * (current.len() + 1);
        if !current.is_empty() && padded > max_batch_tokens {
            batches.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_content_without_overlap() {
        let content: Vec<u32> = (10..1035).collect();
        let ws = windows(3, &content, 510, 0, 2);
        assert_eq!(ws.len(), 3);
        let mut joined = Vec::new();
        for w in &ws {
            assert_eq!(w.text, 3);
            assert_eq!(w.ids.first(), Some(&0));
            assert_eq!(w.ids.last(), Some(&2));
            assert!(w.ids.len() <= 512);
            assert_eq!(w.weight as usize, w.ids.len() - 2);
            joined.extend_from_slice(&w.ids[1..w.ids.len() - 1]);
        }
        assert_eq!(joined, content);
    }

    #[test]
    fn empty_content_gets_one_window() {
        let ws = windows(0, &[], 510, 0, 2);
        assert_eq!(ws.len(), 1);
        assert_eq!(ws[0].ids, vec![0, 2]);
    }

    #[test]
    fn batches_respect_budget_and_cover_all() {
        let lens = vec![5, 300, 7, 512, 6, 290, 100, 512, 3];
        let batches = plan_batches(&lens, 1024);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..lens.len()).collect::<Vec<_>>());
        for b in &batches {
            let longest = b.iter().map(|&i| lens[i]).max().unwrap();
            assert!(b.len() == 1 || longest * b.len() <= 1024, "{b:?}");
        }
        // Similar lengths share a batch.
        assert!(batches.iter().any(|b| b.contains(&0) && b.contains(&2) && b.contains(&4)));
    }
}
