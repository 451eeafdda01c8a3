//! Edge overhead bench: what TLS + API keys + metrics cost on `NearestParagraphs`, and HTTP/JSON
//! versus gRPC, side by side in one run. Seeds one data directory, copies it, then starts two
//! servers on the copies:
//!
//! * plain: plaintext gRPC, no keys, no metrics, plus the HTTP/JSON listener;
//! * edge: TLS (throwaway rcgen CA), full and read-only keys, metrics on.
//!
//! For 1 and 8 concurrent clients it measures each setup for `SIMTHEME_EDGE_SECS` seconds
//! (default 10), interleaved over `SIMTHEME_EDGE_ROUNDS` rounds (default 2), and prints
//! req/s and mean/p50/p95 latency per setup (pooled over rounds) and the p50 ratios. The model
//! dominates NearestParagraphs (~10 ms), so the same is then measured on GetParagraph (one
//! store lookup, no model) at 1 client, where the edge's own cost per call shows.
//!
//!     cargo bench --bench edge_overhead

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use simtheme::proto::nearest_paragraphs_request::Query;
use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use simtheme::proto::{GetParagraphRequest, NearestParagraphsRequest};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

const KEY: &str = "bench-read-only-key";

fn start(data: &Path, extra: &[&str]) -> (Child, String) {
    let args = [OsStr::new("--data-dir"), data.as_os_str()].into_iter().chain(extra.iter().map(OsStr::new));
    let (child, line) = common::start_server(env!("CARGO_BIN_EXE_simtheme"), args);
    println!("{}", line.trim());
    (child, line)
}

fn field(line: &str, name: &str) -> String {
    let key = format!(", {name} ");
    let at = line.find(&key).unwrap_or_else(|| panic!("no {name} in {line}"));
    line[at + key.len()..].split([',', ')']).next().unwrap().to_string()
}

fn grpc_addr(line: &str) -> String {
    line.trim().strip_prefix("simtheme ready on ").unwrap().split_whitespace().next().unwrap().to_string()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

/// Which call the clients make.
#[derive(Clone, Copy)]
enum Rpc {
    Nearest,
    Get(i64),
}

#[derive(Clone)]
enum Target {
    Grpc(SimThemeServiceClient<Channel>, bool),
    Http(String),
}

fn request(i: usize) -> NearestParagraphsRequest {
    NearestParagraphsRequest { query: Some(Query::Text(common::QUERIES[i % common::QUERIES.len()].into())), k: 10, ..Default::default() }
}

/// Runs `clients` loops for `secs` seconds; returns latencies (ms) and errors.
async fn run(target: &Target, rpc: Rpc, clients: usize, secs: u64) -> (Vec<f64>, u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut i) = (Vec::new(), 0u64, c);
            let mut http = match &target {
                Target::Http(addr) => {
                    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
                    tokio::spawn(conn);
                    Some((sender, addr.clone()))
                }
                Target::Grpc(..) => None,
            };
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = match (&target, http.as_mut()) {
                    (Target::Grpc(client, keyed), _) => {
                        let mut client = client.clone();
                        let key = |m: &mut tonic::metadata::MetadataMap| {
                            if *keyed {
                                m.insert("authorization", format!("Bearer {KEY}").parse().unwrap());
                            }
                        };
                        match rpc {
                            Rpc::Nearest => {
                                let mut req = tonic::Request::new(request(i));
                                key(req.metadata_mut());
                                client.nearest_paragraphs(req).await.is_ok()
                            }
                            Rpc::Get(id) => {
                                let mut req = tonic::Request::new(GetParagraphRequest { id });
                                key(req.metadata_mut());
                                client.get_paragraph(req).await.is_ok()
                            }
                        }
                    }
                    (Target::Http(_), Some((sender, addr))) => {
                        let (path, body) = match rpc {
                            Rpc::Nearest => ("/v1/NearestParagraphs", serde_json::to_vec(&request(i)).unwrap()),
                            Rpc::Get(id) => ("/v1/GetParagraph", serde_json::to_vec(&GetParagraphRequest { id }).unwrap()),
                        };
                        let req = http::Request::post(path).header("host", addr.as_str()).body(Full::new(Bytes::from(body))).unwrap();
                        let _ = sender.ready().await;
                        match sender.send_request(req).await {
                            Ok(resp) => resp.status() == 200 && resp.into_body().collect().await.is_ok(),
                            Err(_) => false,
                        }
                    }
                    _ => unreachable!(),
                };
                i += 1;
                if ok {
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    common::join_clients(tasks).await
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!("{}", common::machine());
    let secs: u64 = std::env::var("SIMTHEME_EDGE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let rounds: usize = std::env::var("SIMTHEME_EDGE_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let tmp = tempfile::tempdir().unwrap();
    let (plain_dir, edge_dir) = (tmp.path().join("plain"), tmp.path().join("edge"));
    let (seeder, _) = start(&plain_dir, &["--metrics-listen", ""]);
    stop(seeder);
    let copied = Command::new("cp").arg("-r").arg(&plain_dir).arg(&edge_dir).status().unwrap();
    assert!(copied.success());

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "bench CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&leaf_key, &ca).unwrap();
    let (cert, key) = (tmp.path().join("server.pem"), tmp.path().join("server.key"));
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();

    let (plain, plain_line) = start(&plain_dir, &["--no-seed", "--metrics-listen", "", "--http-listen", "127.0.0.1:0"]);
    let edge_args = [
        "--no-seed",
        "--metrics-listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--api-key",
        "bench-full-key",
        "--read-only-api-key",
        KEY,
    ];
    let (edge, edge_line) = start(&edge_dir, &edge_args);

    let plain_grpc = SimThemeServiceClient::connect(format!("http://{}", grpc_addr(&plain_line))).await.unwrap();
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.pem())).domain_name("localhost");
    let channel =
        Channel::from_shared(format!("https://{}", grpc_addr(&edge_line))).unwrap().tls_config(tls).unwrap().connect().await.unwrap();
    let setups = [
        ("grpc plaintext", Target::Grpc(plain_grpc, false)),
        ("grpc tls+keys+metrics", Target::Grpc(SimThemeServiceClient::new(channel), true)),
        ("http/json plaintext", Target::Http(field(&plain_line, "http"))),
    ];
    // Warm-up: every setup once, so that no first-call cost lands in the figures.
    for (_, t) in &setups {
        run(t, Rpc::Nearest, 1, 1).await;
    }
    let Target::Grpc(probe, _) = &setups[0].1 else { unreachable!() };
    let hit = probe.clone().nearest_paragraphs(request(0)).await.unwrap().into_inner().hits;
    let id = hit[0].paragraph.as_ref().unwrap().id;
    println!(
        "{:<18} {:>7} {:<22} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "rpc", "clients", "setup", "requests", "req/s", "mean ms", "p50 ms", "p95 ms", "errors"
    );
    for (rpc_name, rpc, clients) in
        [("NearestParagraphs", Rpc::Nearest, 1usize), ("NearestParagraphs", Rpc::Nearest, 8), ("GetParagraph", Rpc::Get(id), 1)]
    {
        let mut results: Vec<(Vec<f64>, u64)> = vec![(Vec::new(), 0); setups.len()];
        for _ in 0..rounds {
            for (i, (_, t)) in setups.iter().enumerate() {
                let (lat, errors) = run(t, rpc, clients, secs).await;
                results[i].0.extend(lat);
                results[i].1 += errors;
            }
        }
        let mut p50 = Vec::new();
        for ((name, _), (lat, errors)) in setups.iter().zip(results.iter_mut()) {
            lat.sort_by(f64::total_cmp);
            let rate = lat.len() as f64 / (secs * rounds as u64) as f64;
            let mean = lat.iter().sum::<f64>() / lat.len().max(1) as f64;
            println!(
                "{rpc_name:<18} {clients:>7} {name:<22} {:>8} {rate:>8.1} {mean:>8.3} {:>8.3} {:>8.3} {errors:>7}",
                lat.len(),
                common::pct(lat, 0.5),
                common::pct(lat, 0.95)
            );
            p50.push(common::pct(lat, 0.5));
        }
        println!(
            "{rpc_name:<18} {clients:>7} p50 ratio: tls+keys+metrics / plaintext = {:.3}; http/json / grpc = {:.3}",
            p50[1] / p50[0],
            p50[2] / p50[0]
        );
    }
    stop(plain);
    stop(edge);
}
