//! Where the model's files come from: a local directory or a Hugging Face hub repo.

use std::path::{Path, PathBuf};

use super::EmbedError;

/// Weight file formats simtheme can load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightFile {
    /// One or more `*.safetensors` files (f32/f16/bf16 weights).
    Safetensors(Vec<PathBuf>),
    /// A GGUF file (quantised or float tensors under Hugging Face BERT names).
    Gguf(PathBuf),
}

/// The resolved files of a model, all on local disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// Human-readable model name (directory name or repo id).
    pub name: String,
    /// `config.json` (BERT configuration).
    pub config: PathBuf,
    /// `tokenizer.json` (Hugging Face tokenizers format).
    pub tokenizer: PathBuf,
    /// The weights.
    pub weights: WeightFile,
}

/// Resolves `spec`: an existing directory is used as a local model directory; anything
/// else of the form `org/name` is treated as a Hugging Face repo id.
pub fn resolve(spec: &str) -> Result<ModelFiles, EmbedError> {
    let path = Path::new(spec);
    if path.is_dir() {
        return from_dir(path);
    }
    if looks_like_repo_id(spec) {
        return from_hub(spec, &hf_hub::Cache::from_env(), hub_offline());
    }
    Err(EmbedError::MissingFile {
        dir: path.to_path_buf(),
        what: "such directory (and it is not a Hugging Face repo id like 'intfloat/multilingual-e5-small')".into(),
    })
}

/// Uses the files of a local model directory.
pub fn from_dir(dir: &Path) -> Result<ModelFiles, EmbedError> {
    let need = |file: &str| {
        let p = dir.join(file);
        if p.is_file() {
            Ok(p)
        } else {
            Err(EmbedError::MissingFile { dir: dir.to_path_buf(), what: file.to_string() })
        }
    };
    let config = need("config.json")?;
    let tokenizer = need("tokenizer.json")?;
    let weights = if dir.join("model.safetensors").is_file() {
        WeightFile::Safetensors(vec![dir.join("model.safetensors")])
    } else if dir.join("model.gguf").is_file() {
        WeightFile::Gguf(dir.join("model.gguf"))
    } else {
        return Err(EmbedError::MissingFile { dir: dir.to_path_buf(), what: "model.safetensors or model.gguf".into() });
    };
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
    Ok(ModelFiles { name, config, tokenizer, weights })
}

/// True when `HF_HUB_OFFLINE` is set to a true value (`1`, `true`, `yes`, `on`).
pub fn hub_offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")).unwrap_or(false)
}

fn looks_like_repo_id(spec: &str) -> bool {
    let parts: Vec<&str> = spec.split('/').collect();
    parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
}

/// Resolves a hub repo through the local cache first, then (unless offline) by download.
pub fn from_hub(repo_id: &str, cache: &hf_hub::Cache, offline: bool) -> Result<ModelFiles, EmbedError> {
    let cached = cache.model(repo_id.to_string());
    let api = if offline { None } else { hf_hub::api::sync::ApiBuilder::from_cache(cache.clone()).with_progress(false).build().ok() };
    let fetch = |file: &str| -> Result<PathBuf, String> {
        if let Some(p) = cached.get(file) {
            return Ok(p);
        }
        match &api {
            None => Err(format!(
                "'{file}' is not in the cache at {} and HF_HUB_OFFLINE is set; download it where the hub is reachable or point --model at a local directory",
                cache.path().display()
            )),
            Some(api) => api.model(repo_id.to_string()).get(file).map_err(|e| e.to_string()),
        }
    };
    let hub_err = |reason: String| EmbedError::Hub { repo: repo_id.to_string(), reason };
    let config = fetch("config.json").map_err(hub_err)?;
    let tokenizer = fetch("tokenizer.json").map_err(hub_err)?;
    let weights = match fetch("model.safetensors") {
        Ok(p) => WeightFile::Safetensors(vec![p]),
        Err(first) => match fetch("model.gguf") {
            Ok(p) => WeightFile::Gguf(p),
            Err(_) => return Err(hub_err(first)),
        },
    };
    Ok(ModelFiles { name: repo_id.to_string(), config, tokenizer, weights })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_are_recognised() {
        assert!(looks_like_repo_id("intfloat/multilingual-e5-base"));
        assert!(!looks_like_repo_id("intfloat"));
        assert!(!looks_like_repo_id("a/b/c"));
        assert!(!looks_like_repo_id("/abs/path"));
    }

    #[test]
    fn offline_and_uncached_names_the_repo() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = hf_hub::Cache::new(tmp.path().to_path_buf());
        let err = from_hub("intfloat/multilingual-e5-base", &cache, true).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("intfloat/multilingual-e5-base"), "{msg}");
        assert!(msg.contains("HF_HUB_OFFLINE"), "{msg}");
    }

    #[test]
    fn missing_dir_files_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("config.json"), "{}").unwrap();
        let err = from_dir(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("tokenizer.json"), "{err}");
    }
}
