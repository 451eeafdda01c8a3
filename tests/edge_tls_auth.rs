//! TLS, mutual TLS, API keys and certificate rotation, end to end: one server (no seeds) with a
//! throwaway CA made by rcgen, driven by the real `grpcurl` (`-cacert`, client certificates,
//! `-reflect-header`/`-rpc-header`) and by a tonic TLS client for the rotation.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{grpcurl_raw, Server};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

const FULL_KEY: &str = "full-3f9c1e";
const READ_ONLY_KEY: &str = "read-only-77ab";

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Ca { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap() }
    }

    /// A leaf certificate for `localhost` / 127.0.0.1: (cert PEM, key PEM).
    fn leaf(&self, cn: &str) -> (String, String) {
        self.leaf_until(cn, None)
    }

    /// [`Ca::leaf`] valid until midnight UTC `days` days from now (rcgen's default otherwise).
    fn leaf_until(&self, cn: &str, days: Option<i64>) -> (String, String) {
        let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        if let Some(days) = days {
            let today = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 / 86_400;
            let (y, m, d) = civil_date(today + days);
            params.not_after = rcgen::date_time_ymd(y, m, d);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil_date(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    ((yoe + era * 400 + i64::from(m <= 2)) as i32, m as u8, d as u8)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Replaces a file atomically (as operators' tooling does), so the server never reads half a file.
fn replace(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!("{name}.new"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

/// A TLS channel to the server trusting `ca_pem`, presenting `identity` (mTLS).
async fn tls_channel(addr: &str, ca_pem: &str, identity: &(String, String)) -> Result<Channel, tonic::transport::Error> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .identity(Identity::from_pem(&identity.0, &identity.1))
        .domain_name("localhost");
    Channel::from_shared(format!("https://{addr}")).unwrap().tls_config(tls)?.connect().await
}

/// An HTTP/1.1 request over TLS, trusting `ca_pem` and presenting `identity`.
async fn https_call(
    addr: &str,
    ca_pem: &str,
    identity: &(String, String),
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> common::HttpReply {
    use std::sync::Arc;
    use tokio_rustls::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer, pki_types::PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let chain = vec![CertificateDer::from_pem_slice(identity.0.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(identity.1.as_bytes()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("TLS handshake for HTTP");
    common::http_send(tls, addr, "POST", path, headers, body).await
}

fn authed(key: &str, msg: simtheme::proto::StatsRequest) -> tonic::Request<simtheme::proto::StatsRequest> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_mtls_keys_roles_and_certificate_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    let (ca1, client_ca) = (Ca::new("simtheme test CA 1"), Ca::new("simtheme client CA"));
    let (server_cert, server_key) = ca1.leaf("simtheme server 1");
    let client = client_ca.leaf("a client");
    let stranger = Ca::new("someone else").leaf("a stranger");
    let ca1_pem = write(&certs, "ca1.pem", &ca1.issuer.pem());
    write(&certs, "client_ca.pem", &client_ca.issuer.pem());
    write(&certs, "server.pem", &server_cert);
    write(&certs, "server.key", &server_key);
    let (client_pem, client_key) = (write(&certs, "client.pem", &client.0), write(&certs, "client.key", &client.1));
    let (stranger_pem, stranger_key) = (write(&certs, "stranger.pem", &stranger.0), write(&certs, "stranger.key", &stranger.1));
    let key_file = write(&certs, "full.key", &format!("{FULL_KEY}\n"));
    let arg = |p: &Path| p.to_str().unwrap().to_string();

    let server = Server::start(
        &tmp.path().join("data"),
        &[
            "--no-seed",
            "--metrics-listen",
            "",
            "--http-listen",
            "127.0.0.1:0",
            "--tls-cert",
            &arg(&certs.join("server.pem")),
            "--tls-key",
            &arg(&certs.join("server.key")),
            "--tls-client-ca",
            &arg(&certs.join("client_ca.pem")),
            "--api-key-file",
            &arg(&key_file),
            "--read-only-api-key",
            READ_ONLY_KEY,
        ],
    );
    assert!(server.ready_line.contains(", tls") && server.ready_line.contains(", api keys"), "{}", server.ready_line);
    let addr = server.addr.clone();
    let (ca1_arg, cert_arg, key_arg) = (arg(&ca1_pem), arg(&client_pem), arg(&client_key));
    // grpcurl over TLS with the client certificate; `extra` adds headers, then the call.
    let tls_call = |extra: &[&str]| {
        let mut args = vec!["-max-time", "30", "-cacert", &ca1_arg, "-cert", &cert_arg, "-key", &key_arg];
        args.extend_from_slice(extra);
        let mut all: Vec<&str> = args.clone();
        let split = all.iter().position(|a| *a == "@ADDR").unwrap();
        all[split] = &addr;
        grpcurl_raw(&all)
    };
    let full = format!("authorization: Bearer {FULL_KEY}");
    let read_only = format!("api-key: {READ_ONLY_KEY}");
    let json = |out: &str| -> serde_json::Value { serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}")) };

    // Full key: reflection, a write and a search.
    let (ok, out, err) = tls_call(&["-H", &full, "@ADDR", "list"]);
    assert!(ok && out.contains("simtheme.v1.SimThemeService"), "{out} {err}");
    let doc = r#"{"documents":[{"name":"a.txt","date":"2024-05-01","text":"推動製造業數字化轉型，建設智能工廠和工業互聯網平臺。\n加快綠色低碳轉型，推進節能降碳和清潔能源替代。"}]}"#;
    let (ok, out, err) = tls_call(&["-H", &full, "-d", doc, "@ADDR", "simtheme.v1.SimThemeService/AddDocuments"]);
    assert!(ok && json(&out)["inserted"] == 1, "{out} {err}");
    let search = r#"{"text":"smart factories","k":2}"#;
    let (ok, out, err) = tls_call(&["-H", &full, "-d", search, "@ADDR", "simtheme.v1.SimThemeService/NearestParagraphs"]);
    assert!(ok && json(&out)["hits"].as_array().map(Vec::len) == Some(2), "{out} {err}");

    // Health needs no key (reflection does, so grpcurl sends the key to reflection only).
    let (ok, out, err) =
        tls_call(&["-reflect-header", &full, "-d", r#"{"service":"simtheme.v1.SimThemeService"}"#, "@ADDR", "grpc.health.v1.Health/Check"]);
    assert!(ok && out.contains("SERVING"), "{out} {err}");
    // Reflection without a key, a search without a key, a search with a wrong key.
    let (ok, _, err) = tls_call(&["@ADDR", "list"]);
    assert!(!ok && err.contains("Unauthenticated"), "{err}");
    let (ok, _, err) = tls_call(&["-reflect-header", &full, "-d", search, "@ADDR", "simtheme.v1.SimThemeService/NearestParagraphs"]);
    assert!(!ok && err.contains("Unauthenticated"), "{err}");
    let (ok, _, err) = tls_call(&[
        "-reflect-header",
        &full,
        "-rpc-header",
        "api-key: not-the-key",
        "-d",
        search,
        "@ADDR",
        "simtheme.v1.SimThemeService/NearestParagraphs",
    ]);
    assert!(!ok && err.contains("Unauthenticated") && !err.contains(FULL_KEY), "{err}");

    // Read-only key: reads work, writes are refused by name and change nothing.
    let (ok, before, err) = tls_call(&["-H", &read_only, "@ADDR", "simtheme.v1.SimThemeService/Stats"]);
    assert!(ok, "{err}");
    let (ok, out, err) = tls_call(&["-H", &read_only, "-d", search, "@ADDR", "simtheme.v1.SimThemeService/NearestParagraphs"]);
    assert!(ok && json(&out)["hits"].as_array().map(Vec::len) == Some(2), "{out} {err}");
    let doc_id = {
        let (ok, out, err) = tls_call(&["-H", &read_only, "@ADDR", "simtheme.v1.SimThemeService/ListDocuments"]);
        assert!(ok, "{err}");
        json(&out)["documents"][0]["id"].as_str().unwrap().to_string()
    };
    let (ok, _, err) = tls_call(&["-H", &read_only, "-d", doc, "@ADDR", "simtheme.v1.SimThemeService/AddDocuments"]);
    assert!(!ok && err.contains("PermissionDenied") && err.contains("AddDocuments"), "{err}");
    let delete = format!(r#"{{"documentId":"{doc_id}"}}"#);
    let (ok, _, err) = tls_call(&["-H", &read_only, "-d", &delete, "@ADDR", "simtheme.v1.SimThemeService/DeleteDocument"]);
    assert!(!ok && err.contains("PermissionDenied") && err.contains("DeleteDocument"), "{err}");
    let (ok, after, err) = tls_call(&["-H", &read_only, "@ADDR", "simtheme.v1.SimThemeService/Stats"]);
    assert!(ok, "{err}");
    let (b, a) = (json(&before), json(&after));
    assert_eq!(a["documents"], 1, "{a}");
    for field in ["documents", "paragraphs", "chunks", "corpusVersion"] {
        assert_eq!(a[field], b[field], "{field} changed after refused writes");
    }

    // HTTP/JSON gets the same TLS (client certificate included) and the same keys.
    let http = server.ready_addr("http");
    let r = https_call(&http, &ca1.issuer.pem(), &client, "/v1/NearestParagraphs", &[("api-key", READ_ONLY_KEY)], search).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["hits"].as_array().map(Vec::len), Some(2), "{}", r.body);
    let r = https_call(&http, &ca1.issuer.pem(), &client, "/v1/DeleteDocument", &[("api-key", READ_ONLY_KEY)], &delete).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = common::http_call(&http, "POST", "/v1/Stats", &[("api-key", FULL_KEY)], "{}").await;
    assert_eq!(r.status, 400, "plaintext HTTP on a TLS port is told so: {}", r.body);
    assert!(r.body.contains("speaks TLS"), "{}", r.body);

    // Plaintext against the TLS port, and TLS without a client certificate or with a stranger's: refused.
    let (ok, _, err) = grpcurl_raw(&["-max-time", "30", "-plaintext", "-H", &full, &addr, "list"]);
    assert!(!ok && err.contains("FailedPrecondition") && err.contains("speaks TLS"), "plaintext on a TLS port fails with a reason: {err}");
    // (grpc-go keeps redialling a refused TLS session until its connect timeout: keep that short.)
    let (ok, _, err) = grpcurl_raw(&["-max-time", "30", "-connect-timeout", "3", "-cacert", &ca1_arg, "-H", &full, &addr, "list"]);
    assert!(!ok, "mTLS must refuse a client without a certificate: {err}");
    let (ok, _, err) = grpcurl_raw(&[
        "-max-time",
        "30",
        "-connect-timeout",
        "3",
        "-cacert",
        &ca1_arg,
        "-cert",
        &arg(&stranger_pem),
        "-key",
        &arg(&stranger_key),
        "-H",
        &full,
        &addr,
        "list",
    ]);
    assert!(!ok, "mTLS must refuse a certificate from another CA: {err}");

    // Rotation: a connection made before keeps working; new connections get the new certificate.
    let old = tls_channel(&addr, &ca1.issuer.pem(), &client).await.expect("TLS connect with CA 1");
    let mut old_client = SimThemeServiceClient::new(old);
    old_client.stats(authed(FULL_KEY, Default::default())).await.expect("stats before rotation");
    let ca2 = Ca::new("simtheme test CA 2");
    // the new certificate expires in 5 days: the rotation warns about it
    let (cert2, key2) = ca2.leaf_until("simtheme server 2", Some(5));
    replace(&certs, "server.key", &key2);
    replace(&certs, "server.pem", &cert2);
    let _ = std::process::Command::new("kill").args(["-HUP", &server.pid().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    let new = loop {
        match tls_channel(&addr, &ca2.issuer.pem(), &client).await {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "the new certificate was never served: {e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let stats =
        SimThemeServiceClient::new(new).stats(authed(READ_ONLY_KEY, Default::default())).await.expect("stats over the new certificate");
    assert_eq!(stats.get_ref().documents, 1);
    assert!(tls_channel(&addr, &ca1.issuer.pem(), &client).await.is_err(), "new connections must not get the old certificate");
    let stats = old_client.stats(authed(FULL_KEY, Default::default())).await.expect("the connection made before rotation still works");
    assert_eq!(stats.get_ref().documents, 1);

    let log = server.stop();
    assert!(log.contains("server.pem expires in 4 days"), "an expiring certificate is warned about at rotation: {log}");
    assert!(!log.contains("rustls") && !log.contains(".cargo/registry"), "no rustls noise: {log}");
    assert!(!log.contains(FULL_KEY) && !log.contains(READ_ONLY_KEY), "keys must never be logged");
    assert!(log.contains("PERMISSION_DENIED") && log.contains("rpc=\"DeleteDocument\""), "one line per request: {log}");
}
