//! What the engine needs from an embedder: texts in, unit vectors with token counts out, as
//! queries or passages, plus the model's name and dimension and the counters of the queue in
//! front of it. [`EmbedQueue`] is the real one (the model behind the batching queue);
//! [`FakeEmbedder`] a deterministic stand-in, so the engine can be tested without the model.
//! The engine makes one dynamic call per request; the queue's per-token work is unchanged.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use super::{EmbedError, EmbedQueue, Embedding, Mode, QueueError, QueueStats};

/// A boxed future of [`TextEmbedder::embed`].
pub type EmbedFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Embedding>, QueueError>> + Send + 'a>>;

/// An embedder as the engine sees it.
pub trait TextEmbedder: Send + Sync {
    /// Embeds `texts` as `mode` (E5 `query: ` / `passage: `): one unit vector of
    /// [`TextEmbedder::dim`] values per text, in order, with the tokens fed to the model.
    fn embed(&self, texts: Vec<String>, mode: Mode) -> EmbedFuture<'_>;
    /// Model name (stored with the corpus; another model's vectors are refused).
    fn name(&self) -> &str;
    /// Vector dimension.
    fn dim(&self) -> usize;
    /// Counters of the requests served (jobs, rounds, lanes).
    fn stats(&self) -> &QueueStats;
}

impl TextEmbedder for EmbedQueue {
    fn embed(&self, texts: Vec<String>, mode: Mode) -> EmbedFuture<'_> {
        Box::pin(EmbedQueue::embed(self, texts, mode))
    }

    fn name(&self) -> &str {
        self.embedder().name()
    }

    fn dim(&self) -> usize {
        self.embedder().dim()
    }

    fn stats(&self) -> &QueueStats {
        EmbedQueue::stats(self)
    }
}

/// A deterministic embedder for tests: each text's vector is the normalised sum of signed
/// hashed features (its characters and character pairs, case-folded), so texts sharing words
/// are close and identical texts identical; tokens are one per character plus two. It records
/// the mode of every call. It has no model: use it only where the model is not under test.
#[derive(Debug)]
pub struct FakeEmbedder {
    dim: usize,
    stats: QueueStats,
    modes: Mutex<Vec<Mode>>,
}

impl FakeEmbedder {
    /// A fake of `dim` dimensions (at least 2).
    pub fn new(dim: usize) -> Self {
        Self { dim: dim.max(2), stats: QueueStats::default(), modes: Mutex::new(Vec::new()) }
    }

    /// The modes of the calls so far, in order.
    pub fn modes(&self) -> Vec<Mode> {
        self.modes.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn vector(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect();
        if chars.is_empty() {
            return Err(EmbedError::InvalidInput("text is empty".into()));
        }
        let mut v = vec![0f32; self.dim];
        let mut add = |feature: &[char]| {
            // FNV-1a over the feature's code points.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for c in feature {
                h = (h ^ *c as u64).wrapping_mul(0x0100_0000_01b3);
            }
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[(h % self.dim as u64) as usize] += sign;
        };
        chars.iter().for_each(|c| add(std::slice::from_ref(c)));
        chars.windows(2).for_each(&mut add);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 {
            v[0] = 1.0;
        } else {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        Ok(v)
    }
}

impl TextEmbedder for FakeEmbedder {
    fn embed(&self, texts: Vec<String>, mode: Mode) -> EmbedFuture<'_> {
        Box::pin(async move {
            self.modes.lock().unwrap_or_else(|p| p.into_inner()).push(mode);
            self.stats.jobs.fetch_add(1, Ordering::Relaxed);
            self.stats.batches.fetch_add(1, Ordering::Relaxed);
            texts
                .iter()
                .map(|t| Ok(Embedding { vector: self.vector(t)?, tokens: t.chars().count() + 2, queue_ms: 0.0 }))
                .collect::<Result<Vec<_>, EmbedError>>()
                .map_err(QueueError::from)
        })
    }

    fn name(&self) -> &str {
        "fake-embedder"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn stats(&self) -> &QueueStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embed(f: &FakeEmbedder, texts: &[&str]) -> Vec<Embedding> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(f.embed(texts.iter().map(|t| t.to_string()).collect(), Mode::Passage)).unwrap()
    }

    #[test]
    fn fake_vectors_are_unit_deterministic_and_closer_for_shared_words() {
        let f = FakeEmbedder::new(64);
        let e = embed(&f, &["digital transformation of factories", "digital transformation of plants", "低空经济 无人机"]);
        for x in &e {
            assert_eq!(x.vector.len(), 64);
            assert!((x.vector.iter().map(|v| v * v).sum::<f32>() - 1.0).abs() < 1e-5);
        }
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!(cos(&e[0].vector, &e[1].vector) > cos(&e[0].vector, &e[2].vector) + 0.3);
        assert_eq!(e[0], embed(&f, &["digital transformation of factories"])[0]);
        assert_eq!(e[2].tokens, "低空经济 无人机".chars().count() + 2);
        assert_eq!(f.modes(), [Mode::Passage, Mode::Passage]);
        assert_eq!(f.stats().jobs.load(Ordering::Relaxed), 2);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert!(rt.block_on(f.embed(vec!["  ".into()], Mode::Query)).is_err(), "blank texts are refused like the model's tokenizer does");
    }
}
