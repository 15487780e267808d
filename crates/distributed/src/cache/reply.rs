//! Decoding Redis replies into the trait's types.
//!
//! We take fred's untyped `Value` and decode it here rather than through fred's typed
//! conversions, because the same command answers in different shapes (a flat
//! `[member, score, …]` array in RESP2, nested pairs or maps in RESP3, nil for an empty
//! blocking read) and a wrong guess must surface as an error, not as a panic or a silently
//! empty answer.

use bytes::Bytes;
use fred::prelude::Value;
use roost_engines::EngineResult;

use super::error::unexpected;

/// A string reply; nil is `None`.
pub(super) fn optional_bytes(command: &str, value: Value) -> EngineResult<Option<Bytes>> {
    match value {
        Value::Null => Ok(None),
        Value::Bytes(bytes) => Ok(Some(bytes)),
        Value::String(s) => Ok(Some(s.into_inner())),
        other => Err(unexpected(command, &other)),
    }
}

pub(super) fn string(command: &str, value: Value) -> EngineResult<String> {
    match value.as_string() {
        Some(s) => Ok(s),
        None => Err(unexpected(command, &value)),
    }
}

pub(super) fn count(command: &str, value: Value) -> EngineResult<u64> {
    value.as_u64().ok_or_else(|| unexpected(command, &value))
}

pub(super) fn integer(command: &str, value: Value) -> EngineResult<i64> {
    value.as_i64().ok_or_else(|| unexpected(command, &value))
}

pub(super) fn flag(command: &str, value: Value) -> EngineResult<bool> {
    match value {
        Value::Integer(0) | Value::Boolean(false) => Ok(false),
        Value::Integer(1) | Value::Boolean(true) => Ok(true),
        other => Err(unexpected(command, &other)),
    }
}

pub(super) fn score(command: &str, value: Value) -> EngineResult<f64> {
    value.as_f64().ok_or_else(|| unexpected(command, &value))
}

pub(super) fn optional_score(command: &str, value: Value) -> EngineResult<Option<f64>> {
    if value.is_null() {
        return Ok(None);
    }
    score(command, value).map(Some)
}

pub(super) fn strings(command: &str, value: Value) -> EngineResult<Vec<String>> {
    array(command, value)?.into_iter().map(|v| string(command, v)).collect()
}

/// An array reply; nil (an empty result in some commands) is an empty array.
pub(super) fn array(command: &str, value: Value) -> EngineResult<Vec<Value>> {
    match value {
        Value::Array(values) => Ok(values),
        Value::Null => Ok(Vec::new()),
        other => Err(unexpected(command, &other)),
    }
}

/// `[k1, v1, k2, v2, …]` (RESP2), `[[k1, v1], …]` or a map (RESP3), as pairs.
pub(super) fn pairs(command: &str, value: Value) -> EngineResult<Vec<(Value, Value)>> {
    if let Value::Map(map) = value {
        return Ok(map.inner().into_iter().map(|(k, v)| (Value::from(k.into_bytes()), v)).collect());
    }
    let items = array(command, value)?;
    if items.iter().all(|item| matches!(item, Value::Array(pair) if pair.len() == 2)) && !items.is_empty() {
        return items
            .into_iter()
            .map(|item| {
                let mut pair = item.into_array().into_iter();
                match (pair.next(), pair.next()) {
                    (Some(k), Some(v)) => Ok((k, v)),
                    _ => Err(unexpected(command, &Value::Null)),
                }
            })
            .collect();
    }
    if items.len() % 2 != 0 {
        return Err(unexpected(command, &Value::Array(items)));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut iter = items.into_iter();
    while let (Some(k), Some(v)) = (iter.next(), iter.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// `… WITHSCORES` replies.
pub(super) fn scored_members(command: &str, value: Value) -> EngineResult<Vec<(String, f64)>> {
    pairs(command, value)?.into_iter().map(|(m, s)| Ok((string(command, m)?, score(command, s)?))).collect()
}

/// `HGETALL` of a hash of counters.
pub(super) fn counters(command: &str, value: Value) -> EngineResult<Vec<(String, i64)>> {
    pairs(command, value)?.into_iter().map(|(f, v)| Ok((string(command, f)?, integer(command, v)?))).collect()
}
