//! Benchmark of `cluster_themes` on synthetic paragraph vectors.
//!
//! Unit vectors in 384 dimensions are drawn around ~300 centres that share a common
//! direction (like e5 embeddings: unrelated paragraphs still have cosine ≈ 0.8,
//! members of one centre ≈ 0.93 to it). Each paragraph gets a short synthetic
//! Chinese text built from its centre's words. Sizes default to 1,000, 10,000 and
//! 50,000; override with `SIMTHEME_BENCH_SIZES=1000,5000`.
//! Prints wall time per size and the process' peak RSS (VmHWM).
//!
//! Then the theme tree (3 levels) over the same vectors taken as *chunks*, five per
//! paragraph (`SIMTHEME_BENCH_TREE_SIZES`, default 100,000 chunks = 20,000 paragraphs), with
//! paragraph weights, dated over seventy years so that the policy-theme search runs: the
//! scale of item 7 of issue 20.

use std::time::Instant;

mod common;

use common::peak_rss_mb;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simtheme::themes::{cluster_themes, theme_tree, ThemeInput, ThemeParams, TreeParams};

const DIM: usize = 384;
const CENTRES: usize = 300;
const WORDS: [&str; 40] = [
    "数字化",
    "智能工厂",
    "工业互联网",
    "数据要素",
    "算力网络",
    "绿色低碳",
    "节能降碳",
    "碳足迹",
    "循环利用",
    "新能源",
    "中小企业",
    "专精特新",
    "小巨人",
    "服务体系",
    "融资担保",
    "人形机器人",
    "元宇宙",
    "量子信息",
    "脑机接口",
    "生物制造",
    "产业链",
    "供应链",
    "链主企业",
    "协同创新",
    "产业集群",
    "高新区",
    "科技成果",
    "创新平台",
    "研发投入",
    "人才培养",
    "对外开放",
    "一带一路",
    "外资准入",
    "国际合作",
    "国有企业",
    "党的建设",
    "设备更新",
    "技术改造",
    "传统产业",
    "质量品牌",
];

fn gauss(rng: &mut StdRng) -> f32 {
    let u1: f32 = rng.random::<f32>().max(1e-7);
    let u2: f32 = rng.random::<f32>();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn synthetic(n: usize, seed: u64) -> Vec<ThemeInput> {
    let mut rng = StdRng::seed_from_u64(seed);
    let common = unit((0..DIM).map(|_| gauss(&mut rng)).collect());
    let centres: Vec<Vec<f32>> = (0..CENTRES).map(|_| unit(common.iter().map(|&g| g + 0.0255 * gauss(&mut rng)).collect())).collect();
    (0..n)
        .map(|i| {
            let c = rng.random_range(0..CENTRES);
            let v = unit(centres[c].iter().map(|&x| x + 0.02 * gauss(&mut rng)).collect());
            let w = |k: usize| WORDS[(c * 7 + k * 13 + c / 40) % WORDS.len()];
            let text = format!("要加快推进{}和{}建设，推动{}发展，第{}项。", w(0), w(1), w(2), i % 97);
            ThemeInput { id: i as i64, year: Some(2020 + (i % 5) as i32), text: text.clone(), simplified: text, vector: v }
        })
        .collect()
}

fn main() {
    println!("{}", common::machine());
    let sizes: Vec<usize> = std::env::var("SIMTHEME_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 50_000]);
    let params = ThemeParams::default();
    println!(
        "method={:?} selection={:?} threads={}",
        params.method,
        params.selection,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for n in sizes {
        let inputs = synthetic(n, 7);
        let t = Instant::now();
        match cluster_themes(&inputs, &params) {
            Ok(r) => println!(
                "N={n:>6}  cluster_themes {:>8.3} s  themes={:>3}  outliers={:>5}  peak RSS {:.0} MB",
                t.elapsed().as_secs_f64(),
                r.themes.len(),
                r.outliers.len(),
                peak_rss_mb()
            ),
            Err(e) => println!("N={n:>6}  error: {e}"),
        }
    }
    let tree_sizes: Vec<usize> = std::env::var("SIMTHEME_BENCH_TREE_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000]);
    for n in tree_sizes {
        let mut chunks = synthetic(n, 11);
        // seventy yearly reports, as a long corpus: the policy-theme search runs (it needs 8 years)
        for (i, c) in chunks.iter_mut().enumerate() {
            c.year = Some(1955 + (i * 70 / n) as i32);
        }
        let paragraph_of: Vec<i64> = (0..n as i64).map(|i| i / 5).collect();
        let t = Instant::now();
        // the synthetic texts are one template: boilerplate detection would keep them all out
        let params = TreeParams { boilerplate_share: 0.0, ..Default::default() };
        match theme_tree(&chunks, Some(&paragraph_of), &params) {
            Ok(tree) => println!(
                "chunks={n:>6} paragraphs={:>6}  theme_tree {:>8.3} s  nodes={:>4} levels={} level0={} finest={} policy themes={}  peak RSS {:.0} MB",
                n / 5,
                t.elapsed().as_secs_f64(),
                tree.nodes.len(),
                tree.depth(),
                tree.level_nodes(0).len(),
                tree.level_nodes(tree.depth().saturating_sub(1)).len(),
                tree.policies.len(),
                peak_rss_mb()
            ),
            Err(e) => println!("chunks={n:>6}  error: {e}"),
        }
    }
}
