//! Golden tests over the five seed pages, the retrieval fixture, and property tests.

use std::collections::HashSet;

use proptest::prelude::*;
use regex::Regex;

use super::*;

const SEEDS: [&str; 5] = [
    "000_69f6f2a82077467b.txt",
    "001_2ff8c4e3d99f1f81.txt",
    "002_1ff7eddab74b31cd.txt",
    "003_183e2debc1ea391e.txt",
    "004_02b4ba6e7c9445bd.txt",
];

fn raw(name: &str) -> String {
    let path = format!("{}/{name}", concat!(env!("CARGO_MANIFEST_DIR"), "/seeds"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn prepared(name: &str) -> PreparedDocument {
    prepare_document(&raw(name), name, &DocumentMeta::default(), &SegmentConfig::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every text a document exposes for display or embedding.
fn all_texts(doc: &PreparedDocument) -> Vec<String> {
    let mut v: Vec<String> = doc.title.iter().cloned().collect();
    for p in &doc.paragraphs {
        v.push(p.text.clone());
        v.push(p.simplified.clone());
        v.extend(p.heading.clone());
        v.extend(p.chunks.iter().map(|c| c.text.clone()));
    }
    v
}

fn assert_sentences(name: &str, sentences: &[&str]) {
    let doc = prepared(name);
    assert!(sentences.len() >= 5);
    for s in sentences {
        let hits = doc.paragraphs.iter().filter(|p| p.text.contains(s)).count();
        assert_eq!(hits, 1, "{name}: body sentence missing or repeated: {s}");
    }
}

fn assert_no_furniture(name: &str, furniture: &[&str]) {
    let doc = prepared(name);
    for text in all_texts(&doc) {
        for f in furniture {
            assert!(!text.contains(f), "{name}: furniture `{f}` survived in: {text}");
        }
    }
}

#[test]
fn seed_000_body_and_furniture() {
    let n = SEEDS[0];
    assert_sentences(
        n,
        &[
            "2024年7月22日至23日,中央企業負責人研討班在京召開,",
            "中央企業加速傳統產業轉型升級,提升核心競爭力,筑牢現代化產業體系基底。",
            "累計發布試點107戶,打造智能工廠117個,推動通用人形機器人、類腦智能、智慧電氣加快落地。",
            "落實好《2024—2025年節能降碳行動方案》,深入推進重點領域設備設施更新改造,",
            "三是“國”字頭基金加速布局。",
            "帶動超過5700家經營主體協同發展,工業母機、新能源汽車等重點產業鏈初步實現關鍵技術、標準和產品突破。",
            "堅定不移走開放路、開展國際化經營,深入踐行“一帶一路”八項行動,",
        ],
    );
    assert_no_furniture(n, &["文章來源", "發布時間", "責任編輯", "張宇暉", "【", "(jīng)"]);
}

#[test]
fn seed_001_body_and_furniture() {
    let n = SEEDS[1];
    assert_sentences(
        n,
        &[
            "9月14日,由國務院國資委、工業和信息化部共同組織實施的中央企業產業鏈融通發展共鏈行動正式啟動。",
            "據介紹,共鏈行動突出一個“共”字,有五大內涵。",
            "二是共筑新基礎。",
            "著力解決中國產業體系“缺基少核”問題。",
            "五是共謀新發展。",
            "今年,中央企業將開展10場左右重點產業鏈融通發展專題活動,",
            "為加快建設現代化產業體系、構建新發展格局做出新的更大貢獻。(閆秋圖)",
        ],
    );
    assert_no_furniture(n, &["首 頁", "資訊 宏觀", "首頁>", "分享到", "來源:", "15:07", "編輯:", "秦云"]);
}

#[test]
fn seed_002_body_and_furniture() {
    let n = SEEDS[2];
    assert_sentences(
        n,
        &[
            "29日,工业和信息化部党组书记、部长金壮龙在《学习时报》发表署名文章《推进新型工业化构筑中国式现代化强大物质技术基础》。",
            "金壮龙撰文指出,工业在稳定宏观经济大盘中发挥着“压舱石”作用。",
            "强化应用牵引,用好首台(套)首批次等政策,加快创新产品推广应用和迭代升级。",
            "此外,绿色低碳是新型工业化的生态底色。",
            "健全解决中小企业账款拖欠问题长效机制。",
            "推动科技产业金融良性循环。",
        ],
    );
    assert_no_furniture(n, &["配资", "线上配资股票", "杨方"]);
}

#[test]
fn seed_003_body_and_furniture() {
    let n = SEEDS[3];
    assert_sentences(
        n,
        &[
            "7月13日至14日,国务院国资委举办中央企业负责人研讨班,",
            "国务院国资委党委委员参加研讨学习,并结合分管工作作了专题发言。",
            "会议指出,要牢牢把握高质量发展首要任务,全力为推动经济运行持续好转作贡献。",
            "完善司库体系建设,坚决守住依法合规经营底线。",
            "支持科技人才在攻关高精尖技术中成就有价值的人生。",
            "一体推进不敢腐不能腐不想腐,营造风清气正的良好生态。",
            "审计署企业审计一局负责同志应邀参加。",
        ],
    );
    assert_no_furniture(n, &["发布时间", "<PAGE_DIV>", "PAGE_DIV", "# "]);
}

#[test]
fn seed_004_body_and_furniture() {
    let n = SEEDS[4];
    assert_sentences(
        n,
        &[
            "用三個字概括,一個是“全”、一個是“多”、一個是“大”。",
            "其次,我們鼓勵支持工業大省“挑大梁”。",
            "在設備更新方面。聚焦重點行業堅持市場化推進、標準化引領,",
            "截至去年底,全球共有153座燈塔工廠,其中有62座在中國,占比超過了40%,",
            "第三方面措施,培育中小企業特色產業集群。",
            "實現了“2G跟隨、3G突破、4G同步、5G引領”的跨越式發展。",
            "打造“火炬”品牌升級版。",
        ],
    );
    assert_no_furniture(n, &["無碼", "无码", "Network", "當前位置", "主頁 >", "專題研究", "高新院", "vwcr", "點擊", "本文將回答"]);
}

#[test]
fn seed_dates_sources_and_titles() {
    let expect = [
        (Some("2024-08-01"), Some(2024), Some("經濟網")),
        (Some("2023-09-15"), Some(2023), Some("人民政協網")),
        (None, None, Some("学习时报")),
        (Some("2023-07-17"), Some(2023), None),
        (Some("2024-07-08"), Some(2024), Some("高新院")),
    ];
    let mut ids = HashSet::new();
    for (name, (date, year, source)) in SEEDS.iter().zip(expect) {
        let doc = prepared(name);
        assert_eq!(doc.date.as_deref(), date, "{name}");
        assert_eq!(detect_date(&raw(name)).as_deref(), date, "{name}");
        assert_eq!(doc.year, year, "{name}");
        assert_eq!(doc.source.as_deref(), source, "{name}");
        assert!(doc.id.len() == 16 && doc.id.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        ids.insert(doc.id);
    }
    assert_eq!(ids.len(), SEEDS.len());
    assert_eq!(prepared(SEEDS[0]).title, None);
    assert_eq!(prepared(SEEDS[1]).title.as_deref(), Some("聚焦“五共” 中央企業產業鏈融通發展共鏈行動在京啟動"));
    assert_eq!(prepared(SEEDS[2]).title, None);
    assert_eq!(
        prepared(SEEDS[3]).title.as_deref(),
        Some("国务院国资委举办中央企业负责人研讨班 以更大力度更实 举措做好国资央企工作 不断提高企业核心竞争力增强核心功能")
    );
    assert_eq!(prepared(SEEDS[4]).title.as_deref(), Some("“十五五”規劃每日觀察:9個熱點問題,如何推動制造業高質量發展"));
}

#[test]
fn seed_headings() {
    let d0 = prepared(SEEDS[0]);
    let h0: HashSet<_> = d0.paragraphs.iter().filter_map(|p| p.heading.as_deref()).collect();
    assert!(h0.contains("傳統產業轉型升級步伐加快,向高端化、智能化、綠色化、融合化邁進"));
    assert_eq!(h0.len(), 5);
    assert!(d0.paragraphs.iter().all(|p| !h0.contains(p.text.as_str())));
    let d4 = prepared(SEEDS[4]);
    let q3 = d4.paragraphs.iter().find(|p| p.text.starts_with("數字化轉型是制造業高質量發展的重要方向"));
    assert_eq!(q3.and_then(|p| p.heading.as_deref()), Some("3.如何推動制造業數字化轉型?"));
    assert!(d4.paragraphs.iter().all(|p| !p.text.starts_with("1.如何") && !p.text.contains("如何加力?")));
    assert!(d4.paragraphs.iter().any(|p| p.heading.as_deref() == Some("【我國工業的總體情況】")));
}

#[test]
fn no_gloss_survives_anywhere() {
    let gloss = Regex::new(r"\p{Han}\s*[(（][a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+[)）]").unwrap();
    let mut raw_hits = 0;
    for name in SEEDS {
        raw_hits += gloss.find_iter(&raw(name)).count();
        for text in all_texts(&prepared(name)) {
            assert!(!gloss.is_match(&text), "{name}: gloss in {text}");
        }
        for d in &prepared(name).duplicates {
            assert!(!gloss.is_match(&d.text), "{name}: gloss in duplicate {}", d.text);
        }
    }
    assert!(raw_hits > 1000, "the seeds are expected to be full of glosses");
}

#[test]
fn chunks_are_bounded_and_cover_paragraphs() {
    for cfg in [SegmentConfig::default(), SegmentConfig { chunk_target_chars: 60, chunk_max_chars: 90 }] {
        for name in SEEDS {
            let doc = prepare_document(&raw(name), name, &DocumentMeta::default(), &cfg).unwrap();
            for (i, p) in doc.paragraphs.iter().enumerate() {
                assert_eq!(p.position as usize, i);
                assert_eq!(p.simplified, to_simplified(&p.text));
                assert!(p.text.chars().count() >= segment::MIN_PARAGRAPH_CHARS, "{name}: fragment {}", p.text);
                let chars: Vec<char> = p.text.chars().collect();
                assert_eq!(p.chunks.first().map(|c| c.start), Some(0));
                assert_eq!(p.chunks.last().map(|c| c.end as usize), Some(chars.len()));
                for w in p.chunks.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                for c in &p.chunks {
                    assert!(c.end > c.start && (c.end - c.start) as usize <= cfg.chunk_max_chars);
                    assert!(c.text.chars().count() <= cfg.chunk_max_chars);
                    let span: String = chars[c.start as usize..c.end as usize].iter().collect();
                    assert_eq!(c.text, to_simplified(&span));
                }
            }
        }
    }
}

#[test]
fn seed_004_duplicates_are_stored_once() {
    let doc = prepared(SEEDS[4]);
    assert!(doc.duplicates.len() >= 40, "{}", doc.duplicates.len());
    let keys: HashSet<String> = doc.paragraphs.iter().map(|p| dedup::normal_form(&p.text)).collect();
    assert_eq!(keys.len(), doc.paragraphs.len(), "stored paragraphs are unique");
    for d in &doc.duplicates {
        let original = &doc.paragraphs[d.of_position as usize];
        assert_eq!(dedup::normal_form(&original.text), dedup::normal_form(&d.text));
        assert!(d.block_index as usize >= doc.paragraphs.len());
    }
    for name in &SEEDS[..4] {
        assert!(prepared(name).duplicates.is_empty(), "{name}");
    }
}

#[test]
fn clean_text_is_idempotent_on_seeds() {
    for name in SEEDS {
        let once = clean_text(&raw(name));
        assert_eq!(clean_text(&once), once, "{name}");
    }
}

#[derive(serde::Deserialize)]
struct Query {
    query: String,
    lang: String,
    expected_doc: String,
    expected_substring: String,
}

#[test]
fn retrieval_fixture_points_at_exactly_one_paragraph() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/retrieval_queries.json");
    let text = std::fs::read_to_string(path).expect("fixture");
    let queries: Vec<Query> = serde_json::from_str(&text).expect("fixture json");
    assert!(queries.len() >= 24);
    let en = queries.iter().filter(|q| q.lang == "en").count();
    assert!(en * 3 >= queries.len() && en * 3 <= queries.len() * 2, "about half English");
    let docs: Vec<PreparedDocument> = SEEDS.iter().map(|n| prepared(n)).collect();
    let mut used = HashSet::new();
    for q in &queries {
        assert!(q.lang == "en" || q.lang == "zh", "{}", q.lang);
        assert!(!q.query.trim().is_empty());
        assert!(q.expected_substring.chars().count() >= 8, "{}", q.expected_substring);
        let doc = docs.iter().find(|d| d.origin == q.expected_doc).expect("known seed");
        let hits: Vec<u32> = doc.paragraphs.iter().filter(|p| p.text.contains(&q.expected_substring)).map(|p| p.position).collect();
        assert_eq!(hits.len(), 1, "{} -> {:?}", q.expected_substring, hits);
        used.insert((q.expected_doc.clone(), hits[0]));
    }
    assert!(SEEDS.iter().all(|s| queries.iter().any(|q| q.expected_doc == *s)));
    assert!(used.len() >= 24, "queries spread over paragraphs");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn clean_text_never_panics_and_is_idempotent(s in "\\PC{0,200}") {
        let once = clean_text(&s);
        prop_assert_eq!(clean_text(&once), once);
    }

    #[test]
    fn clean_text_idempotent_on_cjkish_input(s in "[ 　\\n\\t(（)）a-zāǎ中國經濟網來源:日期2048。,>【】編輯-]{0,120}") {
        let once = clean_text(&s);
        prop_assert_eq!(clean_text(&once), once);
    }

    #[test]
    fn prepare_document_never_panics(s in "\\PC{0,300}", target in 0usize..400, max in 0usize..400) {
        let cfg = SegmentConfig { chunk_target_chars: target, chunk_max_chars: max };
        if let Ok(doc) = prepare_document(&s, "prop", &DocumentMeta::default(), &cfg) {
            for p in &doc.paragraphs {
                for c in &p.chunks {
                    prop_assert!((c.end - c.start) as usize <= max.max(1));
                }
            }
        }
        let _ = strip_html(&s);
        let _ = detect_title(&s);
    }

    #[test]
    fn glosses_removal_never_grows(s in "\\PC{0,200}") {
        prop_assert!(remove_pinyin_glosses(&s).len() <= s.len());
    }
}
