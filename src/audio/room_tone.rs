//! Room tone: a quiet floor of shaped noise added under a mastered chapter, so that pauses are not digital
//! silence (listeners hear a gate slam; some reviewers reject "dead air"). The noise is white noise from a
//! counter-seeded generator through a one-pole low-pass (energy toward the low end, like a quiet room), scaled
//! to the asked RMS level. It is deterministic: the same chapter gets the same samples on every render, resume
//! and farm host, so outputs stay bit-identical.

/// Low-pass coefficient: y = A·y + (1 − A)·x.
const A: f32 = 0.85;

/// A room-tone generator for one chapter stream.
pub struct RoomTone {
    scale: f32,
    y: f32,
    state: u64,
}

impl RoomTone {
    /// Noise at `level_db` dBFS RMS for the stream of chapter `chapter`.
    pub fn new(level_db: f64, chapter: usize) -> RoomTone {
        // RMS of uniform [-1, 1] noise after the low-pass: (1/√3)·√((1 − A)/(1 + A))
        let rms = (1.0 / 3f64.sqrt()) * ((1.0 - f64::from(A)) / (1.0 + f64::from(A))).sqrt();
        RoomTone {
            scale: (10f64.powf(level_db / 20.0) / rms) as f32,
            y: 0.0,
            state: 0x5EED_0000_0000_0000 ^ chapter as u64,
        }
    }

    /// Adds the next `out.len()` samples of room tone to `out`.
    pub fn add(&mut self, out: &mut [f32]) {
        for s in out {
            // splitmix64
            self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let x = (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            self.y = A * self.y + (1.0 - A) * x;
            *s += self.scale * self.y;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RoomTone;

    #[test]
    fn level_and_determinism() {
        let mut a = vec![0f32; 240_000];
        RoomTone::new(-70.0, 3).add(&mut a);
        let rms = (a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / a.len() as f64).sqrt();
        let db = 20.0 * rms.log10();
        assert!((db + 70.0).abs() < 0.5, "{db} dBFS");
        let mut b = vec![0f32; 240_000];
        RoomTone::new(-70.0, 3).add(&mut b);
        assert_eq!(a, b);
        let mut c = vec![0f32; 240_000];
        RoomTone::new(-70.0, 4).add(&mut c);
        assert_ne!(a, c);
    }
}
