//! `simtheme migrate --to-qdrant URL`: copies the embedded store of `--data-dir` into a Qdrant
//! collection with its vectors and paragraph ids (nothing is embedded again). Resumable: a
//! document already in the collection is skipped, so an interrupted run is simply run again.
//! Ends by comparing the counts of both sides.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::qdrant::{MigratedIds, QdrantBackend};
use crate::backend::Backend;
use crate::config::Config;
use crate::store::Store;

/// Documents read from SQLite per page.
const PAGE: usize = 200;

/// Copies every document of the embedded store into the collection; prints a summary.
pub fn run_migrate(config: Config, storage: &super::BackendArgs, to_qdrant: &str, collection: &str) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir).with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
    let stats = store.stats()?;
    let model = stats
        .models
        .iter()
        .max_by_key(|m| m.chunks)
        .ok_or_else(|| anyhow::anyhow!("the store in {} holds no vectors: nothing to migrate", config.data_dir.display()))?
        .clone();
    if stats.models.iter().filter(|m| m.chunks > 0).count() > 1 {
        anyhow::bail!("the store holds vectors of several models; migrate needs one model per collection");
    }
    let runtime = super::runtime()?;
    let settings = storage.qdrant_settings(to_qdrant, collection);
    let qdrant = runtime.block_on(QdrantBackend::open(settings, &model.model_id, model.dim as usize))?;
    let bar = ProgressBar::new(stats.documents);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} documents, {msg} [{elapsed_precise}, eta {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut copied, mut skipped) = (0u64, 0u64);
    let mut after: Option<String> = None;
    loop {
        let page = store.list_documents(after.as_deref(), PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for d in page {
            if runtime.block_on(qdrant.contains_document(&d.id))? {
                skipped += 1;
            } else {
                let e = store.export_document(&d.id)?;
                let ids = MigratedIds { paragraph_ids: e.paragraph_ids, created_at: e.created_at };
                runtime.block_on(qdrant.put_migrated(&e.document, &e.vectors, &ids)).with_context(|| format!("document {}", d.id))?;
                copied += 1;
            }
            bar.set_message(format!("{copied} copied, {skipped} already there"));
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let target = runtime.block_on(qdrant.stats())?.store;
    println!("{copied} documents copied, {skipped} already in collection '{collection}' at {to_qdrant}");
    println!("{:<12} {:>10} {:>10}", "", "embedded", "qdrant");
    let rows = [
        ("documents", stats.documents, target.documents),
        ("paragraphs", stats.paragraphs, target.paragraphs),
        ("chunks", stats.chunks, target.chunks),
        ("duplicates", stats.duplicates, target.duplicates),
    ];
    for (name, a, b) in rows {
        println!("{name:<12} {a:>10} {b:>10}");
    }
    if rows.iter().any(|(_, a, b)| b < a) {
        anyhow::bail!("the collection holds less than the store; run migrate again to resume");
    }
    if rows.iter().any(|(_, a, b)| b > a) {
        println!("note: the collection also holds documents that are not in this store");
    }
    Ok(())
}
