//! The bilingual glossary the keyword side of a search consults: loaded at start (the shipped
//! entries plus `--glossary FILE`), swapped whole on reload (SIGHUP), kept as it was when the
//! new file cannot be used.

use std::sync::{Arc, PoisonError};

use crate::glossary::{Bridge, Entry, Glossary, GlossaryError};

use super::Engine;

/// A glossary phrase found in a query, with its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeUsed {
    /// What was found and what it added.
    pub bridge: Bridge,
    /// The entry that fired.
    pub entry: Entry,
}

/// What Stats reports about the glossary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlossaryStatus {
    /// Entries in use.
    pub entries: usize,
    /// The extra file, "" when none.
    pub file: String,
    /// Lines of the file that were skipped: `line 3: needs a term in both the zh and the en column`.
    pub skipped: Vec<String>,
    /// Why the last reload failed ("" when it did not): the previous glossary stays in use.
    pub last_error: String,
}

impl Engine {
    /// The glossary in use.
    pub fn glossary(&self) -> Arc<Glossary> {
        self.glossary.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Loads the shipped glossary plus the configured file (`--glossary`), if any, and puts it
    /// in use. On error the glossary in use stays and the error is kept for Stats.
    pub fn load_glossary(&self) -> Result<usize, GlossaryError> {
        let loaded = match &self.config().glossary {
            Some(path) => Glossary::with_file(path),
            None => Ok(Glossary::shipped()),
        };
        let mut last_error = self.glossary_error.lock().unwrap_or_else(PoisonError::into_inner);
        match loaded {
            Ok(g) => {
                let n = g.len();
                *self.glossary.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(g);
                *last_error = String::new();
                Ok(n)
            }
            Err(e) => {
                *last_error = e.to_string();
                Err(e)
            }
        }
    }

    /// Entries, file, skipped lines and the last reload error.
    pub fn glossary_status(&self) -> GlossaryStatus {
        let g = self.glossary();
        GlossaryStatus {
            entries: g.len(),
            file: g.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            skipped: g.errors.iter().map(|e| format!("line {}: {}", e.line, e.message)).collect(),
            last_error: self.glossary_error.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }

    /// Glossary phrases of `text` with their entries.
    pub(super) fn bridges(&self, text: &str) -> Vec<BridgeUsed> {
        let g = self.glossary();
        g.bridge(text).into_iter().map(|b| BridgeUsed { entry: g.entry(b.entry).clone(), bridge: b }).collect()
    }
}
