//! Turns weight files into a candle `VarBuilder` for the BERT encoder.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::source::WeightFile;
use super::EmbedError;

/// Loads the weights as f32 tensors. GGUF tensors (e.g. Q4_0 blocks) are dequantised
/// once here, so inference runs candle's f32 kernels on exactly the stored weights.
pub fn var_builder(weights: &WeightFile, device: &Device) -> Result<VarBuilder<'static>, EmbedError> {
    match weights {
        WeightFile::Safetensors(paths) => {
            // SAFETY: the files are memory-mapped read-only; simtheme never writes model files.
            unsafe { VarBuilder::from_mmaped_safetensors(paths, DType::F32, device) }
                .map_err(|e| EmbedError::Load { path: paths.first().cloned().unwrap_or_default(), reason: e.to_string() })
        }
        WeightFile::Gguf(path) => {
            let tensors = dequantized_gguf(path, device)?;
            Ok(VarBuilder::from_tensors(tensors, DType::F32, device))
        }
    }
}

fn dequantized_gguf(path: &std::path::Path, device: &Device) -> Result<HashMap<String, Tensor>, EmbedError> {
    let fail = |reason: String| EmbedError::Load { path: path.to_path_buf(), reason };
    let mut file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut file).map_err(|e| fail(e.to_string()))?;
    let mut out = HashMap::with_capacity(content.tensor_infos.len());
    for name in content.tensor_infos.keys() {
        let q = content.tensor(&mut file, name, device).map_err(|e| fail(format!("tensor {name}: {e}")))?;
        let t = q.dequantize(device).map_err(|e| fail(format!("tensor {name}: {e}")))?;
        out.insert(name.clone(), t);
    }
    Ok(out)
}
