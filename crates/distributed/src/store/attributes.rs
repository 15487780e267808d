//! Conversion between the engine's JSON item model and DynamoDB's `AttributeValue`s.
//!
//! JSON maps onto DynamoDB types one to one (string S, number N, bool BOOL, null NULL, array L,
//! object M). Numbers travel as decimal strings; on the way back a number without a fraction
//! or exponent becomes a JSON integer again, so counters and ids round-trip as integers.
//! DynamoDB normalises numbers (`2.0` is stored as `2`), so a float with an integral value
//! comes back as an integer: the one lossy corner of the mapping.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use roost_engines::store::RESERVED_ATTRS;
use roost_engines::{EngineError, EngineResult, Item, Key};
use serde_json::{Map, Number, Value};

use super::ENGINE;

/// An item, a key or an expression's values as the SDK carries them.
pub(crate) type AttrMap = HashMap<String, AttributeValue>;

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
pub(crate) const GSI1PK: &str = "gsi1pk";
pub(crate) const GSI1SK: &str = "gsi1sk";
pub(crate) const GSI2PK: &str = "gsi2pk";
pub(crate) const GSI2SK: &str = "gsi2sk";
pub(crate) const TTL: &str = "ttl";

/// A JSON value as a DynamoDB attribute.
pub(crate) fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(values) => AttributeValue::L(values.iter().map(to_attr).collect()),
        Value::Object(map) => AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()),
    }
}

/// A DynamoDB attribute as a JSON value. Sets (which Roost never writes, but a hand-edited
/// table may hold) read as arrays; binary attributes have no JSON form and are refused.
pub(crate) fn from_attr(attr: AttributeValue) -> Result<Value, String> {
    Ok(match attr {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::N(n) => Value::Number(parse_number(&n)?),
        AttributeValue::S(s) => Value::String(s),
        AttributeValue::L(values) => {
            Value::Array(values.into_iter().map(from_attr).collect::<Result<_, _>>()?)
        }
        AttributeValue::M(map) => Value::Object(
            map.into_iter().map(|(k, v)| Ok((k, from_attr(v)?))).collect::<Result<Map<_, _>, String>>()?,
        ),
        AttributeValue::Ss(values) => Value::Array(values.into_iter().map(Value::String).collect()),
        AttributeValue::Ns(values) => {
            Value::Array(values.iter().map(|n| parse_number(n).map(Value::Number)).collect::<Result<_, _>>()?)
        }
        AttributeValue::B(_) | AttributeValue::Bs(_) => {
            return Err("binary attributes are not supported".into())
        }
        other => return Err(format!("unsupported attribute type {other:?}")),
    })
}

/// An `N` attribute as a JSON number: integral strings become integers (i64, then u64), the
/// rest (fractions, exponents, integers beyond u64) become floats.
pub(crate) fn parse_number(n: &str) -> Result<Number, String> {
    if !n.contains(['.', 'e', 'E']) {
        if let Ok(i) = n.parse::<i64>() {
            return Ok(i.into());
        }
        if let Ok(u) = n.parse::<u64>() {
            return Ok(u.into());
        }
    }
    n.parse::<f64>().ok().and_then(Number::from_f64).ok_or_else(|| format!("malformed number {n:?}"))
}

pub(crate) fn key_map(key: &Key) -> AttrMap {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(key.pk.clone())),
        (SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

/// Refuses attribute names the item model keeps for itself: letting `attrs` or an update
/// write `pk`, a GSI key or `ttl` would silently change an item's identity or expiry.
pub(crate) fn check_attr_name(name: &str) -> EngineResult<()> {
    if RESERVED_ATTRS.contains(&name) {
        return Err(EngineError::Invalid(format!("attribute name {name:?} is reserved by the item model")));
    }
    Ok(())
}

pub(crate) fn item_to_map(item: &Item) -> EngineResult<AttrMap> {
    let mut map = AttrMap::with_capacity(item.attrs.len() + 7);
    for (name, value) in &item.attrs {
        check_attr_name(name)?;
        map.insert(name.clone(), to_attr(value));
    }
    map.insert(PK.into(), AttributeValue::S(item.pk.clone()));
    map.insert(SK.into(), AttributeValue::S(item.sk.clone()));
    if let Some((pk, sk)) = &item.gsi1 {
        map.insert(GSI1PK.into(), AttributeValue::S(pk.clone()));
        map.insert(GSI1SK.into(), AttributeValue::S(sk.clone()));
    }
    if let Some((pk, sk)) = &item.gsi2 {
        map.insert(GSI2PK.into(), AttributeValue::S(pk.clone()));
        map.insert(GSI2SK.into(), AttributeValue::S(sk.clone()));
    }
    if let Some(ttl) = item.ttl {
        map.insert(TTL.into(), AttributeValue::N(ttl.to_string()));
    }
    Ok(map)
}

pub(crate) fn item_from_map(mut map: AttrMap) -> EngineResult<Item> {
    let pk = take_string(&mut map, PK)?.ok_or_else(|| malformed("item without pk"))?;
    let sk = take_string(&mut map, SK)?.ok_or_else(|| malformed("item without sk"))?;
    let gsi1 = take_pair(&mut map, GSI1PK, GSI1SK)?;
    let gsi2 = take_pair(&mut map, GSI2PK, GSI2SK)?;
    let ttl = match map.remove(TTL) {
        None | Some(AttributeValue::Null(_)) => None,
        Some(AttributeValue::N(n)) => Some(parse_ttl(&n)?),
        Some(other) => return Err(malformed(format!("ttl of {pk}/{sk} is not a number: {other:?}"))),
    };
    let attrs = map
        .into_iter()
        .map(|(name, attr)| {
            from_attr(attr)
                .map(|v| (name.clone(), v))
                .map_err(|e| malformed(format!("{pk}/{sk}.{name}: {e}")))
        })
        .collect::<EngineResult<Map<_, _>>>()?;
    Ok(Item { pk, sk, gsi1, gsi2, ttl, attrs })
}

/// Epoch seconds; a fractional TTL (written by some other tool) counts from its whole second.
fn parse_ttl(n: &str) -> EngineResult<i64> {
    match parse_number(n).map_err(malformed)? {
        num if num.is_i64() => num.as_i64().ok_or_else(|| malformed("ttl out of range")),
        num => num.as_f64().map(|f| f.floor() as i64).ok_or_else(|| malformed("ttl out of range")),
    }
}

fn take_string(map: &mut AttrMap, name: &str) -> EngineResult<Option<String>> {
    match map.remove(name) {
        None => Ok(None),
        Some(AttributeValue::S(s)) => Ok(Some(s)),
        Some(other) => Err(malformed(format!("{name} is not a string: {other:?}"))),
    }
}

/// A GSI key pair; an item carrying only half of it is in no index, and we drop the half.
fn take_pair(map: &mut AttrMap, pk: &str, sk: &str) -> EngineResult<Option<(String, String)>> {
    Ok(match (take_string(map, pk)?, take_string(map, sk)?) {
        (Some(p), Some(s)) => Some((p, s)),
        _ => None,
    })
}

fn malformed(message: impl std::fmt::Display) -> EngineError {
    EngineError::Unavailable { engine: ENGINE, message: format!("malformed item in table: {message}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_attributes() {
        let value = json!({
            "s": "text", "empty": "", "i": -42, "big": u64::MAX, "f": 1.5, "tiny": 1e-7,
            "t": true, "n": null, "l": [1, "two", [3.25], {"four": false}], "m": {"nested": {"x": 0}}
        });
        assert_eq!(from_attr(to_attr(&value)), Ok(value));
    }

    #[test]
    fn integral_numbers_read_as_integers() {
        assert!(parse_number("7").unwrap().is_i64());
        assert!(parse_number("18446744073709551615").unwrap().is_u64());
        assert!(parse_number("7.5").unwrap().is_f64());
        assert!(parse_number("1E+3").unwrap().is_f64());
        assert!(parse_number("x").is_err());
    }

    #[test]
    fn item_round_trips_with_keys_indexes_and_ttl() {
        let item = Item::new("USER#1", "PROFILE")
            .with_gsi1("USERNAME#a", "PROFILE")
            .with_gsi2("T#1", "x")
            .with_ttl(1_700_000_000)
            .with("name", "A")
            .with("count", 3);
        let map = item_to_map(&item).unwrap();
        assert_eq!(map.get(TTL), Some(&AttributeValue::N("1700000000".into())));
        assert_eq!(item_from_map(map).unwrap(), item);
    }

    #[test]
    fn reserved_attribute_names_are_refused() {
        let item = Item::new("a", "b").with("gsi1pk", "x");
        assert!(matches!(item_to_map(&item), Err(EngineError::Invalid(_))));
    }
}
