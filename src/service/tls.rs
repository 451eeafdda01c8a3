//! TLS (rustls with the ring provider, no OpenSSL): the server identity from PEM files,
//! optional client-certificate verification (mTLS), and rotation: the files are re-read on
//! SIGHUP and whenever their contents change, and the new configuration serves every
//! connection accepted afterwards. Established connections keep their session.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// How often the certificate files are checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Application protocols a listener offers in the TLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// gRPC: HTTP/2 only.
    Grpc,
    /// HTTP/JSON and metrics: HTTP/2 and HTTP/1.1.
    Http,
}

/// The current TLS configurations (one per ALPN set), swapped as a whole on reload.
pub struct TlsState {
    files: TlsFiles,
    grpc: RwLock<Arc<ServerConfig>>,
    http: RwLock<Arc<ServerConfig>>,
    fingerprint: Mutex<[u8; 32]>,
}

struct Loaded {
    grpc: ServerConfig,
    http: ServerConfig,
    fingerprint: [u8; 32],
}

fn read(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read the TLS {what} {}", path.display()))
}

fn load(files: &TlsFiles) -> anyhow::Result<Loaded> {
    let cert_pem = read(&files.cert, "certificate")?;
    let key_pem = read(&files.key, "key")?;
    let ca_pem = files.client_ca.as_deref().map(|p| read(p, "client CA")).transpose()?;
    let mut hash = Sha256::new();
    for part in [Some(&cert_pem), Some(&key_pem), ca_pem.as_ref()].into_iter().flatten() {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", files.cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", files.cert.display());
    PrivateKeyDer::from_pem_slice(&key_pem).with_context(|| format!("{} holds no PEM private key", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match &ca_pem {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(pem) {
                roots.add(c.context("bad client CA certificate")?).context("bad client CA certificate")?;
            }
            Some(WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider)).build()?)
        }
        None => None,
    };
    let build = |alpn: &[&[u8]]| -> anyhow::Result<ServerConfig> {
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions()?;
        let builder = match &verifier {
            Some(v) => builder.with_client_cert_verifier(Arc::clone(v)),
            None => builder.with_no_client_auth(),
        };
        let key = PrivateKeyDer::from_pem_slice(&key_pem)?;
        let mut config = builder
            .with_single_cert(certs.clone(), key)
            .with_context(|| format!("{} does not match the certificate {}", files.key.display(), files.cert.display()))?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    };
    Ok(Loaded { grpc: build(&[b"h2"])?, http: build(&[b"h2", b"http/1.1"])?, fingerprint: hash.finalize().into() })
}

impl TlsState {
    /// Loads the files; an error names the file that is wrong.
    pub fn new(files: TlsFiles) -> anyhow::Result<Arc<Self>> {
        let l = load(&files)?;
        Ok(Arc::new(Self {
            files,
            grpc: RwLock::new(Arc::new(l.grpc)),
            http: RwLock::new(Arc::new(l.http)),
            fingerprint: Mutex::new(l.fingerprint),
        }))
    }

    /// An acceptor with the current configuration, for one new connection.
    pub fn acceptor(&self, alpn: Alpn) -> TlsAcceptor {
        let slot = match alpn {
            Alpn::Grpc => &self.grpc,
            Alpn::Http => &self.http,
        };
        TlsAcceptor::from(Arc::clone(&slot.read().unwrap_or_else(|e| e.into_inner())))
    }

    /// Re-reads the files; returns Ok(true) when they changed and the new identity is in use.
    /// On error the previous configuration stays in use.
    pub fn reload(&self) -> anyhow::Result<bool> {
        let l = load(&self.files)?;
        let mut current = self.fingerprint.lock().unwrap_or_else(|e| e.into_inner());
        if *current == l.fingerprint {
            return Ok(false);
        }
        *self.grpc.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(l.grpc);
        *self.http.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(l.http);
        *current = l.fingerprint;
        Ok(true)
    }

    /// Reloads on SIGHUP and when the files change (checked every 2 s) until `shutdown`.
    pub fn spawn_watcher(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            let mut tick = tokio::time::interval(WATCH_INTERVAL);
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hup.as_mut() {
                        Some(s) => {
                            s.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<()>();
                let why = tokio::select! {
                    _ = hangup => "SIGHUP",
                    _ = tick.tick() => "file change",
                    _ = shutdown.wait_for(|stop| *stop) => return,
                };
                let state = Arc::clone(&self);
                match tokio::task::spawn_blocking(move || state.reload()).await {
                    Ok(Ok(true)) => tracing::warn!("TLS certificate reloaded ({why}); new connections use it"),
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) => tracing::error!("TLS reload ({why}) failed, keeping the previous certificate: {e:#}"),
                    Err(e) => tracing::error!("TLS reload task failed: {e}"),
                }
            }
        });
    }
}
