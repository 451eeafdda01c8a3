//! API keys: a full-access key and a read-only key (refused the RPCs that write, per the
//! table of [`super::rpcs`]), sent as `authorization: Bearer KEY` or
//! `api-key: KEY`, compared in constant time. Health is always open; reflection is open only
//! with `--open-reflection` once keys are set.

use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::Status;

use super::rpcs;
use crate::config::EdgeConfig;

/// Which part of the API a request addresses, as far as access control is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// `grpc.health.v1.Health` or `GET /healthz`: always open.
    Health,
    /// Server reflection: open with `--open-reflection`, else any valid key.
    Reflection,
    /// A SimThemeService RPC, by method name (e.g. `NearestParagraphs`).
    Rpc(&'a str),
}

/// The access a valid key grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No keys configured, or the full-access key.
    Full,
    /// The read-only key.
    ReadOnly,
    /// No key needed for this target (health, open reflection).
    Open,
}

/// SHA-256 digests of the configured keys: comparing fixed-size digests keeps the comparison
/// constant-time in the key's length too.
#[derive(Clone, Default)]
pub struct ApiKeys {
    full: Option<[u8; 32]>,
    read_only: Option<[u8; 32]>,
    open_reflection: bool,
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl ApiKeys {
    /// The keys of `edge` (none: every request is allowed).
    pub fn new(edge: &EdgeConfig) -> Self {
        Self {
            full: edge.api_key.as_ref().map(|k| digest(k.expose())),
            read_only: edge.read_only_api_key.as_ref().map(|k| digest(k.expose())),
            open_reflection: edge.open_reflection,
        }
    }

    /// The label of the key behind `access` in per-client metrics and shares: its role and
    /// the first 8 hex digits of its SHA-256 (never the key). `None` for a server without keys
    /// and for open targets.
    pub fn client_label(&self, access: Access) -> Option<std::sync::Arc<str>> {
        let (role, digest) = match access {
            Access::Full => ("full", self.full.as_ref()?),
            Access::ReadOnly => ("read-only", self.read_only.as_ref()?),
            Access::Open => return None,
        };
        Some(format!("{role}-{:02x}{:02x}{:02x}{:02x}", digest[0], digest[1], digest[2], digest[3]).into())
    }

    /// True when at least one key is configured.
    pub fn enabled(&self) -> bool {
        self.full.is_some() || self.read_only.is_some()
    }

    /// Decides whether a request with `headers` may reach `target`.
    pub fn check(&self, headers: &HeaderMap, target: Target<'_>) -> Result<Access, Status> {
        if target == Target::Health || (target == Target::Reflection && self.open_reflection) || !self.enabled() {
            return Ok(if self.enabled() { Access::Open } else { Access::Full });
        }
        let Some(sent) = presented_key(headers) else {
            return Err(Status::unauthenticated("this server needs an API key: send `authorization: Bearer KEY` or `api-key: KEY`"));
        };
        let sent = digest(sent);
        let matches = |k: &Option<[u8; 32]>| k.as_ref().is_some_and(|k| bool::from(k.ct_eq(&sent)));
        let access = if matches(&self.full) {
            Access::Full
        } else if matches(&self.read_only) {
            Access::ReadOnly
        } else {
            return Err(Status::unauthenticated("the API key is not valid for this server"));
        };
        if let (Access::ReadOnly, Target::Rpc(rpc)) = (access, target) {
            if rpcs::writes(rpc) {
                return Err(Status::permission_denied(format!(
                    "{rpc} changes the corpus and the read-only API key may not call it; use the full-access key"
                )));
            }
        }
        Ok(access)
    }
}

/// The key a request carries: `authorization: Bearer KEY` (scheme case-insensitive) or `api-key: KEY`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim());
        }
    }
    headers.get("api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Maps a gRPC path (`/package.Service/Method`) to its access target; `None` for unknown services.
pub fn grpc_target(path: &str) -> Option<Target<'_>> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    match service {
        "grpc.health.v1.Health" => Some(Target::Health),
        "grpc.reflection.v1.ServerReflection" | "grpc.reflection.v1alpha.ServerReflection" => Some(Target::Reflection),
        super::SERVICE_NAME => Some(Target::Rpc(method)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn keys() -> ApiKeys {
        ApiKeys::new(&EdgeConfig {
            api_key: Some(Secret::new("full-key")),
            read_only_api_key: Some(Secret::new("ro-key")),
            ..EdgeConfig::default()
        })
    }

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn roles_and_header_forms() {
        let k = keys();
        let search = Target::Rpc("NearestParagraphs");
        let write = Target::Rpc("DeleteDocument");
        assert_eq!(k.check(&headers("authorization", "Bearer full-key"), write).unwrap(), Access::Full);
        assert_eq!(k.check(&headers("authorization", "bearer ro-key"), search).unwrap(), Access::ReadOnly);
        assert_eq!(k.check(&headers("api-key", "ro-key"), search).unwrap(), Access::ReadOnly);
        let denied = k.check(&headers("api-key", "ro-key"), write).unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(denied.message().contains("DeleteDocument"), "{}", denied.message());
        assert_eq!(k.check(&HeaderMap::new(), search).unwrap_err().code(), tonic::Code::Unauthenticated);
        let wrong = k.check(&headers("api-key", "full-key2"), search).unwrap_err();
        assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
        assert!(!wrong.message().contains("full-key"), "keys never appear in messages");
        assert_eq!(k.check(&headers("authorization", "Basic full-key"), search).unwrap_err().code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn health_open_reflection_by_flag_and_no_keys_means_open() {
        let k = keys();
        assert_eq!(k.check(&HeaderMap::new(), Target::Health).unwrap(), Access::Open);
        assert_eq!(k.check(&HeaderMap::new(), Target::Reflection).unwrap_err().code(), tonic::Code::Unauthenticated);
        assert_eq!(k.check(&headers("api-key", "ro-key"), Target::Reflection).unwrap(), Access::ReadOnly);
        let open = ApiKeys { open_reflection: true, ..keys() };
        assert_eq!(open.check(&HeaderMap::new(), Target::Reflection).unwrap(), Access::Open);
        let none = ApiKeys::new(&EdgeConfig::default());
        assert_eq!(none.check(&HeaderMap::new(), Target::Rpc("DeleteDocument")).unwrap(), Access::Full);
    }

    #[test]
    fn grpc_paths_map_to_targets() {
        assert_eq!(grpc_target("/grpc.health.v1.Health/Check"), Some(Target::Health));
        assert_eq!(grpc_target("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"), Some(Target::Reflection));
        assert_eq!(grpc_target("/simtheme.v1.SimThemeService/Stats"), Some(Target::Rpc("Stats")));
        assert_eq!(grpc_target("/other.Svc/X"), None);
        assert_eq!(grpc_target("nonsense"), None);
    }
}
