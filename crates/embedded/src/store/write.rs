//! Conditional writes, updates and transactions. Each function runs inside the writer's
//! `BEGIN IMMEDIATE` transaction (see `Db::write`), so reading the current item, checking a
//! condition and writing are one atomic step, and an error rolls everything back.
//!
//! An expired item is treated as absent throughout: a condition sees no item, an update starts
//! from an empty one, and a write simply replaces the stale row.

use roost_engines::{CancelReason, Cond, EngineError, EngineResult, Item, Key, TxOp, Update, WriteOp};
use rusqlite::Connection;

use super::rows::{load, remove, save};

fn holds(cond: &Cond, current: Option<&Item>) -> bool {
    match cond {
        Cond::None => true,
        Cond::Exists => current.is_some(),
        Cond::NotExists => current.is_none(),
        Cond::Equals(name, value) => current.and_then(|item| item.attrs.get(name)) == Some(value),
    }
}

/// The live item at `key`, once `cond` is known to hold for it.
fn checked(conn: &Connection, key: &Key, cond: &Cond, now: i64) -> EngineResult<Option<Item>> {
    let current = load(conn, key, now)?;
    if !holds(cond, current.as_ref()) {
        return Err(EngineError::ConditionFailed);
    }
    Ok(current)
}

/// `update` applied to `current`, or to an empty item at `key` (the upsert).
fn updated(current: Option<Item>, key: &Key, update: &Update) -> EngineResult<Item> {
    let mut item = current.unwrap_or_else(|| Item::new(&key.pk, &key.sk));
    update.apply(&mut item.attrs).map_err(EngineError::Invalid)?;
    Ok(item)
}

pub(super) fn put(conn: &Connection, item: &Item, cond: &Cond, now: i64) -> EngineResult<()> {
    checked(conn, &item.key(), cond, now)?;
    save(conn, item)
}

/// Returns the item as written (`ALL_NEW`).
pub(super) fn update(
    conn: &Connection,
    key: &Key,
    update: &Update,
    cond: &Cond,
    now: i64,
) -> EngineResult<Item> {
    let item = updated(checked(conn, key, cond, now)?, key, update)?;
    save(conn, &item)?;
    Ok(item)
}

/// Returns the item deleted (`ALL_OLD`), if it was there.
pub(super) fn delete(conn: &Connection, key: &Key, cond: &Cond, now: i64) -> EngineResult<Option<Item>> {
    let old = checked(conn, key, cond, now)?;
    remove(conn, key)?;
    Ok(old)
}

/// Every condition is evaluated before anything is written; if any fails, nothing is and the
/// reasons say which (index-aligned with `ops`, as DynamoDB's `CancellationReasons`).
pub(super) fn transact(conn: &Connection, ops: Vec<TxOp>, now: i64) -> EngineResult<()> {
    let mut current = Vec::with_capacity(ops.len());
    let mut reasons = Vec::with_capacity(ops.len());
    for op in &ops {
        let (key, cond) = match op {
            TxOp::Put { item, cond } => (item.key(), cond),
            TxOp::Update { key, cond, .. } | TxOp::Delete { key, cond } | TxOp::Check { key, cond } => {
                (key.clone(), cond)
            }
        };
        let item = load(conn, &key, now)?;
        reasons.push((!holds(cond, item.as_ref())).then_some(CancelReason::ConditionFailed));
        current.push(item);
    }
    if reasons.iter().any(Option::is_some) {
        return Err(EngineError::TransactionCanceled { reasons });
    }
    for (op, current) in ops.into_iter().zip(current) {
        match op {
            TxOp::Put { item, .. } => save(conn, &item)?,
            TxOp::Update { key, update, .. } => save(conn, &updated(current, &key, &update)?)?,
            TxOp::Delete { key, .. } => remove(conn, &key)?,
            TxOp::Check { .. } => {}
        }
    }
    Ok(())
}

/// Unconditional writes, applied in order.
pub(super) fn batch(conn: &Connection, ops: &[WriteOp]) -> EngineResult<()> {
    ops.iter().try_for_each(|op| match op {
        WriteOp::Put(item) => save(conn, item),
        WriteOp::Delete(key) => remove(conn, key),
    })
}
