//! What a key costs the allocator, so the keyspace's memory bound is the memory it holds.
//!
//! Every figure is derived from the sizes of the types that hold a key, rounded to the
//! allocator's size classes, and checked against a counting allocator by `accounting.rs`:
//! a count that only added up the bytes of names and values came to about half the real
//! footprint (issue 13).

use std::mem::size_of;
use std::time::Instant;

/// The bytes an allocation of `size` takes: mimalloc's size classes (the allocator `roost`
/// links), 8-byte steps up to 64 bytes, then four classes per doubling.
pub(super) const fn size_class(size: usize) -> usize {
    let words = size.div_ceil(8);
    if words <= 8 {
        return words * 8;
    }
    let top = usize::BITS - 1 - (words - 1).leading_zeros();
    let step = 1 << (top - 2);
    words.div_ceil(step) * step * 8
}

/// The heap bytes of an owned copy of a text (a `String` or a `Bytes` of it).
pub(super) const fn text(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        size_class(len)
    }
}

/// The single allocation of a hash table (hashbrown's, behind `HashMap`, `HashSet` and the
/// keyspace's own map) that can hold `capacity` entries of `slot` bytes: a power-of-two
/// number of buckets, one control byte each plus a group's worth at the end.
pub(super) const fn table(capacity: usize, slot: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8 / 7).next_power_of_two();
    size_class(buckets * (slot + 1) + 16)
}

/// Bytes per element of a `BTreeSet` of `element`s beyond the element's own heap: nodes of
/// eleven slots, which inserts leave between half and two-thirds full.
pub(super) const fn btree_slot(element: usize) -> usize {
    element * 2
}

/// A key's place in the keyspace beyond its name and value: the linked map's node (name,
/// entry and the two LRU links), its pointer in the map's table (at the table's average
/// fill), and the `Entry` itself. `entry` is the size of the shard's `Entry`.
pub(super) const fn key_slot(entry: usize) -> usize {
    size_class(size_of::<String>() + entry + 2 * size_of::<usize>()) + 2 * (size_of::<usize>() + 1)
}

/// What a deadline adds to a key: its slot in the shard's expiry order and a copy of the name.
pub(super) const fn deadline(key_len: usize) -> usize {
    btree_slot(size_of::<(Instant, String)>()) + text(key_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_round_up_as_mimalloc_does() {
        let classes: Vec<usize> = [1, 8, 9, 64, 65, 80, 81, 128, 129, 300, 16_384].map(size_class).to_vec();
        assert_eq!(classes, [8, 8, 16, 64, 80, 80, 96, 128, 160, 320, 16_384]);
        assert_eq!(table(0, 32), 0);
        assert_eq!(table(3, 8), size_class(4 * 9 + 16));
        assert_eq!(table(14, 8), size_class(16 * 9 + 16));
    }
}
