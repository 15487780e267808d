//! A HyperLogLog as Redis keeps one: 2^14 registers, elements hashed with MurmurHash64A
//! (Redis's seed), each register the longest run of trailing zeros seen plus one, and the
//! count from Ertl's improved estimator ("New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017), which Redis uses since 5.0. Same hash, same registers,
//! same estimator: for the same elements the in-process cache answers what Redis answers.
//!
//! Registers are a byte each (16 KiB a key) rather than Redis's packed 6 bits: simpler, and
//! the keyspace counts the bytes against its bound. There is no sparse encoding either;
//! Roost keeps a few sketches a day, not one per entity.

/// Bits of the hash that choose a register.
const P: u32 = 14;
/// Registers per sketch.
pub(super) const REGISTERS: usize = 1 << P;
/// Bits of the hash left to count zeros in.
const Q: u32 = 64 - P;
/// Redis's seed of MurmurHash64A for HyperLogLog.
const SEED: u64 = 0xadc8_3b19;
/// The estimator's constant for many registers, 1 / (2 ln 2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// One sketch.
pub(super) struct HyperLogLog {
    registers: Box<[u8]>,
}

impl Default for HyperLogLog {
    fn default() -> Self {
        HyperLogLog { registers: vec![0; REGISTERS].into_boxed_slice() }
    }
}

impl HyperLogLog {
    /// Adds one element; true when a register moved (the estimate may have changed).
    pub fn add(&mut self, element: &[u8]) -> bool {
        let (index, rank) = register_of(element);
        if self.registers[index] < rank {
            self.registers[index] = rank;
            return true;
        }
        false
    }

    /// Folds `other` into `self`: the sketch of the union (`PFMERGE`).
    pub fn merge(&mut self, other: &HyperLogLog) {
        for (mine, theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// The estimated number of distinct elements added.
    pub fn count(&self) -> u64 {
        let mut histogram = [0u32; Q as usize + 2];
        for &rank in self.registers.iter() {
            histogram[rank as usize] += 1;
        }
        let m = REGISTERS as f64;
        let mut z = m * tau((m - f64::from(histogram[Q as usize + 1])) / m);
        for k in (1..=Q as usize).rev() {
            z += f64::from(histogram[k]);
            z *= 0.5;
        }
        z += m * sigma(f64::from(histogram[0]) / m);
        // An empty sketch makes `z` infinite, and the estimate 0.
        (ALPHA_INF * m * m / z).round() as u64
    }

    /// Heap bytes, for the keyspace's memory bound.
    pub fn approx_bytes(&self) -> usize {
        super::footprint::size_class(self.registers.len())
    }
}

/// The register an element updates, and the rank it offers (trailing zeros + 1 of the
/// hash's upper bits, at most `Q + 1`), as Redis's `hllPatLen`.
fn register_of(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Ertl's σ: the correction for registers still zero.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// Ertl's τ: the correction for registers at the maximum rank.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// MurmurHash64A (Austin Appleby), the hash Redis's HyperLogLog uses.
fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u64::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch_of(range: std::ops::Range<u32>) -> HyperLogLog {
        let mut hll = HyperLogLog::default();
        for i in range {
            hll.add(format!("element-{i}").as_bytes());
        }
        hll
    }

    fn relative_error(estimate: u64, truth: u64) -> f64 {
        (estimate as f64 - truth as f64).abs() / truth as f64
    }

    #[test]
    fn empty_counts_zero_and_small_sets_exactly() {
        assert_eq!(HyperLogLog::default().count(), 0);
        // With few elements nearly every one has a register of its own, and the estimator
        // (which then behaves as linear counting) is exact or off by one.
        for n in [1u32, 2, 10, 100] {
            let estimate = sketch_of(0..n).count();
            assert!(estimate.abs_diff(u64::from(n)) <= 1, "{n} counted as {estimate}");
        }
    }

    #[test]
    fn large_sets_within_a_few_standard_errors() {
        // The standard error is 1.04 / sqrt(2^14) = 0.81%; 3% is well over three of them.
        for n in [1_000u32, 20_000, 200_000] {
            let estimate = sketch_of(0..n).count();
            assert!(relative_error(estimate, u64::from(n)) < 0.03, "{n} counted as {estimate}");
        }
    }

    #[test]
    fn adding_again_changes_nothing() {
        let mut hll = sketch_of(0..1_000);
        let before = hll.count();
        let moved = (0..1_000).filter(|i| hll.add(format!("element-{i}").as_bytes())).count();
        assert_eq!(moved, 0);
        assert_eq!(hll.count(), before);
    }

    #[test]
    fn a_merge_counts_the_union() {
        let mut union = sketch_of(0..30_000);
        union.merge(&sketch_of(20_000..50_000));
        assert!(relative_error(union.count(), 50_000) < 0.03, "union counted as {}", union.count());
    }

    #[test]
    fn murmur_matches_the_reference() {
        // Reference values of MurmurHash64A, computed with the C original (the tail of 5
        // bytes and the 8-byte chunks both exercised).
        assert_eq!(murmur64a(b"", 0), 0);
        assert_eq!(murmur64a(b"hello", 0), 0x1e68_d17c_457b_f117);
        assert_eq!(murmur64a(b"roost-analytics", SEED), 0x5b39_e109_352a_6f6c);
    }
}
