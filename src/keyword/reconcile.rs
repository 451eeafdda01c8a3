//! Agreement between the keyword index and the store: which documents to remove from the index
//! and which to (re-)index, given both sides' chunk counts per document. After a crash the
//! index holds its last commit, which may lag the store (documents stored but not indexed) or,
//! if the store rolled back, lead it.

use std::collections::BTreeMap;

/// What to change in the index so that it holds exactly the stored documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Indexed documents the store does not have: delete them.
    pub remove: Vec<String>,
    /// Stored documents missing from the index or indexed with another chunk count:
    /// (re-)index them (adding replaces any partial copy).
    pub add: Vec<String>,
}

impl Reconciliation {
    /// True when index and store already agree.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty()
    }
}

/// Compares chunk counts per document id (index side, store side); ids in sorted order.
pub fn plan_reconciliation(indexed: &BTreeMap<String, u64>, stored: &BTreeMap<String, u64>) -> Reconciliation {
    Reconciliation {
        remove: indexed.keys().filter(|d| !stored.contains_key(*d)).cloned().collect(),
        add: stored.iter().filter(|(d, n)| indexed.get(*d) != Some(n)).map(|(d, _)| d.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(items: &[(&str, u64)]) -> BTreeMap<String, u64> {
        items.iter().map(|(d, n)| (d.to_string(), *n)).collect()
    }

    #[test]
    fn plans_removals_and_additions() {
        let plan = plan_reconciliation(&m(&[("a", 3), ("b", 2), ("x", 1)]), &m(&[("a", 3), ("b", 4), ("c", 1)]));
        assert_eq!(plan.remove, ["x"]);
        assert_eq!(plan.add, ["b", "c"]);
        assert!(!plan.is_empty());
        assert!(plan_reconciliation(&m(&[("a", 1)]), &m(&[("a", 1)])).is_empty());
    }
}
