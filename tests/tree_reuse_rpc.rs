//! ThemeTree and TextReuse end to end: the real server on a data directory holding the reuse
//! fixture (a real 2017 work report and a hand-edited 2018 version, tests/fixtures/reuse) and
//! the six-report sample (tests/fixtures/gov_reports_sample), both dated by file name through
//! `simtheme ingest`; asked over gRPC and HTTP/JSON.

mod common;

use std::process::Command;

use common::{code, http_call, Server};
use simtheme::proto::{self, reuse_side::Side, ReuseKind};
use tonic::Code;

fn ingest(data: &std::path::Path, files: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_simtheme")).arg("--data-dir").arg(data).arg("ingest").args(files).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn years(from: i32, to: i32) -> Option<proto::ReuseSide> {
    Some(proto::ReuseSide { side: Some(Side::Years(proto::YearRange { from, to })) })
}

fn document(id: &str) -> Option<proto::ReuseSide> {
    Some(proto::ReuseSide { side: Some(Side::DocumentId(id.into())) })
}

/// The kinds tests/fixtures/reuse/README.md documents, in report order.
const KINDS: [ReuseKind; 9] = [
    ReuseKind::Verbatim,
    ReuseKind::Edited,
    ReuseKind::New,
    ReuseKind::Verbatim,
    ReuseKind::Rewritten,
    ReuseKind::Edited,
    ReuseKind::Edited,
    ReuseKind::Verbatim,
    ReuseKind::Dropped,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn theme_tree_and_text_reuse_over_grpc_and_http() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sample = "tests/fixtures/gov_reports_sample";
    ingest(&data, &["tests/fixtures/reuse/2017.txt", "tests/fixtures/reuse/2018.txt"]);
    ingest(
        &data,
        &[&format!("{sample}/1984.txt"), &format!("{sample}/1985.txt"), &format!("{sample}/2020.txt"), &format!("{sample}/2021.txt")],
    );
    let server = Server::start(&data, &["--http-listen", "127.0.0.1:0"]);
    let mut c = server.client().await;

    // Text reuse between two years: the documented edits, counts over every paragraph.
    let req = proto::TextReuseRequest { from: years(2017, 2017), to: years(2018, 2018), ..Default::default() };
    let r = c.text_reuse(req.clone()).await.unwrap().into_inner();
    let kinds: Vec<i32> = r.entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, KINDS.map(|k| k as i32).to_vec(), "{:?}", r.entries);
    assert_eq!((r.from_paragraphs, r.to_paragraphs, r.verbatim, r.edited, r.rewritten, r.dropped, r.new), (8, 8, 3, 3, 1, 1, 1));
    assert_eq!((r.from_label.as_str(), r.to_label.as_str()), ("2017", "2018"));
    for e in &r.entries {
        let edited = e.kind == ReuseKind::Edited as i32;
        assert_eq!(!e.diff.is_empty(), edited, "a diff for edited pairs only");
        if edited {
            // the diff rebuilds both sides: equal + deleted runs give the older text
            let old: String = e.diff.iter().filter(|s| s.op != proto::diff_segment::Op::Insert as i32).map(|s| s.text.as_str()).collect();
            let new: String = e.diff.iter().filter(|s| s.op != proto::diff_segment::Op::Delete as i32).map(|s| s.text.as_str()).collect();
            assert_eq!((old.as_str(), new.as_str()), (e.from.as_ref().unwrap().text.as_str(), e.to.as_ref().unwrap().text.as_str()));
        }
    }
    // Filtered and cut entries; the counts still cover everything.
    let only = proto::TextReuseRequest { kinds: vec![ReuseKind::Edited as i32], limit: 2, ..req.clone() };
    let f = c.text_reuse(only).await.unwrap().into_inner();
    assert!(f.entries.len() == 2 && f.entries.iter().all(|e| e.kind == ReuseKind::Edited as i32) && f.edited == 3, "{f:?}");
    // Documents as sides give the same alignment.
    let docs = c.list_documents(proto::ListDocumentsRequest::default()).await.unwrap().into_inner().documents;
    let id_of = |year: i32| docs.iter().find(|d| d.year == Some(year)).unwrap().id.clone();
    let by_doc = proto::TextReuseRequest { from: document(&id_of(2017)), to: document(&id_of(2018)), ..Default::default() };
    let d = c.text_reuse(by_doc).await.unwrap().into_inner();
    assert_eq!(d.entries.iter().map(|e| e.kind).collect::<Vec<_>>(), kinds);
    // Bad input: a missing side, an unknown document, a year the corpus lacks, a bad threshold.
    let e = c.text_reuse(proto::TextReuseRequest { to: None, ..req.clone() }).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("set to"), "{e:?}");
    assert_eq!(code(c.text_reuse(proto::TextReuseRequest { from: document("nope"), ..req.clone() }).await), Code::NotFound);
    let e = c.text_reuse(proto::TextReuseRequest { from: years(1990, 1990), ..req.clone() }).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("2017–2018"), "{e:?}");
    let e = c.text_reuse(proto::TextReuseRequest { edited_min_similarity: 1.5, ..req.clone() }).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("(0, 1]"), "{e:?}");
    let e = c.text_reuse(proto::TextReuseRequest { kinds: vec![42], ..req.clone() }).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("VERBATIM"), "{e:?}");

    // The theme tree: every node, one level, one subtree; cached; errors name the fix.
    let params = Some(proto::ThemeParams { min_theme_size: 2, ..Default::default() });
    let tree_req = proto::ThemeTreeRequest { params: params.clone(), min_split: 4, include_members: true, ..Default::default() };
    let t = c.theme_tree(tree_req.clone()).await.unwrap().into_inner();
    assert!(!t.cached && !t.nodes.is_empty() && t.depth >= 1, "{t:?}");
    let counted: u32 =
        t.nodes.iter().filter(|n| n.level == 0).map(|n| n.size).sum::<u32>() + t.outlier_ids.len() as u32 + t.boilerplate_ids.len() as u32;
    assert_eq!(counted, t.paragraphs, "every paragraph is in a broad theme, an outlier or boilerplate");
    for n in &t.nodes {
        assert!(!n.label.is_empty() && !n.representatives.is_empty() && n.member_ids.len() as u32 == n.size, "{n:?}");
        if let Some(p) = n.parent {
            let parent = t.nodes.iter().find(|x| x.id == p).unwrap();
            assert!(n.level == parent.level + 1 && parent.children.contains(&n.id));
            assert!(n.member_ids.iter().all(|m| parent.member_ids.contains(m)), "a child's members are its parent's");
        }
    }
    let again = c.theme_tree(tree_req.clone()).await.unwrap().into_inner();
    assert!(again.cached && again.result_id == t.result_id && again.nodes == t.nodes);
    let level0 = c.theme_tree(proto::ThemeTreeRequest { level: Some(0), ..tree_req.clone() }).await.unwrap().into_inner();
    assert!(level0.nodes.iter().all(|n| n.level == 0) && !level0.nodes.is_empty());
    let first = t.nodes[0].id;
    let sub = c
        .theme_tree(proto::ThemeTreeRequest { subtree: Some(first), include_members: false, ..tree_req.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(sub.nodes[0].id == first && sub.nodes.iter().all(|n| n.member_ids.is_empty()));
    let e = c.theme_tree(proto::ThemeTreeRequest { level: Some(0), subtree: Some(first), ..tree_req.clone() }).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("not both"), "{e:?}");
    let e = c.theme_tree(proto::ThemeTreeRequest { level: Some(t.depth), ..tree_req.clone() }).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("levels 0..="), "{e:?}");
    assert_eq!(code(c.theme_tree(proto::ThemeTreeRequest { subtree: Some(9_999), ..tree_req.clone() }).await), Code::NotFound);
    let e = c.theme_tree(proto::ThemeTreeRequest { levels: 7, ..tree_req.clone() }).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("1..=6"), "{e:?}");
    // Quoted members per year: the node's own, at most two a year, years ascending, nearest first.
    let quoted = proto::ThemeTreeRequest { subtree: Some(first), year_examples: 2, ..tree_req.clone() };
    let q = c.theme_tree(quoted).await.unwrap().into_inner();
    let root = &q.nodes[0];
    assert!(!root.year_examples.is_empty() && t.nodes.iter().all(|n| n.year_examples.is_empty()), "examples only when asked");
    let member_years: std::collections::BTreeSet<i32> = root.year_examples.iter().map(|e| e.year.expect("the fixture is dated")).collect();
    for y in &member_years {
        let of_year: Vec<&proto::ThemeParagraph> = root.year_examples.iter().filter(|e| e.year == Some(*y)).collect();
        assert!(of_year.len() <= 2 && of_year.windows(2).all(|w| w[0].similarity >= w[1].similarity), "{of_year:?}");
        assert!(of_year.iter().all(|e| root.member_ids.contains(&e.paragraph_id) && !e.text.is_empty()));
    }
    let years_in_order: Vec<i32> = root.year_examples.iter().filter_map(|e| e.year).collect();
    assert!(years_in_order.windows(2).all(|w| w[0] <= w[1]), "{years_in_order:?}");
    let e = c.theme_tree(proto::ThemeTreeRequest { year_examples: 11, ..tree_req.clone() }).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("maximum of 10"), "{e:?}");

    // A document's paragraphs in reading order, page by page.
    let doc = id_of(2017);
    let first_page = c
        .list_paragraphs(proto::ListParagraphsRequest { document_id: doc.clone(), page_size: 5, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(first_page.total == 8 && first_page.paragraphs.len() == 5 && !first_page.next_page_token.is_empty(), "{first_page:?}");
    let rest = c
        .list_paragraphs(proto::ListParagraphsRequest { document_id: doc.clone(), page_size: 5, page_token: first_page.next_page_token })
        .await
        .unwrap()
        .into_inner();
    assert!(rest.paragraphs.len() == 3 && rest.next_page_token.is_empty(), "{rest:?}");
    let positions: Vec<u32> = first_page.paragraphs.iter().chain(&rest.paragraphs).map(|p| p.position).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(first_page.paragraphs.iter().chain(&rest.paragraphs).all(|p| p.document_id == doc && p.year == Some(2017)));
    let missing = proto::ListParagraphsRequest { document_id: "0123456789abcdef".into(), ..Default::default() };
    assert_eq!(code(c.list_paragraphs(missing).await), Code::NotFound);
    let bad_token = proto::ListParagraphsRequest { document_id: doc.clone(), page_token: "zz".into(), ..Default::default() };
    assert_eq!(code(c.list_paragraphs(bad_token).await), Code::InvalidArgument);
    let too_big = proto::ListParagraphsRequest { document_id: doc.clone(), page_size: 501, ..Default::default() };
    assert_eq!(code(c.list_paragraphs(too_big).await), Code::InvalidArgument);

    // The same RPCs over HTTP/JSON.
    let http = server.ready_addr("http");
    let body = r#"{"from":{"years":{"from":2017,"to":2017}},"to":{"years":{"from":2018,"to":2018}},"kinds":["REUSE_KIND_VERBATIM"]}"#;
    let reply = http_call(&http, "POST", "/v1/TextReuse", &[], body).await.json();
    assert_eq!(reply["verbatim"], 3, "{reply}");
    assert_eq!(reply["entries"].as_array().unwrap().len(), 3, "{reply}");
    let reply = http_call(&http, "POST", "/v1/ThemeTree", &[], r#"{"params":{"minThemeSize":2},"level":0}"#).await.json();
    assert_eq!(reply["resultId"].as_str().unwrap().len(), 16, "{reply}");
    assert!(!reply["nodes"].as_array().unwrap().is_empty(), "{reply}");
}
