//! Script normalisation: traditional → simplified Chinese (OpenCC data via `ferrous-opencc`).

use std::sync::OnceLock;

use ferrous_opencc::{config::BuiltinConfig, OpenCC};

/// Lazily built phrase-aware converter; `None` when the embedded dictionaries fail to load.
fn converter() -> Option<&'static OpenCC> {
    static CONVERTER: OnceLock<Option<OpenCC>> = OnceLock::new();
    CONVERTER.get_or_init(|| OpenCC::from_config(BuiltinConfig::T2s).ok()).as_ref()
}

/// Converts traditional Chinese characters and phrases to simplified Chinese.
///
/// Text that is not Chinese is returned unchanged. If the converter cannot be
/// initialised the input is returned as is (never panics).
pub fn to_simplified(s: &str) -> String {
    if !s.chars().any(is_cjk_ideograph) {
        return s.to_string();
    }
    match converter() {
        Some(cc) => cc.convert(s),
        None => s.to_string(),
    }
}

/// True for CJK unified ideographs (basic block, extension A and compatibility ideographs).
pub(crate) fn is_cjk_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF | 0x30000..=0x3134F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_seed_vocabulary() {
        assert_eq!(to_simplified("經濟網"), "经济网");
        assert_eq!(to_simplified("產業鏈融通發展"), "产业链融通发展");
        assert_eq!(to_simplified("國資委黨委書記"), "国资委党委书记");
    }

    #[test]
    fn leaves_simplified_and_latin_alone() {
        assert_eq!(to_simplified("中央企业 5G+AI"), "中央企业 5G+AI");
        assert_eq!(to_simplified("plain ascii"), "plain ascii");
        assert_eq!(to_simplified(""), "");
    }

    #[test]
    fn detects_ideographs() {
        assert!(is_cjk_ideograph('中'));
        assert!(!is_cjk_ideograph('a'));
        assert!(!is_cjk_ideograph('，'));
    }
}
