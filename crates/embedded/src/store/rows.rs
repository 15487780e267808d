//! An [`Item`] as a row of `items`: the key and index keys in their own columns (so SQLite
//! can index them), the attributes as one JSON object. Also the point reads and writes that
//! everything else is built from.
//!
//! Every read filters expired rows in SQL: the sweeper deletes them only now and then, and an
//! item must vanish from reads the moment its TTL passes.

use std::time::{SystemTime, UNIX_EPOCH};

use roost_engines::{EngineError, EngineResult, Item, Key};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::db::unavailable;

/// The columns `item_from_row` reads, in its order.
pub(super) const COLUMNS: &str = "pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, ttl, attrs";
/// The SQL condition keeping only live rows; its parameter is the current time.
pub(super) const LIVE: &str = "(ttl IS NULL OR ttl > ?)";

/// Seconds since the Unix epoch, the unit of `Item::ttl`.
pub(super) fn now() -> i64 {
    // A clock before 1970 is a broken machine; treating it as 0 merely expires nothing.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

pub(super) fn item_from_row(row: &Row) -> rusqlite::Result<Item> {
    let attrs: String = row.get(7)?;
    let attrs = serde_json::from_str(&attrs)
        .map_err(|err| rusqlite::Error::FromSqlConversionFailure(7, Type::Text, Box::new(err)))?;
    let index_key = |pk: Option<String>, sk: Option<String>| pk.zip(sk);
    Ok(Item {
        pk: row.get(0)?,
        sk: row.get(1)?,
        gsi1: index_key(row.get(2)?, row.get(3)?),
        gsi2: index_key(row.get(4)?, row.get(5)?),
        ttl: row.get(6)?,
        attrs,
    })
}

/// The live item at `key`, if any.
pub(super) fn load(conn: &Connection, key: &Key, now: i64) -> EngineResult<Option<Item>> {
    let sql = format!("SELECT {COLUMNS} FROM items WHERE pk = ? AND sk = ? AND {LIVE}");
    let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
    stmt.query_row(params![key.pk, key.sk, now], item_from_row).optional().map_err(unavailable)
}

/// Writes `item`, replacing whatever row (live or expired) had its key.
pub(super) fn save(conn: &Connection, item: &Item) -> EngineResult<()> {
    let attrs = serde_json::to_string(&item.attrs).map_err(|err| EngineError::Invalid(err.to_string()))?;
    let (gsi1pk, gsi1sk) = item.gsi1.clone().unzip();
    let (gsi2pk, gsi2sk) = item.gsi2.clone().unzip();
    let mut stmt = conn
        .prepare_cached(&format!(
            "INSERT OR REPLACE INTO items ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ))
        .map_err(unavailable)?;
    stmt.execute(params![item.pk, item.sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, item.ttl, attrs])
        .map_err(unavailable)?;
    Ok(())
}

/// Deletes the row at `key`, live or expired.
pub(super) fn remove(conn: &Connection, key: &Key) -> EngineResult<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2").map_err(unavailable)?;
    stmt.execute(params![key.pk, key.sk]).map_err(unavailable)?;
    Ok(())
}

pub(super) fn ping(conn: &Connection) -> EngineResult<()> {
    conn.prepare_cached("SELECT 1").and_then(|mut stmt| stmt.query_row([], |_| Ok(()))).map_err(unavailable)
}
