//! S2A generation: requests grouped by prompt length, the delay-pattern grid (prompt written with the delay,
//! prefill, one step per position, special ids masked out of sampling, one RNG per request) and the un-delay to
//! `[Q][3·len(stoks) − 4]` codes.
//!
//! Must never import `t2s`, `vocos` or the engine; it drives the model only through `forward`.

use std::collections::BTreeMap;

use candle_core::Tensor;

use super::super::sampling::Sampler;
use super::super::stage;
use super::{output_frames, Result, S2a, S2aError, S2aRequest, CODES, START};

impl S2a {
    /// Generates acoustic tokens `[Q][3·len(stoks) − 4]` (codes 0..1023) for a batch of requests. Requests with
    /// the same prompt length run as one batch; each samples from its own RNG, so its result does not depend on
    /// its batch mates (up to float rounding).
    pub fn generate(&self, reqs: &[S2aRequest]) -> Result<Vec<Vec<Vec<u32>>>> {
        let q_n = self.config.quantizers;
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, r) in reqs.iter().enumerate() {
            self.check(i, &r.stoks, &r.speaker)?;
            let plen = match &r.prompt {
                None => 0,
                Some(p) => {
                    let plen = p.first().map_or(0, Vec::len);
                    if p.len() != q_n || p.iter().any(|r| r.len() != plen) {
                        return Err(S2aError::Request {
                            index: i,
                            msg: format!("acoustic prompt must be [{q_n}][P]"),
                        });
                    }
                    if p.iter().flatten().any(|&t| t as usize >= CODES) {
                        return Err(S2aError::Request {
                            index: i,
                            msg: "acoustic prompt codes must be below 1024".into(),
                        });
                    }
                    if plen + 2 > 3 * r.stoks.len() {
                        return Err(S2aError::Request {
                            index: i,
                            msg: "acoustic prompt is longer than the output".into(),
                        });
                    }
                    plen
                }
            };
            groups.entry(plen).or_default().push(i);
        }
        stage::run_groups(reqs.len(), groups, |idx, plen| self.generate_group(reqs, idx, plen))
    }

    fn generate_group(&self, reqs: &[S2aRequest], idx: &[usize], plen: usize) -> Result<Vec<Vec<Vec<u32>>>> {
        let q_n = self.config.quantizers;
        let ns: Vec<usize> = idx.iter().map(|&i| 3 * reqs[i].stoks.len()).collect();
        let n_max = ns.iter().copied().max().unwrap_or(0);
        let len = n_max.max(plen + q_n + 2);
        // grid[b][q][pos], start ids everywhere, then the prompt with the delay
        let mut grid: Vec<Vec<Vec<u32>>> = idx
            .iter()
            .map(|&i| {
                let mut g = vec![vec![START; len]; q_n];
                if let Some(p) = &reqs[i].prompt {
                    for (q, row) in p.iter().enumerate() {
                        g[q][1 + q..1 + q + plen].copy_from_slice(row);
                    }
                }
                g
            })
            .collect();
        let rows: Vec<(&[u32], &[f32])> = idx
            .iter()
            .map(|&i| (reqs[i].stoks.as_slice(), reqs[i].speaker.as_slice()))
            .collect();
        let mut st = self.start(&rows)?;
        let mut samplers: Vec<Sampler> = idx
            .iter()
            .map(|&i| Sampler::new(reqs[i].temperature, reqs[i].top_k, reqs[i].seed))
            .collect();
        let mut start = plen + 1;
        let prefill: Vec<Vec<Vec<u32>>> = grid
            .iter()
            .map(|g| g.iter().map(|r| r[..start].to_vec()).collect())
            .collect();
        let logits = self.step(&mut st, &prefill)?;
        sample_last(&mut samplers, &mut grid, &logits, start, len)?;
        start += 1;
        let end = n_max.min(self.config.ctx_n - 1);
        for i in start..end {
            let feed: Vec<Vec<Vec<u32>>> = grid
                .iter()
                .map(|g| g.iter().map(|r| vec![r[i - 1]]).collect())
                .collect();
            let logits = self.step(&mut st, &feed)?;
            sample_last(&mut samplers, &mut grid, &logits, i, len)?;
        }
        Ok(undelay(grid, ns))
    }
}

/// Samples every row's and quantizer's code at `pos` from the last position of `logits` `[b, Q, n, V]` into
/// `grid[b][q][pos]` (quantizers `q < pos` only, positions below `len`); the special ids are never emitted
/// (they would index the wrong Vocos codebook row).
fn sample_last(
    samplers: &mut [Sampler],
    grid: &mut [Vec<Vec<u32>>],
    logits: &Tensor,
    pos: usize,
    len: usize,
) -> Result<()> {
    // logits [b, Q, n, V]: the last position predicts `pos`
    let n = logits.dim(2)?;
    let last = logits.narrow(2, n - 1, 1)?.squeeze(2)?.to_vec3::<f32>()?;
    for (r, rowl) in last.into_iter().enumerate() {
        for (q, mut l) in rowl.into_iter().enumerate() {
            for x in &mut l[CODES..] {
                *x = f32::NEG_INFINITY;
            }
            let t = samplers[r].sample(&l);
            if q < pos && pos < len {
                grid[r][q][pos] = t;
            }
        }
    }
    Ok(())
}

/// The un-delay: drop position 0, roll quantizer q left by q, keep `3·n − 4` frames of each row
/// (`ns`: each row's `3·len(stoks)`).
fn undelay(grid: Vec<Vec<Vec<u32>>>, ns: Vec<usize>) -> Vec<Vec<Vec<u32>>> {
    grid.into_iter()
        .zip(ns)
        .map(|(g, n)| {
            let frames = output_frames(n / 3);
            g.into_iter()
                .enumerate()
                .map(|(q, row)| {
                    let body = &row[1..n];
                    (0..frames).map(|f| body[(f + q) % body.len()]).collect()
                })
                .collect()
        })
        .collect()
}
