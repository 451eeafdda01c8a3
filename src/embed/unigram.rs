//! A memory-compact drop-in for the `tokenizers` Unigram model (SentencePiece vocabularies
//! such as XLM-R's, which multilingual-e5 uses).
//!
//! `tokenizers::models::unigram::Unigram` finds the vocabulary pieces that start at a position
//! with a trie of one hash map per node; for the 250,002 pieces of multilingual-e5 that is
//! ~780k maps and ~215 MB of heap, the largest single item in the server's memory. This model
//! keeps the pieces in one byte buffer and the trie as three flat arrays in breadth-first
//! order (children of a node are contiguous and sorted by byte), ~12 MB in all, and runs the
//! same Viterbi search (`Unigram::encode_optimized`: same scores, same tie-breaking, unknown
//! characters fused into one token, byte fallback), so it yields the same tokens and ids.
//! The tests compare it with the `tokenizers` model on random strings and the shipped model.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokenizers::models::unigram::UnigramTrainer;
use tokenizers::{Model, Token};

/// Penalty below the lowest piece score given to an unknown character (as `tokenizers`).
const UNK_PENALTY: f64 = 10.0;
/// "No piece ends here" in [`ByteTrie::terminal`].
const NONE: u32 = u32::MAX;

/// The Unigram model over a flat trie; see the module documentation.
pub struct CompactUnigram {
    /// All pieces' UTF-8 bytes, concatenated in id order.
    bytes: Vec<u8>,
    /// Piece `i` is `bytes[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    /// Log-probability of each piece.
    scores: Vec<f64>,
    trie: ByteTrie,
    min_score: f64,
    unk_id: Option<usize>,
    byte_fallback: bool,
}

/// A byte trie in breadth-first order: node 0 is the root, the children of node `k` are
/// nodes `first[k]..first[k + 1]` (sorted by `labels`), `terminal[k]` is the id of the piece
/// spelled by the path to `k` (the highest id when a piece is listed twice, as `tokenizers`'
/// token-to-id map keeps the last one).
struct ByteTrie {
    first: Vec<u32>,
    labels: Vec<u8>,
    terminal: Vec<u32>,
}

impl ByteTrie {
    /// Builds the trie of `pieces(i)` for `i < n`.
    fn build<'a>(n: usize, piece: impl Fn(usize) -> &'a [u8]) -> Self {
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by(|&a, &b| piece(a as usize).cmp(piece(b as usize)).then(a.cmp(&b)));
        // Of equal pieces keep the last id only.
        let mut kept: Vec<u32> = Vec::with_capacity(n);
        for id in order {
            match kept.last_mut() {
                Some(last) if piece(*last as usize) == piece(id as usize) => *last = id,
                _ => kept.push(id),
            }
        }
        // Breadth-first: `queue[k]` is the range of `kept` below node `k` and its depth.
        let mut queue: Vec<(u32, u32, u32)> = vec![(0, kept.len() as u32, 0)];
        let (mut first, mut labels, mut terminal) = (Vec::new(), vec![0u8], Vec::new());
        let mut k = 0;
        while k < queue.len() {
            let (mut lo, hi, depth) = queue[k];
            let d = depth as usize;
            first.push(queue.len() as u32);
            if lo < hi && piece(kept[lo as usize] as usize).len() == d {
                terminal.push(kept[lo as usize]);
                lo += 1;
            } else {
                terminal.push(NONE);
            }
            while lo < hi {
                let byte = piece(kept[lo as usize] as usize)[d];
                let mut end = lo + 1;
                while end < hi && piece(kept[end as usize] as usize)[d] == byte {
                    end += 1;
                }
                queue.push((lo, end, depth + 1));
                labels.push(byte);
                lo = end;
            }
            k += 1;
        }
        first.push(queue.len() as u32);
        first.shrink_to_fit();
        labels.shrink_to_fit();
        terminal.shrink_to_fit();
        Self { first, labels, terminal }
    }

    /// The child of `node` along `byte`.
    #[inline]
    fn child(&self, node: usize, byte: u8) -> Option<usize> {
        let (a, b) = (self.first[node] as usize, self.first[node + 1] as usize);
        self.labels[a..b].binary_search(&byte).ok().map(|i| a + i)
    }

    /// The id of exactly `key`.
    fn get(&self, key: &[u8]) -> Option<u32> {
        let mut node = 0;
        for &b in key {
            node = self.child(node, b)?;
        }
        Some(self.terminal[node]).filter(|&t| t != NONE)
    }

    /// Calls `f(len, id)` for every piece that is a non-empty prefix of `text`, shortest first.
    #[inline]
    fn prefixes(&self, text: &[u8], mut f: impl FnMut(usize, u32)) {
        let mut node = 0;
        for (i, &b) in text.iter().enumerate() {
            match self.child(node, b) {
                Some(c) => node = c,
                None => return,
            }
            if self.terminal[node] != NONE {
                f(i + 1, self.terminal[node]);
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.first.capacity() * 4 + self.labels.capacity() + self.terminal.capacity() * 4
    }
}

/// Errors of [`CompactUnigram::new`] and of encoding (same conditions as `tokenizers`).
#[derive(Debug, thiserror::Error)]
pub enum UnigramError {
    /// `unk_id` given with an empty vocabulary.
    #[error("The vocabulary is empty but at least <unk> is needed")]
    EmptyVocabulary,
    /// `unk_id` past the end of the vocabulary.
    #[error("The `unk_id` is larger than vocabulary size")]
    UnkIdNotInVocabulary,
    /// An unknown character with no `unk_id` to map it to.
    #[error("Encountered an unknown token but `unk_id` is missing")]
    MissingUnkId,
}

impl CompactUnigram {
    /// The model of `(piece, score)` pairs in id order (as `Unigram::from`).
    pub fn new<S: AsRef<str>>(
        vocab: impl IntoIterator<Item = (S, f64)>,
        unk_id: Option<usize>,
        byte_fallback: bool,
    ) -> Result<Self, UnigramError> {
        let mut b = Builder::default();
        for (piece, score) in vocab {
            b.push(piece.as_ref(), score);
        }
        b.finish(unk_id, byte_fallback)
    }

    /// Number of pieces.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True when there are no pieces.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Heap bytes held by the model.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.offsets.capacity() * 4 + self.scores.capacity() * 8 + self.trie.heap_bytes()
    }

    fn piece(&self, id: usize) -> &str {
        let bytes = &self.bytes[self.offsets[id] as usize..self.offsets[id + 1] as usize];
        // SAFETY: `bytes` holds whole `str`s, concatenated, and offsets fall between them.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// The best segmentation of `sentence` as `(start, end, id)` byte spans, unknown
    /// characters fused into one span with `unk_id` (`Unigram::encode_optimized`).
    fn best_path(&self, sentence: &str) -> Result<Vec<(usize, usize, usize)>, UnigramError> {
        #[derive(Clone, Copy)]
        struct Best {
            id: usize,
            score: f64,
            starts_at: Option<usize>,
        }
        let size = sentence.len();
        let text = sentence.as_bytes();
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![Best { id: 0, score: 0.0, starts_at: None }; size + 1];
        let mut start = 0;
        while start < size {
            let here = best[start].score;
            let mblen = sentence[start..].chars().next().map_or(1, char::len_utf8);
            let mut has_single_node = false;
            self.trie.prefixes(&text[start..], |len, id| {
                let target = &mut best[start + len];
                let candidate = self.scores[id as usize] + here;
                if target.starts_at.is_none() || candidate > target.score {
                    *target = Best { id: id as usize, score: candidate, starts_at: Some(start) };
                }
                has_single_node |= len == mblen;
            });
            if !has_single_node {
                let target = &mut best[start + mblen];
                let candidate = unk_score + here;
                if target.starts_at.is_none() || candidate > target.score {
                    *target = Best { id: self.unk_id.ok_or(UnigramError::MissingUnkId)?, score: candidate, starts_at: Some(start) };
                }
            }
            start += mblen;
        }
        let mut spans = Vec::new();
        let mut end = size;
        let mut unk_start: Option<usize> = None; // start of a run of unknowns ending at `unk_end`
        let mut unk_end = 0;
        while end > 0 {
            let node = best[end];
            let start = node.starts_at.expect("every character boundary is reached");
            if Some(node.id) == self.unk_id {
                if unk_start.is_none() {
                    unk_end = end;
                }
                unk_start = Some(start);
            } else {
                if let Some(s) = unk_start.take() {
                    spans.push((s, unk_end, self.unk_id.unwrap_or(0)));
                }
                spans.push((start, end, node.id));
            }
            end = start;
        }
        if let Some(s) = unk_start {
            spans.push((s, unk_end, self.unk_id.unwrap_or(0)));
        }
        spans.reverse();
        Ok(spans)
    }
}

impl fmt::Debug for CompactUnigram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactUnigram")
            .field("vocab", &self.len())
            .field("unk_id", &self.unk_id)
            .field("byte_fallback", &self.byte_fallback)
            .finish()
    }
}

impl Model for CompactUnigram {
    type Trainer = UnigramTrainer;

    fn tokenize(&self, sentence: &str) -> tokenizers::Result<Vec<Token>> {
        if sentence.is_empty() {
            return Ok(Vec::new());
        }
        let mut tokens = Vec::new();
        for (start, end, id) in self.best_path(sentence)? {
            let value = &sentence[start..end];
            let offsets = (start, end);
            // A piece found by the search is its own id; a run of unknown characters is looked
            // up as a whole, then byte by byte (byte fallback), then it is `unk_id`.
            let id = if Some(id) != self.unk_id { Some(id as u32) } else { self.trie.get(value.as_bytes()) };
            if let Some(id) = id {
                tokens.push(Token::new(id, value.to_string(), offsets));
                continue;
            }
            if self.byte_fallback {
                let bytes: Option<Vec<Token>> = value
                    .bytes()
                    .map(|byte| {
                        let name = format!("<0x{byte:02X}>");
                        self.trie.get(name.as_bytes()).map(|id| Token::new(id, name, offsets))
                    })
                    .collect();
                if let Some(bytes) = bytes {
                    tokens.extend(bytes);
                    continue;
                }
            }
            let unk = self.unk_id.ok_or(UnigramError::MissingUnkId)? as u32;
            tokens.push(Token::new(unk, value.to_string(), offsets));
        }
        Ok(tokens)
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.trie.get(token.as_bytes())
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        ((id as usize) < self.len()).then(|| self.piece(id as usize).to_string())
    }

    fn get_vocab(&self) -> HashMap<String, u32> {
        (0..self.len()).map(|i| (self.piece(i).to_string(), i as u32)).collect()
    }

    fn get_vocab_size(&self) -> usize {
        self.len()
    }

    fn save(&self, folder: &Path, name: Option<&str>) -> tokenizers::Result<Vec<PathBuf>> {
        let path = folder.join(match name {
            Some(name) => format!("{name}-unigram.json"),
            None => "unigram.json".to_string(),
        });
        std::fs::write(&path, serde_json::to_string_pretty(self)?)?;
        Ok(vec![path])
    }

    fn get_trainer(&self) -> UnigramTrainer {
        UnigramTrainer::default()
    }
}

/// Accumulates pieces without keeping a `String` per piece.
#[derive(Default)]
struct Builder {
    bytes: Vec<u8>,
    offsets: Vec<u32>,
    scores: Vec<f64>,
}

impl Builder {
    fn push(&mut self, piece: &str, score: f64) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.bytes.extend_from_slice(piece.as_bytes());
        self.offsets.push(self.bytes.len() as u32);
        self.scores.push(score);
    }

    fn finish(mut self, unk_id: Option<usize>, byte_fallback: bool) -> Result<CompactUnigram, UnigramError> {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        if let Some(unk) = unk_id {
            if self.scores.is_empty() {
                return Err(UnigramError::EmptyVocabulary);
            }
            if unk >= self.scores.len() {
                return Err(UnigramError::UnkIdNotInVocabulary);
            }
        }
        let min_score = self.scores.iter().fold(f64::INFINITY, |m, &s| if s < m { s } else { m });
        let (bytes, offsets) = (&self.bytes, &self.offsets);
        let trie = ByteTrie::build(self.scores.len(), |i| &bytes[offsets[i] as usize..offsets[i + 1] as usize]);
        self.bytes.shrink_to_fit();
        self.offsets.shrink_to_fit();
        self.scores.shrink_to_fit();
        Ok(CompactUnigram { bytes: self.bytes, offsets: self.offsets, scores: self.scores, trie, min_score, unk_id, byte_fallback })
    }
}

/// Serialised as `tokenizers` serialises a Unigram model.
impl Serialize for CompactUnigram {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Vocab<'a>(&'a CompactUnigram);
        impl Serialize for Vocab<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
                for i in 0..self.0.len() {
                    seq.serialize_element(&(self.0.piece(i), self.0.scores[i]))?;
                }
                seq.end()
            }
        }
        let mut model = serializer.serialize_struct("Unigram", 4)?;
        model.serialize_field("type", "Unigram")?;
        model.serialize_field("unk_id", &self.unk_id)?;
        model.serialize_field("vocab", &Vocab(self))?;
        model.serialize_field("byte_fallback", &self.byte_fallback)?;
        model.end()
    }
}

/// Reads the `model` object of a `tokenizer.json` whose `type` is `Unigram` (anything else is
/// an error), streaming the vocabulary into the flat arrays.
impl<'de> Deserialize<'de> for CompactUnigram {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Unigram", &["type", "vocab", "unk_id", "byte_fallback"], ModelVisitor)
    }
}

struct ModelVisitor;

impl<'de> Visitor<'de> for ModelVisitor {
    type Value = CompactUnigram;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a Unigram model")
    }

    fn visit_map<V: MapAccess<'de>>(self, mut map: V) -> Result<CompactUnigram, V::Error> {
        let (mut vocab, mut unk_id, mut byte_fallback) = (None, None, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "unk_id" => unk_id = map.next_value()?,
                "byte_fallback" => byte_fallback = map.next_value()?,
                "vocab" => vocab = Some(map.next_value_seed(VocabSeed)?),
                "type" => {
                    let kind: String = map.next_value()?;
                    if kind != "Unigram" {
                        return Err(de::Error::invalid_value(de::Unexpected::Str(&kind), &"Unigram"));
                    }
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let vocab = vocab.ok_or_else(|| de::Error::custom("Missing vocab"))?;
        vocab.finish(unk_id, byte_fallback).map_err(|e| de::Error::custom(format!("Unable to load vocab {e:?}")))
    }
}

/// The `vocab` array of `[piece, score]` pairs, appended to a [`Builder`] as it is read.
struct VocabSeed;

impl<'de> DeserializeSeed<'de> for VocabSeed {
    type Value = Builder;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Builder, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for VocabSeed {
    type Value = Builder;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of [piece, score] pairs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Builder, A::Error> {
        let mut b = Builder::default();
        if let Some(n) = seq.size_hint() {
            b.scores.reserve(n);
            b.offsets.reserve(n + 1);
        }
        while let Some((piece, score)) = seq.next_element::<(String, f64)>()? {
            b.push(&piece, score);
        }
        Ok(b)
    }
}

#[cfg(test)]
#[path = "unigram_tests.rs"]
mod tests;
