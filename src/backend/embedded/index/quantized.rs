//! Sign codes: one bit per dimension of each stored vector, the sign of the component after
//! the corpus mean is subtracted. A 384-dimension vector becomes 48 bytes (32× less than its
//! floats), and the Hamming distance of two codes follows the angle of the centred vectors.
//!
//! Exact search over many vectors uses them as a first pass ([`SignCodes::shortlist`]): the
//! codes of every live slot are compared with the query's (XOR and popcount), the closest few
//! thousand are kept, and only those are scored with their full float vectors. Centring
//! matters for sentence embeddings: e5 vectors share a large common direction (cosines of
//! unrelated passages are ~0.7), so without it most sign bits are the same for every vector.
//!
//! The mean is recomputed, and every code with it, each time the number of slots doubles
//! (amortised: about two encodings per vector over the life of an index); in between, new
//! vectors are encoded against the last mean.

use rayon::prelude::*;

/// Below this many slots the codes stay unencoded (exact search scans floats anyway).
const ENCODE_FROM_SLOTS: usize = 1_024;

/// Sign codes of the slots of a [`super::store::Store`], in slot order.
#[derive(Debug, Clone, Default)]
pub(crate) struct SignCodes {
    dim: usize,
    /// `u64` words per code.
    words: usize,
    /// Mean of the live vectors at the last full encoding (empty before the first).
    center: Vec<f32>,
    /// `slots * words` bits; empty until the first full encoding.
    codes: Vec<u64>,
    /// Slots at the last full encoding.
    encoded_at: usize,
}

impl SignCodes {
    /// Empty codes for vectors of `dim` components.
    pub fn new(dim: usize) -> Self {
        SignCodes { dim, words: dim.div_ceil(64), ..Default::default() }
    }

    /// True once codes cover the slots (the store has reached [`ENCODE_FROM_SLOTS`]).
    pub fn ready(&self, slots: usize) -> bool {
        !self.codes.is_empty() && self.codes.len() == slots * self.words
    }

    fn encode(&self, v: &[f32], out: &mut Vec<u64>) {
        let start = out.len();
        out.resize(start + self.words, 0);
        for (i, (&x, &c)) in v.iter().zip(&self.center).enumerate() {
            if x > c {
                out[start + i / 64] |= 1 << (i % 64);
            }
        }
    }

    /// Keeps the codes in step with the store after a vector was appended: encodes it, or
    /// re-encodes everything against a new mean when the slots have doubled since the last
    /// full encoding. `data` holds every slot's vector (the new one last).
    pub fn appended(&mut self, data: &[f32], dead: &[bool]) {
        let slots = dead.len();
        if slots >= ENCODE_FROM_SLOTS && slots >= 2 * self.encoded_at {
            self.reencode(data, dead);
        } else if !self.codes.is_empty() {
            let v = &data[(slots - 1) * self.dim..slots * self.dim];
            let mut codes = std::mem::take(&mut self.codes);
            self.encode(v, &mut codes);
            self.codes = codes;
        }
    }

    /// Recomputes the mean of the live vectors and every code (nothing below
    /// [`ENCODE_FROM_SLOTS`] slots).
    pub fn reencode(&mut self, data: &[f32], dead: &[bool]) {
        let slots = dead.len();
        self.codes.clear();
        self.encoded_at = slots;
        if slots < ENCODE_FROM_SLOTS || self.dim == 0 {
            self.center.clear();
            return;
        }
        let mut sum = vec![0f64; self.dim];
        let mut live = 0usize;
        for (slot, v) in data.chunks_exact(self.dim).enumerate() {
            if !dead[slot] {
                live += 1;
                sum.iter_mut().zip(v).for_each(|(s, &x)| *s += f64::from(x));
            }
        }
        let live = live.max(1) as f64;
        self.center = sum.iter().map(|s| (s / live) as f32).collect();
        let mut codes = Vec::with_capacity(slots * self.words);
        for v in data.chunks_exact(self.dim) {
            self.encode(v, &mut codes);
        }
        self.codes = codes;
    }

    /// The distances of every slot's code to the query's, for [`Distances::nearest`]. The
    /// caller checks [`Self::ready`].
    pub fn distances_to(&self, query: &[f32], dead: &[bool]) -> Distances {
        let mut q = Vec::with_capacity(self.words);
        self.encode(query, &mut q);
        let distances = self.distances(&q, dead);
        // Counting by distance finds the radius that holds any number of slots in one pass.
        let mut histogram = vec![0usize; self.words * 64 + 2];
        for &d in &distances {
            histogram[d as usize] += 1;
        }
        Distances { distances, histogram }
    }

    /// The `want` live slots whose codes are nearest the query's (see [`Distances::nearest`]).
    #[cfg(test)]
    pub fn shortlist(&self, query: &[f32], dead: &[bool], want: usize) -> Vec<usize> {
        self.distances_to(query, dead).nearest(want)
    }

    /// Hamming distance of every slot's code to `q`; dead slots get the largest value
    /// (`words * 64 + 1`), which no live slot reaches. Split over rayon threads above
    /// [`PARALLEL_FROM_SLOTS`].
    fn distances(&self, q: &[u64], dead: &[bool]) -> Vec<u16> {
        let mut out = vec![0u16; dead.len()];
        let fill = |(block, out): (usize, &mut [u16])| {
            let first = block * PARALLEL_BLOCK;
            let codes = &self.codes[first * self.words..(first + out.len()) * self.words];
            self.fill_distances(q, codes, &dead[first..first + out.len()], out);
        };
        if dead.len() >= PARALLEL_FROM_SLOTS {
            out.par_chunks_mut(PARALLEL_BLOCK).enumerate().for_each(fill);
        } else {
            out.chunks_mut(PARALLEL_BLOCK).enumerate().for_each(fill);
        }
        out
    }

    fn fill_distances(&self, q: &[u64], codes: &[u64], dead: &[bool], out: &mut [u16]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU supports POPCNT (checked just above).
                return unsafe { self.fill_popcnt(q, codes, dead, out) };
            }
        }
        self.fill_portable(q, codes, dead, out)
    }

    #[inline(always)]
    fn fill_portable(&self, q: &[u64], codes: &[u64], dead: &[bool], out: &mut [u16]) {
        let gone = (self.words * 64 + 1) as u16;
        for ((o, code), &d) in out.iter_mut().zip(codes.chunks_exact(self.words)).zip(dead) {
            *o = if d { gone } else { code.iter().zip(q).map(|(a, b)| (a ^ b).count_ones()).sum::<u32>() as u16 };
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn fill_popcnt(&self, q: &[u64], codes: &[u64], dead: &[bool], out: &mut [u16]) {
        // The same loop; compiled with POPCNT, `count_ones` is one instruction.
        self.fill_portable(q, codes, dead, out)
    }
}

/// From this many slots the distance pass is split over rayon threads.
const PARALLEL_FROM_SLOTS: usize = 65_536;
/// Slots per rayon task of the distance pass.
const PARALLEL_BLOCK: usize = 16_384;

/// Code distances of every slot to one query, with their histogram.
pub(crate) struct Distances {
    distances: Vec<u16>,
    histogram: Vec<usize>,
}

impl Distances {
    /// The `want` live slots whose codes are nearest the query's (ties broken by slot, so the
    /// answer is deterministic), at most all of them, in slot order.
    pub fn nearest(&self, want: usize) -> Vec<usize> {
        let h = &self.histogram;
        let live = self.distances.len() - h[h.len() - 1];
        let want = want.min(live);
        let (mut radius, mut below) = (0usize, 0usize);
        while radius < h.len() - 1 && below + h[radius] < want {
            below += h[radius];
            radius += 1;
        }
        // Everything inside the radius, then as many at the radius as are still needed.
        let mut at_radius = want - below;
        let mut out = Vec::with_capacity(want);
        for (slot, &d) in self.distances.iter().enumerate() {
            let d = d as usize;
            if d < radius {
                out.push(slot);
            } else if d == radius && at_radius > 0 {
                out.push(slot);
                at_radius -= 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors(n: usize, dim: usize) -> Vec<f32> {
        // A shared direction plus a per-vector part, like sentence embeddings.
        let mut out = Vec::with_capacity(n * dim);
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..n {
            let mut v: Vec<f32> = (0..dim)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    1.0 + if i % 3 == 0 { 0.5 } else { 0.0 } + ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            out.extend(v);
        }
        out
    }

    #[test]
    fn codes_follow_appends_and_reencode_on_doubling() {
        let dim = 70; // two words, the second partly used
        let data = vectors(3_000, dim);
        let mut codes = SignCodes::new(dim);
        let mut dead = Vec::new();
        for slot in 0..3_000 {
            dead.push(false);
            codes.appended(&data[..(slot + 1) * dim], &dead);
            assert_eq!(codes.ready(slot + 1), slot + 1 >= ENCODE_FROM_SLOTS, "slot {slot}");
        }
        assert_eq!(codes.encoded_at, 2_048);
        // The centre is the mean of the vectors at the last encoding: codes are balanced.
        let ones: u32 = codes.codes.iter().map(|w| w.count_ones()).sum();
        let share = f64::from(ones) / (3_000 * dim) as f64;
        assert!((0.3..0.7).contains(&share), "{share}");
    }

    #[test]
    fn shortlist_is_nearest_by_code_deterministic_and_skips_dead_slots() {
        let dim = 64;
        let data = vectors(2_000, dim);
        let mut dead = vec![false; 2_000];
        dead[7] = true;
        let mut codes = SignCodes::new(dim);
        codes.reencode(&data, &dead);
        let query = &data[7 * dim..8 * dim];
        let list = codes.shortlist(query, &dead, 50);
        assert_eq!(list.len(), 50);
        assert!(!list.contains(&7), "a dead slot is never listed, not even when it is the query");
        assert_eq!(list, codes.shortlist(query, &dead, 50));
        let mut q = Vec::new();
        codes.encode(query, &mut q);
        let d = codes.distances(&q, &dead);
        let mut portable = vec![0u16; 2_000];
        codes.fill_portable(&q, &codes.codes, &dead, &mut portable);
        let worst_in = list.iter().map(|&s| d[s]).max().unwrap();
        let best_out = (0..2_000).filter(|s| !dead[*s] && !list.contains(s)).map(|s| d[s]).min().unwrap();
        assert!(worst_in <= best_out, "{worst_in} > {best_out}");
        // Asking for more than there are gives every live slot.
        assert_eq!(codes.shortlist(query, &dead, 5_000).len(), 1_999);
        assert_eq!(portable, d, "the POPCNT path agrees with the portable one");
    }
}
