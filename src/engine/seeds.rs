//! The five seed documents shipped in `seeds/`, compiled into the binary so a fresh data
//! directory can be filled without any file at hand.

/// `(file name, raw text)` of every seed document, in file-name order.
pub const SEED_DOCUMENTS: &[(&str, &str)] = &[
    ("000_69f6f2a82077467b.txt", include_str!("../../seeds/000_69f6f2a82077467b.txt")),
    ("001_2ff8c4e3d99f1f81.txt", include_str!("../../seeds/001_2ff8c4e3d99f1f81.txt")),
    ("002_1ff7eddab74b31cd.txt", include_str!("../../seeds/002_1ff7eddab74b31cd.txt")),
    ("003_183e2debc1ea391e.txt", include_str!("../../seeds/003_183e2debc1ea391e.txt")),
    ("004_02b4ba6e7c9445bd.txt", include_str!("../../seeds/004_02b4ba6e7c9445bd.txt")),
];
