//! Kill -9 a child process in the middle of inserts and verify the store is
//! consistent afterwards.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::test_support::{make_doc, make_vectors, MODEL};
use super::{Store, StoreInsert};

const CHILD_DIR_ENV: &str = "SIMTHEME_STORE_CRASH_CHILD_DIR";
const CHILD_START_ENV: &str = "SIMTHEME_STORE_CRASH_CHILD_START";
const TEST_NAME: &str = "kill9_during_inserts_leaves_store_consistent";
/// Paragraphs x chunks per document: large enough that a kill often lands mid-transaction.
const PARAS: u32 = 12;
const CHUNKS: u32 = 3;
const DIM: usize = 384;

fn doc_id(i: u32) -> String {
    format!("crash{i:06}")
}

/// Child mode: insert documents forever, acknowledging each commit on stdout.
fn run_child(dir: &Path, start: u32) -> ! {
    let mut store = Store::open(dir).expect("child open");
    let stdout = std::io::stdout();
    for i in start.. {
        let doc = make_doc(&doc_id(i), Some(2000 + (i % 20) as i32), PARAS, CHUNKS);
        let vecs = make_vectors(&doc, DIM, i as f32);
        match store.insert_document(&doc, &vecs, MODEL).expect("child insert") {
            StoreInsert::Inserted { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        let mut out = stdout.lock();
        writeln!(out, "ACK {}", doc_id(i)).unwrap();
        out.flush().unwrap();
    }
    unreachable!()
}

/// Runs one child from document `start`, kills it `fraction` of an average
/// insert time after its `kill_after`-th ack (so the kill lands inside a
/// later insert), and returns every id the child acknowledged.
fn crash_round(dir: &Path, start: u32, kill_after: usize, fraction: f64) -> Vec<String> {
    let module = module_path!();
    let test_path = format!("{}::{TEST_NAME}", module.split_once("::").map_or(module, |m| m.1));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test_path.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_ENV, dir)
        .env(CHILD_START_ENV, start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // The harness may print the test name on the same line first.
            if let Some(pos) = line.find("ACK ") {
                if tx.send(line[pos + 4..].trim().to_string()).is_err() {
                    break;
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut acked = Vec::new();
    let mut first_ack = None;
    while acked.len() < kill_after {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(id) => {
                first_ack.get_or_insert_with(Instant::now);
                acked.push(id);
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("child produced only {} acks in time", acked.len());
            }
        }
    }
    let per_insert = first_ack.unwrap().elapsed() / (kill_after as u32 - 1).max(1);
    std::thread::sleep(per_insert.mul_f64(fraction));
    child.kill().expect("kill child"); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "child should have been killed");
    reader.join().unwrap();
    acked.extend(rx.try_iter()); // acks printed before the kill landed
    acked
}

/// Checks that every stored document is complete and every acked one is
/// stored; returns the highest stored document number.
fn verify(dir: &Path, acked: &HashSet<String>, rounds: usize) -> Option<u32> {
    let store = Store::open(dir).expect("reopen after crash");
    store.check_integrity().expect("integrity");
    let docs = store.list_documents(None, usize::MAX).unwrap();
    let present: HashSet<String> = docs.iter().map(|d| d.id.clone()).collect();
    for id in acked {
        assert!(present.contains(id), "acknowledged document {id} lost");
    }
    // At most one committed-but-unacknowledged document per round.
    assert!(present.len() <= acked.len() + rounds, "{} stored, {} acked", present.len(), acked.len());
    eprintln!("crash round {rounds}: {} acknowledged, {} stored", acked.len(), present.len());
    for d in &docs {
        assert_eq!((d.paragraphs, d.chunks, d.duplicates), (PARAS, PARAS * CHUNKS, 1), "{}", d.id);
        let (p, c, dups): (i64, i64, i64) = store
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM paragraphs WHERE document_id = ?1), \
                 (SELECT COUNT(*) FROM chunks c JOIN paragraphs p ON p.id = c.paragraph_id \
                  WHERE p.document_id = ?1), \
                 (SELECT COUNT(*) FROM duplicates WHERE document_id = ?1)",
                [&d.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((p, c, dups), (PARAS as i64, (PARAS * CHUNKS) as i64, 1), "partial {}", d.id);
    }
    let stats = store.stats().unwrap();
    assert_eq!(stats.documents as usize, docs.len());
    assert_eq!(stats.chunks, docs.len() as u64 * (PARAS * CHUNKS) as u64);
    assert_eq!(store.corpus_version().unwrap(), docs.len() as u64);
    let vectors = store.all_chunk_vectors(MODEL).unwrap();
    assert_eq!(vectors.len() as u64, stats.chunks);
    present.iter().filter_map(|id| id.strip_prefix("crash")?.parse().ok()).max()
}

#[test]
fn kill9_during_inserts_leaves_store_consistent() {
    if let Some(dir) = std::env::var_os(CHILD_DIR_ENV) {
        let start = std::env::var(CHILD_START_ENV).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        run_child(Path::new(&dir), start);
    }
    let began = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let mut acked = HashSet::new();
    let mut next = 0u32;
    let plan = [(3usize, 0.0), (9, 0.3), (5, 0.6), (7, 0.9), (4, 1.5)];
    for (round, (kill_after, fraction)) in plan.into_iter().enumerate() {
        let acks = crash_round(tmp.path(), next, kill_after, fraction);
        assert!(acks.len() >= kill_after);
        acked.extend(acks);
        // Continue numbering after anything the child may have committed.
        next = verify(tmp.path(), &acked, round + 1).map_or(0, |m| m + 1);
    }
    // The store is still writable after the crashes.
    let mut store = Store::open(tmp.path()).unwrap();
    let doc = make_doc("after-crash", None, 1, 1);
    let out = store.insert_document(&doc, &make_vectors(&doc, DIM, 0.0), MODEL).unwrap();
    assert!(matches!(out, StoreInsert::Inserted { .. }));
    assert!(began.elapsed() < Duration::from_secs(10), "took {:?}", began.elapsed());
}
