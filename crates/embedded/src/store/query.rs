//! `query` and `scan`: one SELECT each, built from the key condition, ordered by the index's
//! sort key with ties broken by the table key, and paged by keyset: a start key resumes
//! strictly after (index sort key, pk, sk) in the query's direction, so a page costs the same
//! however deep it is and stays correct when the item it resumes from has been deleted.
//!
//! A page fetches `limit + 1` rows: the extra row, never returned, is how `last_key` knows
//! that more items match. Expired rows are filtered in SQL, so they never fill a page.

use roost_engines::{
    EngineError, EngineResult, Index, Item, KeyCondition, Page, QueryPage, SkCond, StartKey,
};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::db::unavailable;
use super::rows::{item_from_row, COLUMNS, LIVE};

/// A WHERE clause under construction: SQL conditions with `?` placeholders, and their values
/// in order.
struct Filter {
    sql: Vec<String>,
    values: Vec<Value>,
}

impl Filter {
    fn live(now: i64) -> Self {
        Filter { sql: vec![LIVE.to_string()], values: vec![Value::Integer(now)] }
    }

    fn and(&mut self, sql: String, values: impl IntoIterator<Item = String>) {
        self.sql.push(sql);
        self.values.extend(values.into_iter().map(Value::Text));
    }
}

/// The columns a read is ordered by: the index sort key, then the table key (the table's own
/// sort key needs no tie-break, the partition being fixed; a scan reads by table key).
fn order_columns(index: Option<Index>) -> &'static [&'static str] {
    match index {
        None => &["pk", "sk"],
        Some(Index::Table) => &["sk"],
        Some(Index::Gsi1) => &["gsi1sk", "pk", "sk"],
        Some(Index::Gsi2) => &["gsi2sk", "pk", "sk"],
    }
}

/// A start key's values for `order_columns(index)`.
fn start_values(index: Option<Index>, start: &StartKey) -> EngineResult<Vec<String>> {
    Ok(match index {
        None => vec![start.pk.clone(), start.sk.clone()],
        Some(Index::Table) => vec![start.sk.clone()],
        Some(Index::Gsi1 | Index::Gsi2) => {
            let isk = start.isk.clone();
            let isk =
                isk.ok_or_else(|| EngineError::Invalid("a GSI query's start key needs its isk".into()))?;
            vec![isk, start.pk.clone(), start.sk.clone()]
        }
    })
}

/// The smallest string greater than every string starting with `prefix` (None when there is
/// none), so that `begins_with` becomes an index range. Strings compare by UTF-8 bytes, which
/// is code point order, so it is `prefix` with its last char bumped to the next code point
/// (dropping trailing U+10FFFF, which has no next).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn sk_filter(filter: &mut Filter, column: &str, cond: &SkCond) {
    let mut cmp = |op: &str, value: &String| filter.and(format!("{column} {op} ?"), [value.clone()]);
    match cond {
        SkCond::All => {}
        SkCond::Eq(v) => cmp("=", v),
        SkCond::Lt(v) => cmp("<", v),
        SkCond::Le(v) => cmp("<=", v),
        SkCond::Gt(v) => cmp(">", v),
        SkCond::Ge(v) => cmp(">=", v),
        SkCond::Between(low, high) => {
            filter.and(format!("{column} BETWEEN ? AND ?"), [low.clone(), high.clone()]);
        }
        SkCond::BeginsWith(prefix) => {
            cmp(">=", prefix);
            if let Some(end) = prefix_end(prefix) {
                cmp("<", &end);
            }
        }
    }
}

pub(super) fn query(
    conn: &Connection,
    index: Index,
    key_condition: &KeyCondition,
    page: &Page,
    now: i64,
) -> EngineResult<QueryPage> {
    let (pk_column, sk_column) = match index {
        Index::Table => ("pk", "sk"),
        Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        Index::Gsi2 => ("gsi2pk", "gsi2sk"),
    };
    let mut filter = Filter::live(now);
    filter.and(format!("{pk_column} = ?"), [key_condition.pk.clone()]);
    sk_filter(&mut filter, sk_column, &key_condition.sk);
    read_page(conn, filter, Some(index), page)
}

/// A scan reads in table-key order; `page.forward` is honoured though DynamoDB has no such
/// notion, because it costs nothing.
pub(super) fn scan(conn: &Connection, page: &Page, now: i64) -> EngineResult<QueryPage> {
    read_page(conn, Filter::live(now), None, page)
}

/// Reads one page of the rows matching `filter`, in the order of `index` (None: a scan).
fn read_page(
    conn: &Connection,
    mut filter: Filter,
    index: Option<Index>,
    page: &Page,
) -> EngineResult<QueryPage> {
    let columns = order_columns(index);
    let (direction, after) = if page.forward { ("ASC", ">") } else { ("DESC", "<") };
    if let Some(start) = &page.start {
        let placeholders = vec!["?"; columns.len()].join(", ");
        filter.and(format!("({}) {after} ({placeholders})", columns.join(", ")), start_values(index, start)?);
    }
    let order: Vec<String> = columns.iter().map(|column| format!("{column} {direction}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM items WHERE {} ORDER BY {} LIMIT ?",
        filter.sql.join(" AND "),
        order.join(", ")
    );
    filter.values.push(Value::Integer(i64::try_from(page.limit).unwrap_or(i64::MAX).saturating_add(1)));

    let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
    let rows = stmt.query_map(params_from_iter(&filter.values), item_from_row).map_err(unavailable)?;
    let mut items = rows.collect::<rusqlite::Result<Vec<Item>>>().map_err(unavailable)?;
    let more = items.len() > page.limit;
    items.truncate(page.limit);
    let last_key = match items.last() {
        Some(last) if more => Some(QueryPage::start_key_of(index.unwrap_or(Index::Table), last)),
        _ => None,
    };
    Ok(QueryPage { items, last_key })
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_bounds_every_extension() {
        assert_eq!(prefix_end("b#"), Some("b$".to_string()));
        assert_eq!(prefix_end("a\u{D7FF}"), Some("a\u{E000}".to_string()));
        assert_eq!(prefix_end("a\u{10FFFF}"), Some("b".to_string()));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        assert_eq!(prefix_end(""), None);
        let end = prefix_end("ab").expect("end");
        assert!(["ab", "ab\u{10FFFF}\u{10FFFF}", "ab🎉"].iter().all(|s| *s < end.as_str()));
        assert!("ac" >= end.as_str());
    }
}
