//! TLS (rustls with the ring provider, no OpenSSL): the server identity from PEM files,
//! optional client-certificate verification (mTLS), and rotation: the files are re-read on
//! SIGHUP and whenever their contents change, and the new configuration serves every
//! connection accepted afterwards. Established connections keep their session.
//!
//! A certificate that has expired, or expires within [`EXPIRY_WARNING_DAYS`] days, is reported
//! at start and on every rotation (and its expiry time is a metric); a broken file is reported
//! once per distinct error, not at every check.

use std::sync::atomic::{AtomicI64, Ordering};
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

/// Days before its expiry from which a certificate is warned about.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

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
    expires_at: AtomicI64,
}

struct Loaded {
    grpc: ServerConfig,
    http: ServerConfig,
    fingerprint: [u8; 32],
    /// The leaf certificate's notAfter: Unix seconds, and as text.
    not_after: (i64, String),
}

/// The notAfter of a DER certificate: Unix seconds, and as text.
fn not_after(der: &[u8]) -> anyhow::Result<(i64, String)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| anyhow::anyhow!("{e}"))?;
    let t = cert.validity().not_after;
    Ok((t.timestamp(), t.to_string()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Warns (expired: error) when the certificate expiring at `expires` (`text`) is expired or
/// expires within [`EXPIRY_WARNING_DAYS`]; returns what it said.
fn check_expiry(cert: &std::path::Path, (expires, text): &(i64, String), now: i64) -> Option<String> {
    let left = expires - now;
    if left <= 0 {
        let m = format!(
            "the TLS certificate {} EXPIRED on {text}: clients will refuse the connection; install a new one (it is reloaded on SIGHUP)",
            cert.display()
        );
        tracing::error!("{m}");
        Some(m)
    } else if left < EXPIRY_WARNING_DAYS * 86_400 {
        let m = format!(
            "the TLS certificate {} expires in {} days ({text}); renew it (it is reloaded on SIGHUP)",
            cert.display(),
            left / 86_400
        );
        tracing::warn!("{m}");
        Some(m)
    } else {
        None
    }
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
    let not_after =
        not_after(&certs[0]).with_context(|| format!("cannot read the validity of the certificate {}", files.cert.display()))?;
    Ok(Loaded { grpc: build(&[b"h2"])?, http: build(&[b"h2", b"http/1.1"])?, fingerprint: hash.finalize().into(), not_after })
}

impl TlsState {
    /// Loads the files; an error names the file that is wrong.
    pub fn new(files: TlsFiles) -> anyhow::Result<Arc<Self>> {
        let l = load(&files)?;
        check_expiry(&files.cert, &l.not_after, unix_now());
        Ok(Arc::new(Self {
            files,
            grpc: RwLock::new(Arc::new(l.grpc)),
            http: RwLock::new(Arc::new(l.http)),
            fingerprint: Mutex::new(l.fingerprint),
            expires_at: AtomicI64::new(l.not_after.0),
        }))
    }

    /// When the served certificate expires, Unix seconds.
    pub fn expires_at(&self) -> i64 {
        self.expires_at.load(Ordering::Relaxed)
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
        self.expires_at.store(l.not_after.0, Ordering::Relaxed);
        check_expiry(&self.files.cert, &l.not_after, unix_now());
        Ok(true)
    }

    /// Reloads on SIGHUP and when the files change (checked every 2 s) until `shutdown`,
    /// keeping `metrics`' expiry time current. A failed check is reported once until the error
    /// changes or a reload succeeds (a SIGHUP always reports).
    pub fn spawn_watcher(self: Arc<Self>, metrics: Arc<super::metrics::Metrics>, mut shutdown: watch::Receiver<bool>) {
        metrics.tls_expires(self.expires_at());
        tokio::spawn(async move {
            let mut last_error: Option<String> = None;
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
                    Ok(Ok(changed)) => {
                        if changed {
                            tracing::warn!("TLS certificate reloaded ({why}); new connections use it");
                            metrics.tls_expires(self.expires_at());
                        }
                        last_error = None;
                    }
                    Ok(Err(e)) => {
                        let message = format!("{e:#}");
                        if why == "SIGHUP" || last_error.as_deref() != Some(message.as_str()) {
                            tracing::error!(
                                "TLS reload ({why}) failed, keeping the previous certificate: {message} (reported once until it changes)"
                            );
                        }
                        last_error = Some(message);
                    }
                    Err(e) => tracing::error!("TLS reload task failed: {e}"),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_is_read_from_the_certificate_and_warned_about_in_time() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 5, 17);
        let cert = params.self_signed(&key).unwrap();
        let expiry = not_after(cert.der()).unwrap();
        assert_eq!(expiry.0, 1_936_742_400, "2031-05-17T00:00:00Z");
        let path = std::path::Path::new("server.pem");
        let day = 86_400;
        assert_eq!(check_expiry(path, &expiry, expiry.0 - 30 * day), None, "a month left: quiet");
        let soon = check_expiry(path, &expiry, expiry.0 - 3 * day - 5).unwrap();
        assert!(soon.contains("server.pem expires in 3 days") && soon.contains("2031"), "{soon}");
        let gone = check_expiry(path, &expiry, expiry.0 + 1).unwrap();
        assert!(gone.contains("EXPIRED"), "{gone}");
    }
}
