//! Dated imports and text reuse end to end, through the `simtheme` binary and the engine:
//! * `simtheme ingest` dates files by name, front matter, CSV and JSONL columns, and warns when
//!   most documents are undated;
//! * `simtheme reuse` classifies known, hand-made edits of a real government work report
//!   (tests/fixtures/reuse, see its README) and its CSV parses.

use std::path::Path;
use std::process::{Command, Output};

use simtheme::backend::BackendConfig;
use simtheme::config::Config;
use simtheme::engine::{Engine, EngineError, ReuseQuery, ReuseScope};
use simtheme::reuse::ReuseParams;

fn simtheme(data: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_simtheme")).arg("--data-dir").arg(data).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "simtheme {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// (first characters of the newer paragraph, or of the older one for dropped ones, kind)
const EXPECTED: [(&str, &str); 9] = [
    ("精准加力补短板", "verbatim"),
    ("今年发展的主要预期目标", "edited"),
    ("稳步提高居民收入水平", "new"),
    ("加强产权保护制度建设", "verbatim"),
    ("让各地区发展更加协调", "rewritten"),
    ("货币政策要保持稳健中性", "edited"),
    ("加强农村公共设施建设", "edited"),
    ("推进生态保护和建设", "verbatim"),
    ("推进农业结构调整", "dropped"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_edits_of_a_real_report_are_classified() {
    let tmp = tempfile::tempdir().unwrap();
    let out = simtheme(tmp.path(), &["ingest", "tests/fixtures/reuse/2017.txt", "tests/fixtures/reuse/2018.txt"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("dates: 2 dated (file name 2), 0 undated"), "{stdout}");

    let out = simtheme(tmp.path(), &["reuse", "--from", "2017", "--to", "2018", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let text = if &r[col("kind")] == "dropped" { &r[col("from_text")] } else { &r[col("to_text")] };
            (text.to_string(), r[col("kind")].to_string())
        })
        .collect();
    assert_eq!(got.len(), EXPECTED.len(), "{got:?}");
    for ((text, kind), (prefix, want)) in got.iter().zip(EXPECTED) {
        assert!(text.starts_with(prefix) && kind == want, "expected {want} for {prefix}…, got {kind} for {text}");
    }
    let row = |prefix: &str| rows.iter().find(|r| r[col("to_text")].starts_with(prefix)).unwrap();
    assert!(row("让各地区发展").get(col("from_text")).unwrap().starts_with("优化区域发展格局"));
    assert!(row("加强农村公共设施建设")[col("diff")].contains("完成[-3-]{+5+}万个行政村通光纤"));
    assert!(row("货币政策要保持稳健中性")[col("diff")].contains("{+，管住货币供给总闸门+}"));
    for r in &rows {
        let sim: f32 = r[col("similarity")].parse().unwrap();
        assert!((0.0..=1.0).contains(&sim));
        if &r[col("kind")] != "new" && &r[col("kind")] != "dropped" {
            assert_eq!((&r[col("from_year")], &r[col("to_year")]), ("2017", "2018"));
        }
    }

    // The same through the engine, by document, and the errors.
    let config = Config { backend: BackendConfig::embedded(tmp.path()), seed_when_empty: false, ..Config::default() };
    let engine = Engine::open(config).await.unwrap();
    let docs = engine.backend().list_documents(None, 10).await.unwrap();
    let id = |year: i32| docs.iter().find(|d| d.year == Some(year)).unwrap().id.clone();
    let query = |from, to| ReuseQuery { from, to, params: ReuseParams::default() };
    let r = engine.reuse(&query(ReuseScope::Document(id(2017)), ReuseScope::Document(id(2018)))).await.unwrap();
    let c = &r.counts;
    assert_eq!((c.verbatim, c.edited, c.rewritten, c.dropped, c.new), (3, 3, 1, 1, 1), "{c:?}");
    assert_eq!((c.from_paragraphs, c.to_paragraphs), (8, 8));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["entries"].as_array().unwrap().len(), 9);
    let same = engine.reuse(&query(ReuseScope::Years { from: 2017, to: 2017 }, ReuseScope::Years { from: 2017, to: 2017 })).await.unwrap();
    assert_eq!(same.counts.verbatim, 8, "a text against itself is all verbatim");

    match engine.reuse(&query(ReuseScope::Years { from: 2030, to: 2031 }, ReuseScope::Years { from: 2018, to: 2018 })).await {
        Err(EngineError::InvalidArgument(m)) => assert!(m.contains("2030–2031") && m.contains("years 2017–2018"), "{m}"),
        other => panic!("{other:?}"),
    }
    match engine.reuse(&query(ReuseScope::Document("nope".into()), ReuseScope::Years { from: 2018, to: 2018 })).await {
        Err(EngineError::NotFound(m)) => assert!(m.contains("nope"), "{m}"),
        other => panic!("{other:?}"),
    }
    match engine.reuse(&query(ReuseScope::Years { from: 2018, to: 2017 }, ReuseScope::Years { from: 2018, to: 2018 })).await {
        Err(EngineError::InvalidArgument(m)) => assert!(m.contains("inverted"), "{m}"),
        other => panic!("{other:?}"),
    }
    let bad = ReuseQuery {
        params: ReuseParams { edited_min_similarity: 0.0, ..ReuseParams::default() },
        ..query(ReuseScope::Years { from: 2017, to: 2017 }, ReuseScope::Years { from: 2018, to: 2018 })
    };
    assert!(matches!(engine.reuse(&bad).await, Err(EngineError::InvalidArgument(_))));
}

#[test]
fn ingest_dates_front_matter_tables_and_warns_when_most_are_undated() {
    let tmp = tempfile::tempdir().unwrap();
    let pages = tmp.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    let body = "推进生态保护和建设。抓紧划定并严守生态保护红线。积极应对气候变化。";
    std::fs::write(pages.join("notes.md"), format!("---\ntitle: 生态\ndate: 2016-05-04\ntags: [eco]\n---\n{body}\n")).unwrap();
    std::fs::write(pages.join("rows.csv"), format!("text,date,title\n\"{body}一\",2015,行一\n\"{body}二\",,行二\n,2014,空行\n")).unwrap();
    std::fs::write(
        pages.join("rows_2019.jsonl"),
        format!("{{\"text\": \"{body}三\", \"date\": \"2013-02\"}}\n{{\"text\": \"{body}四\"}}\n"),
    )
    .unwrap();
    std::fs::write(pages.join("v2.txt"), format!("{body}五\n")).unwrap();
    std::fs::write(pages.join("chapter-1999.txt"), format!("{body}六\n")).unwrap();
    let data = tmp.path().join("data");
    let out = simtheme(&data, &["ingest", pages.to_str().unwrap()]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // notes.md (front matter), two CSV rows (one dated), two JSONL rows (one dated; the file
    // name's 2019 is not used for rows), v2.txt and chapter-1999.txt undated.
    assert!(stdout.contains("7 documents from 5 files: 7 inserted"), "{stdout}");
    assert!(stdout.contains("dates: 3 dated (given 2, front matter 1), 4 undated"), "{stdout}");
    assert!(stderr.contains("skipped 1 row(s) with an empty text: [3]"), "{stderr}");
    assert!(stderr.contains("4 of 7 documents are UNDATED") && stderr.contains("--date"), "{stderr}");
    assert!(stdout.contains("rows.csv#1") && stdout.contains("2015"), "{stdout}");

    // A bad CSV date rejects that file only (the others are stored), naming the row and the value.
    std::fs::write(pages.join("rows.csv"), format!("text,date\n\"{body}七\",2019\n\"{body}八\",19/03/2019\n")).unwrap();
    let run = |data: &str, extra: &[&str]| {
        let mut args = vec!["ingest"];
        args.extend_from_slice(extra);
        args.push(pages.to_str().unwrap());
        Command::new(env!("CARGO_BIN_EXE_simtheme")).arg("--data-dir").arg(tmp.path().join(data)).args(&args).output().unwrap()
    };
    let out = run("data2", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a rejected file fails the run after the others: {stdout}");
    assert!(stdout.contains("6 documents from 5 files: 5 inserted, 0 already present, 1 failed"), "{stdout}");
    assert!(stdout.contains("row 2: `19/03/2019`") && stdout.contains("Nothing of this file was imported"), "{stdout}");
    // --date overrides every other date, the CSV column included (so its bad cell is not read).
    let out = run("data3", &["--date", "2001"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("dates: 7 dated (given 7), 0 undated"), "{stdout}");
    let out = Command::new(env!("CARGO_BIN_EXE_simtheme")).args(["ingest", "--date", "March 2019", "x.txt"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--date: invalid date `March 2019`"));
}
