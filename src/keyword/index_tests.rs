//! Keyword index tests over the seed documents.

use crate::corpus::{prepare_document, DocumentMeta, PreparedDocument, SegmentConfig};
use crate::engine::SEED_DOCUMENTS;

fn seeds() -> Vec<PreparedDocument> {
    SEED_DOCUMENTS
        .iter()
        .map(|(name, raw)| prepare_document(raw, name, &DocumentMeta::default(), &SegmentConfig::default()).unwrap())
        .collect()
}

#[test]
#[ignore]
fn probe_dump() {
    let seg = crate::keyword::shared_segmenter();
    let mut pid = 0;
    for d in seeds() {
        for p in &d.paragraphs {
            println!("P{pid} {} #{}: {}", d.origin, p.position, p.simplified);
            println!("   CUT: {}", seg.jieba().cut(&p.simplified, false).join("/"));
            pid += 1;
        }
    }
}
