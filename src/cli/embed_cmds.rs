//! `simtheme embed` and `simtheme similarity`.

use anyhow::Context;

use crate::embed::{cosine, Embedder, EmbedderConfig, Mode};

fn load(cfg: &EmbedderConfig) -> anyhow::Result<Embedder> {
    Embedder::load(cfg).with_context(|| format!("loading model {}", cfg.model))
}

/// Embeds `texts` and prints the dimension and vectors (JSON when `json`).
pub fn run_embed(cfg: &EmbedderConfig, texts: &[String], query: bool, json: bool) -> anyhow::Result<()> {
    let embedder = load(cfg)?;
    let mode = if query { Mode::Query } else { Mode::Passage };
    let out = embedder.embed(texts, mode)?;
    if json {
        let items: Vec<serde_json::Value> =
            texts.iter().zip(&out).map(|(t, e)| serde_json::json!({"text": t, "tokens": e.tokens, "vector": e.vector})).collect();
        let doc = serde_json::json!({"model": embedder.name(), "dimension": embedder.dim(),
                                     "mode": if query {"query"} else {"passage"}, "embeddings": items});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("model {} dimension {}", embedder.name(), embedder.dim());
        for (t, e) in texts.iter().zip(&out) {
            let v: Vec<String> = e.vector.iter().map(|x| format!("{x:.6}")).collect();
            println!("{} tokens={} [{}]", t, e.tokens, v.join(", "));
        }
    }
    Ok(())
}

/// Prints the cosine similarity of two texts.
pub fn run_similarity(cfg: &EmbedderConfig, a: &str, b: &str, passage: bool) -> anyhow::Result<()> {
    let embedder = load(cfg)?;
    let mode = if passage { Mode::Passage } else { Mode::Query };
    let out = embedder.embed(&[a, b], mode)?;
    println!("{:.4}", cosine(&out[0].vector, &out[1].vector));
    Ok(())
}
