//! DynamoDB's capacity-unit arithmetic: how big an item is, and what reading or writing it
//! costs in on-demand request units.
//!
//! DynamoDB reports the units it charged (the distributed store exports those); the
//! embedded store has no bill, so the metering decorator (`metered`) computes what the
//! same calls would have cost with these rules. Keeping the rules in one place is what
//! makes the cost per route of an embedded run a forecast of the DynamoDB bill.
//!
//! The rules (AWS's "Read/write capacity mode" and "Item sizes" pages):
//! - an item's size is the sum, over its attributes, of the name's UTF-8 length and the
//!   value's size (strings by UTF-8 length, numbers about one byte per two significant
//!   digits plus one, booleans and nulls one byte, lists and maps three bytes plus one per
//!   element plus their elements);
//! - a strongly consistent read costs one unit per 4 KB (rounded up), an eventually
//!   consistent one half that; a query adds up the items it returns and rounds once, a
//!   batch rounds each item; a read of nothing still costs the minimum;
//! - a write costs one unit per 1 KB of the item (rounded up, at least one);
//! - inside a transaction every read and write costs double.

use serde_json::Value;

use crate::store::Item;

/// Bytes per read unit.
pub const READ_UNIT_BYTES: usize = 4096;
/// Bytes per write unit.
pub const WRITE_UNIT_BYTES: usize = 1024;
/// The factor a transaction applies to the units of each of its operations.
pub const TRANSACTION_FACTOR: f64 = 2.0;

/// How a read is served: GSIs only offer eventually consistent reads, at half the price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// `ConsistentRead=true`: one unit per 4 KB.
    Strong,
    /// The default (and the only kind a GSI offers): half a unit per 4 KB.
    Eventual,
}

/// Read units for reading `bytes` in one request (a `GetItem`, or a query's whole page).
pub fn read_units(bytes: usize, consistency: Consistency) -> f64 {
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    match consistency {
        Consistency::Strong => units,
        Consistency::Eventual => units / 2.0,
    }
}

/// Write units for writing an item of `bytes` (the larger of its old and new size).
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1) as f64
}

/// The size DynamoDB bills for `item`: its key and index attributes included.
pub fn item_size(item: &Item) -> usize {
    let mut size = attr_size("pk", item.pk.len()) + attr_size("sk", item.sk.len());
    if let Some((pk, sk)) = &item.gsi1 {
        size += attr_size("gsi1pk", pk.len()) + attr_size("gsi1sk", sk.len());
    }
    if let Some((pk, sk)) = &item.gsi2 {
        size += attr_size("gsi2pk", pk.len()) + attr_size("gsi2sk", sk.len());
    }
    if let Some(ttl) = item.ttl {
        size += "ttl".len() + integer_size(ttl.unsigned_abs());
    }
    size + item.attrs.iter().map(|(name, value)| name.len() + value_size(value)).sum::<usize>()
}

fn attr_size(name: &str, value_len: usize) -> usize {
    name.len() + value_len
}

/// The size of one attribute value, as the attribute mapping stores JSON (see `Item`).
pub fn value_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 1,
        Value::String(s) => s.len(),
        Value::Number(n) => match n.as_u64().or_else(|| n.as_i64().map(i64::unsigned_abs)) {
            Some(int) => integer_size(int),
            None => number_size(&n.to_string()),
        },
        Value::Array(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        Value::Object(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
    }
}

/// [`number_size`] of an integer, without formatting it (item sizes are computed on every
/// store call of the embedded engine).
fn integer_size(mut value: u64) -> usize {
    while value != 0 && value.is_multiple_of(10) {
        value /= 10;
    }
    let mut digits: usize = 1;
    while value >= 10 {
        value /= 10;
        digits += 1;
    }
    digits.div_ceil(2) + 1
}

/// A number costs one byte per two significant digits (leading and trailing zeros are
/// not significant), plus one.
fn number_size(text: &str) -> usize {
    let digits: String =
        text.chars().take_while(|c| *c != 'e' && *c != 'E').filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1);
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_round_up_per_4_kb_with_a_minimum() {
        assert_eq!(read_units(0, Consistency::Strong), 1.0);
        assert_eq!(read_units(1, Consistency::Strong), 1.0);
        assert_eq!(read_units(4096, Consistency::Strong), 1.0);
        assert_eq!(read_units(4097, Consistency::Strong), 2.0);
        assert_eq!(read_units(4097, Consistency::Eventual), 1.0);
        assert_eq!(read_units(10, Consistency::Eventual), 0.5);
    }

    #[test]
    fn writes_round_up_per_kb_with_a_minimum() {
        assert_eq!(write_units(0), 1.0);
        assert_eq!(write_units(1024), 1.0);
        assert_eq!(write_units(1025), 2.0);
        assert_eq!(write_units(3000), 3.0);
    }

    #[test]
    fn transactions_cost_double() {
        assert_eq!(write_units(1500) * TRANSACTION_FACTOR, 4.0);
    }

    #[test]
    fn item_size_counts_names_values_and_keys() {
        // pk(2)+"a"(1) + sk(2)+"b"(1) + name(4)+"abc"(3) + n(1)+12345(3+1) + ok(2)+true(1)
        let item = Item::new("a", "b").with("name", "abc").with("n", 12345).with("ok", true);
        assert_eq!(item_size(&item), 3 + 3 + 7 + 5 + 3);
        let indexed = Item::new("a", "b").with_gsi1("x", "y").with_ttl(1_700_000_000);
        // + gsi1pk(6)+1 + gsi1sk(6)+1 + ttl(3)+(two significant digits: 1+1)
        assert_eq!(item_size(&indexed), 6 + 14 + 5);
    }

    #[test]
    fn nested_values_carry_their_overhead() {
        assert_eq!(value_size(&serde_json::json!(["ab", null])), 3 + (1 + 2) + (1 + 1));
        assert_eq!(value_size(&serde_json::json!({"k": "vv"})), 3 + 1 + 1 + 2);
        assert_eq!(number_size("1000"), 2);
        assert_eq!(number_size("-0.0012"), 2);
        for n in [0u64, 7, 10, 12345, 1_700_000_000, 1_000_000_001, u64::MAX] {
            assert_eq!(integer_size(n), number_size(&n.to_string()), "{n}");
        }
    }

    #[test]
    fn a_large_item_is_several_units() {
        let item = Item::new("p", "s").with("body", "x".repeat(5000));
        let size = item_size(&item);
        assert_eq!(write_units(size), 5.0);
        assert_eq!(read_units(size, Consistency::Strong), 2.0);
    }
}
