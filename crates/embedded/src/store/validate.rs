//! Requests the store refuses before touching SQLite, as `EngineError::Invalid`: the ones
//! DynamoDB would refuse too, so that a caller's bug shows up in embedded mode first.

use std::collections::HashSet;

use roost_engines::store::{MAX_TRANSACT_ITEMS, RESERVED_ATTRS};
use roost_engines::{EngineError, EngineResult, Item, Key, Page, TxOp, Update};

fn invalid(message: String) -> EngineError {
    EngineError::Invalid(message)
}

/// DynamoDB refuses empty key attributes.
pub(super) fn key(key: &Key) -> EngineResult<()> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(invalid(format!("empty key attribute in {key:?}")));
    }
    Ok(())
}

/// Attribute names the item model keeps for itself would be ambiguous in a DynamoDB item.
fn attr_name(name: &str) -> EngineResult<()> {
    if RESERVED_ATTRS.contains(&name) {
        return Err(invalid(format!("attribute name {name:?} is reserved")));
    }
    Ok(())
}

pub(super) fn item(item: &Item) -> EngineResult<()> {
    key(&item.key())?;
    item.attrs.keys().try_for_each(|name| attr_name(name))
}

pub(super) fn update(update: &Update) -> EngineResult<()> {
    let set = update.set.iter().map(|(name, _)| name);
    let add = update.add.iter().map(|(name, _)| name);
    set.chain(add).chain(&update.remove).try_for_each(|name| attr_name(name))
}

pub(super) fn transaction(ops: &[TxOp]) -> EngineResult<()> {
    if ops.len() > MAX_TRANSACT_ITEMS {
        return Err(invalid(format!(
            "{} operations in one transaction, at most {MAX_TRANSACT_ITEMS}",
            ops.len()
        )));
    }
    let mut seen = HashSet::new();
    for op in ops {
        match op {
            TxOp::Put { item: it, .. } => item(it)?,
            TxOp::Update { key: k, update: u, .. } => key(k).and_then(|()| update(u))?,
            TxOp::Delete { key: k, .. } | TxOp::Check { key: k, .. } => key(k)?,
        }
        let op_key = op.key();
        if seen.contains(&op_key) {
            return Err(invalid(format!("transaction touches {op_key:?} twice")));
        }
        seen.insert(op_key);
    }
    Ok(())
}

/// DynamoDB's `Limit` must be at least 1 (and a page of nothing could not say where it ended).
pub(super) fn page(page: &Page) -> EngineResult<()> {
    if page.limit == 0 {
        return Err(invalid("page limit 0".to_string()));
    }
    Ok(())
}
