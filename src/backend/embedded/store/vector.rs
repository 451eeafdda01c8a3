//! Encoding of f32 vectors as little-endian BLOBs.

use super::StoreError;

/// Encodes `v` as little-endian f32 bytes.
pub fn encode(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Decodes a blob that must hold exactly `dim` finite little-endian f32 values.
pub fn decode(blob: &[u8], dim: i64, chunk_id: i64) -> Result<Vec<f32>, StoreError> {
    let expected = usize::try_from(dim).ok().and_then(|d| d.checked_mul(4));
    if dim <= 0 || expected != Some(blob.len()) {
        return Err(StoreError::Corrupt(format!("chunk {chunk_id}: vector blob has {} bytes, expected dim {dim} x 4", blob.len())));
    }
    let v: Vec<f32> = blob
        .chunks_exact(4)
        // `chunks_exact(4)` yields 4-byte slices only, so this indexing cannot fail.
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if v.iter().any(|x| !x.is_finite()) {
        return Err(StoreError::Corrupt(format!("chunk {chunk_id}: non-finite vector value")));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_little_endian() {
        let v = vec![1.0f32, -2.5, 0.0, f32::MIN_POSITIVE];
        let b = encode(&v);
        assert_eq!(&b[..4], &1.0f32.to_le_bytes());
        assert_eq!(decode(&b, 4, 1).unwrap(), v);
    }

    #[test]
    fn decode_rejects_bad_lengths_and_values() {
        let b = encode(&[1.0, 2.0, 3.0]);
        assert!(matches!(decode(&b, 4, 1), Err(StoreError::Corrupt(_))));
        assert!(matches!(decode(&b[..11], 3, 1), Err(StoreError::Corrupt(_))));
        assert!(matches!(decode(&[], 0, 1), Err(StoreError::Corrupt(_))));
        assert!(matches!(decode(&b, -3, 1), Err(StoreError::Corrupt(_))));
        let nan = encode(&[f32::NAN]);
        assert!(matches!(decode(&nan, 1, 1), Err(StoreError::Corrupt(_))));
    }
}
