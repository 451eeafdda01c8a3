//! Tests of the theme tree ([`super::tree`]).

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tree::{theme_tree, TreeParams};
use super::vecmath::normalize;
use super::{cluster_themes, ThemeInput, ThemeParams};

const D: usize = 48;

fn unit(rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut v: Vec<f32> = (0..D).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
    normalize(&mut v);
    v
}

fn around(c: &[f32], noise: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut v: Vec<f32> = c.iter().map(|&x| x + noise * (rng.random::<f32>() * 2.0 - 1.0)).collect();
    normalize(&mut v);
    v
}

fn mix(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let mut v: Vec<f32> = a.iter().zip(b).map(|(x, y)| (1.0 - t) * x + t * y).collect();
    normalize(&mut v);
    v
}

const ORDINALS: [char; 20] =
    ['甲', '乙', '丙', '丁', '戊', '己', '庚', '辛', '壬', '癸', '子', '丑', '寅', '卯', '辰', '巳', '午', '未', '申', '酉'];
const WORDS: [&str; 9] = ["钢铁", "煤炭", "电力", "小麦", "水稻", "棉花", "学校", "医院", "住房"];

/// 3 broad topics, each with 3 sub-topics of 20 paragraphs: sub-topic = broad centre nudged.
fn nested_inputs(seed: u64) -> (Vec<ThemeInput>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut sub = Vec::new();
    for b in 0..3 {
        let broad = unit(&mut rng);
        for s in 0..3 {
            let centre = mix(&broad, &unit(&mut rng), 0.45);
            for ordinal in ORDINALS.iter().take(20) {
                let w = WORDS[b * 3 + s];
                let text = format!("{w}{w}生产和{w}供应，{ordinal}项。");
                let id = out.len() as i64;
                out.push(ThemeInput {
                    id,
                    year: Some(2000 + (id % 20) as i32),
                    text: text.clone(),
                    simplified: text,
                    vector: around(&centre, 0.08, &mut rng),
                });
                sub.push(b * 3 + s);
            }
        }
    }
    (out, sub)
}

#[test]
fn tree_is_deterministic_and_nests() {
    let (inputs, sub) = nested_inputs(5);
    let params = TreeParams { boilerplate_share: 0.0, ..Default::default() };
    let t1 = theme_tree(&inputs, None, &params).unwrap();
    let t2 = theme_tree(&inputs, None, &params).unwrap();
    assert_eq!(t1, t2);
    assert!(t1.depth() >= 2, "the broad themes must split: depth {}", t1.depth());
    let level0 = t1.level_nodes(0);
    assert!((2..=4).contains(&level0.len()), "{} broad themes", level0.len());
    for n in &t1.nodes {
        assert_eq!(n.theme.id as usize, t1.nodes.iter().position(|m| std::ptr::eq(m, n)).unwrap());
        if let Some(p) = n.parent {
            let parent = &t1.nodes[p as usize];
            assert_eq!(n.level, parent.level + 1);
            assert!(parent.children.contains(&n.theme.id));
            let pm: HashSet<i64> = parent.theme.members.iter().copied().collect();
            assert!(n.theme.members.iter().all(|m| pm.contains(m)), "child {} not inside parent {p}", n.theme.id);
        }
        // children are disjoint
        let mut seen = HashSet::new();
        for &c in &n.children {
            assert!(t1.nodes[c as usize].theme.members.iter().all(|m| seen.insert(*m)));
        }
    }
    // the finest level recovers the nine sub-topics: each node is pure
    let finest = t1.level_nodes(t1.depth() - 1);
    assert!(finest.len() >= 9, "{} finest themes", finest.len());
    for n in finest {
        let s: HashSet<usize> = n.theme.members.iter().map(|&m| sub[m as usize]).collect();
        assert_eq!(s.len(), 1, "finest theme {} mixes sub-topics {s:?}", n.theme.label);
    }
    // a subtree is the node and its descendants
    let root = t1.level_nodes(0)[0].theme.id;
    let st = t1.subtree(root).unwrap();
    assert_eq!(st[0].theme.id, root);
    assert!(st.len() > 1 && st.iter().skip(1).all(|n| n.level > 0));
    assert!(t1.subtree(10_000).is_none());
    // a level is a flat result whose sizes and outliers add up
    let flat = t1.level_result(1);
    let total: u32 = flat.themes.iter().map(|t| t.size).sum::<u32>() + flat.outliers.len() as u32;
    assert_eq!(total, flat.input_count);
    // level 0 is the flat clustering
    let direct = cluster_themes(&inputs, &ThemeParams::default()).unwrap();
    let l0 = t1.level_result(0);
    let a: Vec<&Vec<i64>> = direct.themes.iter().map(|t| &t.members).collect();
    let b: Vec<&Vec<i64>> = l0.themes.iter().map(|t| &t.members).collect();
    assert_eq!(a, b);
}

/// Long paragraphs of five chunks, each chunk from a different general topic; in 24 of the
/// 120 paragraphs one chunk is a sentence about one specific policy instead.
fn multi_topic(seed: u64) -> (Vec<ThemeInput>, Vec<i64>, HashSet<i64>, Vec<ThemeInput>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let common = unit(&mut rng);
    let topics: Vec<Vec<f32>> = (0..8).map(|_| mix(&common, &unit(&mut rng), 0.5)).collect();
    let policy = mix(&common, &unit(&mut rng), 0.5);
    let mut units = Vec::new();
    let mut paragraph_of = Vec::new();
    let mut policy_units = HashSet::new();
    let mut paragraphs = Vec::new();
    for p in 0..120i64 {
        let mut sum = vec![0f32; D];
        let mut text = String::new();
        for c in 0..5usize {
            let is_policy = p % 5 == 0 && c == (p as usize / 5) % 5;
            let t = (p as usize + 3 * c) % 8;
            let (v, s) = if is_policy {
                (around(&policy, 0.15, &mut rng), "实施乡村振兴战略，推进乡村振兴。".to_string())
            } else {
                (around(&topics[t], 0.15, &mut rng), format!("加强{}和{}工作。", WORDS[t], WORDS[(t + 1) % 9]))
            };
            let id = p * 10 + c as i64;
            if is_policy {
                policy_units.insert(id);
            }
            sum.iter_mut().zip(&v).for_each(|(a, b)| *a += b);
            text.push_str(&s);
            units.push(ThemeInput { id, year: Some(1990 + (p % 30) as i32), text: s.clone(), simplified: s, vector: v });
            paragraph_of.push(p);
        }
        normalize(&mut sum);
        paragraphs.push(ThemeInput { id: p, year: Some(1990 + (p % 30) as i32), text: text.clone(), simplified: text, vector: sum });
    }
    (units, paragraph_of, policy_units, paragraphs)
}

#[test]
fn policy_sentence_in_long_paragraphs_gets_its_own_fine_theme() {
    let (units, paragraph_of, policy_units, paragraphs) = multi_topic(9);
    let policy_paragraphs: HashSet<i64> = policy_units.iter().map(|u| u / 10).collect();
    let tree = theme_tree(&units, Some(&paragraph_of), &TreeParams { boilerplate_share: 0.0, ..Default::default() }).unwrap();
    // some node holds (nearly) exactly the policy sentences
    let best = tree.nodes.iter().max_by_key(|n| n.theme.members.iter().filter(|m| policy_units.contains(m)).count()).unwrap();
    let hit = best.theme.members.iter().filter(|m| policy_units.contains(m)).count();
    assert!(hit * 10 >= policy_units.len() * 9, "{hit} of {} policy sentences in one theme", policy_units.len());
    assert!(
        hit * 10 >= best.theme.members.len() * 9,
        "the policy theme has {} members for {hit} policy sentences",
        best.theme.members.len()
    );
    let policy_text = "实施乡村振兴战略，推进乡村振兴。";
    assert!(best.theme.keywords.iter().take(3).all(|k| policy_text.contains(&k.word)), "{:?}", best.theme.keywords);
    // its paragraphs are the policy paragraphs, each with the weight of one chunk in five
    let held: HashSet<i64> = best.paragraphs.iter().map(|w| w.id).collect();
    assert!(held.is_subset(&policy_paragraphs));
    assert!(best.paragraphs.iter().all(|w| w.weight > 0.05 && w.weight < 0.5), "{:?}", best.paragraphs);
    // a paragraph belongs to several themes
    let memberships = tree.level_nodes(tree.depth() - 1).iter().filter(|n| n.paragraphs.iter().any(|w| w.id == 0)).count();
    assert!(memberships >= 3, "paragraph 0 is in {memberships} finest themes");
    // whole-paragraph vectors dilute the policy: no paragraph theme isolates it this well
    let flat = theme_tree(&paragraphs, None, &TreeParams { boilerplate_share: 0.0, ..Default::default() }).unwrap();
    let isolated = flat.nodes.iter().any(|n| {
        let h = n.theme.members.iter().filter(|m| policy_paragraphs.contains(m)).count();
        h * 10 >= policy_paragraphs.len() * 9 && h * 10 >= n.theme.members.len() * 9
    });
    assert!(!isolated, "paragraph-level themes were expected to dilute the policy sentence");
}

#[test]
fn boilerplate_is_kept_out_and_reported() {
    let (mut inputs, _) = nested_inputs(3);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let salutation = unit(&mut rng);
    let mut boiler = Vec::new();
    for y in 0..6 {
        let id = 10_000 + y;
        // the same salutation every year, and a procedural line differing only by its numbers
        let text = format!("各位代表：现在，我代表国务院向大会报告{}年政府工作。", 2000 + y);
        inputs.push(ThemeInput {
            id,
            year: Some(2000 + y as i32),
            text: text.clone(),
            simplified: text,
            vector: around(&salutation, 0.02, &mut rng),
        });
        boiler.push(id);
    }
    // a sentence repeated in two years only is not boilerplate (20 years: the bar is 5)
    for y in 0..2 {
        let text = "坚持计划生育基本国策。".to_string();
        inputs.push(ThemeInput {
            id: 20_000 + y,
            year: Some(2010 + y as i32),
            text: text.clone(),
            simplified: text,
            vector: around(&salutation, 0.3, &mut rng),
        });
    }
    let tree = theme_tree(&inputs, None, &TreeParams::default()).unwrap();
    assert_eq!(tree.boilerplate, boiler);
    assert!(!tree.boilerplate.contains(&20_000));
    assert!(tree.nodes.iter().all(|n| n.theme.members.iter().all(|m| !boiler.contains(m))));
    assert!(tree.level_result(0).outliers.iter().filter(|o| boiler.contains(o)).count() == boiler.len());
    // detection can be switched off: the recurring lines are then clustered
    let kept = theme_tree(&inputs, None, &TreeParams { boilerplate_share: 0.0, ..Default::default() }).unwrap();
    assert!(kept.boilerplate.is_empty());
}

#[test]
fn bad_arguments_are_refused() {
    let (inputs, _) = nested_inputs(1);
    assert!(theme_tree(&[], None, &TreeParams::default()).is_err());
    assert!(theme_tree(&inputs, Some(&[1, 2]), &TreeParams::default()).is_err());
    assert!(theme_tree(&inputs, None, &TreeParams { levels: 0, ..Default::default() }).is_err());
}

/// 30 years of 8 long paragraphs, each five sentences on general topics. In 2012–2017 three
/// paragraphs a year also carry one policy sentence (a direction of its own); in 2000–2005 three
/// paragraphs a year carry a phrase of the time ("新时期") on no topic of its own.
fn era_corpus(seed: u64) -> (Vec<ThemeInput>, HashSet<i64>, HashSet<i64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let common = unit(&mut rng);
    let topics: Vec<Vec<f32>> = (0..9).map(|_| mix(&common, &unit(&mut rng), 0.5)).collect();
    let policy = mix(&common, &unit(&mut rng), 0.5);
    let (mut out, mut policy_ids, mut drift_ids) = (Vec::new(), HashSet::new(), HashSet::new());
    for year in 1990..2020 {
        for k in 0..8usize {
            let id = out.len() as i64;
            let mut sum = vec![0f32; D];
            let mut text = String::new();
            for c in 0..5usize {
                let t = rng.random_range(0..9usize);
                let with_policy = (2012..=2017).contains(&year) && k < 3 && c == 0;
                let with_drift = (2000..=2005).contains(&year) && k < 3 && c == 0;
                let (v, s) = if with_policy {
                    policy_ids.insert(id);
                    (around(&policy, 0.1, &mut rng), "实施乡村振兴战略，推进乡村振兴。".to_string())
                } else {
                    let v = around(&topics[t], 0.1, &mut rng);
                    if with_drift {
                        drift_ids.insert(id);
                        (v, format!("新时期加强{}工作。", WORDS[t % 9]))
                    } else {
                        (v, format!("加强{}和{}工作。", WORDS[t % 9], WORDS[(t + 1) % 9]))
                    }
                };
                sum.iter_mut().zip(&v).for_each(|(a, b)| *a += b);
                text.push_str(&s);
            }
            // an ordinal of its own, so that no paragraph recurs as boilerplate
            text.push_str(&format!("{}{}项。", ORDINALS[id as usize % 20], ORDINALS[(id as usize / 20) % 20]));
            normalize(&mut sum);
            out.push(ThemeInput { id, year: Some(year), text: text.clone(), simplified: text, vector: sum });
        }
    }
    (out, policy_ids, drift_ids)
}

#[test]
fn an_era_bound_policy_named_in_passing_gets_its_own_policy_theme() {
    let (inputs, policy_ids, drift_ids) = era_corpus(5);
    let tree = theme_tree(&inputs, None, &TreeParams::default()).unwrap();
    let found: Vec<_> = tree.policies.iter().filter(|p| p.terms.iter().any(|t| t.contains("乡村振兴"))).collect();
    assert_eq!(found.len(), 1, "one policy theme for the policy: {:?}", tree.policies.iter().map(|p| &p.terms).collect::<Vec<_>>());
    let p = found[0];
    let members: HashSet<i64> = p.theme.members.iter().copied().collect();
    assert_eq!(members, policy_ids, "exactly the paragraphs naming it");
    assert!(p.first_year >= 2012 && p.last_year <= 2017 && (p.first_year..=p.last_year).contains(&p.peak_year), "{p:?}");
    assert!(p.coherence >= 0.12);
    assert!(p.paragraphs.iter().all(|w| w.weight == 1.0));
    // the broad theme named is a level-0 node holding some of its paragraphs
    let broad = &tree.nodes[p.broad_theme.expect("a broad theme") as usize];
    assert_eq!(broad.level, 0);
    assert!(broad.theme.members.iter().any(|m| policy_ids.contains(m)));
    // the phrase of the time is on no topic: no policy theme holds its paragraphs
    assert!(
        tree.policies.iter().all(|q| q.theme.members.iter().filter(|m| drift_ids.contains(m)).count() * 2 < drift_ids.len()),
        "{:?}",
        tree.policies.iter().map(|p| &p.terms).collect::<Vec<_>>()
    );
    // words of every year are no policy
    assert!(tree.policies.iter().all(|q| q.terms.iter().all(|t| !WORDS.iter().any(|w| t == w))));
    // and the same input gives the same policies
    assert_eq!(theme_tree(&inputs, None, &TreeParams::default()).unwrap().policies, tree.policies);
}

#[test]
fn short_corpora_have_no_policy_themes() {
    let (inputs, _, _) = era_corpus(5);
    let recent: Vec<ThemeInput> = inputs.into_iter().filter(|i| i.year.is_some_and(|y| y >= 2013)).collect();
    assert!(theme_tree(&recent, None, &TreeParams::default()).unwrap().policies.is_empty(), "7 years are too few for eras");
}
