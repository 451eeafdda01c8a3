//! The `simtheme` binary: parses arguments (and `serve --config FILE`), sets up logging and
//! hands over to the library.

use simtheme::cli::{
    parse_cli, run_backup, run_compare, run_embed, run_glossary, run_ingest, run_migrate, run_over_time, run_restore, run_reuse, run_serve,
    run_similarity, run_theme_tree, run_themes, Command, MigrateTarget,
};
use simtheme::config::LogFormat;

fn main() -> anyhow::Result<()> {
    simtheme::memory::limit_malloc_arenas();
    let cli = parse_cli()?;
    // `serve` logs one line per request (target simtheme::access) unless SIMTHEME_LOG says otherwise.
    let (default_filter, format) = match &cli.command {
        Command::Serve(args) => ("warn,simtheme::access=info", args.log_format),
        _ => ("warn", LogFormat::Text),
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("SIMTHEME_LOG").unwrap_or_else(|_| default_filter.into());
    // Dependencies' noise that simtheme reports in its own words or that is no fault of the
    // server: rustls warns on every client sending an IP address as SNI; hnsw_rs logs an error
    // for a graph dump of an older build, which the index then rebuilds (and says so).
    let asked = std::env::var("SIMTHEME_LOG").unwrap_or_default();
    for (krate, directive) in [("rustls", "rustls=error"), ("hnsw_rs", "hnsw_rs=off")] {
        if !asked.contains(krate) {
            filter = filter.add_directive(directive.parse()?);
        }
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    cli.install_user_dictionary()?;
    match &cli.command {
        Command::Serve(args) => run_serve(cli.config(), args.clone()),
        Command::Ingest { paths, args, .. } => run_ingest(cli.config(), paths, args),
        Command::Themes { args, out, zoom, time, plot, .. } if zoom.active() => {
            run_theme_tree(cli.config(), args, zoom, out, time, plot.as_deref())
        }
        Command::Themes { args, out, time, plot, chart, .. } => run_themes(cli.config(), args, out, time, plot.clone(), *chart),
        Command::ThemesOverTime { args, out, time, plot, .. } => run_over_time(cli.config(), args, out, time, plot.clone()),
        Command::CompareYears { period_a, period_b, args, out, .. } => run_compare(cli.config(), args, period_a, period_b, out),
        Command::Reuse { args, .. } => run_reuse(cli.config(), args),
        Command::Embed { query, json, texts } => run_embed(&cli.config().embedder, texts, *query, *json),
        Command::Migrate { to_qdrant, to_collection, to_data_dir, storage } => {
            let target =
                MigrateTarget { qdrant_url: to_qdrant.as_deref(), collection: to_collection.as_deref(), data_dir: to_data_dir.as_deref() };
            run_migrate(cli.config(), storage, target)
        }
        Command::Glossary { file, query } => run_glossary(file.as_deref(), query.as_deref()),
        Command::Backup { to, list, .. } => run_backup(&cli.config(), to.as_deref(), *list),
        Command::Restore { from, replace, check } => run_restore(&cli.data_dir, from, *replace, *check),
        Command::Similarity { text_a, text_b, passage } => run_similarity(&cli.config().embedder, text_a, text_b, *passage),
    }
}
