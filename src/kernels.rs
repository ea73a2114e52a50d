//! Single-precision CPU kernels shared by the fused CPU paths (the Vocos backbone, the Whisper encoder):
//! row-major buffers, GEMMs through the `gemm` crate, and the row-wise passes (LayerNorm, exact GELU).
//!
//! Invariant: every function is deterministic for a given thread count, and the GEMMs give each output
//! element to one thread with a fixed summation order, so results do not depend on scheduling.

use candle_core::{Result, Tensor};
use candle_nn::{LayerNorm, Linear};
use rayon::prelude::*;

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

/// `dst[m, n] = a[m, k] · rhs`, or `dst += a · rhs` when `accumulate`. A row's result does not depend on the
/// other rows (`tests`).
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
    if m == 1 {
        // gemm takes a matrix-vector path for one row, whose summation order differs from the matrix
        // kernel's: run it as two rows (a zero row added and dropped), so that a row has the same bits
        // alone and in a batch
        let mut a2 = a.to_vec();
        a2.resize(2 * k, 0.0);
        let mut d2 = dst.to_vec();
        d2.resize(2 * n, 0.0);
        matmul(&a2, rhs, &mut d2, accumulate);
        dst.copy_from_slice(&d2[..n]);
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
pub(crate) fn flat(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

/// A LayerNorm's weight and bias.
#[derive(Debug, Clone)]
pub(crate) struct Norm {
    pub(crate) w: Vec<f32>,
    pub(crate) b: Vec<f32>,
}

impl Norm {
    pub(crate) fn new(ln: &LayerNorm) -> Result<Self> {
        let b = match ln.bias() {
            Some(b) => flat(b)?,
            None => vec![0.0; ln.weight().elem_count()],
        };
        Ok(Self {
            w: flat(ln.weight())?,
            b,
        })
    }

    /// Normalises every `width`-wide row of `x` into `out`.
    pub(crate) fn apply(&self, x: &[f32], out: &mut [f32]) {
        let d = self.w.len();
        out.par_chunks_mut(d * ROWS_PER_TASK)
            .zip(x.par_chunks(d * ROWS_PER_TASK))
            .for_each(|(o, i)| {
                o.copy_from_slice(i);
                for row in o.chunks_exact_mut(d) {
                    layer_norm(row, &self.w, &self.b, 1e-5);
                }
            });
    }
}

/// A linear layer's weight `[n, k]` and bias (zeros when it has none), flattened, with `n` and `k`.
pub(crate) fn linear_parts(l: &Linear) -> Result<(Vec<f32>, Vec<f32>, usize, usize)> {
    let (n, k) = l.weight().dims2()?;
    let b = match l.bias() {
        Some(b) => flat(b)?,
        None => vec![0.0; n],
    };
    Ok((flat(l.weight())?, b, n, k))
}

/// A linear layer as a GEMM right-hand side and its bias.
pub(crate) fn rhs(l: &Linear) -> Result<(Rhs, Vec<f32>)> {
    let (w, b, n, k) = linear_parts(l)?;
    Ok((Rhs::from_linear(&w, n, k, None), b))
}

/// Linear layers with the same input width stacked into one `[Σn, k]` weight (the `Linear` layout, row `j`
/// computes output `j`) and bias, each layer's weight and bias scaled by its factor; with `k`.
pub(crate) fn stacked(layers: &[(&Linear, f32)]) -> Result<(Vec<f32>, Vec<f32>, usize)> {
    let mut w = Vec::new();
    let mut bias = Vec::new();
    let mut width = None;
    for (l, scale) in layers {
        let (lw, lb, _, k) = linear_parts(l)?;
        if *width.get_or_insert(k) != k {
            candle_core::bail!("linear layers side by side take different input widths");
        }
        w.extend(lw.iter().map(|x| x * scale));
        bias.extend(lb.iter().map(|x| x * scale));
    }
    Ok((w, bias, width.unwrap_or(0)))
}

/// Linear layers with the same input width side by side as one right-hand side `[k, Σn]` (one GEMM for all),
/// each layer's weight and bias scaled by its factor.
pub(crate) fn side_by_side(layers: &[(&Linear, f32)]) -> Result<(Rhs, Vec<f32>)> {
    let (w, bias, k) = stacked(layers)?;
    Ok((Rhs::from_linear(&w, bias.len(), k, None), bias))
}

/// Outputs per rayon task in [`linear_rows`].
const OUTPUTS_PER_TASK: usize = 64;

/// A weight matrix for [`linear_rows`]: f32, or f16 when every value is exactly an f16 (CTranslate2's fp16
/// models converted to f32 are) — the same numbers in half the memory a decoding step streams.
#[derive(Debug, Clone)]
pub(crate) enum Weights {
    F32(Vec<f32>),
    F16(Vec<half::f16>),
}

impl Weights {
    /// Keeps `w` in f16 when that is exact.
    pub(crate) fn new(w: Vec<f32>) -> Self {
        if w.iter()
            .all(|&x| half::f16::from_f32(x).to_f32().to_bits() == x.to_bits())
        {
            Self::F16(w.iter().map(|&x| half::f16::from_f32(x)).collect())
        } else {
            Self::F32(w)
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::F32(w) => w.len(),
            Self::F16(w) => w.len(),
        }
    }
}

/// `dst[r, j] = Σ_c x[r, c]·w[j, c]` (or `+=` when `accumulate`) for a few rows `x` (`[m, k]`) and a weight in
/// the `Linear` layout (`[n, k]`): each weight row streams once, unpacked, against all rows — the shape of a
/// decoding step, where `gemm` packs the weights on every call. Each output is one fused multiply-add chain
/// in a fixed order (8 lanes, then their sum), so a row has the same bits whatever `m`, on every CPU
/// (`mul_add` is exactly rounded, in hardware or not) and with the weights in f32 or (exactly) f16.
pub(crate) fn linear_rows(x: &[f32], w: &Weights, k: usize, dst: &mut [f32], accumulate: bool) {
    let n = w.len() / k.max(1);
    let m = x.len() / k.max(1);
    assert!(
        k > 0 && x.len() == m * k && w.len() == n * k && dst.len() == m * n,
        "linear_rows shapes"
    );
    // outputs transposed, `[n, m]`: a task's outputs are contiguous
    let mut out = vec![0f32; n * m];
    match w {
        Weights::F32(w) => out
            .par_chunks_mut(OUTPUTS_PER_TASK * m)
            .zip(w.par_chunks(OUTPUTS_PER_TASK * k))
            .for_each(|(o, w)| dots_dispatch(x, w, k, m, o)),
        Weights::F16(w) => out
            .par_chunks_mut(OUTPUTS_PER_TASK * m)
            .zip(w.par_chunks(OUTPUTS_PER_TASK * k))
            .for_each(|(o, w)| dots_f16_dispatch(x, w, k, m, o)),
    }
    dst.par_chunks_mut(n).enumerate().for_each(|(r, row)| {
        for (j, d) in row.iter_mut().enumerate() {
            let v = out[j * m + r];
            *d = if accumulate { *d + v } else { v };
        }
    });
}

fn dots_dispatch(x: &[f32], w: &[f32], k: usize, m: usize, o: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for (checked just above).
        unsafe { dots_avx2(x, w, k, m, o) };
        return;
    }
    dots_all(x, w, k, m, o);
}

/// [`dots_all`] for f16 weights, converted four rows at a time.
fn dots_f16_dispatch(x: &[f32], w: &[half::f16], k: usize, m: usize, o: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c") {
        // SAFETY: the CPU has the features the function is compiled for (checked just above).
        unsafe { dots_f16_avx2(x, w, k, m, o) };
        return;
    }
    let mut rows = vec![0f32; 4 * k];
    for (wb, ob) in w.chunks(4 * k).zip(o.chunks_mut(4 * m)) {
        let r = &mut rows[..wb.len()];
        r.iter_mut().zip(wb).for_each(|(r, w)| *r = w.to_f32());
        dots_all(x, r, k, m, ob);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dots_f16_avx2(x: &[f32], w: &[half::f16], k: usize, m: usize, o: &mut [f32]) {
    use std::arch::x86_64::{__m128i, _mm256_cvtph_ps, _mm256_storeu_ps, _mm_loadu_si128};
    let mut rows = vec![0f32; 4 * k];
    for (wb, ob) in w.chunks(4 * k).zip(o.chunks_mut(4 * m)) {
        let r = &mut rows[..wb.len()];
        let (w8, wt) = (wb.chunks_exact(8), wb.chunks_exact(8).remainder());
        let tail = r.len() - wt.len();
        for (src, dst) in w8.zip(r.chunks_exact_mut(8)) {
            // SAFETY: src is 8 f16 (16 bytes) and dst 8 f32, both in bounds; unaligned load and store.
            unsafe {
                let h = _mm_loadu_si128(src.as_ptr().cast::<__m128i>());
                _mm256_storeu_ps(dst.as_mut_ptr(), _mm256_cvtph_ps(h));
            }
        }
        r[tail..].iter_mut().zip(wt).for_each(|(r, w)| *r = w.to_f32());
        dots_all(x, r, k, m, ob);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dots_avx2(x: &[f32], w: &[f32], k: usize, m: usize, o: &mut [f32]) {
    dots_all(x, w, k, m, o);
}

/// For each weight row `j` of `w`: `o[j·m + r] = x[r] · w[j]`, four independent dot products at a time (one
/// weight row with four rows of `x`, or, for the last `m mod 4` rows, one row of `x` with four weight rows:
/// `mul_add` is symmetric, so both give the same bits).
#[inline(always)]
fn dots_all(x: &[f32], w: &[f32], k: usize, m: usize, o: &mut [f32]) {
    let full = m / 4 * 4;
    let xrow = |r: usize| &x[r * k..(r + 1) * k];
    for (wb, ob) in w.chunks(4 * k).zip(o.chunks_mut(4 * m)) {
        for (wj, oj) in wb.chunks_exact(k).zip(ob.chunks_exact_mut(m)) {
            for r in (0..full).step_by(4) {
                oj[r..r + 4].copy_from_slice(&dots(wj, [0, 1, 2, 3].map(|i| xrow(r + i))));
            }
        }
        let js = wb.len() / k;
        for r in full..m {
            if js == 4 {
                let d = dots(xrow(r), [0, 1, 2, 3].map(|j| &wb[j * k..(j + 1) * k]));
                for (j, v) in d.into_iter().enumerate() {
                    ob[j * m + r] = v;
                }
            } else {
                for j in 0..js {
                    ob[j * m + r] = dots(&wb[j * k..(j + 1) * k], [xrow(r)])[0];
                }
            }
        }
    }
}

/// `R` dot products of `w` with the rows `xs` (all `w.len()` long), each the same chain of operations
/// whatever `R` (and the same bits with `w` and a row swapped).
#[inline(always)]
fn dots<const R: usize>(w: &[f32], xs: [&[f32]; R]) -> [f32; R] {
    let k = w.len();
    let k8 = k / 8 * 8;
    let mut acc = [[0f32; 8]; R];
    for c in (0..k8).step_by(8) {
        let wc: &[f32; 8] = w[c..c + 8].try_into().expect("8 lanes");
        for (a, x) in acc.iter_mut().zip(&xs) {
            let xc: &[f32; 8] = x[c..c + 8].try_into().expect("8 lanes");
            for l in 0..8 {
                a[l] = wc[l].mul_add(xc[l], a[l]);
            }
        }
    }
    let mut out = [0f32; R];
    for ((o, a), x) in out.iter_mut().zip(&acc).zip(&xs) {
        let mut s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        for c in k8..k {
            s = w[c].mul_add(x[c], s);
        }
        *o = s;
    }
    out
}

/// Adds `b` to every `b.len()`-wide row of `x`.
pub(crate) fn add_rows(x: &mut [f32], b: &[f32]) {
    let d = b.len();
    x.par_chunks_mut(d * ROWS_PER_TASK).for_each(|chunk| {
        for row in chunk.chunks_exact_mut(d) {
            row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_has_the_same_bits_alone_and_in_a_batch() {
        // the published Whisper and Vocos widths and their 4× MLPs, a 3d fused projection
        for (k, n) in [(384, 1152), (512, 2048), (768, 768), (2048, 512), (512, 1536)] {
            let mut x = 0x2545_f491_4f6c_dd1du64;
            let mut rnd = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            };
            let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
            let a: Vec<f32> = (0..9 * k).map(|_| rnd()).collect();
            let rhs = Rhs::from_linear(&w, n, k, None);
            let rows = |m: usize, acc: bool| {
                let mut d: Vec<f32> = (0..m * n).map(|i| (i % 7) as f32).collect();
                matmul(&a[..m * k], &rhs, &mut d, acc);
                d[..n].to_vec()
            };
            for acc in [false, true] {
                let alone = rows(1, acc);
                for m in [2, 3, 8, 9] {
                    assert!(
                        rows(m, acc) == alone,
                        "k {k} n {n} accumulate {acc}: row 0 alone differs in {m}"
                    );
                }
            }
        }
    }

    #[test]
    fn linear_rows_is_a_matmul_and_a_row_has_the_same_bits_in_any_batch() {
        // k not a multiple of 8 (the tail), n not a multiple of the task size
        for (k, n) in [(512, 1536), (68, 130), (2048, 512)] {
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            let mut rnd = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            };
            let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
            let a: Vec<f32> = (0..9 * k).map(|_| rnd()).collect();
            let init: Vec<f32> = (0..9 * n).map(|i| (i % 5) as f32).collect();
            let mut want = init.clone();
            matmul(&a, &Rhs::from_linear(&w, n, k, None), &mut want, true);
            let mut got = init.clone();
            linear_rows(&a, &Weights::new(w.clone()), k, &mut got, true);
            // weights that are exactly f16 give the same bits from f16 storage
            let w16: Vec<f32> = w.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect();
            let (mut a32, mut a16) = (vec![0f32; 9 * n], vec![0f32; 9 * n]);
            linear_rows(&a, &Weights::F32(w16.clone()), k, &mut a32, false);
            let h = Weights::new(w16);
            assert!(matches!(h, Weights::F16(_)));
            linear_rows(&a, &h, k, &mut a16, false);
            assert!(a32 == a16, "f16 storage changes the result");
            let w = Weights::new(w.clone());
            assert!(matches!(w, Weights::F32(_)));
            let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0f32, f32::max);
            assert!(worst < 1e-4, "k {k} n {n}: differs from the GEMM by {worst}");
            let row = |m: usize, r: usize| {
                let mut d = vec![0f32; m * n];
                linear_rows(&a[..m * k], &w, k, &mut d, false);
                d[r * n..(r + 1) * n].to_vec()
            };
            let mut alone = vec![0f32; n];
            linear_rows(&a[4 * k..5 * k], &w, k, &mut alone, false);
            for m in [5, 6, 8, 9] {
                assert!(row(m, 4) == alone, "k {k} n {n}: row 4 alone differs from row 4 of {m}");
            }
        }
    }

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
