//! The bilingual glossary end to end: the real server on the seeds with an extra `--glossary`
//! file. English questions find the Chinese term's paragraphs first in KEYWORD and HYBRID mode,
//! with the entry that fired in `bridges` and the bridged term highlighted; nothing is bridged
//! without a glossary phrase; a malformed line is reported by number while the rest loads; a
//! reload (SIGHUP) with a broken file keeps the glossary in use, a good one replaces it.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use simtheme::proto::{self, nearest_paragraphs_request::Query, SearchMode};
use tonic::transport::Channel;

async fn search(
    c: &mut SimThemeServiceClient<Channel>,
    text: &str,
    mode: SearchMode,
    no_glossary: bool,
) -> proto::NearestParagraphsResponse {
    let req = proto::NearestParagraphsRequest {
        query: Some(Query::Text(text.into())),
        k: 5,
        mode: mode as i32,
        no_glossary,
        ..Default::default()
    };
    c.nearest_paragraphs(req).await.unwrap().into_inner()
}

/// The top hit's text in simplified script (the seeds mix both scripts).
fn top_text(r: &proto::NearestParagraphsResponse) -> String {
    simtheme::corpus::to_simplified(&r.hits.first().and_then(|h| h.paragraph.as_ref()).map(|p| p.text.clone()).unwrap_or_default())
}

/// True when a highlight span of the top hit covers exactly `term`.
fn highlighted(r: &proto::NearestParagraphsResponse, term: &str) -> bool {
    let hit = &r.hits[0];
    let chars: Vec<char> = hit.paragraph.as_ref().unwrap().text.chars().collect();
    hit.highlights
        .iter()
        .any(|s| simtheme::corpus::to_simplified(&chars[s.start as usize..s.end as usize].iter().collect::<String>()).contains(term))
}

async fn glossary_info(c: &mut SimThemeServiceClient<Channel>) -> proto::GlossaryInfo {
    c.stats(proto::StatsRequest {}).await.unwrap().into_inner().glossary.unwrap()
}

fn hang_up(server: &Server) {
    let ok = std::process::Command::new("kill").args(["-HUP", &server.pid().to_string()]).status().is_ok_and(|s| s.success());
    assert!(ok, "kill -HUP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_questions_find_chinese_terms_through_the_glossary() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = tmp.path().join("extra.tsv");
    std::fs::write(&extra, "zh\ten\tsource\n未来产业\tfuture industries|industries of the future\ttest\n\tno chinese term\ttest\n")
        .unwrap();
    let server = Server::start(&tmp.path().join("data"), &["--glossary", extra.to_str().unwrap()]);
    let mut c = server.client().await;

    // Stats: the shipped entries plus one, the bad line by number.
    let info = glossary_info(&mut c).await;
    let shipped = simtheme::glossary::Glossary::shipped().len() as u32;
    assert_eq!((info.entries, info.file.as_str()), (shipped + 1, extra.to_str().unwrap()));
    assert_eq!(info.skipped_lines.len(), 1, "{info:?}");
    assert!(info.skipped_lines[0].starts_with("line 3:"), "{info:?}");

    // An English rendering finds the only paragraph with the Chinese term, first, highlighted.
    let question = "specialized, refined, distinctive and innovative firms";
    let r = search(&mut c, question, SearchMode::Keyword, false).await;
    assert!(top_text(&r).contains("专精特新"), "{:?}", top_text(&r));
    assert!(highlighted(&r, "专精特新"), "{:?}", r.hits[0].highlights);
    assert_eq!(r.bridges.len(), 1, "{:?}", r.bridges);
    let b = &r.bridges[0];
    assert_eq!((b.language.as_str(), b.added[0].as_str()), ("en", "专精特新"));
    assert!(b.entry.starts_with("专精特新 = ") && !b.source.is_empty() && b.origin.starts_with("shipped policy glossary:"), "{b:?}");
    // Without the glossary the keyword side cannot reach it.
    let before = search(&mut c, question, SearchMode::Keyword, true).await;
    assert!(!top_text(&before).contains("专精特新") && before.bridges.is_empty(), "{:?}", top_text(&before));
    // HYBRID: the bridged term's paragraphs lead.
    let r = search(&mut c, "industrial internet platforms", SearchMode::Hybrid, false).await;
    assert!(top_text(&r).contains("工业互联网") && r.bridges[0].added == ["工业互联网"], "{:?} {:?}", top_text(&r), r.bridges);
    // The extra file's entry works the same way.
    let r = search(&mut c, "industries of the future", SearchMode::Keyword, false).await;
    assert!(top_text(&r).contains("未来产业") && r.bridges[0].origin.ends_with("extra.tsv:2"), "{:?}", r.bridges);
    // must_contain: with bridge, the English phrase is met by the Chinese term.
    let phrase = "specialized, refined, distinctive and innovative";
    let mut req = proto::NearestParagraphsRequest {
        query: Some(Query::Text("small firms".into())),
        k: 5,
        mode: SearchMode::Dense as i32,
        must_contain: vec![phrase.into()],
        bridge: true,
        ..Default::default()
    };
    let r = c.nearest_paragraphs(req.clone()).await.unwrap().into_inner();
    assert!(!r.hits.is_empty() && top_text(&r).contains("专精特新") && highlighted(&r, "专精特新"), "{:?}", top_text(&r));
    let every = r.hits.iter().all(|h| simtheme::corpus::to_simplified(&h.paragraph.as_ref().unwrap().text).contains("专精特新"));
    assert!(every, "every hit holds the bridged term");
    req.bridge = false;
    assert!(c.nearest_paragraphs(req).await.unwrap().into_inner().hits.is_empty(), "unbridged, the English words must appear");
    // No glossary phrase, no bridge; DENSE never bridges.
    assert!(search(&mut c, "smart factories", SearchMode::Hybrid, false).await.bridges.is_empty());
    assert!(search(&mut c, question, SearchMode::Dense, false).await.bridges.is_empty());

    // A reload with a broken file keeps the glossary in use and says why.
    std::fs::write(&extra, "this is not a glossary\n").unwrap();
    hang_up(&server);
    let deadline = Instant::now() + Duration::from_secs(20);
    let info = loop {
        let info = glossary_info(&mut c).await;
        if !info.last_reload_error.is_empty() || Instant::now() > deadline {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(info.last_reload_error.contains("must name the columns zh and en"), "{info:?}");
    assert_eq!(info.entries, shipped + 1, "the previous glossary stays");
    let r = search(&mut c, "industries of the future", SearchMode::Keyword, false).await;
    assert!(top_text(&r).contains("未来产业"), "still bridged after the failed reload");

    // A good file replaces it.
    std::fs::write(&extra, "zh,en\n人形机器人,humanoid robots\n").unwrap();
    hang_up(&server);
    let deadline = Instant::now() + Duration::from_secs(20);
    let info = loop {
        let info = glossary_info(&mut c).await;
        if info.last_reload_error.is_empty() || Instant::now() > deadline {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((info.entries, info.skipped_lines.len()), (shipped + 1, 0), "{info:?}");
    let r = search(&mut c, "humanoid robots", SearchMode::Keyword, false).await;
    assert!(top_text(&r).contains("人形机器人"), "{:?}", r.bridges);
    assert!(search(&mut c, "industries of the future", SearchMode::Keyword, false).await.bridges.is_empty(), "the old entry is gone");
    server.stop();
}

#[test]
fn a_glossary_file_that_cannot_be_used_stops_the_start_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_simtheme"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-seed", "--data-dir"])
        .arg(tmp.path().join("data"))
        .arg("--glossary")
        .arg(tmp.path().join("missing.csv"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("missing.csv") && stderr.contains("cannot be read"), "{stderr}");
}

#[test]
fn the_cli_checks_a_glossary_file_before_a_reload() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mine.csv");
    std::fs::write(&file, "zh,en,source\n两业融合,integration of advanced manufacturing and modern services,ours\n,missing,ours\n")
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_simtheme"))
        .args(["glossary", file.to_str().unwrap(), "--query", "the integration of advanced manufacturing and modern services"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("1 entries read") && said.contains("1 lines skipped") && said.contains("line 3:"), "{said}");
    assert!(said.contains("adds 两业融合") && said.contains("mine.csv:2"), "{said}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_simtheme")).args(["glossary", "/nonexistent.csv"]).output().unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("cannot be read"));
}
