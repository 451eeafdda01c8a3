//! Synthetic data helpers for unit tests.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::vecmath::normalize;
use super::ThemeInput;

/// `k` blobs of `per` unit vectors in `d` dimensions around random unit centres
/// with Gaussian-ish noise of scale `noise`; returns (row-major data, d, labels).
pub(crate) fn blobs(k: usize, per: usize, d: usize, noise: f32, seed: u64) -> (Vec<f32>, usize, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centres = Vec::new();
    for _ in 0..k {
        let mut c: Vec<f32> = (0..d).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        normalize(&mut c);
        centres.push(c);
    }
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for i in 0..k * per {
        let c = i % k;
        let mut v: Vec<f32> =
            centres[c].iter().map(|&x| x + noise * (rng.random::<f32>() + rng.random::<f32>() + rng.random::<f32>() - 1.5)).collect();
        normalize(&mut v);
        data.extend(v);
        labels.push(c);
    }
    (data, d, labels)
}

/// Topic vocabularies used for synthetic paragraphs.
pub(crate) const TOPIC_WORDS: [&[&str]; 4] = [
    &["数字化", "工业互联网", "智能工厂", "数据"],
    &["绿色低碳", "节能降碳", "碳足迹", "循环利用"],
    &["专精特新", "中小企业", "小巨人", "服务体系"],
    &["人形机器人", "元宇宙", "量子信息", "未来产业"],
];

/// Synthetic inputs: `per` paragraphs for each of the 4 topics, years alternating
/// 2023/2024 (every 7th undated); text built from the topic vocabulary.
pub(crate) fn synthetic_inputs(per: usize, seed: u64) -> (Vec<ThemeInput>, Vec<usize>) {
    let (data, d, labels) = blobs(4, per, 24, 0.12, seed);
    let mut out = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        let w = TOPIC_WORDS[l];
        let text = format!("要加快推进{}和{},推动{}发展。加强{}建设。", w[i % 4], w[(i + 1) % 4], w[(i + 2) % 4], w[(i + 3) % 4]);
        out.push(ThemeInput {
            id: 1000 + i as i64,
            year: if i % 7 == 6 {
                None
            } else if i % 2 == 0 {
                Some(2023)
            } else {
                Some(2024)
            },
            text: text.clone(),
            simplified: text,
            vector: data[i * d..(i + 1) * d].to_vec(),
        });
    }
    (out, labels)
}

/// A theme with the given members and label and neutral other fields, for tests of the
/// over-time and chart code.
pub(crate) fn member_theme(id: u32, label: String, members: Vec<i64>) -> super::Theme {
    super::Theme {
        id,
        label,
        keywords: vec![],
        size: members.len() as u32,
        share: 0.0,
        representatives: vec![],
        members,
        centroid: vec![1.0],
        years: vec![],
        cohesion: 1.0,
    }
}
