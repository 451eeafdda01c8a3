use super::*;
use crate::embed::text_tokenizer::TextTokenizer;
use tokenizers::models::unigram::Unigram;

fn both(vocab: &[(&str, f64)], unk: Option<usize>, byte_fallback: bool) -> (Unigram, CompactUnigram) {
    let owned: Vec<(String, f64)> = vocab.iter().map(|(p, s)| (p.to_string(), *s)).collect();
    (Unigram::from(owned, unk, byte_fallback).unwrap(), CompactUnigram::new(vocab.iter().copied(), unk, byte_fallback).unwrap())
}

/// xorshift strings over `alphabet`.
fn random_strings(alphabet: &[&str], count: usize, max_len: usize, seed: u64) -> Vec<String> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let len = (next() % max_len as u64) as usize;
            (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect()
        })
        .collect()
}

fn assert_same(reference: &Unigram, compact: &CompactUnigram, texts: &[String]) {
    for t in texts {
        let want = reference.tokenize(t).map_err(|e| e.to_string());
        let got = compact.tokenize(t).map_err(|e| e.to_string());
        assert_eq!(got, want, "text {t:?}");
    }
}

#[test]
fn the_documented_example_segments_the_same() {
    let (r, c) = both(
        &[("<unk>", 0.0), ("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0), ("cd", 1.0), ("ab", 2.0), ("abc", 5.0), ("abcd", 10.0)],
        Some(0),
        false,
    );
    let tokens = c.tokenize("abcdacdxx").unwrap();
    assert_eq!(tokens.iter().map(|t| t.value.as_str()).collect::<Vec<_>>(), ["abcd", "a", "cd", "xx"]);
    assert_same(&r, &c, &["abcdacdxx".to_string()]);
}

#[test]
fn random_texts_tokenize_as_the_tokenizers_model_does() {
    // Multi-byte pieces, a piece listed twice (the later id wins), unknown characters next to
    // each other and to `<unk>` spelled out, ties between segmentations.
    let vocab = [
        ("<unk>", 0.0),
        ("▁", -1.0),
        ("a", -2.0),
        ("ab", -2.5),
        ("abc", -3.0),
        ("b", -2.0),
        ("bc", -4.0),
        ("c", -3.0),
        ("ca", -5.0),
        ("中", -2.0),
        ("中国", -1.5),
        ("国", -2.0),
        ("▁中", -3.0),
        ("é", -4.0),
        ("ab", -1.0),
        ("<unk>x", -2.0),
        ("x", -9.0),
        ("aa", -4.0),
        ("aaa", -6.0),
    ];
    let alphabet = ["a", "b", "c", "中", "国", "▁", "é", "e\u{301}", "☃", "😀", "x", "<unk>", "z"];
    let texts = random_strings(&alphabet, 3000, 14, 7);
    let (r, c) = both(&vocab, Some(0), false);
    assert_same(&r, &c, &texts);
    for word in ["ab", "中国", "<unk>", "▁中", "zz", ""] {
        assert_eq!(c.token_to_id(word), r.token_to_id(word), "{word}");
    }
    for id in [0u32, 3, 14, 18, 19] {
        assert_eq!(c.id_to_token(id), r.id_to_token(id));
    }
    assert_eq!(c.get_vocab(), r.get_vocab());
    assert_eq!(c.get_vocab_size(), r.get_vocab_size());
}

#[test]
fn byte_fallback_and_a_missing_unk_behave_the_same() {
    let mut vocab: Vec<(String, f64)> = vec![("<unk>".into(), 0.0), ("a".into(), -1.0), ("ab".into(), -1.5)];
    vocab.extend((0..=255u8).filter(|b| b % 3 != 0).map(|b| (format!("<0x{b:02X}>"), -8.0)));
    let borrowed: Vec<(&str, f64)> = vocab.iter().map(|(p, s)| (p.as_str(), *s)).collect();
    let texts = random_strings(&["a", "b", "é", "☃", "😀", "z", "ab"], 2000, 10, 11);
    let (r, c) = both(&borrowed, Some(0), true);
    assert_same(&r, &c, &texts);
    // No unknown id: an unknown character is an error on both.
    let (r, c) = both(&[("a", -1.0), ("b", -1.0)], None, false);
    assert_same(&r, &c, &["abab".into(), "abz".into()]);
    assert!(c.tokenize("z").is_err());
}

#[test]
fn bad_vocabularies_are_refused_as_by_tokenizers() {
    assert!(matches!(CompactUnigram::new(Vec::<(&str, f64)>::new(), Some(0), false), Err(UnigramError::EmptyVocabulary)));
    assert!(matches!(CompactUnigram::new([("a", 0.0)], Some(1), false), Err(UnigramError::UnkIdNotInVocabulary)));
}

#[test]
fn serialises_like_the_tokenizers_model() {
    let vocab = [("<unk>", 0.0), ("a", -1.5), ("中", -2.25)];
    let (r, c) = both(&vocab, Some(0), false);
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(json, serde_json::to_string(&r).unwrap());
    let back: CompactUnigram = serde_json::from_str(&json).unwrap();
    assert_eq!(back.get_vocab(), c.get_vocab());
    assert!(serde_json::from_str::<CompactUnigram>(r#"{"type": "WordPiece", "vocab": []}"#).is_err());
}

/// The shipped multilingual-e5 tokenizer on the compact model gives the same ids as
/// `tokenizers`' own loading of the same file, on every seed line and on awkward text, and
/// holds its vocabulary in a few MB.
#[test]
fn shipped_tokenizer_gives_the_same_ids_as_tokenizers() {
    let path = std::path::Path::new(crate::embed::DEFAULT_MODEL_DIR).join("tokenizer.json");
    let compact = TextTokenizer::from_file(&path).unwrap();
    let TextTokenizer::Unigram(inner) = &compact else { panic!("the shipped tokenizer is a Unigram model") };
    let bytes = inner.get_model().heap_bytes();
    eprintln!("compact Unigram model: {:.1} MiB", bytes as f64 / (1 << 20) as f64);
    assert!(bytes < 24 << 20, "compact vocabulary takes {bytes} bytes");
    let stock = tokenizers::Tokenizer::from_file(&path).unwrap();
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut texts: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(seeds).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        texts.extend(text.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("passage: {l}")));
    }
    texts.extend(
        [
            "query: How do central SOEs push digital transformation?",
            "query: 中小企业如何走专精特新道路",
            "Ünïcödé façade — naïve café; ﬁ ligature, full-width ＡＢＣ１２３, ½",
            "emoji 😀🧑🏽‍💻 and rare 𠀀𪚥 characters, <unk> <s> </s> <mask> spelled out",
            "  leading   and\ttabs\nnewlines  ",
            "Ελληνικά, русский, العربية, हिन्दी, 日本語のテキスト, 한국어",
            "\u{200b}\u{feff}zero width",
            "",
        ]
        .map(String::from),
    );
    texts.extend(random_strings(&["a", "中", "é", "😀", " ", "x", "▁", "國", "\u{301}", "ß"], 300, 40, 5));
    for t in &texts {
        let want = stock.encode(t.as_str(), false).unwrap().get_ids().to_vec();
        assert_eq!(compact.encode_ids(t).unwrap(), want, "{t:?}");
    }
    if std::env::var_os("SIMTHEME_TOKENIZER_TIMING").is_some() {
        for round in 0..2 {
            let t = std::time::Instant::now();
            for _ in 0..5 {
                texts.iter().for_each(|x| drop(compact.encode_ids(x)));
            }
            let c = t.elapsed();
            let t = std::time::Instant::now();
            for _ in 0..5 {
                texts.iter().for_each(|x| drop(stock.encode(x.as_str(), false)));
            }
            eprintln!("round {round}: 5 x {} texts: compact {c:?}, tokenizers {:?}", texts.len(), t.elapsed());
        }
    }
    for special in ["<s>", "</s>", "<pad>", "<unk>", "<mask>", "▁the"] {
        assert_eq!(compact.token_to_id(special), stock.token_to_id(special), "{special}");
    }
}
