use super::*;
use crate::backend::embedded::store::test_support::{make_doc, make_vectors, snapshot, MODEL};
use crate::backend::embedded::store::Store;

fn corpus(dir: &Path, docs: &[&str]) -> Store {
    let mut store = Store::open(dir).unwrap();
    for (i, id) in docs.iter().enumerate() {
        let doc = make_doc(id, Some(2020 + i as i32), 3, 2);
        store.insert_document(&doc, &make_vectors(&doc, 4, i as f32), MODEL).unwrap();
    }
    store
}

#[test]
fn a_backup_restores_to_the_same_corpus_and_is_checked_first() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let store = corpus(&live, &["a", "b"]);
    let m = backup(&live, &tmp.path().join("b1")).unwrap();
    assert_eq!((m.documents, m.paragraphs, m.chunks), (2, 6, 12));
    assert_eq!(m.models, [(MODEL.to_string(), 4)]);
    assert_eq!(verify(&tmp.path().join("b1")).unwrap(), m);
    let restored = tmp.path().join("restored");
    restore(&tmp.path().join("b1"), &restored, false).unwrap();
    assert_eq!(snapshot(&Store::open(&restored).unwrap()), snapshot(&store));
    // a second backup into the same directory is refused
    assert!(backup(&live, &tmp.path().join("b1")).unwrap_err().to_string().contains("already holds a backup"));
    // a data directory that holds a corpus is not overwritten unless asked
    let e = restore(&tmp.path().join("b1"), &live, false).unwrap_err().to_string();
    assert!(e.contains("--replace"), "{e}");
}

#[test]
fn replacing_keeps_the_old_database_and_drops_derived_state() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    drop(corpus(&new, &["x"]));
    backup(&new, &tmp.path().join("b")).unwrap();
    drop(corpus(&old, &["a", "b", "c"]));
    std::fs::create_dir_all(old.join("keyword")).unwrap();
    std::fs::create_dir_all(old.join("index")).unwrap();
    restore(&tmp.path().join("b"), &old, true).unwrap();
    assert_eq!(snapshot(&Store::open(&old).unwrap())[0], 1, "one document now");
    assert!(old.join("simtheme.sqlite3.before-restore").is_file());
    assert!(!old.join("keyword").exists() && !old.join("index").exists(), "derived state is rebuilt at start");
}

#[test]
fn damaged_backups_are_refused_with_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    drop(corpus(&live, &["a"]));
    let dir = tmp.path().join("b");
    backup(&live, &dir).unwrap();
    let target = tmp.path().join("t");

    // a flipped byte in the database
    let db = dir.join(DB_FILE_NAME);
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&db, &bytes).unwrap();
    let e = restore(&dir, &target, false).unwrap_err().to_string();
    assert!(e.contains("does not match backup.json") && e.contains("damaged"), "{e}");
    assert!(!target.join(DB_FILE_NAME).exists(), "nothing installed");

    // a damaged manifest, then none
    std::fs::write(dir.join(MANIFEST), "{ not json").unwrap();
    assert!(verify(&dir).unwrap_err().to_string().contains("backup.json is damaged"));
    std::fs::remove_file(dir.join(MANIFEST)).unwrap();
    assert!(verify(&dir).unwrap_err().to_string().contains("not a simtheme backup"));

    // counts that disagree with a (consistent) database
    let dir2 = tmp.path().join("b2");
    let m = backup(&live, &dir2).unwrap();
    let lie = Manifest { documents: m.documents + 1, ..m };
    write_manifest(&dir2, &lie).unwrap();
    assert!(verify(&dir2).unwrap_err().to_string().contains("the manifest says 2"), "counts are checked");

    // a directory without a database is not backed up
    assert!(backup(&tmp.path().join("nothing"), &tmp.path().join("b3")).unwrap_err().to_string().contains("holds no simtheme database"));
}
