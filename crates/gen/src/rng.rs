//! SplitMix64 (Steele, Lea and Flood, 2014), hand-rolled: a tiny, fast generator whose output
//! is fixed by this file alone, so a stream for a seed never changes with a dependency's
//! version. Not for cryptography.
//!
//! The generator's streams and the random choices of the workspace's tests (crash delays,
//! damaged bytes, random batches) all come from it: a printed seed replays them.

/// A seeded SplitMix64 generator: the same seed gives the same numbers, on every platform.
///
/// ```
/// use actledger_gen::Rng;
///
/// let mut rng = Rng::new(42);
/// let delay = rng.below_u64(120);
/// assert!(delay < 120);
/// assert_eq!(Rng::new(42).below_u64(120), delay);
/// ```
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// The generator of `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`, by multiply-and-shift (bias below 2^-40 for `n` below 2^24); 0
    /// when `n` is 0.
    pub fn below_u64(&mut self, n: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(n);
        u64::try_from(wide >> 64).expect("below n, which is a u64")
    }

    /// An index in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n).expect("a usize fits in a u64");
        usize::try_from(self.below_u64(n)).expect("below n, which is a usize")
    }

    /// A number in `low..=high` (`low <= high`).
    pub fn between(&mut self, low: u32, high: u32) -> u32 {
        let span = u64::from(high - low) + 1;
        low + u32::try_from(self.below_u64(span)).expect("below a u32 span")
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: usize) -> bool {
        self.below(1000) < per_mille
    }

    /// True with probability `per_million / 1_000_000`.
    pub fn chance_ppm(&mut self, per_million: usize) -> bool {
        self.below(1_000_000) < per_million
    }

    /// One item of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn splitmix64_reference_values() {
        // The first outputs for seed 0 of the reference implementation (Vigna's splitmix64.c).
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn bounds_are_kept() {
        let mut rng = Rng::new(7);
        for n in [1, 2, 3, 1000, u64::MAX] {
            assert!(rng.below_u64(n) < n);
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.between(5, 5), 5);
        assert!((1..=3).contains(&rng.between(1, 3)));
    }
}
