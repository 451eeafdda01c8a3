//! Recognition of page furniture: navigation, breadcrumbs, header/meta lines, share widgets,
//! editor credits and SEO spam. Lines are expected to be whitespace-normalised and gloss-free.

use std::sync::OnceLock;

use regex::Regex;

use super::script::to_simplified;

/// What a single cleaned line of a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// Article text (or a heading); kept.
    Body,
    /// Empty after cleaning.
    Empty,
    /// Header line with source / date / click counters.
    Meta,
    /// `當前位置:主頁 > …`, `首頁>經濟>國企`.
    Breadcrumb,
    /// Menu bar made of many tiny tokens.
    Nav,
    /// `【責任編輯:…】`, `編輯:…`.
    Credit,
    /// `分享到:` and similar widgets.
    Share,
    /// SEO spam line.
    Spam,
    /// No letters or digits at all.
    Symbols,
}

/// Compiles a built-in regex once; the patterns are constants, so failure is a programming
/// error that we degrade to "never matches" rather than panic.
pub(crate) fn cached(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

/// True if the built-in `pattern` (cached in `cell`) matches `s`.
pub(crate) fn matches(cell: &'static OnceLock<Option<Regex>>, pattern: &str, s: &str) -> bool {
    cached(cell, pattern).is_some_and(|re| re.is_match(s))
}

/// Characters that end a sentence.
pub(crate) fn is_sentence_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '!' | '?' | '；' | ';' | '．')
}

/// Labels of header/meta fields (simplified script).
const META_LABELS: &str = r"(文章来源|信息来源|新闻来源|来源|稿源|出处|发布时间|发布日期|发表时间|更新时间|时间|日期|点击数|点击量|点击|浏览次数|浏览|阅读量|阅读)\s*[:：]";

/// A line consisting only of a date (and maybe a time).
pub(crate) const DATE_ONLY: &str = r"^\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(\s*\d{1,2}:\d{2}(:\d{2})?)?$";

fn is_meta(simp: &str, len: usize) -> bool {
    static LABEL: OnceLock<Option<Regex>> = OnceLock::new();
    static DATE: OnceLock<Option<Regex>> = OnceLock::new();
    if len > 100 || simp.contains('。') {
        return false;
    }
    matches(&LABEL, META_LABELS, simp) || matches(&DATE, DATE_ONLY, simp)
}

fn is_credit(simp: &str, len: usize) -> bool {
    static CREDIT: OnceLock<Option<Regex>> = OnceLock::new();
    len <= 40
        && matches(
            &CREDIT,
            r"^[【\[［(（]?\s*(责任编辑|实习编辑|编辑|责编|校对|审核|审校|监制|主编|编审|作者|记者|通讯员|摄影|图片来源)\s*[:：]",
            simp,
        )
}

fn is_share(simp: &str, len: usize) -> bool {
    const MARKERS: &[&str] = &["分享到", "分享至", "扫一扫", "打印本页", "关闭窗口", "收藏本文", "【打印】", "【关闭】", "字号：", "字号:"];
    len <= 60 && MARKERS.iter().any(|m| simp.contains(m))
}

fn is_breadcrumb(simp: &str, len: usize) -> bool {
    static HOME: OnceLock<Option<Regex>> = OnceLock::new();
    if len > 100 || simp.contains('。') {
        return false;
    }
    if ["当前位置", "您的位置", "你的位置", "您现在的位置", "所在位置"].iter().any(|m| simp.contains(m)) {
        return true;
    }
    if matches(&HOME, r"(?i)^(首页|主页|网站首页|home)\s*[>›»/]", simp) {
        return true;
    }
    let seps = simp.chars().filter(|c| matches!(c, '>' | '›' | '»')).count();
    seps >= 2 && simp.split(['>', '›', '»']).all(|seg| seg.trim().chars().count() <= 15)
}

fn is_nav(line: &str) -> bool {
    let tokens: Vec<&str> = line.split_whitespace().filter(|t| !matches!(*t, "|" | "｜" | "/" | "·")).collect();
    if tokens.len() < 5 {
        return false;
    }
    let total: usize = tokens.iter().map(|t| t.chars().count()).sum();
    let short = tokens.iter().all(|t| t.chars().count() <= 5);
    let no_punct = !line.chars().any(|c| matches!(c, '。' | '，' | ',' | '、' | '；' | ';' | '！' | '？' | '!' | '?'));
    let han = line.chars().any(super::script::is_cjk_ideograph);
    short && no_punct && han && (total as f64 / tokens.len() as f64) <= 3.5
}

fn is_spam(simp: &str) -> bool {
    const TERMS: &[&str] = &[
        "无码",
        "成人",
        "视频",
        "免费",
        "人妻",
        "一区",
        "二区",
        "三区",
        "少妇",
        "内射",
        "精品",
        "日本",
        "欧美",
        "亚洲",
        "国产",
        "在线观看",
        "色情",
        "av",
        "www",
        "黄色",
        "激情",
        "porn",
        "人人爽",
        "人人澡",
        "蜜桃",
        "福利",
        "午夜",
        "久久",
    ];
    let lower = simp.to_lowercase();
    let hits = TERMS.iter().filter(|t| lower.contains(*t)).count();
    (hits >= 3 && !lower.contains('。')) || hits >= 6
}

/// Classifies one whitespace-normalised, gloss-free line.
pub(crate) fn classify(line: &str) -> LineKind {
    if line.trim().is_empty() {
        return LineKind::Empty;
    }
    if !line.chars().any(char::is_alphanumeric) {
        return LineKind::Symbols;
    }
    let simp = to_simplified(line);
    let len = simp.chars().count();
    if is_spam(&simp) {
        LineKind::Spam
    } else if is_credit(&simp, len) {
        LineKind::Credit
    } else if is_share(&simp, len) {
        LineKind::Share
    } else if is_breadcrumb(&simp, len) {
        LineKind::Breadcrumb
    } else if is_meta(&simp, len) {
        LineKind::Meta
    } else if is_nav(line) {
        LineKind::Nav
    } else {
        LineKind::Body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_furniture_is_recognised() {
        let cases = [
            ("文章來源:經濟網 發布時間:2024-08-01", LineKind::Meta),
            ("2023年09月15日 15:07 | 來源:人民政協網 分享到:", LineKind::Share),
            ("发布时间：2023 年 7 月 17 日", LineKind::Meta),
            ("來源:高新院 vwcr.cn 日期:2024-07-08 點擊:", LineKind::Meta),
            ("2024-07-08 來源:高新院 vwcr.cn 點擊:", LineKind::Meta),
            ("首 頁 資訊 宏觀 金融 行業 國企 民企 人物 新資訊", LineKind::Nav),
            ("首頁>經濟>國企", LineKind::Breadcrumb),
            ("當前位置:主頁 > 專題研究 > 十五五規劃 >", LineKind::Breadcrumb),
            ("主頁 > 專題研究 > 十五五規劃 >", LineKind::Breadcrumb),
            ("【責任編輯:張宇暉】", LineKind::Credit),
            ("編輯:秦云", LineKind::Credit),
            ("成人无码WWW免费视频_亚洲一区AV无码少妇电影_蜜桃臀无码内射一区二区三区", LineKind::Spam),
            ("——", LineKind::Symbols),
            ("", LineKind::Empty),
        ];
        for (line, kind) in cases {
            assert_eq!(classify(line), kind, "{line}");
        }
    }

    #[test]
    fn body_and_headings_are_not_furniture() {
        for line in [
            "傳統產業轉型升級步伐加快,向高端化、智能化、綠色化、融合化邁進",
            "9月14日,由國務院國資委、工業和信息化部共同組織實施的中央企業產業鏈融通發展共鏈行動正式啟動。",
            "3.如何推動制造業數字化轉型?",
            "【我國工業的總體情況】",
            "用三個字概括,一個是“全”、一個是“多”、一個是“大”。",
            "(閆秋圖)",
            "功能",
            "聚焦“五共” 中央企業產業鏈融通發展共鏈行動在京啟動",
        ] {
            assert_eq!(classify(line), LineKind::Body, "{line}");
        }
    }
}
