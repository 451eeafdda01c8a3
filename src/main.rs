//! The `simtheme` binary: parses arguments and hands over to the library.

use clap::Parser;
use simtheme::cli::{run_compare_years, run_embed, run_ingest, run_migrate, run_serve, run_similarity, run_themes, Cli, Command};

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SIMTHEME_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    cli.install_user_dictionary()?;
    match &cli.command {
        Command::Serve(args) => run_serve(cli.config(), args.clone()),
        Command::Ingest { paths, tags } => run_ingest(cli.config(), paths, tags),
        Command::Themes { args, json, plot } => run_themes(cli.config(), args, *json, plot.clone()),
        Command::CompareYears { year_a, year_b, args, json } => run_compare_years(cli.config(), args, *year_a, *year_b, *json),
        Command::Embed { query, json, texts } => run_embed(&cli.config().embedder, texts, *query, *json),
        Command::Migrate { to_qdrant, storage } => run_migrate(cli.config(), storage, to_qdrant, &storage.collection),
        Command::Similarity { text_a, text_b, passage } => run_similarity(&cli.config().embedder, text_a, text_b, *passage),
    }
}
