//! `simtheme serve --config FILE`: serve settings from a TOML file. Keys are the long option
//! names of `simtheme serve --help` (`listen`, `tls_cert`, `api_key_file`, `data_dir`, ...; `_`
//! or `-`); switches take `true`/`false`. Precedence: flag > environment variable > file >
//! default. The file's settings are handed to the same argument parser as the command line,
//! so they are validated exactly like flags.

use std::ffi::OsString;
use std::path::Path;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};

use super::{Cli, Command};

/// Parses the command line (exiting with clap's message on errors and `--help`), then merges
/// the `--config` file of `serve` under the flags and environment variables.
pub fn parse_cli() -> anyhow::Result<Cli> {
    parse_cli_from(std::env::args_os().collect())
}

/// [`parse_cli`] on an explicit argument vector (program name first).
pub fn parse_cli_from(argv: Vec<OsString>) -> anyhow::Result<Cli> {
    let matches = Cli::command().get_matches_from(argv.clone());
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let Command::Serve(args) = &cli.command else { return Ok(cli) };
    let Some(path) = args.config.clone() else { return Ok(cli) };
    let serve = matches.subcommand_matches("serve").context("serve arguments")?;
    let extra = file_arguments(&path, &matches, serve)?;
    if extra.is_empty() {
        return Ok(cli);
    }
    let mut argv = argv;
    argv.extend(extra);
    Cli::try_parse_from(argv).map_err(|e| anyhow::anyhow!("{} (with the settings of {})", e.to_string().trim(), path.display()))
}

fn explicit(m: &ArgMatches, id: &str) -> bool {
    m.try_contains_id(id).unwrap_or(false) && matches!(m.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable))
}

/// `--name=value` arguments for every file setting not already given by a flag or environment variable.
fn file_arguments(path: &Path, root: &ArgMatches, serve: &ArgMatches) -> anyhow::Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the config file {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let command = Cli::command();
    let serve_command = command.find_subcommand("serve").context("serve subcommand")?;
    let mut out = Vec::new();
    for (key, value) in table {
        let id = key.replace('-', "_");
        let arg = serve_command
            .get_arguments()
            .chain(command.get_arguments())
            .find(|a| a.get_id().as_str() == id && a.get_long().is_some() && id != "config");
        let Some(arg) = arg else {
            anyhow::bail!(
                "{}: unknown setting `{key}`; settings are the long options of `simtheme serve --help` (e.g. listen, data_dir, tls_cert, api_key_file)",
                path.display()
            );
        };
        if explicit(serve, &id) || explicit(root, &id) {
            continue;
        }
        let long = arg.get_long().unwrap_or_default();
        let switch = matches!(arg.get_action(), ArgAction::SetTrue);
        let value = match value {
            toml::Value::Boolean(b) if switch => {
                if b {
                    out.push(OsString::from(format!("--{long}")));
                }
                continue;
            }
            _ if switch => anyhow::bail!("{}: `{key}` is a switch: write `{key} = true` or `false`", path.display()),
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => anyhow::bail!("{}: `{key}` needs a string or a number", path.display()),
        };
        out.push(OsString::from(format!("--{long}={value}")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn file_settings_fill_in_below_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("simtheme.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:6000\"\nno_seed = true\nhttp-listen = \"127.0.0.1:6001\"\nmetrics_listen = \"\"\nqueue_capacity = 9\nthreads = 3\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let cli = parse_cli_from(argv(&["simtheme", "serve", "--config", f, "--queue-capacity", "5"])).unwrap();
        let Command::Serve(a) = &cli.command else { panic!() };
        assert_eq!(a.listen.to_string(), "127.0.0.1:6000");
        assert!(a.no_seed);
        assert_eq!(a.http_listen.as_deref(), Some("127.0.0.1:6001"));
        assert_eq!(a.metrics_listen.as_deref(), Some(""));
        assert_eq!(a.queue.queue_capacity, 5, "the flag wins over the file");
        assert_eq!(cli.threads, 3, "global options come from the file too");
    }

    #[test]
    fn queue_settings_come_from_the_file_and_are_range_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("queue.toml");
        std::fs::write(
            &file,
            "queue_sub_batch_tokens = 512\nqueue-bulk-nice = 3\nqueue_bulk_pause_ms = 0\nqueue_interactive_bytes = 100\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let cli = parse_cli_from(argv(&["simtheme", "serve", "--config", f, "--queue-bulk-pause-ms", "7"])).unwrap();
        let Command::Serve(a) = &cli.command else { panic!() };
        let o = a.queue.options().unwrap();
        assert_eq!((o.sub_batch_tokens, o.bulk_nice, o.interactive_bytes), (512, 3, 100));
        assert_eq!(o.bulk_pause_ms, 7, "the flag wins over the file");
        assert_eq!(o.capacity, crate::embed::QueueOptions::default().capacity, "unset keys keep their default");

        std::fs::write(&file, "queue_bulk_nice = 40\n").unwrap();
        let cli = parse_cli_from(argv(&["simtheme", "serve", "--config", f])).unwrap();
        let Command::Serve(a) = &cli.command else { panic!() };
        let err = a.queue.options().unwrap_err().to_string();
        assert!(err.contains("--queue-bulk-nice 40") && err.contains("`queue_bulk_nice`") && err.contains("0 to 19"), "{err}");
    }

    #[test]
    fn unknown_or_mistyped_settings_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let err = parse_cli_from(argv(&["simtheme", "serve", "--config", file.to_str().unwrap()])).unwrap_err();
        assert!(format!("{err:#}").contains("lisen"), "{err:#}");
        std::fs::write(&file, "no_seed = \"yes\"\n").unwrap();
        let err = parse_cli_from(argv(&["simtheme", "serve", "--config", file.to_str().unwrap()])).unwrap_err();
        assert!(format!("{err:#}").contains("switch"), "{err:#}");
    }
}
