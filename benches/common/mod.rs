//! Helpers shared by the benches: percentiles, the server's and this process's (peak) resident
//! memory, the CPU model, the seed lines,
//! starting the server, the short queries of the gRPC benches, and collecting the latencies of
//! concurrent client tasks.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use rand::rngs::StdRng;
use rand::Rng;

/// Short English and Chinese queries sent by the gRPC load benches.
pub const QUERIES: &[&str] = &[
    "digital transformation of manufacturing",
    "中小企业专精特新",
    "green and low-carbon industry",
    "央企战略性新兴产业布局",
    "how do high-tech zones support innovation?",
    "一带一路国际合作",
    "industrial chain resilience",
    "未来产业 量子信息 人形机器人",
];

/// Starts `bin serve --listen 127.0.0.1:0 ARGS...` (stderr discarded) and waits for its ready
/// line; returns the child and that line.
pub fn start_server<S: AsRef<OsStr>>(bin: impl AsRef<OsStr>, args: impl IntoIterator<Item = S>) -> (Child, String) {
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start simtheme");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (child, line)
}

/// The gRPC address of a ready line (`simtheme ready on ADDR (...)`).
pub fn ready_addr(line: &str) -> String {
    line.trim().strip_prefix("simtheme ready on ").expect("ready line").split_whitespace().next().unwrap().to_string()
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

/// The `p` quantile (0..=1) of ascending `sorted` values; NaN when empty.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Resident memory of process `pid`, MiB (0 when unreadable).
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Non-blank lines of the shipped seed documents (file-name order) with at least `min_chars`
/// characters.
pub fn seed_lines(min_chars: usize) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| std::fs::read_to_string(f).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.trim().is_empty() && l.chars().count() >= min_chars)
        .collect()
}

/// One timed `NearestParagraphs` call (k 10, `mode` as the proto enum value): pushes its
/// latency in ms on success, counts an error otherwise.
pub async fn timed_search(
    client: &mut simtheme::proto::sim_theme_service_client::SimThemeServiceClient<tonic::transport::Channel>,
    text: &str,
    mode: i32,
    latencies: &mut Vec<f64>,
    errors: &mut u64,
) {
    use simtheme::proto::{nearest_paragraphs_request::Query, NearestParagraphsRequest};
    let req = NearestParagraphsRequest { query: Some(Query::Text(text.into())), k: 10, mode, ..Default::default() };
    let t = std::time::Instant::now();
    match client.nearest_paragraphs(req).await {
        Ok(_) => latencies.push(t.elapsed().as_secs_f64() * 1e3),
        Err(_) => *errors += 1,
    }
}

/// Waits for client tasks that each return `(latencies in ms, errors)`; returns all latencies
/// sorted ascending and the total of errors.
pub async fn join_clients(tasks: Vec<tokio::task::JoinHandle<(Vec<f64>, u64)>>) -> (Vec<f64>, u64) {
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.unwrap();
        lat.extend(l);
        errors += e;
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    (lat, errors)
}

/// Peak resident memory of this process (VmHWM), MB; NaN where /proc is missing.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The CPU model named by /proc/cpuinfo (every throughput figure says which CPU made it).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into())
}

/// One line naming what produced a bench's figures: the CPU model, the cores this process may
/// use, the operating-system kernel release, the integer matmul kernel simtheme picked
/// (`SIMTHEME_NO_AMX` and `SIMTHEME_KERNEL` change it) and the load average.
pub fn machine() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_else(|_| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!(
        "CPU: {} ({cores} cores), Linux {release}, int8 kernel {}; load {}",
        cpu_model(),
        simtheme::embed::int8::Kernel::detect().name(),
        load_average()
    )
}

/// A standard normal sample (Box-Muller) for the vector benches' synthetic data.
pub fn gaussian(rng: &mut StdRng) -> f32 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// `v` scaled to unit length.
pub fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}
