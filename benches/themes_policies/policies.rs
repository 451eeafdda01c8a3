//! Era-bound policy terms of the two evaluation corpora, and the fixed list of vacuous label
//! words. Chosen before any tuning (from term counts per year in the corpora); see the README
//! of the bench (`benches/themes_policies.rs`).

/// One era-bound policy: a paragraph mentions it when it contains any of `terms`
/// (simplified Chinese, or lowercase English).
pub struct Policy {
    /// Name printed in the table.
    pub name: &'static str,
    /// Alternatives (substring match on the simplified, lowercased paragraph text).
    pub terms: &'static [&'static str],
    /// First year of the era (inclusive).
    pub from: i32,
    /// Last year of the era (inclusive).
    pub to: i32,
}

const fn p(name: &'static str, terms: &'static [&'static str], from: i32, to: i32) -> Policy {
    Policy { name, terms, from, to }
}

/// State Council government work reports 1954–2022 (`cn`).
pub const CN: &[Policy] = &[
    p("人民公社", &["人民公社"], 1958, 1983),
    p("大跃进", &["大跃进"], 1958, 1964),
    p("四个现代化", &["四个现代化"], 1975, 1989),
    p("治理整顿", &["治理整顿"], 1988, 1993),
    p("家庭联产承包", &["家庭联产承包", "联产承包"], 1980, 1999),
    p("计划生育", &["计划生育"], 1978, 2015),
    p("国有企业改革", &["国有企业改革"], 1993, 2005),
    p("西部大开发", &["西部大开发"], 2000, 2012),
    p("三个代表", &["三个代表"], 2001, 2005),
    p("科学发展观", &["科学发展观"], 2004, 2013),
    p("脱贫攻坚", &["脱贫攻坚"], 2015, 2022),
    p("乡村振兴", &["乡村振兴"], 2017, 2022),
    p("一带一路", &["一带一路"], 2014, 2022),
    p("供给侧结构性改革", &["供给侧结构性改革"], 2015, 2022),
    p("疫情防控/新冠", &["新冠", "疫情防控"], 2020, 2022),
];

/// Singapore budget speeches 1960–2025 (`sg`; eras valid for the every-third-year sample too).
pub const SG: &[Policy] = &[
    p("pioneer status", &["pioneer status", "pioneer industr"], 1960, 1986),
    p("confrontation", &["confrontation"], 1963, 1970),
    p("british military withdrawal", &["british military", "british withdrawal"], 1968, 1973),
    p("skills development fund", &["skills development fund"], 1979, 1995),
    p("goods and services tax", &["goods and services tax", "gst"], 1993, 2025),
    p("asian financial crisis", &["asian financial crisis", "regional crisis"], 1998, 2004),
    p("workfare", &["workfare"], 2006, 2025),
    p("productivity and innovation credit", &["productivity and innovation credit"], 2010, 2018),
    p("wage credit scheme", &["wage credit"], 2013, 2025),
    p("skillsfuture", &["skillsfuture"], 2015, 2025),
    p("covid-19", &["covid", "pandemic"], 2020, 2025),
];

/// Label words that say nothing about a theme's topic (fixed before tuning; the same list for
/// the baseline and every variant). Chinese: procedure, time and generic verbs/nouns of
/// reports; English: speech furniture and budget generics.
pub const VACUOUS: &[&str] = &[
    // zh
    "一年",
    "今年",
    "去年",
    "明年",
    "问题",
    "存在",
    "增加",
    "各位",
    "代表",
    "同志",
    "我们",
    "他们",
    "工作",
    "方面",
    "进一步",
    "继续",
    "加强",
    "必须",
    "要求",
    "主要",
    "重要",
    "情况",
    "一些",
    "这些",
    "有关",
    "提高",
    "发展",
    "建设",
    "国家",
    "全国",
    "政府",
    "人民",
    "实现",
    "坚持",
    "推进",
    "推动",
    "进行",
    "全面",
    "努力",
    "各级",
    "今后",
    "一定",
    "已经",
    "目前",
    "当前",
    "积极",
    "加快",
    "取得",
    "报告",
    "会议",
    "大会",
    // en
    "year",
    "years",
    "government",
    "will",
    "also",
    "sir",
    "speaker",
    "mr",
    "budget",
    "million",
    "billion",
    "per",
    "cent",
    "percent",
    "would",
    "new",
    "one",
    "two",
    "first",
    "last",
    "next",
    "us",
    "our",
    "we",
    "minister",
    "finance",
    "house",
    "singapore",
    "singaporeans",
    "made",
    "make",
    "time",
    "shall",
    "may",
];
