//! `simtheme glossary [FILE] [--query TEXT]`: checks a glossary file as `serve --glossary` would
//! load it, before a reload puts it in use.

use std::path::Path;

use crate::glossary::{Glossary, Side};

/// Prints the entries read and the lines skipped; with `query`, the bridges it would get.
/// Fails, with the reason, when the file cannot be used at all.
pub fn run_glossary(file: Option<&Path>, query: Option<&str>) -> anyhow::Result<()> {
    let shipped = Glossary::shipped();
    let glossary = match file {
        Some(f) => Glossary::with_file(f)?,
        None => shipped.clone(),
    };
    match file {
        Some(f) => println!(
            "{}: {} entries read ({} in all with the {} shipped ones); {} lines skipped",
            f.display(),
            glossary.len() - shipped.len(),
            glossary.len(),
            shipped.len(),
            glossary.errors.len()
        ),
        None => println!("shipped glossary: {} entries", glossary.len()),
    }
    for e in &glossary.errors {
        println!("line {}: {}", e.line, e.message);
    }
    if let Some(q) = query {
        let bridges = glossary.bridge(q);
        if bridges.is_empty() {
            println!("{q:?}: no glossary phrase");
        }
        for b in bridges {
            let lang = if b.side == Side::Chinese { "zh" } else { "en" };
            println!("{:?} ({lang}, {}) adds {}", b.matched, glossary.entry(b.entry).origin, b.added.join(" | "));
        }
    }
    Ok(())
}
