//! `serve` options of the embedding queue (`--queue-*`, `SIMTHEME_QUEUE_*`, or `queue_*` keys of
//! the config file; defaults: [`QueueOptions::default`]),
//! checked against their ranges before the server starts.

use std::fmt::Display;

use crate::embed::QueueOptions;

/// Embedding queue settings; the defaults are [`QueueOptions::default`].
#[derive(Debug, Clone, clap::Args)]
pub struct QueueArgs {
    /// Embedding requests that may wait in each lane (queries, ingestion) before new ones are
    /// refused (RESOURCE_EXHAUSTED).
    #[arg(long, default_value_t = QueueOptions::default().capacity, env = "SIMTHEME_QUEUE_CAPACITY")]
    pub queue_capacity: usize,
    /// Tokens of waiting embedding requests merged into one round (special tokens and prefixes
    /// included; a larger request runs alone).
    #[arg(long, default_value_t = QueueOptions::default().batch_tokens, env = "SIMTHEME_QUEUE_BATCH_TOKENS")]
    pub queue_batch_tokens: usize,
    /// Padded tokens (longest window x windows) of one forward pass of the ingestion lane.
    #[arg(long, default_value_t = QueueOptions::default().sub_batch_tokens, env = "SIMTHEME_QUEUE_SUB_BATCH_TOKENS")]
    pub queue_sub_batch_tokens: usize,
    /// Padded tokens of one forward pass of the ingestion lane while searches run or ran within
    /// the last 200 ms: shorter passes keep searches fast, at the cost of ingestion throughput
    /// under query load (set it to --queue-sub-batch-tokens for the full pass always).
    #[arg(long, default_value_t = QueueOptions::default().query_pass_tokens, env = "SIMTHEME_QUEUE_QUERY_PASS_TOKENS")]
    pub queue_query_pass_tokens: usize,
    /// Requests with at most this many bytes of text take the query lane, larger ones the
    /// ingestion lane, whatever their mode (0: every request takes the ingestion lane).
    #[arg(long, default_value_t = QueueOptions::default().interactive_bytes, env = "SIMTHEME_QUEUE_INTERACTIVE_BYTES")]
    pub queue_interactive_bytes: usize,
    /// Nice value, 0-19, of the ingestion lane's threads (Linux), their only lowering with
    /// `--queue-bulk-scheduling nice`: 10 gives a running query ~90% of the cores it shares
    /// with ingestion; 0 the same priority.
    #[arg(long, default_value_t = QueueOptions::default().bulk_nice, allow_negative_numbers = true, env = "SIMTHEME_QUEUE_BULK_NICE")]
    pub queue_bulk_nice: i32,
    /// How the ingestion lane's threads yield to queries (Linux): `idle` runs them under
    /// SCHED_IDLE, on cores no query wants, preempted at once when one does; `nice` only by
    /// their nice value (--queue-bulk-nice).
    #[arg(long, value_enum, default_value_t = BulkScheduling::Idle, env = "SIMTHEME_QUEUE_BULK_SCHEDULING")]
    pub queue_bulk_scheduling: BulkScheduling,
    /// Longest pause, milliseconds, of the ingestion lane after each step of an encoder layer
    /// while a query round or a search runs (0: never pause).
    #[arg(long, default_value_t = QueueOptions::default().bulk_pause_ms, env = "SIMTHEME_QUEUE_BULK_PAUSE_MS")]
    pub queue_bulk_pause_ms: u64,
}

/// Values of `--queue-bulk-scheduling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BulkScheduling {
    /// SCHED_IDLE plus the nice value (default).
    Idle,
    /// The nice value only.
    Nice,
}

/// Largest accepted `--queue-capacity`.
pub const MAX_QUEUE_CAPACITY: usize = 1_000_000;
/// Largest accepted `--queue-batch-tokens` and `--queue-sub-batch-tokens` (64x the default
/// round: beyond it one round's activations take gigabytes).
pub const MAX_QUEUE_TOKENS: usize = 262_144;
/// Largest accepted `--queue-interactive-bytes` (1 MiB).
pub const MAX_INTERACTIVE_BYTES: usize = 1 << 20;
/// Largest accepted `--queue-bulk-pause-ms`.
pub const MAX_BULK_PAUSE_MS: u64 = 1_000;

/// `value` when it lies in `min..=max`; otherwise an error naming the flag, its config key,
/// the range and `fix`.
fn in_range<T: PartialOrd + Display + Copy>(flag: &str, value: T, min: T, max: T, fix: &str) -> anyhow::Result<T> {
    if value < min || value > max {
        anyhow::bail!("--{flag} {value} is out of range (config key `{}`): use {min} to {max}; {fix}", flag.replace('-', "_"));
    }
    Ok(value)
}

impl QueueArgs {
    /// The queue options these arguments describe, or an error naming the first flag out of
    /// range and how to fix it.
    pub fn options(&self) -> anyhow::Result<QueueOptions> {
        let d = QueueOptions::default();
        Ok(QueueOptions {
            capacity: in_range(
                "queue-capacity",
                self.queue_capacity,
                1,
                MAX_QUEUE_CAPACITY,
                &format!("at least one request must be able to wait (default {})", d.capacity),
            )?,
            batch_tokens: in_range(
                "queue-batch-tokens",
                self.queue_batch_tokens,
                1,
                MAX_QUEUE_TOKENS,
                &format!("larger rounds batch more concurrent requests per model call (default {})", d.batch_tokens),
            )?,
            sub_batch_tokens: in_range(
                "queue-sub-batch-tokens",
                self.queue_sub_batch_tokens,
                1,
                MAX_QUEUE_TOKENS,
                &format!("around 2,048 keeps the matrix products at full speed (default {})", d.sub_batch_tokens),
            )?,
            query_pass_tokens: in_range(
                "queue-query-pass-tokens",
                self.queue_query_pass_tokens,
                1,
                MAX_QUEUE_TOKENS,
                &format!("smaller keeps searches faster during ingestion, larger ingests faster (default {})", d.query_pass_tokens),
            )?,
            interactive_bytes: in_range(
                "queue-interactive-bytes",
                self.queue_interactive_bytes,
                0,
                MAX_INTERACTIVE_BYTES,
                &format!("0 sends every request to the ingestion lane (default {})", d.interactive_bytes),
            )?,
            bulk_nice: in_range(
                "queue-bulk-nice",
                self.queue_bulk_nice,
                0,
                19,
                &format!("0 gives ingestion the priority of queries, 19 the lowest (default {})", d.bulk_nice),
            )?,
            bulk_idle: self.queue_bulk_scheduling == BulkScheduling::Idle,
            bulk_pause_ms: in_range(
                "queue-bulk-pause-ms",
                self.queue_bulk_pause_ms,
                0,
                MAX_BULK_PAUSE_MS,
                &format!("0 never pauses ingestion for queries (default {})", d.bulk_pause_ms),
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        queue: QueueArgs,
    }

    fn options(args: &[&str]) -> anyhow::Result<QueueOptions> {
        let argv = std::iter::once("t").chain(args.iter().copied());
        Args::try_parse_from(argv).map_err(|e| anyhow::anyhow!("{e}"))?.queue.options()
    }

    #[test]
    fn defaults_are_the_queue_defaults() {
        let o = options(&[]).unwrap();
        let d = QueueOptions::default();
        assert_eq!(
            (o.capacity, o.batch_tokens, o.sub_batch_tokens, o.interactive_bytes, o.bulk_nice, o.bulk_idle, o.bulk_pause_ms),
            (d.capacity, d.batch_tokens, d.sub_batch_tokens, d.interactive_bytes, d.bulk_nice, d.bulk_idle, d.bulk_pause_ms)
        );
    }

    #[test]
    fn every_flag_reaches_its_option() {
        let o = options(&[
            "--queue-capacity=9",
            "--queue-batch-tokens=1000",
            "--queue-sub-batch-tokens=512",
            "--queue-query-pass-tokens=128",
            "--queue-interactive-bytes=0",
            "--queue-bulk-nice=0",
            "--queue-bulk-scheduling=nice",
            "--queue-bulk-pause-ms=5",
        ])
        .unwrap();
        assert_eq!(
            (o.capacity, o.batch_tokens, o.sub_batch_tokens, o.interactive_bytes, o.bulk_nice, o.bulk_idle, o.bulk_pause_ms),
            (9, 1000, 512, 0, 0, false, 5)
        );
        assert_eq!((o.query_pass_tokens, options(&[]).unwrap().query_pass_tokens), (128, QueueOptions::default().query_pass_tokens));
        assert!(options(&[]).unwrap().bulk_idle, "SCHED_IDLE by default");
        assert!(options(&["--queue-bulk-scheduling", "fifo"]).unwrap_err().to_string().contains("idle"));
        let edge = options(&["--queue-bulk-nice", "19", "--queue-bulk-pause-ms", "1000", "--queue-capacity", "1"]).unwrap();
        assert_eq!((edge.bulk_nice, edge.bulk_pause_ms, edge.capacity), (19, 1000, 1));
    }

    #[test]
    fn out_of_range_values_name_the_flag_the_key_and_the_range() {
        for (args, flag, range) in [
            (&["--queue-capacity=0"][..], "--queue-capacity 0", "1 to 1000000"),
            (&["--queue-batch-tokens=0"], "--queue-batch-tokens 0", "1 to 262144"),
            (&["--queue-sub-batch-tokens=300000"], "--queue-sub-batch-tokens 300000", "1 to 262144"),
            (&["--queue-interactive-bytes=2000000"], "--queue-interactive-bytes 2000000", "0 to 1048576"),
            (&["--queue-bulk-nice=20"], "--queue-bulk-nice 20", "0 to 19"),
            (&["--queue-bulk-nice", "-1"], "--queue-bulk-nice -1", "0 to 19"),
            (&["--queue-bulk-pause-ms=1001"], "--queue-bulk-pause-ms 1001", "0 to 1000"),
        ] {
            let err = options(args).unwrap_err().to_string();
            assert!(err.contains(flag) && err.contains(range), "{args:?}: {err}");
            let key = flag.trim_start_matches("--").split(' ').next().unwrap().replace('-', "_");
            assert!(err.contains(&format!("`{key}`")) && err.contains("default"), "{err}");
        }
    }

    #[test]
    fn values_that_are_not_numbers_are_refused_by_the_parser() {
        let err = options(&["--queue-bulk-pause-ms=soon"]).unwrap_err().to_string();
        assert!(err.contains("--queue-bulk-pause-ms"), "{err}");
    }
}
