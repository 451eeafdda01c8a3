//! Theme quality on the seeds with simtheme's own embedder: the hand-labelled paragraphs of
//! `tests/fixtures/theme_labels.json` are located in the cleaned, segmented seeds, embedded
//! (paragraph vector = normalised mean of its chunk vectors), clustered with each method and
//! scored against the human labels (NMI, ARI). Also prints the themes of the whole seed corpus.
//!
//!     cargo bench --bench themes_quality

use std::collections::HashSet;
use std::path::Path;

use simtheme::corpus::{prepare_document, DocumentMeta, SegmentConfig};
use simtheme::embed::{normalize, Embedder, EmbedderConfig, Mode};
use simtheme::themes::{cluster_themes, evaluate_labelled, Method, Selection, ThemeInput, ThemeParams};

#[derive(serde::Deserialize)]
struct Label {
    doc: String,
    substring: String,
    label: String,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let labels: Vec<Label> =
        serde_json::from_str(&std::fs::read_to_string(root.join("tests/fixtures/theme_labels.json")).unwrap()).unwrap();
    let e = Embedder::load(&EmbedderConfig::default()).unwrap();
    let mut all = Vec::new();
    let mut names = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root.join("seeds")).unwrap().map(|f| f.unwrap().path()).collect();
    files.sort();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let doc =
            prepare_document(&std::fs::read_to_string(f).unwrap(), &name, &DocumentMeta::default(), &SegmentConfig::default()).unwrap();
        for p in doc.paragraphs {
            let chunks: Vec<&str> = p.chunks.iter().map(|c| c.text.as_str()).collect();
            let mut v = vec![0f32; e.dim()];
            for c in e.embed(&chunks, Mode::Passage).unwrap() {
                v.iter_mut().zip(&c.vector).for_each(|(a, b)| *a += b);
            }
            normalize(&mut v);
            let id = all.len() as i64;
            all.push(ThemeInput { id, year: doc.year, text: p.text, simplified: p.simplified, vector: v });
            names.push(name.clone());
        }
    }
    let mut inputs = Vec::new();
    let mut truth = Vec::new();
    let mut used = HashSet::new();
    let mut missing = 0;
    for l in &labels {
        match (0..all.len()).find(|&i| names[i] == l.doc && all[i].text.contains(&l.substring)) {
            Some(i) if used.insert(i) => {
                inputs.push(all[i].clone());
                truth.push(l.label.clone());
            }
            Some(_) => {}
            None => missing += 1,
        }
    }
    let n_labels: HashSet<&String> = truth.iter().collect();
    println!(
        "{} labelled paragraphs located ({} labels; {missing} substrings not found, {} shared a paragraph)",
        inputs.len(),
        n_labels.len(),
        labels.len() - inputs.len() - missing
    );
    println!("{:<44} {:>6} {:>6} {:>7} {:>9}", "method", "NMI", "ARI", "themes", "outliers");
    let configs: Vec<(String, ThemeParams)> = vec![
        ("agglomerative, relative cut, min 3 (default)".into(), ThemeParams::default()),
        ("agglomerative, relative cut, min 2".into(), ThemeParams { min_theme_size: 2, ..Default::default() }),
        ("agglomerative, silhouette, min 3".into(), ThemeParams { selection: Selection::Silhouette, ..Default::default() }),
        ("agglomerative, k = 13".into(), ThemeParams { target_themes: Some(13), ..Default::default() }),
        ("k-means, relative cut, min 3".into(), ThemeParams { method: Method::KMeans, ..Default::default() }),
        ("k-means, silhouette".into(), ThemeParams { method: Method::KMeans, selection: Selection::Silhouette, ..Default::default() }),
        ("k-means, k = 13".into(), ThemeParams { method: Method::KMeans, target_themes: Some(13), ..Default::default() }),
    ];
    for (label, params) in &configs {
        match evaluate_labelled(&inputs, &truth, params) {
            Ok(s) => println!("{label:<44} {:>6.3} {:>6.3} {:>7} {:>9}", s.nmi, s.ari, s.themes, s.outliers),
            Err(err) => println!("{label:<44} error: {err}"),
        }
    }
    let r = cluster_themes(&all, &ThemeParams::default()).unwrap();
    println!("\nwhole seed corpus: {} paragraphs -> {} themes, {} outliers", all.len(), r.themes.len(), r.outliers.len());
    for t in &r.themes {
        println!("  [{}] {} (size {}, cohesion {:.3})", t.id, t.label, t.size, t.cohesion);
    }
}
