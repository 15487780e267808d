//! Sorted sets as Redis orders them: by score, ties by member bytes.
//!
//! Members live twice: in a `BTreeSet` of `(score, member)` that gives the order, and in a
//! map from member to score that finds a member's place in that order (for updates and
//! `ZSCORE`). Score ranges are a `BTreeSet::range`, O(log n + k). Rank ranges walk from the
//! nearer end, O(offset + k): the service reads feeds from the top and caps them by removing
//! the tail, so the offset stays small where it matters.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::mem::size_of;
use std::ops::{Bound, RangeInclusive};

use super::footprint;

/// Heap bytes per member beyond the scores table: the name twice and the order's slot.
const fn member_bytes(member: &str) -> usize {
    2 * footprint::text(member.len()) + footprint::btree_slot(size_of::<(Score, String)>())
}

/// A score with the total order a `BTreeSet` needs. NaN never gets in (the cache refuses
/// it, as Redis does); -0.0 is stored as 0.0, as Redis compares them equal.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Score(f64);

impl Score {
    fn new(score: f64) -> Score {
        Score(score + 0.0)
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[derive(Debug, Default)]
pub(super) struct SortedSet {
    /// The Redis order: ascending score, ties by member.
    ordered: BTreeSet<(Score, String)>,
    /// Each member's score, to find its entry in `ordered` without a scan.
    scores: HashMap<String, f64>,
    /// The members' heap bytes, kept up to date so the cache's memory bound costs O(1);
    /// the scores table's are read from its capacity.
    bytes: usize,
}

impl SortedSet {
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn approx_bytes(&self) -> usize {
        self.bytes + footprint::table(self.scores.capacity(), size_of::<(String, f64)>())
    }

    pub fn score(&self, member: &str) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Sets `member`'s score; true when the member is new.
    pub fn insert(&mut self, member: &str, score: f64) -> bool {
        let score = Score::new(score);
        let old = self.scores.insert(member.to_owned(), score.0);
        if let Some(old) = old {
            self.ordered.remove(&(Score(old), member.to_owned()));
        } else {
            self.bytes += member_bytes(member);
        }
        self.ordered.insert((score, member.to_owned()));
        old.is_none()
    }

    /// True when the member was there.
    pub fn remove(&mut self, member: &str) -> bool {
        let Some((member, score)) = self.scores.remove_entry(member) else { return false };
        self.bytes -= member_bytes(&member);
        self.ordered.remove(&(Score(score), member));
        true
    }

    /// `ZREVRANGE start stop`: ranks counted from the highest score.
    pub fn rev_range(&self, start: i64, stop: i64) -> Vec<(String, f64)> {
        let Some(ranks) = rank_range(start, stop, self.len()) else { return Vec::new() };
        self.ordered.iter().rev().skip(*ranks.start()).take(ranks.count()).map(owned).collect()
    }

    /// `ZREVRANGEBYSCORE max min LIMIT 0 limit` (`(max` when `max_exclusive`).
    pub fn rev_range_by_score(
        &self,
        max: f64,
        max_exclusive: bool,
        min: f64,
        limit: usize,
    ) -> Vec<(String, f64)> {
        if min > max || (max_exclusive && min == max) {
            return Vec::new();
        }
        // The empty string sorts before every member, so `(score, "")` bounds a whole score.
        let lowest = Bound::Included((Score::new(min), String::new()));
        let highest = match (max_exclusive, max) {
            (true, max) => Bound::Excluded((Score::new(max), String::new())),
            (false, f64::INFINITY) => Bound::Unbounded,
            (false, max) => Bound::Excluded((Score::new(max.next_up()), String::new())),
        };
        self.ordered.range((lowest, highest)).rev().take(limit).map(owned).collect()
    }

    /// `ZREMRANGEBYRANK start stop`: ranks counted from the lowest score; how many went.
    pub fn remove_range_by_rank(&mut self, start: i64, stop: i64) -> u64 {
        let Some(ranks) = rank_range(start, stop, self.len()) else { return 0 };
        let doomed: Vec<String> =
            self.ordered.iter().skip(*ranks.start()).take(ranks.count()).map(|(_, m)| m.clone()).collect();
        doomed.iter().filter(|member| self.remove(member)).count() as u64
    }
}

fn owned((score, member): &(Score, String)) -> (String, f64) {
    (member.clone(), score.0)
}

/// Redis's rank arithmetic: 0-based, negative counts from the end, `stop` inclusive and
/// clamped to the last rank; `None` when the range holds nothing.
fn rank_range(start: i64, stop: i64, len: usize) -> Option<RangeInclusive<usize>> {
    let len = i64::try_from(len).ok()?;
    let start = if start < 0 { (start + len).max(0) } else { start };
    let stop = if stop < 0 { stop + len } else { stop.min(len - 1) };
    if start > stop || start >= len {
        return None;
    }
    Some(usize::try_from(start).ok()?..=usize::try_from(stop).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_range_follows_redis() {
        assert_eq!(rank_range(0, -1, 5), Some(0..=4));
        assert_eq!(rank_range(-2, -1, 5), Some(3..=4));
        assert_eq!(rank_range(-9, 1, 5), Some(0..=1));
        assert_eq!(rank_range(3, 99, 5), Some(3..=4));
        assert_eq!(rank_range(0, -6, 5), None);
        assert_eq!(rank_range(5, 9, 5), None);
        assert_eq!(rank_range(0, -1, 0), None);
    }

    #[test]
    fn byte_count_follows_members() {
        let mut set = SortedSet::default();
        set.insert("abc", 1.0);
        let one = set.approx_bytes();
        set.insert("abc", 2.0);
        assert_eq!(set.approx_bytes(), one, "a score update adds nothing");
        set.insert("de", 1.0);
        set.remove("abc");
        set.remove("de");
        assert_eq!(set.bytes, 0, "only the emptied table's capacity is left");
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let mut set = SortedSet::default();
        set.insert("a", -0.0);
        set.insert("b", 0.0);
        assert_eq!(set.rev_range(0, -1), vec![("b".to_string(), 0.0), ("a".to_string(), 0.0)]);
        assert_eq!(set.rev_range_by_score(0.0, false, 0.0, 10).len(), 2);
    }
}
