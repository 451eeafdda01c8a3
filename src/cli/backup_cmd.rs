//! `simtheme backup` and `simtheme restore`. Embedded backend: a consistent online copy of the
//! SQLite database of `--data-dir` with a manifest ([`crate::backend::embedded::backup`]), and
//! its checked installation. Qdrant backend: collection snapshots taken and listed through
//! Qdrant's API.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::backend::embedded::backup::{self, Manifest};
use crate::backend::qdrant::snapshots;
use crate::backend::BackendConfig;
use crate::config::Config;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn summary(m: &Manifest) -> String {
    format!(
        "{} documents, {} paragraphs, {} chunks (corpus version {}), {}, SHA-256 {}…",
        m.documents,
        m.paragraphs,
        m.chunks,
        m.corpus_version,
        mib(m.bytes),
        &m.sha256[..12]
    )
}

/// Takes a backup (embedded: into `to`; Qdrant: a snapshot) or lists the Qdrant snapshots.
pub fn run_backup(config: &Config, to: Option<&Path>, list: bool) -> anyhow::Result<()> {
    match &config.backend {
        BackendConfig::Embedded(e) => {
            anyhow::ensure!(!list, "--list lists Qdrant snapshots; an embedded backup is a directory (look inside it)");
            let to = to.context("give --to DIR: the directory to write the backup into (it must not hold one)")?;
            let started = Instant::now();
            let m = backup::backup(&e.data_dir, to)?;
            println!(
                "backed up {} into {}: {} in {:.1} s",
                e.data_dir.display(),
                to.display(),
                summary(&m),
                started.elapsed().as_secs_f64()
            );
            println!("restore it with: simtheme --data-dir NEW_DIR restore --from {}", to.display());
            Ok(())
        }
        BackendConfig::Qdrant(q) => {
            anyhow::ensure!(to.is_none(), "--to is for the embedded backend; Qdrant keeps its snapshots on the node (see --list)");
            let runtime = super::runtime()?;
            if list {
                let all = runtime.block_on(snapshots::list(q))?;
                println!("{} snapshots of collection {} on {}", all.len(), q.collection, q.url);
                for s in all {
                    println!("{}\t{}\t{}", s.name, mib(s.bytes), s.sha256.unwrap_or_default());
                }
            } else {
                let s = runtime.block_on(snapshots::create(q))?;
                println!("snapshot {} of collection {} on {}: {}", s.name, q.collection, q.url, mib(s.bytes));
            }
            Ok(())
        }
    }
}

/// Checks the backup in `from` and, unless `check_only`, installs it as the corpus of `data_dir`.
pub fn run_restore(data_dir: &Path, from: &Path, replace: bool, check_only: bool) -> anyhow::Result<()> {
    if check_only {
        let m = backup::verify(from)?;
        println!("{} is a sound backup: {}", from.display(), summary(&m));
        return Ok(());
    }
    let m = backup::restore(from, data_dir, replace)?;
    println!("restored {} into {}: {}", from.display(), data_dir.display(), summary(&m));
    println!("the vector and keyword indexes are rebuilt from the stored vectors at the next start (nothing is re-embedded)");
    Ok(())
}
