//! The analyst's workbench: a web page at `/` of the HTTP listener (`--no-ui` turns it off),
//! its files compiled into the binary (no CDN, no external font, no build step). The page
//! calls the same `POST /v1/<Rpc>` API as any client, with the key the user types (kept in
//! the tab's sessionStorage). `GET /ui/access` tells it whether the server wants a key and
//! what the presented key may do, so a read-only key sees no write controls.
//!
//! Every answer carries a Content-Security-Policy without inline script or style, refuses
//! framing, and is not sniffed; user text is only ever put into the page as text.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;

use super::auth::{Access, Target};
use super::edge::Edge;
use super::http_serve::{error_body, response};

const JS: &str = "text/javascript; charset=utf-8";

/// The page and its assets: (path, content type, body). The JavaScript modules import each
/// other by these paths.
const ASSETS: [(&str, &str, &str); 9] = [
    ("/", "text/html; charset=utf-8", include_str!("ui/index.html")),
    ("/ui/app.css", "text/css; charset=utf-8", include_str!("ui/app.css")),
    ("/ui/app.js", JS, include_str!("ui/app.js")),
    ("/ui/core.js", JS, include_str!("ui/core.js")),
    ("/ui/exporter.js", JS, include_str!("ui/exporter.js")),
    ("/ui/search.js", JS, include_str!("ui/search.js")),
    ("/ui/themes.js", JS, include_str!("ui/themes.js")),
    ("/ui/compare.js", JS, include_str!("ui/compare.js")),
    ("/ui/corpus.js", JS, include_str!("ui/corpus.js")),
];

/// The assets gzipped once, on first use (same order as [`ASSETS`]).
fn gzipped() -> &'static [Bytes] {
    static GZIPPED: OnceLock<Vec<Bytes>> = OnceLock::new();
    GZIPPED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, _, body)| {
                let mut gz = GzEncoder::new(Vec::new(), Compression::best());
                gz.write_all(body.as_bytes()).and_then(|_| gz.finish()).map(Bytes::from).expect("gzip into memory cannot fail")
            })
            .collect()
    })
}

/// True when the request's `accept-encoding` lists gzip (without `q=0`).
fn accepts_gzip(headers: &http::HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        parts.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip")) && !parts.any(|p| p.replace(' ', "") == "q=0")
    })
}

/// Scripts and styles from this server only; calls to this server only; no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; \
                   form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

fn secure(mut resp: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Answers `GET /`, `GET /ui/...` and `GET /ui/access`.
pub fn serve<B>(req: &Request<B>, edge: &Arc<Edge>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = response(StatusCode::METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", "use GET\n");
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return secure(resp);
    }
    let path = req.uri().path();
    if path == "/ui/access" {
        return secure(access(req, edge));
    }
    match ASSETS.iter().position(|(p, _, _)| *p == path) {
        Some(i) => {
            let (_, kind, body) = ASSETS[i];
            let mut resp = if accepts_gzip(req.headers()) {
                let mut r = response(StatusCode::OK, kind, gzipped()[i].clone());
                r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            } else {
                response(StatusCode::OK, kind, body)
            };
            resp.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            secure(resp)
        }
        None => secure(response(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "no such page; the workbench is at /\n")),
    }
}

/// `{"keys": bool, "access": "full" | "read-only" | "open"}` for the key the request carries;
/// 401 with the reason when the server wants a key and this one is missing or wrong.
fn access<B>(req: &Request<B>, edge: &Arc<Edge>) -> Response<Full<Bytes>> {
    let keys = edge.keys.enabled();
    match edge.authorize(req.headers(), Target::Rpc("Stats")) {
        Ok(access) => {
            let access = match (keys, access) {
                (false, _) => "open",
                (true, Access::ReadOnly) => "read-only",
                (true, _) => "full",
            };
            response(StatusCode::OK, "application/json", serde_json::json!({ "keys": keys, "access": access }).to_string())
        }
        Err(status) => {
            let mut resp = response(StatusCode::UNAUTHORIZED, "application/json", error_body(&status));
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_or_style_and_loads_its_own_assets() {
        let html = ASSETS[0].2;
        assert!(html.contains(r#"<script type="module" src="/ui/app.js"></script>"#));
        assert!(!html.contains("<script>") && !html.contains("style=") && !html.contains("onclick"), "CSP forbids inline code");
        assert!(!html.contains("http://") && !html.contains("https://"), "nothing from another origin");
        for (path, _, js) in ASSETS.iter().filter(|(_, kind, _)| *kind == JS) {
            for unsafe_sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "document.write"] {
                assert!(!js.contains(unsafe_sink), "{path}: user text only as text, no {unsafe_sink}");
            }
            assert!(!js.contains("http://") || js.contains("http://www.w3.org/2000/svg"), "{path}: nothing from another origin");
        }
    }

    #[test]
    fn gzip_is_served_to_clients_that_accept_it() {
        let h = |v: &str| {
            let mut m = http::HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(accepts_gzip(&h("gzip, deflate, br")) && accepts_gzip(&h("br;q=1.0, GZIP;q=0.5")));
        assert!(!accepts_gzip(&h("br")) && !accepts_gzip(&h("gzip;q=0")) && !accepts_gzip(&http::HeaderMap::new()));
        for (i, (_, _, body)) in ASSETS.iter().enumerate() {
            let mut plain = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzipped()[i][..]), &mut plain).unwrap();
            assert_eq!(&plain, body);
        }
    }

    #[test]
    fn every_module_import_is_served() {
        for (path, _, js) in ASSETS.iter().filter(|(_, kind, _)| *kind == JS) {
            for line in js.lines().filter(|l| l.starts_with("import ")) {
                let target = line.rsplit("from '").next().and_then(|t| t.strip_suffix("';")).expect("import ... from './x.js';");
                let served = format!("/ui/{}", target.trim_start_matches("./"));
                assert!(ASSETS.iter().any(|(p, _, _)| *p == served), "{path} imports {target}, which is not served");
            }
        }
        let bytes: usize = ASSETS.iter().map(|(_, _, body)| body.len()).sum();
        assert!(bytes < 100_000, "the page stays small: {bytes} bytes");
    }
}
