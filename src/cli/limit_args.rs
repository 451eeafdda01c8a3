//! The request limits of [`Config`] as options of every command (`--max-k`, ... or
//! `SIMTHEME_MAX_K`, ..., or `max_k` keys of the `serve --config` file). Their defaults are
//! those of [`Config::default`]; each error a limit causes names its option.

use crate::config::Config;

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a whole number: {e}")),
    }
}

/// Limits on what one request may ask for.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Largest `k` of a NearestParagraphs call.
    #[arg(long, global = true, env = "SIMTHEME_MAX_K", value_parser = at_least_one, default_value_t = Config::default().max_k)]
    pub max_k: usize,
    /// Largest document accepted, bytes of UTF-8 (AddDocuments, StreamDocuments, `simtheme ingest`).
    #[arg(long, global = true, env = "SIMTHEME_MAX_DOCUMENT_BYTES", value_parser = at_least_one, default_value_t = Config::default().max_document_bytes)]
    pub max_document_bytes: usize,
    /// Documents per AddDocuments call (a StreamDocuments stream: 100 times as many).
    #[arg(long, global = true, env = "SIMTHEME_MAX_DOCUMENTS_PER_REQUEST", value_parser = at_least_one, default_value_t = Config::default().max_documents_per_request)]
    pub max_documents_per_request: usize,
    /// Texts per Embed call.
    #[arg(long, global = true, env = "SIMTHEME_MAX_EMBED_TEXTS", value_parser = at_least_one, default_value_t = Config::default().max_embed_texts)]
    pub max_embed_texts: usize,
    /// Characters of one Embed text.
    #[arg(long, global = true, env = "SIMTHEME_MAX_EMBED_CHARS", value_parser = at_least_one, default_value_t = Config::default().max_embed_chars)]
    pub max_embed_chars: usize,
    /// Characters of a query text (NearestParagraphs, Similarity, AssignTheme).
    #[arg(long, global = true, env = "SIMTHEME_MAX_QUERY_CHARS", value_parser = at_least_one, default_value_t = Config::default().max_query_chars)]
    pub max_query_chars: usize,
    /// Most paragraphs a themes computation clusters; above, a fixed deterministic sample of
    /// this many.
    #[arg(long, global = true, env = "SIMTHEME_MAX_THEME_PARAGRAPHS", value_parser = at_least_one, default_value_t = Config::default().max_theme_paragraphs)]
    pub max_theme_paragraphs: usize,
    /// Most paragraphs one side of a reuse comparison may hold (`simtheme reuse`).
    #[arg(long, global = true, env = "SIMTHEME_MAX_REUSE_PARAGRAPHS", value_parser = at_least_one, default_value_t = Config::default().max_reuse_paragraphs)]
    pub max_reuse_paragraphs: usize,
}

impl LimitArgs {
    /// Sets the limits of `config`.
    pub fn apply(&self, config: &mut Config) {
        config.max_k = self.max_k;
        config.max_document_bytes = self.max_document_bytes;
        config.max_documents_per_request = self.max_documents_per_request;
        config.max_embed_texts = self.max_embed_texts;
        config.max_embed_chars = self.max_embed_chars;
        config.max_query_chars = self.max_query_chars;
        config.max_theme_paragraphs = self.max_theme_paragraphs;
        config.max_reuse_paragraphs = self.max_reuse_paragraphs;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        limits: LimitArgs,
    }

    fn config(args: &[&str]) -> Result<Config, String> {
        let argv = std::iter::once("t").chain(args.iter().copied());
        let a = Args::try_parse_from(argv).map_err(|e| e.to_string())?;
        let mut c = Config::default();
        a.limits.apply(&mut c);
        Ok(c)
    }

    #[test]
    fn defaults_are_the_config_defaults_and_every_flag_reaches_its_limit() {
        let (c, d) = (config(&[]).unwrap(), Config::default());
        assert_eq!(
            (
                c.max_k,
                c.max_document_bytes,
                c.max_documents_per_request,
                c.max_embed_texts,
                c.max_embed_chars,
                c.max_query_chars,
                c.max_theme_paragraphs
            ),
            (
                d.max_k,
                d.max_document_bytes,
                d.max_documents_per_request,
                d.max_embed_texts,
                d.max_embed_chars,
                d.max_query_chars,
                d.max_theme_paragraphs
            )
        );
        let c = config(&[
            "--max-k=7",
            "--max-document-bytes=1000",
            "--max-documents-per-request=2",
            "--max-embed-texts=3",
            "--max-embed-chars=40",
            "--max-query-chars=50",
            "--max-theme-paragraphs=60",
            "--max-reuse-paragraphs=70",
        ])
        .unwrap();
        assert_eq!((config(&[]).unwrap().max_reuse_paragraphs, c.max_reuse_paragraphs), (d.max_reuse_paragraphs, 70));
        assert_eq!(
            (
                c.max_k,
                c.max_document_bytes,
                c.max_documents_per_request,
                c.max_embed_texts,
                c.max_embed_chars,
                c.max_query_chars,
                c.max_theme_paragraphs
            ),
            (7, 1000, 2, 3, 40, 50, 60)
        );
        let err = config(&["--max-k=0"]).unwrap_err();
        assert!(err.contains("--max-k") && err.contains("at least 1"), "{err}");
    }
}
