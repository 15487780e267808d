//! A log-linear latency histogram in the manner of HdrHistogram, in microseconds.
//!
//! Values below `SUB_BUCKETS` are counted exactly; above, each power-of-two range is split
//! into `SUB_BUCKETS / 2` equal slots, so every recorded value is known to better than 1%
//! (2^-7) whatever its size. That is what percentile tails need: a p99.9 of 3.2 ms must not
//! be rounded to "somewhere between 2 and 4 ms". Written here rather than pulling in the
//! `hdrhistogram` crate: the part we need is this page, and it merges and tests trivially.

/// Values below this are their own bucket; it is also the slot count of each octave above.
const SUB_BUCKETS: u64 = 256;
/// log2(SUB_BUCKETS / 2): how many low bits of a value stay significant.
const HALF_BITS: u32 = 7;
const HALF: u64 = SUB_BUCKETS / 2;

#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Grown on demand: most operations never reach the seconds range, and a run keeps one
    /// histogram per operation per connection.
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
    sum: u128,
}

/// The bucket a value falls in.
fn index_of(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    // Shift so that the value keeps HALF_BITS + 1 significant bits, i.e. lands in [HALF, 2*HALF).
    let shift = 63 - value.leading_zeros() - HALF_BITS;
    let slot = (value >> shift) - HALF;
    (SUB_BUCKETS + (shift as u64 - 1) * HALF + slot) as usize
}

/// The largest value that lands in bucket `index` (what percentiles report, as HdrHistogram's
/// "highest equivalent value" does: a percentile is never understated).
fn highest_of(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return index;
    }
    let above = index - SUB_BUCKETS;
    let shift = above / HALF + 1;
    let slot = above % HALF;
    ((HALF + slot + 1) << shift) - 1
}

impl Histogram {
    /// Records one value (microseconds).
    pub fn record(&mut self, micros: u64) {
        let index = index_of(micros);
        if index >= self.counts.len() {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += 1;
        if self.total == 0 || micros < self.min {
            self.min = micros;
        }
        self.max = self.max.max(micros);
        self.total += 1;
        self.sum += u128::from(micros);
    }

    /// Adds every value of `other` (per-connection histograms are merged at the end).
    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        if self.total == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.total += other.total;
        self.sum += other.sum;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at or below which `percentile` percent of the recorded values lie
    /// (0 when empty). Reported at bucket precision, capped at the exact maximum.
    pub fn percentile(&self, percentile: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let fraction = (percentile / 100.0).clamp(0.0, 1.0);
        // 0.999 * 1000 is 999.0000000000001 in floating point: round away such dust
        // before taking the ceiling, or p99.9 of 1,000 values would be the maximum.
        let exact = fraction * self.total as f64;
        let rank = if (exact - exact.round()).abs() < 1e-6 { exact.round() } else { exact.ceil() };
        let rank = (rank as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return highest_of(index).min(self.max).max(self.min);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        let mut previous_high = None;
        for index in 0..(SUB_BUCKETS as usize + 40 * HALF as usize) {
            let high = highest_of(index);
            if let Some(prev) = previous_high {
                assert_eq!(index_of(prev + 1), index, "value {} starts bucket {index}", prev + 1);
            }
            assert_eq!(index_of(high), index);
            previous_high = Some(high);
        }
        for value in [1_000u64, 12_345, 999_999, 3_600_000_000] {
            let high = highest_of(index_of(value));
            assert!(high >= value && (high - value) as f64 / value as f64 <= 1.0 / HALF as f64);
        }
    }

    #[test]
    fn percentiles_of_a_uniform_run() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 10_000);
        assert_eq!(h.percentile(0.0), 1);
        assert_eq!(h.max(), 10_000);
        assert_eq!(h.percentile(100.0), 10_000);
        for (p, expected) in [(50.0, 5_000.0), (90.0, 9_000.0), (99.0, 9_900.0), (99.9, 9_990.0)] {
            let got = h.percentile(p) as f64;
            assert!(got >= expected && got <= expected * 1.01, "p{p}: {got}, expected about {expected}");
        }
        assert!((h.mean() - 5_000.5).abs() < 1e-9);
    }

    #[test]
    fn tail_values_are_not_hidden() {
        let mut h = Histogram::default();
        for _ in 0..999 {
            h.record(100);
        }
        h.record(250_000);
        assert_eq!(h.percentile(50.0), 100);
        assert_eq!(h.percentile(99.9), 100);
        assert_eq!(h.percentile(99.95), 250_000);
        assert_eq!(h.max(), 250_000);
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (Histogram::default(), Histogram::default(), Histogram::default());
        for v in 0..5_000u64 {
            let v = v * 37 % 20_011;
            if v % 3 == 0 {
                a.record(v);
            } else {
                b.record(v);
            }
            all.record(v);
        }
        a.merge(&b);
        a.merge(&Histogram::default());
        assert_eq!(a.count(), all.count());
        for p in [0.0, 10.0, 50.0, 99.0, 99.99, 100.0] {
            assert_eq!(a.percentile(p), all.percentile(p));
        }
        assert_eq!(Histogram::default().percentile(99.0), 0);
    }
}
