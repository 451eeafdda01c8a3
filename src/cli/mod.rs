//! Command-line interface: argument parsing, and one function per command. Every command
//! goes through the same library calls as the gRPC service.

mod backend_args;
mod backup_cmd;
mod compare_cmd;
mod config_file;
mod embed_cmds;
mod glossary_cmd;
mod ingest_cmd;
mod ingest_rows;
mod limit_args;
mod migrate_cmd;
mod queue_args;
mod reuse_cmd;
mod serve_cmd;
mod themes_cmd;
mod tree_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::backend::BackendConfig;
use crate::config::Config;

pub use backend_args::{BackendArgs, BackendKind};
pub use backup_cmd::{run_backup, run_restore};
pub use compare_cmd::run_compare;
pub use config_file::{parse_cli, parse_cli_from};
pub use embed_cmds::{run_embed, run_similarity};
pub use glossary_cmd::run_glossary;
pub use ingest_cmd::{run_ingest, IngestTotals};
pub use ingest_rows::{read_csv, read_jsonl, IngestArgs, RowDocument, Rows};
pub use limit_args::LimitArgs;
pub use migrate_cmd::{run_migrate, MigrateTarget};
pub use queue_args::QueueArgs;
pub use reuse_cmd::{parse_period, run_reuse, ReuseArgs, ReuseFormat};
pub use serve_cmd::{run_serve, ServeArgs};
pub use themes_cmd::{run_over_time, run_themes, Chart, Format, OutputArgs, ThemeArgs, TimeArgs};
pub use tree_cmd::{run_theme_tree, ZoomArgs};

/// simtheme: semantic similarity and themes of paragraphs.
#[derive(Debug, Parser)]
#[command(name = "simtheme", version, about)]
pub struct Cli {
    /// Model: a local directory (config.json, tokenizer.json, model.safetensors|model.gguf)
    /// or a Hugging Face repo id. Default: the model shipped in models/.
    #[arg(long, global = true, env = "SIMTHEME_MODEL")]
    pub model: Option<String>,
    /// Inference threads (0 = all cores).
    #[arg(long, global = true, default_value_t = Config::default().embedder.threads, env = "SIMTHEME_THREADS")]
    pub threads: usize,
    /// Run a GGUF model's weights expanded to f32 (candle-transformers' BERT) instead of
    /// the quantised encoder: slower and ~420 MB larger; for comparison.
    #[arg(long, global = true, env = "SIMTHEME_DEQUANTIZE")]
    pub dequantize: bool,
    /// Data directory (SQLite store and index dump).
    #[arg(long, global = true, default_value_os_t = crate::backend::EmbeddedConfig::default().data_dir, env = "SIMTHEME_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Extra user dictionary for jieba (keyword search and theme labels), added to the shipped
    /// policy terms: one `word [frequency [tag]]` per line, `#` comments. Changing it makes
    /// the keyword index rebuild itself at the next start.
    #[arg(long, global = true, env = "SIMTHEME_USER_DICT")]
    pub user_dict: Option<PathBuf>,
    /// Request limits (`--max-k`, `--max-document-bytes`, ...).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; `serve` simply has many options
pub enum Command {
    /// Run the gRPC server (ingests the shipped seeds first when the data directory is empty).
    Serve(ServeArgs),
    /// Ingest files and directories (.txt, .md, .html pages; .csv, .jsonl tables with one
    /// document per row) into the backend (by default the embedded store of --data-dir).
    Ingest {
        /// Files or directories (searched recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Tags, date and CSV/JSONL columns.
        #[command(flatten)]
        args: IngestArgs,
        /// Storage backend and its settings.
        #[command(flatten)]
        storage: BackendArgs,
    },
    /// Cluster the stored paragraphs into labelled themes: one row per theme with when it
    /// first appears, peaks and fades.
    Themes {
        /// Which paragraphs and how to cluster them.
        #[command(flatten)]
        args: ThemeArgs,
        /// Output format.
        #[command(flatten)]
        out: OutputArgs,
        /// Buckets and presence threshold of the life cycle (first, peak, fade).
        #[command(flatten)]
        time: TimeArgs,
        /// Also draw theme shares over time into this SVG file.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Chart drawn by --plot: lines (one per theme, the 10 largest), a heatmap (themes ×
        /// years), or auto (lines up to 12 yearly columns, else the heatmap).
        #[arg(long, value_enum, default_value_t = Chart::Auto)]
        chart: Chart,
        /// Storage backend and its settings.
        #[command(flatten)]
        storage: BackendArgs,
        /// Themes at every zoom: --tree, --level N, --subtree ID.
        #[command(flatten)]
        zoom: ZoomArgs,
    },
    /// Themes over time: per theme its first, peak and fade year (or bucket) and its share per
    /// bucket; CSV/JSON give one row per theme and bucket.
    ThemesOverTime {
        /// Which paragraphs and how to cluster them.
        #[command(flatten)]
        args: ThemeArgs,
        /// Output format.
        #[command(flatten)]
        out: OutputArgs,
        /// Buckets and presence threshold.
        #[command(flatten)]
        time: TimeArgs,
        /// Also draw the heatmap (themes ordered by peak × buckets) into this SVG file.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Storage backend and its settings.
        #[command(flatten)]
        storage: BackendArgs,
    },
    /// Compare the themes of two years or periods side by side: `2023 2024`, or
    /// `2013-2017 2018-2024` (inclusive, disjoint). Shares are of each period's paragraphs.
    #[command(visible_alias = "compare-periods")]
    CompareYears {
        /// First year or period, e.g. 2019 or 2013-2017.
        period_a: String,
        /// Second year or period.
        period_b: String,
        /// Which paragraphs and how to cluster them (default: all, as `simtheme themes`).
        #[command(flatten)]
        args: ThemeArgs,
        /// Output format.
        #[command(flatten)]
        out: OutputArgs,
        /// Storage backend and its settings.
        #[command(flatten)]
        storage: BackendArgs,
    },
    /// Text reuse between two documents, years or periods: which paragraphs were carried over
    /// verbatim, edited (with a diff), rewritten, dropped or new.
    Reuse {
        /// The two sides, thresholds and output format.
        #[command(flatten)]
        args: ReuseArgs,
        /// Storage backend and its settings.
        #[command(flatten)]
        storage: BackendArgs,
    },
    /// Print the embedding vector of each TEXT.
    Embed {
        /// Embed as queries (`query: ` prefix) instead of passages (`passage: `).
        #[arg(long)]
        query: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Texts to embed.
        #[arg(required = true)]
        texts: Vec<String>,
    },
    /// Copy the corpus of the source backend (by default the embedded store of --data-dir) into
    /// a Qdrant collection (--to-qdrant) or an embedded store (--to-data-dir): vectors included,
    /// nothing re-embedded, paragraph ids kept in Qdrant. Resumable: run it again after an
    /// interruption.
    Migrate {
        /// Target: gRPC URL of a Qdrant server, e.g. http://127.0.0.1:6334.
        #[arg(long, conflicts_with = "to_data_dir", required_unless_present = "to_data_dir")]
        to_qdrant: Option<String>,
        /// Target collection on --to-qdrant (default: --collection).
        #[arg(long)]
        to_collection: Option<String>,
        /// Target: an embedded store in this directory.
        #[arg(long)]
        to_data_dir: Option<PathBuf>,
        /// The source backend, and the Qdrant settings of the target (API key, shards,
        /// replication factor, timeout).
        #[command(flatten)]
        storage: BackendArgs,
    },
    /// Take a consistent copy of the corpus while a server keeps writing to it. Embedded backend:
    /// the database of --data-dir into --to DIR, with a manifest (counts, SHA-256). Qdrant
    /// backend: a collection snapshot on the Qdrant node (--list lists them).
    Backup {
        /// Directory to write the backup into (embedded backend); created, must not hold one.
        #[arg(long)]
        to: Option<PathBuf>,
        /// Qdrant backend: list the collection's snapshots instead of taking one.
        #[arg(long)]
        list: bool,
        /// The backend to back up.
        #[command(flatten)]
        storage: BackendArgs,
    },
    /// Check a backup made by `simtheme backup` (manifest, SHA-256, SQLite integrity, counts) and
    /// install it as the corpus of --data-dir; stop the server on that directory first. The
    /// vector and keyword indexes are rebuilt at the next start.
    Restore {
        /// The backup directory.
        #[arg(long)]
        from: PathBuf,
        /// Replace the corpus --data-dir already holds (kept as simtheme.sqlite3.before-restore).
        #[arg(long)]
        replace: bool,
        /// Only check the backup; install nothing.
        #[arg(long)]
        check: bool,
    },
    /// Check a bilingual glossary file (what `serve --glossary` would load): entries read,
    /// lines skipped with their reasons; with --query, the bridges a query would get.
    Glossary {
        /// The CSV or TSV file (header zh, en, source); none checks the shipped glossary.
        file: Option<PathBuf>,
        /// Show the glossary phrases this query holds and the terms they add.
        #[arg(long)]
        query: Option<String>,
    },
    /// Print the cosine similarity of two texts (both embedded as queries).
    Similarity {
        /// First text.
        text_a: String,
        /// Second text.
        text_b: String,
        /// Embed both as passages instead of queries.
        #[arg(long)]
        passage: bool,
    },
}

/// The async runtime the one-shot commands run the engine on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

impl Cli {
    /// Installs `--user-dict` in the shared segmenter; call before any command runs.
    pub fn install_user_dictionary(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.user_dict {
            crate::keyword::install_user_dictionary(path)?;
        }
        Ok(())
    }

    /// The storage options of the command, if it reads or writes the corpus.
    pub fn storage(&self) -> Option<&BackendArgs> {
        match &self.command {
            Command::Serve(args) => Some(&args.storage),
            Command::Ingest { storage, .. }
            | Command::Themes { storage, .. }
            | Command::ThemesOverTime { storage, .. }
            | Command::CompareYears { storage, .. }
            | Command::Migrate { storage, .. }
            | Command::Backup { storage, .. }
            | Command::Reuse { storage, .. } => Some(storage),
            Command::Embed { .. } | Command::Similarity { .. } | Command::Restore { .. } | Command::Glossary { .. } => None,
        }
    }

    /// The configuration these arguments describe (server-only settings at their defaults):
    /// the command's backend, the embedded one in `--data-dir` by default.
    pub fn config(&self) -> Config {
        let backend = match self.storage() {
            Some(storage) => storage.config(&self.data_dir),
            None => BackendConfig::embedded(&self.data_dir),
        };
        let mut c = Config { backend, ..Config::default() };
        self.limits.apply(&mut c);
        c.embedder.threads = self.threads;
        c.embedder.dequantize = self.dequantize;
        if let Some(m) = &self.model {
            c.embedder.model = m.clone();
        }
        c
    }
}
