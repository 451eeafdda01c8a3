//! Helpers shared by the end-to-end tests: start the real `simtheme serve` binary on a free
//! loopback port with a temporary data directory, wait for its ready line, connect a client.
#![allow(dead_code)]

pub mod qdrant;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use simtheme::proto::sim_theme_client::SimThemeClient;
use tonic::transport::Channel;

/// A running server process; killed when dropped.
pub struct Server {
    child: Option<Child>,
    /// `127.0.0.1:PORT` it listens on.
    pub addr: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    /// Starts `simtheme serve` on `data_dir` and waits (up to 10 min) for the ready line.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_simtheme"))
            .args(["serve", "--listen", "127.0.0.1:0", "--threads", "2"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("SIMTHEME_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start simtheme serve");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let err_thread = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(600)).expect("server printed no ready line");
        assert!(line.starts_with("simtheme ready on "), "unexpected first line: {line}");
        let addr = line["simtheme ready on ".len()..].split_whitespace().next().unwrap().to_string();
        Server { child: Some(child), addr, data_dir: data_dir.to_path_buf(), stderr: Some(err_thread) }
    }

    /// `http://ADDR` for tonic.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A connected client.
    pub async fn client(&self) -> SimThemeClient<Channel> {
        SimThemeClient::connect(self.url()).await.expect("connect").max_decoding_message_size(64 << 20)
    }

    /// Sends SIGTERM, waits for a clean exit, and returns what the server wrote to stderr.
    pub fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = child.wait().expect("wait for server");
        assert!(status.success(), "server exited with {status}");
        self.stderr.take().unwrap().join().unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The status code of a failed call, or panics on success.
pub fn code<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> tonic::Code {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(s) => s.code(),
    }
}
