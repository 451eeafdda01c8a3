use super::*;

#[test]
fn the_shipped_glossary_loads_without_a_bad_line() {
    let loaded = parse(SHIPPED, SHIPPED_NAME, true).unwrap();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert!(loaded.entries.len() >= 150, "{} entries", loaded.entries.len());
    assert!(loaded.entries.iter().all(|e| !e.source.is_empty()), "every shipped entry names its source");
    let g = Glossary::shipped();
    assert_eq!(g.len(), loaded.entries.len());
}

#[test]
fn english_phrases_bridge_to_chinese_terms_whatever_the_inflection() {
    let g = Glossary::shipped();
    for query in [
        "supply-side structural reform",
        "What did the Supply Side Structural Reforms change?",
        "effects of supply side structural reform on steel",
    ] {
        let b = g.bridge(query);
        assert_eq!(b.len(), 1, "{query}: {b:?}");
        assert_eq!((b[0].side, b[0].matched.as_str()), (Side::English, "supply-side structural reform"), "{query}");
        assert_eq!(b[0].added, ["供给侧结构性改革", "供给侧改革"], "{query}");
    }
    // possessives and British spelling
    let b = g.bridge("the people's communes of 1958");
    assert_eq!(b[0].added, ["人民公社"]);
    let b = g.bridge("Rural Revitalisation strategy");
    assert_eq!((b.len(), b[0].matched.as_str()), (1, "rural revitalization strategy"), "{b:?}");
}

#[test]
fn the_longest_phrase_wins_and_chinese_terms_bridge_to_english() {
    let g = Glossary::shipped();
    // 乡村振兴战略 holds 乡村振兴: one match, the longer one
    let b = g.bridge("实施乡村振兴战略");
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!((b[0].side, b[0].matched.as_str()), (Side::Chinese, "乡村振兴战略"));
    assert!(b[0].added.contains(&"rural revitalization".to_string()));
    // traditional script folds to simplified
    let b = g.bridge("供給側結構性改革的成效");
    assert_eq!(b[0].matched, "供给侧结构性改革");
    // two phrases, one in each language
    let b = g.bridge("技能创前程 and the Progressive Wage Model");
    let matched: Vec<&str> = b.iter().map(|x| x.matched.as_str()).collect();
    assert_eq!(matched, ["技能创前程", "Progressive Wage Model"]);
    assert_eq!(b[0].added, ["SkillsFuture"]);
}

#[test]
fn no_bridge_without_a_glossary_phrase() {
    let g = Glossary::shipped();
    for query in ["weather in the mountains", "今天天气很好", "structural", "reform of the", ""] {
        assert!(g.bridge(query).is_empty(), "{query}: {:?}", g.bridge(query));
    }
    // a phrase must be whole: "supply-side" alone is not "supply-side reform"
    assert!(g.bridge("supply-side economics").is_empty());
}

#[test]
fn a_malformed_line_is_reported_with_its_number_and_the_rest_loads() {
    let text = "zh,en,source\n数字经济,digital economy,test\n,no chinese term,test\n\"碳中和\",\"carbon neutrality|carbon neutral\",test\n新质生产力,,test\n";
    let loaded = parse(text, "extra.csv", false).unwrap();
    let zh: Vec<&str> = loaded.entries.iter().map(|e| e.zh[0].as_str()).collect();
    assert_eq!(zh, ["数字经济", "碳中和"]);
    assert_eq!(loaded.entries[1].en, ["carbon neutrality", "carbon neutral"]);
    assert_eq!(loaded.entries[1].origin, "extra.csv:4");
    let lines: Vec<u64> = loaded.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 5], "{:?}", loaded.errors);
    assert!(loaded.errors[0].message.contains("zh and the en column"));
}

#[test]
fn unusable_files_are_errors_that_name_the_fix() {
    let e = parse("chinese,english\n数字经济,digital economy\n", "x.csv", false).unwrap_err();
    assert!(e.to_string().contains("must name the columns zh and en"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.tsv");
    std::fs::write(&empty, "zh\ten\n\tonly english\n").unwrap();
    let e = load_file(&empty).unwrap_err();
    assert!(e.to_string().contains("no usable entry") && e.to_string().contains("line 2"), "{e}");
    assert!(load_file(&dir.path().join("missing.csv")).unwrap_err().to_string().contains("cannot be read"));
    // a good extra file adds to the shipped entries
    let extra = dir.path().join("extra.tsv");
    std::fs::write(&extra, "zh\ten\n测试政策\ttest policy\n").unwrap();
    let g = Glossary::with_file(&extra).unwrap();
    assert_eq!(g.len(), Glossary::shipped().len() + 1);
    assert_eq!(g.bridge("the test policies")[0].added, ["测试政策"]);
}

#[test]
fn alternatives_need_the_whole_phrase() {
    let g = Glossary::shipped();
    assert_eq!(g.alternatives("Supply-side structural reforms"), ["supply-side reform", "供给侧结构性改革", "供给侧改革"]);
    let zh = g.alternatives("供給側改革");
    assert!(zh.contains(&"供给侧结构性改革".to_string()) && zh.contains(&"supply-side structural reform".to_string()), "{zh:?}");
    assert!(g.alternatives("steel and supply-side structural reform").is_empty(), "more than the phrase");
    assert!(g.alternatives("钢铁").is_empty());
}
