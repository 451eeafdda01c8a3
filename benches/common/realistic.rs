//! Realistic vectors at scale for the benches: real e5 chunk vectors of an ingested store,
//! every n-th held out as a query, and any number of corpus vectors generated around the
//! others (a parent plus Gaussian noise of a per-vector strength drawn from [0.01, 0.03] per
//! component: cosine 0.86–0.98 to the parent, the spread of real near-duplicates and
//! paraphrases in the work reports). Seeded per block, so the set does not depend on the
//! thread count and is regenerated in seconds; nothing is stored.
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use simtheme::backend::embedded::store::Store;

use super::common::{gaussian, normalize};

/// Real vectors held out as queries.
pub const QUERIES: usize = 300;

/// (queries, parents): real vectors of the store, every n-th held out as a query.
pub fn real_vectors(dir: &str, model: &str) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let store = Store::open_reader(std::path::Path::new(dir)).expect("open the store of SIMTHEME_BENCH_STORE");
    let all: Vec<Vec<f32>> = store.all_chunk_vectors(model).expect("read vectors").into_iter().map(|(_, v)| v).collect();
    assert!(all.len() > 2 * QUERIES, "{dir} holds {} vectors of {model}; ingest a corpus first", all.len());
    let step = all.len() / QUERIES;
    let (mut queries, mut parents) = (Vec::new(), Vec::new());
    for (i, v) in all.into_iter().enumerate() {
        if i % step == 0 && queries.len() < QUERIES {
            queries.push(v);
        } else {
            parents.push(v);
        }
    }
    (queries, parents)
}

/// `n` corpus vectors around the parents (see the module comment), in parallel, seeded per
/// block so the set does not depend on the thread count.
pub fn corpus(parents: &[Vec<f32>], n: usize) -> Vec<Vec<f32>> {
    const BLOCK: usize = 4_096;
    (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .flat_map_iter(|b| {
            let mut rng = StdRng::seed_from_u64(0x5EED_0000 + b as u64);
            let len = BLOCK.min(n - b * BLOCK);
            (0..len)
                .map(|_| {
                    let p = &parents[rng.random_range(0..parents.len())];
                    let sigma: f32 = rng.random_range(0.01..0.03);
                    normalize(p.iter().map(|&x| x + sigma * gaussian(&mut rng)).collect())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}
