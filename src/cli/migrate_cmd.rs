//! `simtheme migrate`: copies the corpus of one backend (the source: `--backend`, `--data-dir`,
//! `--qdrant-url`, `--collection`; by default the embedded store of `--data-dir`) into another
//! (`--to-qdrant URL [--to-collection NAME]` or `--to-data-dir DIR`) with its vectors: nothing is
//! embedded again, and a Qdrant target keeps the paragraph ids. Both sides go through the
//! [`Backend`] trait: pages of whole documents read from the source, the normal write path on
//! the target. Resumable: a document already in the target is skipped, so an interrupted run is
//! simply run again. Ends by comparing the counts of both sides.

use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::{self, BackendConfig, EmbeddedConfig};
use crate::config::Config;

/// Documents read from the source per page.
const PAGE: usize = 200;

/// Where `simtheme migrate` copies to.
#[derive(Debug, Clone, Copy)]
pub struct MigrateTarget<'a> {
    /// A Qdrant server: its gRPC URL.
    pub qdrant_url: Option<&'a str>,
    /// The collection there (default: `--collection`).
    pub collection: Option<&'a str>,
    /// An embedded store in this directory.
    pub data_dir: Option<&'a Path>,
}

/// Copies every document of `config.backend` into the target; prints a summary.
pub fn run_migrate(config: Config, storage: &super::BackendArgs, target: MigrateTarget<'_>) -> anyhow::Result<()> {
    let target_config = match (target.qdrant_url, target.data_dir) {
        (Some(url), None) => BackendConfig::Qdrant(storage.qdrant_settings(url, target.collection.unwrap_or(&storage.collection))),
        (None, Some(dir)) => {
            let index = config.backend.as_embedded().map(|c| c.index).unwrap_or_default();
            BackendConfig::Embedded(EmbeddedConfig { data_dir: dir.to_path_buf(), index, ..EmbeddedConfig::default() })
        }
        _ => anyhow::bail!("name one target: --to-qdrant URL (with --to-collection) or --to-data-dir DIR"),
    };
    if same_place(&config.backend, &target_config) {
        anyhow::bail!("the source and the target are the same; name another --to-collection or --to-data-dir");
    }
    let runtime = super::runtime()?;
    let source_name = describe(&config.backend);
    let target_name = describe(&target_config);
    let (model, dim) = runtime
        .block_on(backend::stored_model(&config.backend))?
        .ok_or_else(|| anyhow::anyhow!("{source_name} holds no vectors: nothing to migrate"))?;
    let source = runtime.block_on(backend::open(&config.backend, &model, dim)).with_context(|| format!("opening {source_name}"))?;
    let target = runtime.block_on(backend::open(&target_config, &model, dim)).with_context(|| format!("opening {target_name}"))?;
    let stats = runtime.block_on(source.stats())?.store;
    let bar = ProgressBar::new(stats.documents);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} documents, {msg} [{elapsed_precise}, eta {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut copied, mut skipped) = (0u64, 0u64);
    let mut after: Option<String> = None;
    loop {
        let page = runtime.block_on(source.list_documents(after.clone(), PAGE))?;
        let Some(last) = page.last() else { break };
        let ids: Vec<String> = page.iter().map(|d| d.id.clone()).collect();
        let missing = runtime.block_on(target.missing_documents(&ids))?;
        skipped += (ids.len() - missing.len()) as u64;
        bar.inc((ids.len() - missing.len()) as u64);
        // Only pages with documents the target lacks are read whole (vectors included).
        if !missing.is_empty() {
            let missing: std::collections::HashSet<String> = missing.into_iter().collect();
            for e in runtime.block_on(source.export_documents(after.clone(), PAGE))? {
                if missing.contains(&e.document.id) {
                    let id = e.document.id.clone();
                    runtime.block_on(target.put_exported(e)).with_context(|| format!("document {id}"))?;
                    copied += 1;
                    bar.inc(1);
                }
            }
        }
        bar.set_message(format!("{copied} copied, {skipped} already there"));
        after = Some(last.id.clone());
    }
    bar.finish_and_clear();
    runtime.block_on(target.checkpoint())?;
    let target_stats = runtime.block_on(target.stats())?.store;
    println!("{copied} documents copied, {skipped} already in {target_name}");
    println!("{:<12} {:>10} {:>10}", "", config.backend.kind(), target_config.kind());
    let rows = [
        ("documents", stats.documents, target_stats.documents),
        ("paragraphs", stats.paragraphs, target_stats.paragraphs),
        ("chunks", stats.chunks, target_stats.chunks),
        ("duplicates", stats.duplicates, target_stats.duplicates),
    ];
    for (name, a, b) in rows {
        println!("{name:<12} {a:>10} {b:>10}");
    }
    if rows.iter().any(|(_, a, b)| b < a) {
        anyhow::bail!("the target holds less than the source; run migrate again to resume");
    }
    if rows.iter().any(|(_, a, b)| b > a) {
        println!("note: the target also holds documents that are not in the source");
    }
    Ok(())
}

/// True when both configurations name the same data directory or the same collection.
fn same_place(a: &BackendConfig, b: &BackendConfig) -> bool {
    match (a, b) {
        (BackendConfig::Embedded(x), BackendConfig::Embedded(y)) => x.data_dir == y.data_dir,
        (BackendConfig::Qdrant(x), BackendConfig::Qdrant(y)) => x.url == y.url && x.collection == y.collection,
        _ => false,
    }
}

fn describe(c: &BackendConfig) -> String {
    match c {
        BackendConfig::Embedded(e) => format!("the store in {}", e.data_dir.display()),
        BackendConfig::Qdrant(q) => format!("collection '{}' at {}", q.collection, q.url),
    }
}
