//! Token sampling: temperature, optional top-k, greedy at temperature 0, from a per-request seeded RNG.
//!
//! The RNG is `rand`'s Xoshiro256++ seeded with `seed_from_u64`: a fixed, portable algorithm, so a seed
//! gives the same draws on every machine and in every batch composition (each request owns its RNG).

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// A per-request sampler.
#[derive(Debug, Clone)]
pub struct Sampler {
    temperature: f32,
    top_k: Option<usize>,
    rng: Xoshiro256PlusPlus,
}

impl Sampler {
    /// A sampler with temperature `temperature` (≤ 0 means greedy), optional top-k, seeded with `seed`.
    pub fn new(temperature: f32, top_k: Option<usize>, seed: u64) -> Self {
        Self {
            temperature,
            top_k,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// Picks a token from one row of logits.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        if self.temperature <= 0.0 || !self.temperature.is_finite() {
            return argmax(logits);
        }
        let t = self.temperature.max(1e-5);
        let mut threshold = f32::NEG_INFINITY;
        if let Some(k) = self.top_k.filter(|&k| k > 0 && k < logits.len()) {
            let mut v: Vec<f32> = logits
                .iter()
                .map(|&x| if x.is_nan() { f32::NEG_INFINITY } else { x })
                .collect();
            // the k-th largest value: an O(V) selection, not a full sort
            let (_, kth, _) = v.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
            threshold = *kth;
        }
        let max = logits
            .iter()
            .copied()
            .filter(|x| !x.is_nan())
            .fold(f32::NEG_INFINITY, f32::max);
        if !max.is_finite() {
            return argmax(logits);
        }
        let probs: Vec<f64> = logits
            .iter()
            .map(|&x| {
                if x.is_nan() || x < threshold {
                    0.0
                } else {
                    (((x - max) / t) as f64).exp()
                }
            })
            .collect();
        let total: f64 = probs.iter().sum();
        let mut u = self.rng.random::<f64>() * total;
        let mut last = 0;
        for (i, p) in probs.iter().enumerate() {
            if *p > 0.0 {
                last = i;
                if u < *p {
                    return i as u32;
                }
                u -= p;
            }
        }
        last as u32
    }
}

/// Index of the largest value, the lowest index on a tie; NaN never wins.
pub fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0usize;
    let mut bv = f32::NEG_INFINITY;
    for (i, &x) in xs.iter().enumerate() {
        if x > bv {
            bv = x;
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_lowest_index_on_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, f32::NAN]), 1);
        assert_eq!(Sampler::new(0.0, None, 1).sample(&[0.5, -1.0, 0.5]), 0);
    }

    #[test]
    fn top_k_restricts_and_seed_repeats() {
        let logits = [0.0, 5.0, 4.9, -3.0, 4.8];
        let draw = |seed| {
            let mut s = Sampler::new(1.5, Some(2), seed);
            (0..200).map(|_| s.sample(&logits)).collect::<Vec<_>>()
        };
        let a = draw(7);
        assert!(a.iter().all(|&t| t == 1 || t == 2));
        assert!(a.contains(&1) && a.contains(&2));
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
    }
}
