//! Versions of a keyed document. Qdrant has no transaction across points, so a replacement
//! commits the new version first and then deletes the older ones: for that moment both are
//! committed, and every read drops the points of a version that a newer version of the same key
//! in its results supersedes. A reader thus sees the old version or the new one, never
//! neither (the new one is committed before the old one goes) and never both.

use std::collections::HashMap;

use super::schema::{ChunkPayload, DocumentFields};

/// The order of two versions of one key: `(key_version, document_id)`, larger is newer.
pub fn rank(meta: &DocumentFields, document_id: &str) -> (i64, String) {
    (meta.key_version.unwrap_or(i64::MIN), document_id.to_string())
}

/// Keeps the items whose document is the newest version of its key among `items` (items of
/// unkeyed documents are all kept), in their order.
pub fn newest_only<T>(items: Vec<T>, chunk: impl Fn(&T) -> &ChunkPayload) -> Vec<T> {
    let mut newest: HashMap<&str, (i64, String)> = HashMap::new();
    for item in &items {
        let c = chunk(item);
        if let Some(key) = &c.meta.key {
            let r = rank(&c.meta, &c.document_id);
            let e = newest.entry(key.as_str()).or_insert_with(|| r.clone());
            if r > *e {
                *e = r;
            }
        }
    }
    if newest.is_empty() {
        return items;
    }
    let keep: Vec<bool> = items
        .iter()
        .map(|item| {
            let c = chunk(item);
            c.meta.key.as_deref().is_none_or(|k| newest.get(k).is_some_and(|n| n.1 == c.document_id))
        })
        .collect();
    items.into_iter().zip(keep).filter_map(|(item, k)| k.then_some(item)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(doc: &str, key: Option<&str>, version: i64) -> ChunkPayload {
        let json = serde_json::json!({
            "kind": "chunk", "document_id": doc, "paragraph_id": 1, "position": 0, "ordinal": 0,
            "first_chunk": true, "start": 0, "end": 1, "chunk_text": "x", "text": "x", "simplified": "x",
            "sample_key": 0, "pending": false, "key": key, "key_version": key.map(|_| version),
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn only_the_newest_version_of_a_key_is_kept() {
        let items = vec![
            chunk("old", Some("k"), 1),
            chunk("plain", None, 0),
            chunk("new", Some("k"), 2),
            chunk("other", Some("j"), 1),
            chunk("old", Some("k"), 1),
        ];
        let kept: Vec<String> = newest_only(items, |c| c).into_iter().map(|c| c.document_id).collect();
        assert_eq!(kept, ["plain", "new", "other"]);
    }

    #[test]
    fn equal_times_are_ordered_by_document_id() {
        let kept: Vec<String> =
            newest_only(vec![chunk("b", Some("k"), 5), chunk("a", Some("k"), 5)], |c| c).into_iter().map(|c| c.document_id).collect();
        assert_eq!(kept, ["b"]);
    }
}
