//! Single-precision CPU kernels shared by the fused CPU paths (the Vocos backbone, the Whisper encoder):
//! row-major buffers, GEMMs through the `gemm` crate, and the row-wise passes (LayerNorm, exact GELU).
//!
//! Invariant: every function is deterministic for a given thread count, and the GEMMs give each output
//! element to one thread with a fixed summation order, so results do not depend on scheduling.

use candle_core::Tensor;

/// Rows per rayon task in the row-wise passes.
pub(crate) const ROWS_PER_TASK: usize = 32;

/// A GEMM right-hand side `[k, n]`, row-major: a linear layer's `[out, in]` weight transposed.
#[derive(Debug, Clone)]
pub(crate) struct Rhs {
    pub(crate) data: Vec<f32>,
    pub(crate) k: usize,
    pub(crate) n: usize,
}

impl Rhs {
    /// From a linear weight `[n, k]` (row-major), output row `j` scaled by `scale[j]` when given.
    pub(crate) fn from_linear(w: &[f32], n: usize, k: usize, scale: Option<&[f32]>) -> Self {
        let mut data = vec![0f32; k * n];
        for j in 0..n {
            let s = scale.map_or(1.0, |s| s[j]);
            for i in 0..k {
                data[i * n + j] = w[j * k + i] * s;
            }
        }
        Self { data, k, n }
    }
}

/// `dst[m, n] = a[m, k] · rhs`, or `dst += a · rhs` when `accumulate`.
pub(crate) fn matmul(a: &[f32], rhs: &Rhs, dst: &mut [f32], accumulate: bool) {
    let (k, n) = (rhs.k, rhs.n);
    let m = a.len() / k;
    assert!(
        a.len() == m * k && dst.len() == m * n && rhs.data.len() == k * n,
        "matmul shapes"
    );
    if m == 0 {
        return;
    }
    let threads = rayon::current_num_threads();
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the assert above bounds every access: lhs is m×k, rhs k×n and dst m×n, all row-major and
    // contiguous (column stride 1, row stride = width); dst does not alias the inputs (&mut vs &).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            1,
            k as isize,
            rhs.data.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

/// Sum with 8 independent accumulators (vectorisable).
pub(crate) fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// LayerNorm of one row in place, then `· scale + shift` per channel.
pub(crate) fn layer_norm(row: &mut [f32], scale: &[f32], shift: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    row.iter_mut().for_each(|v| *v -= mean);
    let mut acc = [0f32; 8];
    let chunks = row.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().map(|v| v * v).sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x * x;
        }
    }
    let var = (acc.iter().sum::<f32>() + rest) / n;
    let r = 1.0 / (var + eps).sqrt();
    for ((v, s), b) in row.iter_mut().zip(scale).zip(shift) {
        *v = *v * r * s + b;
    }
}

/// Exact GELU, `x·Φ(x)` (as candle's `gelu_erf` and PyTorch's `nn.GELU()`), with [`erf`] below.
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `erf` in single precision as a branch-free rational function on [−4, 4] (Eigen's float `erf`, within
/// 4.2e-7 of `libm::erff`; beyond ±4 `erf` is ±1 in f32). Branch-free so that the GELU pass vectorises, unlike
/// `libm::erff`.
pub(crate) fn erf(a: f32) -> f32 {
    let x = a.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906_3e-4;
    p = p * x2 + -2.954_6e-3;
    p = p * x2 + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329_2e-3;
    q = q * x2 + -1.426_473_9e-2;
    // the rational function reaches 1 − 1 ulp at 4, where erf rounds to exactly ±1 (a select, not a branch)
    if x.abs() >= 4.0 {
        x.signum()
    } else {
        p / q
    }
}

/// A tensor's values, flattened (f32).
pub(crate) fn flat(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_libm_everywhere() {
        let mut worst = 0f32;
        for i in -120_000..=120_000 {
            let x = i as f32 * 1e-4;
            let want = candle_core::cpu::erf::erf_f32(x); // libm::erff
            worst = worst.max((erf(x) - want).abs());
        }
        for x in [f32::MAX, 1e6, 10.0, -10.0, -1e6, f32::MIN] {
            assert_eq!(erf(x), x.signum(), "erf({x})");
        }
        eprintln!("erf: max |Δ| against libm = {worst:e}");
        assert!(worst <= 5e-7, "erf differs from libm by {worst:e}");
        // GELU: 0 at 0, the identity far right, 0 far left, Φ(1) = 0.841 344 75
        assert_eq!(gelu(0.0), 0.0);
        assert_eq!(gelu(20.0), 20.0);
        assert_eq!(gelu(-20.0), 0.0);
        assert!((gelu(1.0) - 0.841_344_7).abs() < 1e-6);
    }
}
