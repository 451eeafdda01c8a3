//! A real Qdrant server (or a 3-node cluster) on free loopback ports with temporary storage,
//! for the tests that run simtheme on the Qdrant backend.
//!
//! The binary comes from `$SIMTHEME_QDRANT_BIN`, else `$SIMTHEME_QDRANT_CACHE/qdrant`, else
//! `~/.cache/simtheme/qdrant-1.18.3/qdrant` (where `tests/qdrant.sh build` puts it). Without
//! one, [`qdrant_binary`] prints one loud SKIPPED line and the caller returns early.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Qdrant binary, or `None` after printing why the caller's test is skipped.
pub fn qdrant_binary(test: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = [
        std::env::var_os("SIMTHEME_QDRANT_BIN").map(PathBuf::from),
        std::env::var_os("SIMTHEME_QDRANT_CACHE").map(|d| PathBuf::from(d).join("qdrant")),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/simtheme/qdrant-1.18.3/qdrant")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let found = candidates.iter().find(|p| p.is_file()).cloned();
    if found.is_none() {
        // Straight to the process's stderr: libtest would swallow println! of a passing test.
        let line = format!(
            "SKIPPED: no Qdrant binary ({test}; looked at {}; build one with `bash tests/qdrant.sh build` or set SIMTHEME_QDRANT_BIN)\n",
            candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    found
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// One Qdrant node; killed (`-9`) when dropped.
pub struct QdrantNode {
    child: Option<Child>,
    binary: PathBuf,
    /// REST port.
    pub http_port: u16,
    /// gRPC port (what simtheme connects to).
    pub grpc_port: u16,
    /// Cluster-internal port (cluster mode only).
    pub p2p_port: Option<u16>,
    storage: PathBuf,
    args: Vec<String>,
}

impl QdrantNode {
    /// Starts a single node with storage under `dir` and waits until it is ready.
    pub fn start(binary: &Path, dir: &Path) -> QdrantNode {
        let mut node = QdrantNode {
            child: None,
            binary: binary.to_path_buf(),
            http_port: free_port(),
            grpc_port: free_port(),
            p2p_port: None,
            storage: dir.to_path_buf(),
            args: Vec::new(),
        };
        node.spawn();
        node.wait_ready(Duration::from_secs(60));
        node
    }

    /// `http://127.0.0.1:GRPC_PORT`, the URL simtheme takes.
    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    fn spawn(&mut self) {
        std::fs::create_dir_all(self.storage.join("storage")).unwrap();
        std::fs::create_dir_all(self.storage.join("snapshots")).unwrap();
        let mut cmd = Command::new(&self.binary);
        cmd.current_dir(&self.storage)
            .args(&self.args)
            .env("QDRANT__SERVICE__HOST", "127.0.0.1")
            .env("QDRANT__SERVICE__HTTP_PORT", self.http_port.to_string())
            .env("QDRANT__SERVICE__GRPC_PORT", self.grpc_port.to_string())
            .env("QDRANT__STORAGE__STORAGE_PATH", self.storage.join("storage"))
            .env("QDRANT__STORAGE__SNAPSHOTS_PATH", self.storage.join("snapshots"))
            .env("QDRANT__TELEMETRY_DISABLED", "true")
            .env("QDRANT__LOG_LEVEL", "WARN")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p2p) = self.p2p_port {
            cmd.env("QDRANT__CLUSTER__ENABLED", "true").env("QDRANT__CLUSTER__P2P__PORT", p2p.to_string());
        }
        self.child = Some(cmd.spawn().expect("start qdrant"));
    }

    /// Blocks until `GET /readyz` answers 200.
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if http_get(self.http_port, "/readyz").is_some_and(|(code, _)| code == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("Qdrant on port {} did not become ready in {timeout:?}", self.http_port);
    }

    /// Kills the node with SIGKILL (storage stays).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the node again on the same ports and storage.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_ready(Duration::from_secs(60));
    }
}

impl Drop for QdrantNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A 3-node Qdrant cluster on loopback: the first node bootstraps, the others join it.
pub fn start_cluster(binary: &Path, dir: &Path, nodes: usize) -> Vec<QdrantNode> {
    let mut out: Vec<QdrantNode> = Vec::new();
    for i in 0..nodes {
        let p2p = free_port();
        let mut args = vec!["--uri".to_string(), format!("http://127.0.0.1:{p2p}")];
        if let Some(first) = out.first() {
            args.push("--bootstrap".into());
            args.push(format!("http://127.0.0.1:{}", first.p2p_port.unwrap()));
        }
        let mut node = QdrantNode {
            child: None,
            binary: binary.to_path_buf(),
            http_port: free_port(),
            grpc_port: free_port(),
            p2p_port: Some(p2p),
            storage: dir.join(format!("node{i}")),
            args,
        };
        node.spawn();
        node.wait_ready(Duration::from_secs(90));
        out.push(node);
    }
    // Wait until the first node sees every peer.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some((200, body)) = http_get(out[0].http_port, "/cluster") {
            if body.matches("\"uri\"").count() >= nodes {
                return out;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the Qdrant cluster did not see {nodes} peers");
}

/// A minimal HTTP/1.0 GET on loopback: `(status, body)`.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((code, body))
}
