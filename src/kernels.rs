//! The fused CPU paths' kernels (the Vocos backbone, the Whisper encoder and decoder): the loops themselves
//! live in the `ws-kernels` crate (`crates/ws-kernels`, compiled optimised in debug builds too) and are
//! re-exported here; this module adds what reads candle's modules into their flat layouts (LayerNorms, linear
//! layers, stacked projections). The kernels' tests are here, so that `cargo test` runs them.

use candle_core::{Result, Tensor};
use candle_nn::{LayerNorm, Linear};
use rayon::prelude::*;

pub(crate) use ws_kernels::{
    add_rows, axpy, bias_gelu, dot, layer_norm, linear_rows, matmul, softmax, Rhs, Weights, ROWS_PER_TASK,
};
#[cfg(test)]
use ws_kernels::{erf, gelu};

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

#[cfg(test)]
mod tests {
    use super::*;

    /// `len` values in [−0.5, 0.5) from an xorshift stream.
    fn noise(mut x: u64, len: usize) -> Vec<f32> {
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn a_row_has_the_same_bits_alone_and_in_a_batch() {
        // the published Whisper and Vocos widths and their 4× MLPs, a 3d fused projection
        for (k, n) in [(384, 1152), (512, 2048), (768, 768), (2048, 512), (512, 1536)] {
            let w = noise(0x2545_f491_4f6c_dd1d, n * k);
            let a = noise(0x5851_f42d_4c95_7f2d, 9 * k);
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
            let w = noise(0x9e37_79b9_7f4a_7c15, n * k);
            let a = noise(0x1405_7b7e_f767_814f, 9 * k);
            let init: Vec<f32> = (0..9 * n).map(|i| (i % 5) as f32).collect();
            let mut want = init.clone();
            matmul(&a, &Rhs::from_linear(&w, n, k, None), &mut want, true);
            let mut got = init.clone();
            linear_rows(&a, &Weights::new(w.clone()), k, &mut got, true);
            // weights that are exactly f16 give the same bits from f16 storage
            let w16: Vec<f32> = w.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect();
            let (mut a32, mut a16) = (vec![0f32; 9 * n], vec![0f32; 9 * n]);
            linear_rows(&a, &Weights::F32(w16.clone()), k, &mut a32, false);
            let h = Weights::new(w16.clone());
            assert!(matches!(h, Weights::F16(_)));
            linear_rows(&a, &h, k, &mut a16, false);
            assert!(a32 == a16, "f16 storage changes the result");
            // the portable path (no SIMD intrinsics) gives the same bits, f32 and f16
            let (mut p32, mut p16) = (vec![0f32; 9 * n], vec![0f32; 9 * n]);
            ws_kernels::linear_rows_portable(&a, &Weights::F32(w16.clone()), k, &mut p32, false);
            ws_kernels::linear_rows_portable(&a, &h, k, &mut p16, false);
            assert!(
                p32 == a32 && p16 == a16,
                "k {k} n {n}: the portable path differs from the SIMD one"
            );
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
    fn axpy_gives_the_same_bits_with_and_without_simd() {
        let x: Vec<f32> = (0..1501).map(|i| ((i * 37 % 101) as f32) / 7.0 - 5.0).collect();
        let y0: Vec<f32> = (0..1501).map(|i| ((i * 11 % 13) as f32) / 3.0).collect();
        let mut simd = y0.clone();
        axpy(0.3137, &x, &mut simd);
        let mut portable = y0.clone();
        ws_kernels::axpy_portable(0.3137, &x, &mut portable);
        assert!(simd == portable, "axpy differs with SIMD");
        assert!((simd[5] - (y0[5] + 0.3137 * x[5])).abs() < 1e-6);
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
