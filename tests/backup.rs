//! Backup and restore of a live embedded data directory, end to end. A server ingests
//! documents one after another while `simtheme backup` runs against its data directory. The
//! backup is restored into a new directory and served by a second server. The test checks that
//! every document acknowledged before the backup began is there, whole, and that searches answer
//! the same. A damaged backup is refused with what is wrong.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::Server;
use simtheme::proto::{self, nearest_paragraphs_request::Query};

fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_simtheme")).args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn document(i: usize) -> proto::DocumentInput {
    let text = format!(
        "第{i}号备份测试文件\n\n第{i}段：推进备份与恢复的可靠性建设，数据目录在写入时也能得到一致的副本。\n\n第{i}段补充：每个文件都有三段文字，恢复以后应当完整保存，编号{i}。"
    );
    proto::DocumentInput { text, name: format!("backup-{i}.txt"), date: "2025".into(), ..Default::default() }
}

/// Documents of a server: id -> (paragraphs listed, paragraphs counted by ListParagraphs).
async fn documents(server: &Server) -> Vec<(String, u32, u32)> {
    let mut c = server.client().await;
    let mut out = Vec::new();
    let docs = c.list_documents(proto::ListDocumentsRequest { page_size: 500, ..Default::default() }).await.unwrap().into_inner();
    for d in docs.documents {
        let paras = c
            .list_paragraphs(proto::ListParagraphsRequest { document_id: d.id.clone(), page_size: 500, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        out.push((d.id, d.paragraphs, paras.total));
    }
    out
}

async fn answers(server: &Server, ids: &[String]) -> Vec<(i64, String)> {
    let mut c = server.client().await;
    let req = proto::NearestParagraphsRequest {
        query: Some(Query::Text("备份与恢复的可靠性".into())),
        k: 10,
        mode: proto::SearchMode::Dense as i32,
        exact: true,
        filter: Some(proto::ParagraphFilter { document_ids: ids.to_vec(), ..Default::default() }),
        ..Default::default()
    };
    let hits = c.nearest_paragraphs(req).await.unwrap().into_inner().hits;
    hits.into_iter().map(|h| (h.paragraph.unwrap().id, format!("{:.5}", h.score))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_ingestion_restores_every_acknowledged_document_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (live, copy, restored) = (tmp.path().join("live"), tmp.path().join("backup"), tmp.path().join("restored"));
    let server = Server::start(&live, &["--no-seed"]);

    // Ingestion runs on its own until told to stop; each acknowledged id is recorded.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ingest = {
        let (acked, stop, mut c) = (Arc::clone(&acked), Arc::clone(&stop), server.client().await);
        tokio::spawn(async move {
            for i in 0.. {
                if stop.load(std::sync::atomic::Ordering::Relaxed) || i >= 200 {
                    break;
                }
                let r = c.add_documents(proto::AddDocumentsRequest { documents: vec![document(i)] }).await.unwrap().into_inner();
                acked.lock().unwrap().push(r.results[0].document_id.clone());
            }
        })
    };
    while acked.lock().unwrap().len() < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before: Vec<String> = acked.lock().unwrap().clone();
    let (ok, out) = cli(&["--data-dir", live.to_str().unwrap(), "backup", "--to", copy.to_str().unwrap()]);
    assert!(ok && out.contains("backed up") && out.contains("SHA-256"), "{out}");
    // ingestion went on during and after the backup
    let during = acked.lock().unwrap().len();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    ingest.await.unwrap();
    let all = acked.lock().unwrap().clone();
    assert!(all.len() > before.len(), "writes continued: {} before, {during} during, {} in all", before.len(), all.len());

    // Restore into a new directory and serve it.
    let (ok, out) = cli(&["--data-dir", restored.to_str().unwrap(), "restore", "--from", copy.to_str().unwrap()]);
    assert!(ok && out.contains("restored") && out.contains("rebuilt"), "{out}");
    let second = Server::start(&restored, &["--no-seed"]);
    let original = documents(&server).await;
    let back = documents(&second).await;
    for id in &before {
        let found = back.iter().find(|d| &d.0 == id);
        assert!(found.is_some(), "document {id}, acknowledged before the backup, is missing");
    }
    for (id, listed, counted) in &back {
        assert!(listed == counted && *listed >= 1, "document {id} is not whole: {listed} listed, {counted} stored");
        let same = original.iter().find(|d| &d.0 == id).unwrap();
        assert_eq!((same.1, same.2), (*listed, *counted));
    }
    assert!(back.len() >= before.len() && back.len() <= all.len(), "{} restored of {} acknowledged", back.len(), all.len());
    eprintln!("acknowledged: {} before the backup, {during} when it ended, {} in all; restored {}", before.len(), all.len(), back.len());
    assert_eq!(answers(&server, &before).await, answers(&second, &before).await, "the same searches give the same answers");
    second.stop();
    server.stop();

    // A restore into a directory that holds a corpus needs --replace.
    let (ok, out) = cli(&["--data-dir", live.to_str().unwrap(), "restore", "--from", copy.to_str().unwrap()]);
    assert!(!ok && out.contains("--replace"), "{out}");
    // A damaged backup is refused, and says what is wrong.
    let db = copy.join("simtheme.sqlite3");
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x5a;
    std::fs::write(&db, &bytes).unwrap();
    let (ok, out) =
        cli(&["--data-dir", tmp.path().join("other").to_str().unwrap(), "restore", "--from", copy.to_str().unwrap(), "--check"]);
    assert!(!ok && out.contains("does not match backup.json"), "{out}");
}
