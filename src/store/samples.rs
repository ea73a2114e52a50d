//! The stored form of chunk audio: f32 little-endian samples, read back bit-identically. Imports only the
//! facade's error type.

use super::{Result, StoreError};

/// Encodes samples as the stored blob (f32 little-endian): decoding gives the same bits back.
pub fn encode_samples(samples: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 4);
    if cfg!(target_endian = "little") {
        // SAFETY: f32 is plain old data without padding; u8 has alignment 1; the length is exact.
        let bytes =
            unsafe { std::slice::from_raw_parts(samples.as_ptr().cast::<u8>(), std::mem::size_of_val(samples)) };
        out.extend_from_slice(bytes);
    } else {
        for s in samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
    out
}

/// Decodes a stored blob (f32 little-endian).
pub fn decode_samples(key: &str, bytes: &[u8]) -> Result<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(StoreError::CorruptAudio {
            key: key.into(),
            why: format!("{} bytes is not whole f32 samples", bytes.len()),
        });
    }
    let n = bytes.len() / 4;
    if cfg!(target_endian = "little") {
        let mut out = vec![0f32; n];
        // SAFETY: `out` has room for exactly `bytes.len()` bytes; the regions do not overlap; every bit
        // pattern is a valid f32.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_mut_ptr().cast::<u8>(), bytes.len()) };
        Ok(out)
    } else {
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}
