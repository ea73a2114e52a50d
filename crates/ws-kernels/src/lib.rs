//! Single-precision CPU kernels for ws-book's fused CPU paths (the Vocos backbone, the Whisper encoder and
//! decoder): row-major buffers, GEMMs through the `gemm` crate, the few-row linear layer of a decoding step,
//! and the row-wise passes (LayerNorm, exact GELU, softmax).
//!
//! A crate of its own so that it is compiled optimised in debug builds too (`[profile.dev.package."*"]`):
//! these loops are 20–50× slower unoptimised, which the debug test suite would pay on every decoding step.
//!
//! Invariant: every function is deterministic for a given thread count, and each output element is one fixed
//! chain of operations, so results do not depend on scheduling — nor, for [`matmul`] and [`linear_rows`], on
//! the number of rows computed together.

use rayon::prelude::*;

/// Rows per rayon task in the row-wise passes.
pub const ROWS_PER_TASK: usize = 32;

/// A GEMM right-hand side `[k, n]`, row-major: a linear layer's `[out, in]` weight transposed.
#[derive(Debug, Clone)]
pub struct Rhs {
    /// `[k, n]`, row-major.
    pub data: Vec<f32>,
    /// Rows (the input width).
    pub k: usize,
    /// Columns (the output width).
    pub n: usize,
}

impl Rhs {
    /// From a linear weight `[n, k]` (row-major), output row `j` scaled by `scale[j]` when given.
    pub fn from_linear(w: &[f32], n: usize, k: usize, scale: Option<&[f32]>) -> Self {
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
pub fn matmul(a: &[f32], rhs: &Rhs, dst: &mut [f32], accumulate: bool) {
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
pub fn sum(xs: &[f32]) -> f32 {
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
pub fn layer_norm(row: &mut [f32], scale: &[f32], shift: &[f32], eps: f32) {
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
#[inline]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `row[j] = gelu(row[j] + b[j])`: the bias and GELU pass after a GEMM, vectorised here (a loop over [`gelu`]
/// in the calling crate would run unoptimised in debug builds).
pub fn bias_gelu(row: &mut [f32], b: &[f32]) {
    row.iter_mut().zip(b).for_each(|(v, b)| *v = gelu(*v + b));
}

/// `erf` in single precision as a branch-free rational function on [−4, 4] (Eigen's float `erf`, within
/// 4.2e-7 of `libm::erff`; beyond ±4 `erf` is ±1 in f32). Branch-free so that the GELU pass vectorises, unlike
/// `libm::erff`.
#[inline]
pub fn erf(a: f32) -> f32 {
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

/// Outputs per rayon task in [`linear_rows`].
const OUTPUTS_PER_TASK: usize = 64;

/// A weight matrix for [`linear_rows`]: f32, or f16 when every value is exactly an f16 (CTranslate2's fp16
/// models converted to f32 are) — the same numbers in half the memory a decoding step streams.
#[derive(Debug, Clone)]
pub enum Weights {
    /// As given.
    F32(Vec<f32>),
    /// Exactly the same values in half the memory.
    F16(Vec<half::f16>),
}

impl Weights {
    /// Keeps `w` in f16 when that is exact.
    pub fn new(w: Vec<f32>) -> Self {
        if w.iter()
            .all(|&x| half::f16::from_f32(x).to_f32().to_bits() == x.to_bits())
        {
            Self::F16(w.iter().map(|&x| half::f16::from_f32(x)).collect())
        } else {
            Self::F32(w)
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of values.
    pub fn len(&self) -> usize {
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
pub fn linear_rows(x: &[f32], w: &Weights, k: usize, dst: &mut [f32], accumulate: bool) {
    linear_rows_on(x, w, k, dst, accumulate, true);
}

/// [`linear_rows`] without the CPU's SIMD features: the same bits (for the test that shows it).
#[doc(hidden)]
pub fn linear_rows_portable(x: &[f32], w: &Weights, k: usize, dst: &mut [f32], accumulate: bool) {
    linear_rows_on(x, w, k, dst, accumulate, false);
}

fn linear_rows_on(x: &[f32], w: &Weights, k: usize, dst: &mut [f32], accumulate: bool, simd: bool) {
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
            .for_each(|(o, w)| dots_dispatch(x, w, k, m, o, simd)),
        Weights::F16(w) => out
            .par_chunks_mut(OUTPUTS_PER_TASK * m)
            .zip(w.par_chunks(OUTPUTS_PER_TASK * k))
            .for_each(|(o, w)| dots_f16_dispatch(x, w, k, m, o, simd)),
    }
    dst.par_chunks_mut(n).enumerate().for_each(|(r, row)| {
        for (j, d) in row.iter_mut().enumerate() {
            let v = out[j * m + r];
            *d = if accumulate { *d + v } else { v };
        }
    });
}

fn dots_dispatch(x: &[f32], w: &[f32], k: usize, m: usize, o: &mut [f32], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for (checked just above).
        unsafe { dots_avx2(x, w, k, m, o) };
        return;
    }
    dots_all::<Portable>(x, w, k, m, o);
}

/// [`dots_all`] for f16 weights, converted four rows at a time.
fn dots_f16_dispatch(x: &[f32], w: &[half::f16], k: usize, m: usize, o: &mut [f32], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c") {
        // SAFETY: the CPU has the features the function is compiled for (checked just above).
        unsafe { dots_f16_avx2(x, w, k, m, o) };
        return;
    }
    let mut rows = vec![0f32; 4 * k];
    for (wb, ob) in w.chunks(4 * k).zip(o.chunks_mut(4 * m)) {
        let r = &mut rows[..wb.len()];
        r.iter_mut().zip(wb).for_each(|(r, w)| *r = w.to_f32());
        dots_all::<Portable>(x, r, k, m, ob);
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
        dots_all::<Avx2>(x, r, k, m, ob);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dots_avx2(x: &[f32], w: &[f32], k: usize, m: usize, o: &mut [f32]) {
    dots_all::<Avx2>(x, w, k, m, o);
}

/// For each weight row `j` of `w`: `o[j·m + r] = x[r] · w[j]`, four independent dot products at a time (one
/// weight row with four rows of `x`, or, for the last `m mod 4` rows, one row of `x` with four weight rows:
/// `mul_add` is symmetric, so both give the same bits).
#[inline(always)]
fn dots_all<D: Dots>(x: &[f32], w: &[f32], k: usize, m: usize, o: &mut [f32]) {
    let full = m / 4 * 4;
    let xrow = |r: usize| &x[r * k..(r + 1) * k];
    for (wb, ob) in w.chunks(4 * k).zip(o.chunks_mut(4 * m)) {
        for (wj, oj) in wb.chunks_exact(k).zip(ob.chunks_exact_mut(m)) {
            for r in (0..full).step_by(4) {
                oj[r..r + 4].copy_from_slice(&D::four(wj, [0, 1, 2, 3].map(|i| xrow(r + i))));
            }
        }
        let js = wb.len() / k;
        for r in full..m {
            if js == 4 {
                let d = D::four(xrow(r), [0, 1, 2, 3].map(|j| &wb[j * k..(j + 1) * k]));
                for (j, v) in d.into_iter().enumerate() {
                    ob[j * m + r] = v;
                }
            } else {
                for j in 0..js {
                    ob[j * m + r] = D::one(&wb[j * k..(j + 1) * k], xrow(r));
                }
            }
        }
    }
}

/// Four dot products sharing their first operand, and one; both the same chain of operations per output.
trait Dots {
    fn four(w: &[f32], xs: [&[f32]; 4]) -> [f32; 4];
    fn one(w: &[f32], x: &[f32]) -> f32;
}

/// [`dots`] as written (vectorised by the compiler where it can).
struct Portable;

impl Dots for Portable {
    #[inline(always)]
    fn four(w: &[f32], xs: [&[f32]; 4]) -> [f32; 4] {
        dots(w, xs)
    }
    #[inline(always)]
    fn one(w: &[f32], x: &[f32]) -> f32 {
        dots(w, [x])[0]
    }
}

/// [`dots`] with AVX2/FMA intrinsics: the same per-lane `mul_add` chains, so the same bits. Only used
/// where `linear_rows` detected both features.
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Dots for Avx2 {
    #[inline(always)]
    fn four(w: &[f32], xs: [&[f32]; 4]) -> [f32; 4] {
        // SAFETY: reached only from `dots_avx2`/`dots_f16_avx2`, after detecting AVX2 and FMA.
        unsafe { dots_x86(w, xs) }
    }
    #[inline(always)]
    fn one(w: &[f32], x: &[f32]) -> f32 {
        // SAFETY: as above.
        unsafe { dots_x86(w, [x])[0] }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn dots_x86<const R: usize>(w: &[f32], xs: [&[f32]; R]) -> [f32; R] {
    use std::arch::x86_64::{_mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps};
    let k = w.len();
    assert!(xs.iter().all(|x| x.len() >= k), "dot operands of different lengths");
    let k8 = k / 8 * 8;
    let mut acc = [_mm256_setzero_ps(); R];
    let mut c = 0;
    while c < k8 {
        // SAFETY: c + 8 ≤ k8 ≤ k ≤ every operand's length (asserted above); unaligned loads.
        unsafe {
            let wv = _mm256_loadu_ps(w.as_ptr().add(c));
            for (a, x) in acc.iter_mut().zip(&xs) {
                *a = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x.as_ptr().add(c)), *a);
            }
        }
        c += 8;
    }
    let mut out = [0f32; R];
    for ((o, a), x) in out.iter_mut().zip(&acc).zip(&xs) {
        let mut l = [0f32; 8];
        // SAFETY: l holds 8 f32.
        unsafe { _mm256_storeu_ps(l.as_mut_ptr(), *a) };
        let mut s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
        for c in k8..k {
            s = w[c].mul_add(x[c], s);
        }
        *o = s;
    }
    out
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
pub fn add_rows(x: &mut [f32], b: &[f32]) {
    let d = b.len();
    x.par_chunks_mut(d * ROWS_PER_TASK).for_each(|chunk| {
        for row in chunk.chunks_exact_mut(d) {
            row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
        }
    });
}

/// `Σ a·b` with 8 independent accumulators (vectorisable).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// `y += a·x` (a multiply, then an add: the same bits with or without SIMD).
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { axpy_avx2(a, x, y) };
        return;
    }
    axpy_portable(a, x, y);
}

/// [`axpy`] without SIMD intrinsics: the same bits (for the test that shows it).
#[doc(hidden)]
pub fn axpy_portable(a: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn axpy_avx2(a: f32, x: &[f32], y: &mut [f32]) {
    use std::arch::x86_64::{_mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_storeu_ps};
    let n = x.len().min(y.len());
    let n8 = n / 8 * 8;
    let av = _mm256_set1_ps(a);
    let mut i = 0;
    while i < n8 {
        // SAFETY: i + 8 ≤ n ≤ both lengths; unaligned loads and store; x and y do not alias (& and &mut).
        unsafe {
            let p = y.as_mut_ptr().add(i);
            _mm256_storeu_ps(
                p,
                _mm256_add_ps(
                    _mm256_loadu_ps(p),
                    _mm256_mul_ps(av, _mm256_loadu_ps(x.as_ptr().add(i))),
                ),
            );
        }
        i += 8;
    }
    axpy_portable(a, &x[n8..n], &mut y[n8..n]);
}

/// Softmax in place.
pub fn softmax(xs: &mut [f32]) {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for x in xs.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    let inv = 1.0 / sum;
    xs.iter_mut().for_each(|x| *x *= inv);
}
