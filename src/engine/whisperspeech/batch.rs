//! How many chunks one WhisperSpeech batch holds when `render.batch_size` is `auto`.
//!
//! On the CPU a measured value ([`CPU_AUTO_BATCH`], BENCHMARKS.md "Render batches on the CPU"). On a GPU the
//! batch is what half the free device memory holds at an estimated per-row footprint (the KV caches of T2S and
//! S2A at their full context, activations and the Vocos buffers), clamped to `1..=`[`GPU_MAX_AUTO_BATCH`].
//!
//! Owns the batch-size arithmetic only; imports nothing of the crate but the stage configs.

use candle_core::{DType, Device};

use super::s2a::S2aConfig;
use super::t2s::T2sConfig;

/// `batch_size: auto` on the CPU: batch 8 rendered 1.8× faster than batch 1 on the 2-core reference machine,
/// and the T2S/S2A benches put it at or near the best of 1/8 (BENCHMARKS.md; 16 was not measured). A row's
/// output does not depend on its batch mates, so this is a speed setting only.
pub const CPU_AUTO_BATCH: usize = 8;

/// The largest automatic GPU batch (beyond it the decoders are compute-bound and latency grows).
pub const GPU_MAX_AUTO_BATCH: usize = 64;

/// Estimated device bytes one batch row needs: the self- and cross-attention K/V caches of every layer of
/// T2S and S2A at their full context in `dtype`, times 3 for activations and allocator slack, plus the f32
/// Vocos buffers of a 30 s chunk (750 frames × 4 intermediate passes of 1152 channels).
pub fn row_bytes(t2s: &T2sConfig, s2a: &S2aConfig, dtype: DType) -> usize {
    let el = dtype.size_in_bytes();
    let t2s_w = t2s.n_head * t2s.head_width;
    let s2a_w = s2a.n_head * s2a.head_width;
    let t2s_kv = 2 * t2s.depth * 2 * (t2s.stoks_len + t2s.ttoks_len) * t2s_w;
    let s2a_kv = 2 * s2a.depth * 2 * (s2a.ctx_n + s2a.stoks_len) * s2a_w;
    let vocos = 750 * 1152 * 4 * 4;
    3 * el * (t2s_kv + s2a_kv) + vocos
}

/// The batch half of `free` bytes holds at `row` bytes a row, within `1..=GPU_MAX_AUTO_BATCH`.
pub fn batch_for_memory(free: usize, row: usize) -> usize {
    (free / 2 / row.max(1)).clamp(1, GPU_MAX_AUTO_BATCH)
}

/// Free memory of a CUDA device in bytes (`None` on the CPU, or when the driver does not say).
#[cfg(feature = "cuda")]
pub fn free_device_memory(device: &Device) -> Option<usize> {
    let cuda = device.as_cuda_device().ok()?;
    let stream = cuda.cuda_stream();
    stream.context().mem_get_info().ok().map(|(free, _total)| free)
}

/// Free memory of a CUDA device in bytes (`None`: this build has no CUDA).
#[cfg(not(feature = "cuda"))]
pub fn free_device_memory(_device: &Device) -> Option<usize> {
    None
}

/// `auto` for a device: [`CPU_AUTO_BATCH`] on the CPU, else from its free memory (8 when it cannot be read).
pub fn auto_batch(device: &Device, t2s: &T2sConfig, s2a: &S2aConfig, dtype: DType) -> usize {
    if device.is_cpu() {
        return CPU_AUTO_BATCH;
    }
    match free_device_memory(device) {
        Some(free) => batch_for_memory(free, row_bytes(t2s, s2a, dtype)),
        None => CPU_AUTO_BATCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_bounds_the_batch_within_its_limits() {
        let gib = 1usize << 30;
        assert_eq!(batch_for_memory(gib, gib), 1, "less than one row fits: still one");
        assert_eq!(batch_for_memory(10 * gib, gib), 5, "half of the free memory");
        assert_eq!(batch_for_memory(1000 * gib, gib), GPU_MAX_AUTO_BATCH);
        assert_eq!(batch_for_memory(0, 0), 1);
    }
}
