//! Policy themes end to end on real text: twelve years of government work reports
//! (tests/fixtures/policy_sample, public domain) where the Western Development strategy
//! (西部大开发) appears in 2001, is named in every report to 2005 and fades; ingested with
//! `simtheme ingest` (dates from file names), asked over gRPC, HTTP/JSON and the CLI.

mod common;

use std::collections::HashSet;
use std::process::Command;

use common::{code, http_call, Server};
use simtheme::proto;
use tonic::Code;

const SAMPLE: &str = "tests/fixtures/policy_sample";

fn simtheme(data: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_simtheme")).arg("--data-dir").arg(data).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_named_in_passing_over_five_years_gets_its_own_policy_theme() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut files: Vec<String> =
        std::fs::read_dir(SAMPLE).unwrap().map(|e| e.unwrap().path().display().to_string()).filter(|p| p.ends_with(".txt")).collect();
    files.sort();
    let args: Vec<&str> = std::iter::once("ingest").chain(files.iter().map(String::as_str)).collect();
    simtheme(&data, &args);

    // CLI first (the server holds the data directory afterwards)
    let table = simtheme(&data, &["themes", "--policies"]);
    assert!(table.lines().any(|l| l.contains("西部") && l.contains("2001")), "{table}");
    let csv = simtheme(&data, &["themes", "--policies", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(&header[..5], ["policy_id", "terms", "first_year", "peak_year", "last_year"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert!(rows.iter().any(|r| r[1].contains("西部")), "{csv}");
    let tree = simtheme(&data, &["themes", "--tree", "--min-size", "2"]);
    assert!(tree.contains("policy themes"), "{tree}");

    let server = Server::start(&data, &["--http-listen", "127.0.0.1:0"]);
    let mut c = server.client().await;
    // the paragraphs naming the policy, by id
    let docs = c.list_documents(proto::ListDocumentsRequest::default()).await.unwrap().into_inner();
    let mut naming = HashSet::new();
    for d in &docs.documents {
        let req = proto::ListParagraphsRequest { document_id: d.id.clone(), page_size: 500, ..Default::default() };
        for p in c.list_paragraphs(req).await.unwrap().into_inner().paragraphs {
            if p.text.contains("西部大开发") {
                naming.insert(p.id);
            }
        }
    }
    assert_eq!(naming.len(), 11, "the fixture names the policy in 11 paragraphs");

    let params = Some(proto::ThemeParams { min_theme_size: 2, ..Default::default() });
    let req = proto::ThemeTreeRequest { params: params.clone(), include_members: true, ..Default::default() };
    let r = c.theme_tree(req.clone()).await.unwrap().into_inner();
    assert!(r.policies_found as usize >= r.policies.len() && !r.policies.is_empty(), "{:?}", r.policies);
    let west: Vec<&proto::PolicyTheme> = r.policies.iter().filter(|p| p.terms.iter().any(|t| t.contains("西部"))).collect();
    assert_eq!(west.len(), 1, "one policy theme for the strategy: {:?}", r.policies.iter().map(|p| &p.terms).collect::<Vec<_>>());
    let p = west[0];
    let members: HashSet<i64> = p.member_ids.iter().copied().collect();
    assert!(naming.iter().filter(|id| members.contains(id)).count() >= 10, "{p:?}");
    assert!(p.first_year >= 2001 && p.last_year <= 2005 && (p.first_year..=p.last_year).contains(&p.peak_year), "{p:?}");
    assert!(p.coherence >= 0.12 && p.size as usize == members.len() && !p.representatives.is_empty());
    // it sits under a broad theme of this tree
    let broad = p.broad_theme.expect("a broad theme");
    assert!(r.nodes.iter().any(|n| n.id == broad && n.level == 0));
    // the clustered themes do not hold the policy's paragraphs this well
    let isolated_by_a_node = r.nodes.iter().any(|n| {
        let held = n.member_ids.iter().filter(|m| naming.contains(m)).count();
        held * 10 >= naming.len() * 9 && held * 10 >= n.member_ids.len() * 9
    });
    assert!(!isolated_by_a_node, "a clustered theme isolates the policy too: the policy themes add nothing here");

    // how many are listed: none, a few, too many; a subtree lists those under its broad theme
    let none = c.theme_tree(proto::ThemeTreeRequest { policies: Some(0), ..req.clone() }).await.unwrap().into_inner();
    assert!(none.policies.is_empty() && none.policies_found == r.policies_found);
    let e = c.theme_tree(proto::ThemeTreeRequest { policies: Some(1001), ..req.clone() }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("maximum of 1000"), "{}", e.message());
    let sub = c.theme_tree(proto::ThemeTreeRequest { subtree: Some(broad), ..req.clone() }).await.unwrap().into_inner();
    assert!(sub.policies.iter().all(|q| q.broad_theme == Some(broad)) && sub.policies.iter().any(|q| q.id == p.id));
    assert_eq!(code(c.theme_tree(proto::ThemeTreeRequest { subtree: Some(9_999), ..req.clone() }).await), Code::NotFound);

    // HTTP/JSON: the same policy theme, camelCase
    let http = server.ready_addr("http");
    let reply = http_call(&http, "POST", "/v1/ThemeTree", &[], r#"{"params":{"minThemeSize":2},"level":0,"policies":5}"#).await.json();
    let listed = reply["policies"].as_array().unwrap_or_else(|| panic!("{reply}"));
    assert!(!listed.is_empty() && listed.len() <= 5, "{reply}");
    assert!(listed.iter().any(|q| q["terms"].as_array().unwrap().iter().any(|t| t.as_str().unwrap().contains("西部"))), "{reply}");
    assert!(listed[0]["firstYear"].as_i64().is_some() && listed[0]["peakYear"].as_i64().is_some(), "{reply}");
}
