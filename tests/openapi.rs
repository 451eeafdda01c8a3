//! The HTTP/JSON contract: `/openapi.json` from the real server covers every unary RPC of the
//! proto and no streaming one, passes an OpenAPI 3.1 validator from PyPI
//! (`openapi-spec-validator`; without it this part prints SKIPPED), and every JSON example in
//! the README (`grpcurl -d '...'` and `curl -d '...'`) uses only fields its request schema has.

mod common;

use common::{http_call, Server};
use serde_json::Value;

/// The schema `schema` refers to (follows one `$ref`).
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            spec["components"]["schemas"].get(name).unwrap_or_else(|| panic!("dangling $ref {r}"))
        }
        None => schema,
    }
}

/// Problems of `value` against `schema`: unknown fields and wrong JSON types, with their paths.
fn check(spec: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let kind = match value {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
    };
    let fits = types.is_empty() || types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
    if !fits {
        out.push(format!("{at}: a {kind} where the schema wants {types:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            out.push(format!("{at}: {value} is not one of the enum's values"));
        }
    }
    match value {
        Value::Object(fields) => {
            for (k, v) in fields {
                match schema["properties"].get(k) {
                    Some(s) => check(spec, s, v, &format!("{at}.{k}"), out),
                    None if schema.get("additionalProperties").is_some_and(|a| a.is_object()) => {
                        check(spec, &schema["additionalProperties"], v, &format!("{at}.{k}"), out)
                    }
                    None => out.push(format!("{at}: no field {k}")),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check(spec, &schema["items"], v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// (rpc, JSON body) of every `-d '...'` example of the README that names an RPC.
fn readme_examples() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let pattern = regex::Regex::new(r#"-d '([^']*)'[^'`]*?(?:SimThemeService/|/v1/)([A-Za-z]+)"#).unwrap();
    pattern.captures_iter(&readme).map(|c| (c[2].to_string(), c[1].to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_the_api_validates_and_fits_the_readme() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--no-seed", "--http-listen", "127.0.0.1:0", "--metrics-listen", ""]);
    let http = server.ready_addr("http");
    let reply = http_call(&http, "GET", "/openapi.json", &[], "").await;
    assert_eq!(reply.status, 200);
    let spec = reply.json();
    assert_eq!(spec["openapi"], "3.1.0");

    // Every unary RPC of the proto, and no streaming one.
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(simtheme::proto::FILE_DESCRIPTOR_SET).unwrap();
    let file = set.file.iter().find(|f| f.package() == "simtheme.v1").unwrap();
    for m in &file.service[0].method {
        let path = format!("/v1/{}", m.name());
        let op = &spec["paths"][&path]["post"];
        if m.client_streaming() {
            assert!(op.is_null(), "{path} is gRPC only");
            continue;
        }
        assert!(!op["summary"].as_str().unwrap_or("").is_empty(), "{path} has the proto's comment as summary");
        let request = resolve(&spec, &op["requestBody"]["content"]["application/json"]["schema"]);
        assert!(request["properties"].is_object(), "{path}: {request}");
    }
    // Field comments reach the document.
    let k = &spec["components"]["schemas"]["NearestParagraphsRequest"]["properties"]["k"];
    assert!(k["description"].as_str().is_some_and(|d| d.contains("1 to 100")), "{k}");

    // The README's examples use only fields the contract has.
    let examples = readme_examples();
    assert!(examples.len() >= 15, "{} examples found", examples.len());
    let mut problems = Vec::new();
    for (rpc, body) in &examples {
        let op = &spec["paths"][format!("/v1/{rpc}")]["post"];
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("README example for {rpc} is not JSON ({e}): {body}"));
        if rpc == "StreamDocuments" {
            continue;
        }
        assert!(!op.is_null(), "README example calls {rpc}, which the contract does not have");
        check(&spec, &op["requestBody"]["content"]["application/json"]["schema"], &body, rpc, &mut problems);
    }
    assert!(problems.is_empty(), "README examples off the contract: {problems:#?}");
    // The checker itself catches a wrong field and a wrong type.
    let mut caught = Vec::new();
    let schema = serde_json::json!({"$ref": "#/components/schemas/NearestParagraphsRequest"});
    check(&spec, &schema, &serde_json::json!({"text": "x", "K": 3, "mode": "FAST", "k": "3"}), "probe", &mut caught);
    assert_eq!(caught.len(), 3, "{caught:?}");

    // An OpenAPI 3.1 validator from PyPI.
    let validator = std::process::Command::new("python3").args(["-c", "import openapi_spec_validator"]).status();
    if !validator.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: the OpenAPI validation: the Python package openapi-spec-validator is not installed (python3 -m pip install openapi-spec-validator)");
        return;
    }
    let path = tmp.path().join("openapi.json");
    std::fs::write(&path, reply.body.as_bytes()).unwrap();
    let script = "import sys; from openapi_spec_validator import validate; from openapi_spec_validator.readers import read_from_filename; \
                  spec, _ = read_from_filename(sys.argv[1]); validate(spec); print('valid')";
    let out = std::process::Command::new("python3").args(["-c", script]).arg(&path).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.contains("valid"), "the OpenAPI document does not validate:\n{said}");
    server.stop();
}
