//! Rotary position embedding as WhisperSpeech's S2A applies it (spec §5): rotate-half form, angles
//! `position · inv_freq` in f32. The cos/sin tables are computed once per model for every position it can
//! use, so a decoder step only narrows them; the rotation itself is candle's `rotary_emb::rope` kernel.

use candle_core::{Device, Result, Tensor, D};

/// One attention's rotary embedding: its stored `inv_freq` and precomputed f32 tables `[positions, d/2]`.
#[derive(Debug, Clone)]
pub struct Rope {
    inv_freq: Vec<f32>,
    cos: Tensor,
    sin: Tensor,
}

/// cos/sin `[n, d/2]` of the angles `p · f` (f32, as the reference) for each position `p` and frequency `f`.
fn tables(inv_freq: &[f32], positions: &[usize], device: &Device) -> Result<(Tensor, Tensor)> {
    let mut cos = Vec::with_capacity(positions.len() * inv_freq.len());
    let mut sin = Vec::with_capacity(cos.capacity());
    for &p in positions {
        for &f in inv_freq {
            let (s, c) = (p as f32 * f).sin_cos();
            cos.push(c);
            sin.push(s);
        }
    }
    let shape = (positions.len(), inv_freq.len());
    Ok((
        Tensor::from_vec(cos, shape, device)?,
        Tensor::from_vec(sin, shape, device)?,
    ))
}

impl Rope {
    /// From the stored `inv_freq` (`[d/2]`), with tables for positions `0..positions`.
    pub fn new(inv_freq: Vec<f32>, positions: usize, device: &Device) -> Result<Self> {
        let all: Vec<usize> = (0..positions).collect();
        let (cos, sin) = tables(&inv_freq, &all, device)?;
        Ok(Self { inv_freq, cos, sin })
    }

    /// The stored frequencies.
    pub fn inv_freq(&self) -> &[f32] {
        &self.inv_freq
    }

    /// How many positions the tables cover.
    pub fn positions(&self) -> usize {
        self.cos.dims()[0]
    }

    /// Rotates `x` `[b, h, n, d]` whose row `i` sits at position `p0 + i`.
    pub fn apply_from(&self, x: &Tensor, p0: usize) -> Result<Tensor> {
        let n = x.dim(2)?;
        if p0 + n > self.cos.dim(0)? {
            let positions: Vec<usize> = (p0..p0 + n).collect();
            return self.apply(x, &positions);
        }
        let dt = x.dtype();
        let cos = self.cos.narrow(0, p0, n)?.to_dtype(dt)?;
        let sin = self.sin.narrow(0, p0, n)?.to_dtype(dt)?;
        candle_nn::rotary_emb::rope(&x.contiguous()?, &cos, &sin)
    }

    /// Rotates `x` `[b, h, n, d]` whose row `i` sits at position `positions[i]` (e.g. S2A's cross-attention
    /// keys at `3·j`).
    pub fn apply(&self, x: &Tensor, positions: &[usize]) -> Result<Tensor> {
        if x.dim(D::Minus1)? != 2 * self.inv_freq.len() {
            candle_core::bail!(
                "rope: head width {} for {} frequencies",
                x.dim(D::Minus1)?,
                self.inv_freq.len()
            )
        }
        let (cos, sin) = tables(&self.inv_freq, positions, x.device())?;
        let dt = x.dtype();
        candle_nn::rotary_emb::rope(&x.contiguous()?, &cos.to_dtype(dt)?, &sin.to_dtype(dt)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// Both paths — the precomputed tables (narrowed) and positions past them (rows built on the fly) — equal
    /// the rotate-half formula `x·cos + rotate_half(x)·sin`, computed here independently.
    #[test]
    fn tables_and_kernel_match_the_rotate_half_formula() {
        let dev = Device::Cpu;
        let inv_freq: Vec<f32> = (0..4).map(|i| 1.0 / 10000f32.powf(i as f32 / 4.0)).collect();
        let rope = Rope::new(inv_freq.clone(), 16, &dev).unwrap();
        let x = Tensor::randn(0f32, 1.0, (2, 3, 5, 8), &dev).unwrap();
        let formula = |p0: usize| {
            let (mut c, mut s) = (Vec::new(), Vec::new());
            for p in p0..p0 + 5 {
                for _ in 0..2 {
                    for f in &inv_freq {
                        c.push((p as f32 * f).cos());
                        s.push((p as f32 * f).sin());
                    }
                }
            }
            let c = Tensor::from_vec(c, (5, 8), &dev).unwrap();
            let s = Tensor::from_vec(s, (5, 8), &dev).unwrap();
            let x1 = x.narrow(3, 0, 4).unwrap();
            let x2 = x.narrow(3, 4, 4).unwrap();
            let rot = Tensor::cat(&[&x2.neg().unwrap(), &x1], 3).unwrap();
            (x.broadcast_mul(&c).unwrap() + rot.broadcast_mul(&s).unwrap()).unwrap()
        };
        // positions 7..12 lie in the tables; 14..19 run past their 16 rows
        for p0 in [0, 7, 14] {
            let d = max_diff(&rope.apply_from(&x, p0).unwrap(), &formula(p0));
            assert!(d < 1e-6, "p0 {p0}: max |Δ| {d}");
        }
        let explicit = rope.apply(&x, &[7, 8, 9, 10, 11]).unwrap();
        assert!(max_diff(&explicit, &formula(7)) < 1e-6);
    }
}
