//! speechbrain's `Resample` (Kaldi `LinearResample`, from torchaudio): a polyphase windowed-sinc filter with a
//! raised-cosine window, `lowpass_filter_width = 6` and cutoff `0.99 · 0.5 · min(rates)`. Ported exactly (the
//! filter taps are computed in f32 like the reference) so that embeddings of 44.1 and 48 kHz recordings match.

/// Output length for `n` input samples: the number of output instants in `[0, n / from)`.
pub fn output_len(n: usize, from: u32, to: u32) -> usize {
    let (from, to) = (u64::from(from), u64::from(to));
    let g = gcd(from, to);
    let tick = from * to / g;
    let interval = n as u64 * (tick / from);
    if interval == 0 {
        return 0;
    }
    let per_out = tick / to;
    let mut last = interval / per_out;
    if last * per_out == interval {
        last -= 1;
    }
    (last + 1) as usize
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Resamples `x` from `from` Hz to `to` Hz exactly like speechbrain 0.5 `Resample(from, to)`.
pub fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || x.is_empty() {
        return x.to_vec();
    }
    const WIDTH: f32 = 6.0;
    let g = gcd(u64::from(from), u64::from(to)) as usize;
    let conv_stride = from as usize / g;
    let out_unit = to as usize / g;
    let min_freq = from.min(to) as f32;
    let cutoff = 0.99f32 * 0.5 * min_freq;
    let window_width = WIDTH / (2.0 * cutoff);
    let (fi, ti) = (from as f32, to as f32);
    // Per phase: first input index and taps (as the reference: f32 arithmetic).
    let mut firsts = Vec::with_capacity(out_unit);
    let mut mins = Vec::with_capacity(out_unit);
    let mut max_taps = 0usize;
    for i in 0..out_unit {
        let t = i as f32 / ti;
        let min_idx = ((t - window_width) * fi).ceil();
        let max_idx = ((t + window_width) * fi).floor();
        max_taps = max_taps.max((max_idx - min_idx + 1.0) as usize);
        mins.push(min_idx);
        firsts.push(min_idx as i64);
    }
    let mut weights = vec![0f32; out_unit * max_taps];
    for i in 0..out_unit {
        let t = i as f32 / ti;
        for j in 0..max_taps {
            let idx = mins[i] + j as f32;
            let dt = idx / fi - t;
            let mut w = 0f32;
            if dt.abs() < window_width {
                w = 0.5 * (1.0 + (2.0 * std::f32::consts::PI * cutoff / WIDTH * dt).cos());
            }
            if dt == 0.0 {
                w *= 2.0 * cutoff;
            } else {
                w *= (2.0 * std::f32::consts::PI * cutoff * dt).sin() / (std::f32::consts::PI * dt);
            }
            weights[i * max_taps + j] = w / fi;
        }
    }
    let n_out = output_len(x.len(), from, to);
    let mut out = vec![0f32; n_out];
    for (o, y) in out.iter_mut().enumerate() {
        let phase = o % out_unit;
        let k = o / out_unit;
        let base = firsts[phase] + (k * conv_stride) as i64;
        let taps = &weights[phase * max_taps..(phase + 1) * max_taps];
        let mut acc = 0f32;
        for (j, w) in taps.iter().enumerate() {
            let idx = base + j as i64;
            if idx >= 0 && (idx as usize) < x.len() {
                acc += w * x[idx as usize];
            }
        }
        *y = acc;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lengths_match_kaldi() {
        // values from speechbrain/torchaudio for the same inputs
        assert_eq!(output_len(48_510, 44_100, 16_000), 17_600);
        assert_eq!(output_len(52_800, 48_000, 16_000), 17_600);
        assert_eq!(output_len(52_173, 16_000, 8_000), 26_087);
        assert_eq!(output_len(0, 44_100, 16_000), 0);
    }

    #[test]
    fn same_rate_is_identity_and_dc_passes() {
        let x: Vec<f32> = (0..100).map(|i| i as f32).collect();
        assert_eq!(resample(&x, 16_000, 16_000), x);
        let dc = vec![0.5f32; 48_000];
        let y = resample(&dc, 48_000, 16_000);
        assert_eq!(y.len(), 16_000);
        // away from the edges a constant stays constant (filter gain 0.99 · cutoff scaling ≈ 1)
        assert!(y[100..15_900].iter().all(|v| (v - 0.5).abs() < 0.01), "{}", y[8000]);
    }
}
