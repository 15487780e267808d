//! `Store`: DynamoDB's item model, the source of truth.
//!
//! Items live in one table keyed by a partition key (`pk`) and a sort key (`sk`); two global
//! secondary indexes (`gsi1`, `gsi2`) give other orderings; a `ttl` attribute (epoch seconds)
//! expires items. Writes can carry a condition, counters are updated atomically with `ADD`,
//! and `transact_write` applies up to [`MAX_TRANSACT_ITEMS`] operations all-or-nothing.
//!
//! Semantics every implementation must share (the conformance suite checks each):
//! - Reads are strongly consistent and never return an item whose `ttl` has passed.
//! - `query` returns items in sort-key order (index sort key for a GSI, ties broken by the
//!   table key), `forward` or reversed; `last_key` is `Some` exactly when more items match.
//! - `update` is an upsert, like `UpdateItem`: with `Cond::None` it creates a missing item.
//! - A transaction may not touch the same item twice.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::EngineResult;

/// DynamoDB's limit on the operations of one `TransactWriteItems`.
pub const MAX_TRANSACT_ITEMS: usize = 100;
/// Attribute names the item model uses itself; `Item::attrs` may not use them.
pub const RESERVED_ATTRS: [&str; 7] = ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "ttl"];

/// The primary key of an item.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    /// Partition key: which partition the item lives in.
    pub pk: String,
    /// Sort key: the item's place within its partition.
    pub sk: String,
}

impl Key {
    /// A key from its partition and sort keys.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key { pk: pk.into(), sk: sk.into() }
    }
}

/// One item: its key, its index keys, its expiry, and free-form attributes (JSON values map
/// onto DynamoDB types: string S, number N, bool BOOL, null NULL, array L, object M).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Partition key.
    pub pk: String,
    /// Sort key within the partition.
    pub sk: String,
    /// (partition, sort) key in the first global secondary index, if the item is in it.
    pub gsi1: Option<(String, String)>,
    /// (partition, sort) key in the second global secondary index, if the item is in it.
    pub gsi2: Option<(String, String)>,
    /// Expiry in seconds since the Unix epoch; the item vanishes from reads after it.
    pub ttl: Option<i64>,
    /// Every other attribute, by name; none may be one of `RESERVED_ATTRS`.
    pub attrs: Map<String, Value>,
}

impl Item {
    /// An item with only its key: no index keys, no TTL, no attributes.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Item { pk: pk.into(), sk: sk.into(), gsi1: None, gsi2: None, ttl: None, attrs: Map::new() }
    }
    /// The item's primary key.
    pub fn key(&self) -> Key {
        Key::new(self.pk.clone(), self.sk.clone())
    }
    /// The item with its `gsi1` key set.
    pub fn with_gsi1(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi1 = Some((pk.into(), sk.into()));
        self
    }
    /// The item with its `gsi2` key set.
    pub fn with_gsi2(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi2 = Some((pk.into(), sk.into()));
        self
    }
    /// The item expiring at `epoch_secs` (seconds since the Unix epoch).
    pub fn with_ttl(mut self, epoch_secs: i64) -> Self {
        self.ttl = Some(epoch_secs);
        self
    }
    /// The item with attribute `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attrs.insert(name.to_string(), value.into());
        self
    }
    /// Attributes from any serializable struct (which must serialize to a JSON object).
    pub fn with_attrs<T: Serialize>(mut self, value: &T) -> Self {
        if let Ok(Value::Object(map)) = serde_json::to_value(value) {
            self.attrs.extend(map);
        }
        self
    }
    /// The attributes read back into a struct.
    pub fn attrs_as<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        T::deserialize(Value::Object(self.attrs.clone()))
    }
    /// Attribute `name` when it is a string.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).and_then(Value::as_str)
    }
    /// Attribute `name` when it is an integer.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.attrs.get(name).and_then(Value::as_i64)
    }
    /// Whether the item's TTL has passed at `now` (epoch seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.ttl.is_some_and(|t| t <= now)
    }
}

/// A condition on the item a write touches (a subset of DynamoDB's condition expressions).
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Cond {
    /// No condition: the write always applies.
    #[default]
    None,
    /// `attribute_exists(pk)`
    Exists,
    /// `attribute_not_exists(pk)`
    NotExists,
    /// `attr = :value` (false when the item or the attribute is missing)
    Equals(String, Value),
}

/// An `UpdateItem` expression: `SET` attributes, `ADD` to numeric counters (a missing counter
/// counts as 0), `REMOVE` attributes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Update {
    /// `SET name = value` for each pair.
    pub set: Vec<(String, Value)>,
    /// `ADD name delta` for each pair.
    pub add: Vec<(String, i64)>,
    /// `REMOVE name` for each attribute.
    pub remove: Vec<String>,
}

impl Update {
    /// An empty expression.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds `SET name = value`.
    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.set.push((name.to_string(), value.into()));
        self
    }
    /// Adds `ADD name delta` to a numeric counter.
    pub fn add(mut self, name: &str, delta: i64) -> Self {
        self.add.push((name.to_string(), delta));
        self
    }
    /// Adds `REMOVE name`.
    pub fn remove(mut self, name: &str) -> Self {
        self.remove.push(name.to_string());
        self
    }
    /// Applies the expression to an item's attributes (used by implementations that
    /// evaluate updates themselves, and by tests).
    pub fn apply(&self, attrs: &mut Map<String, Value>) -> Result<(), String> {
        for (name, value) in &self.set {
            attrs.insert(name.clone(), value.clone());
        }
        for (name, delta) in &self.add {
            let current = match attrs.get(name) {
                None | Some(Value::Null) => 0,
                Some(v) => v.as_i64().ok_or_else(|| format!("ADD to non-numeric attribute {name}"))?,
            };
            attrs.insert(name.clone(), Value::from(current + delta));
        }
        for name in &self.remove {
            attrs.remove(name);
        }
        Ok(())
    }
}

/// Which key a query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Index {
    /// The table's own key (`pk`, `sk`).
    Table,
    /// The first global secondary index.
    Gsi1,
    /// The second global secondary index.
    Gsi2,
}

/// A condition on the sort key of the index queried.
#[derive(Clone, Debug, PartialEq)]
pub enum SkCond {
    /// Every sort key.
    All,
    /// Sort key equal to the value.
    Eq(String),
    /// Sort key starting with the prefix.
    BeginsWith(String),
    /// Inclusive at both ends, like DynamoDB's `BETWEEN`.
    Between(String, String),
    /// Sort key below the value.
    Lt(String),
    /// Sort key at or below the value.
    Le(String),
    /// Sort key above the value.
    Gt(String),
    /// Sort key at or above the value.
    Ge(String),
}

/// `KeyConditionExpression`: one partition, and a condition on the sort key.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyCondition {
    /// The partition (of the index queried) to read.
    pub pk: String,
    /// Which sort keys of the partition match.
    pub sk: SkCond,
}

impl KeyCondition {
    /// Every item of partition `pk`.
    pub fn pk(pk: impl Into<String>) -> Self {
        KeyCondition { pk: pk.into(), sk: SkCond::All }
    }
    /// The items of partition `pk` whose sort key starts with `prefix`.
    pub fn begins_with(pk: impl Into<String>, prefix: impl Into<String>) -> Self {
        KeyCondition { pk: pk.into(), sk: SkCond::BeginsWith(prefix.into()) }
    }
    /// The same partition with sort-key condition `sk`.
    pub fn with_sk(mut self, sk: SkCond) -> Self {
        self.sk = sk;
        self
    }
}

/// Where the previous page stopped (DynamoDB's `ExclusiveStartKey`): the table key of the
/// last item, and its index sort key when the query read a GSI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartKey {
    /// Partition key of the last item read.
    pub pk: String,
    /// Sort key of the last item read.
    pub sk: String,
    /// Its sort key in the GSI queried; `None` for table queries and scans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isk: Option<String>,
}

/// How many items, in which direction, from where.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The most items to return.
    pub limit: usize,
    /// `ScanIndexForward`: ascending sort keys when true.
    pub forward: bool,
    /// Where to resume; `None` starts from the beginning.
    pub start: Option<StartKey>,
}

impl Page {
    /// Up to `limit` items in ascending sort-key order, from the start.
    pub fn forward(limit: usize) -> Self {
        Page { limit, forward: true, start: None }
    }
    /// Up to `limit` items in descending sort-key order, from the end.
    pub fn backward(limit: usize) -> Self {
        Page { limit, forward: false, start: None }
    }
    /// The same page, resuming after `start`.
    pub fn after(mut self, start: Option<StartKey>) -> Self {
        self.start = start;
        self
    }
}

/// One page of a query or scan.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryPage {
    /// The matching items, in the order of the query.
    pub items: Vec<Item>,
    /// `Some` exactly when more items match; pass it back as `Page::start`.
    pub last_key: Option<StartKey>,
}

impl QueryPage {
    /// The start key that resumes a query after `item`.
    pub fn start_key_of(index: Index, item: &Item) -> StartKey {
        let isk = match index {
            Index::Table => None,
            Index::Gsi1 => item.gsi1.as_ref().map(|g| g.1.clone()),
            Index::Gsi2 => item.gsi2.as_ref().map(|g| g.1.clone()),
        };
        StartKey { pk: item.pk.clone(), sk: item.sk.clone(), isk }
    }
}

/// One operation of a `transact_write`.
#[derive(Clone, Debug, PartialEq)]
pub enum TxOp {
    /// `Put`: writes the whole item.
    Put {
        /// The item to write.
        item: Item,
        /// Must hold on the item as it is, or the transaction fails.
        cond: Cond,
    },
    /// `Update`: applies an update expression, creating the item when missing.
    Update {
        /// The item to update.
        key: Key,
        /// The expression to apply.
        update: Update,
        /// Must hold on the item as it is, or the transaction fails.
        cond: Cond,
    },
    /// `Delete`: removes the item.
    Delete {
        /// The item to delete.
        key: Key,
        /// Must hold on the item as it is, or the transaction fails.
        cond: Cond,
    },
    /// `ConditionCheck`: writes nothing, but the transaction fails unless `cond` holds.
    Check {
        /// The item to check.
        key: Key,
        /// What must hold on it.
        cond: Cond,
    },
}

impl TxOp {
    /// The key of the item the operation touches.
    pub fn key(&self) -> Key {
        match self {
            TxOp::Put { item, .. } => item.key(),
            TxOp::Update { key, .. } | TxOp::Delete { key, .. } | TxOp::Check { key, .. } => key.clone(),
        }
    }
}

/// Why one operation of a cancelled transaction failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// The operation's condition did not hold.
    ConditionFailed,
}

/// One unconditional write of a `batch_write`.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    /// Writes the whole item.
    Put(Item),
    /// Removes the item, if present.
    Delete(Key),
}

/// `Store`: the primary store, with DynamoDB's item model and semantics.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `GetItem` (consistent read).
    async fn get(&self, key: &Key) -> EngineResult<Option<Item>>;
    /// `PutItem`: replaces the whole item when `cond` holds.
    async fn put(&self, item: Item, cond: Cond) -> EngineResult<()>;
    /// `UpdateItem` with `ReturnValues=ALL_NEW`.
    async fn update(&self, key: &Key, update: Update, cond: Cond) -> EngineResult<Item>;
    /// `DeleteItem` with `ReturnValues=ALL_OLD`.
    async fn delete(&self, key: &Key, cond: Cond) -> EngineResult<Option<Item>>;
    /// `Query` on the table or a GSI.
    async fn query(&self, index: Index, key_condition: KeyCondition, page: Page) -> EngineResult<QueryPage>;
    /// `TransactWriteItems`: all operations or none.
    async fn transact_write(&self, ops: Vec<TxOp>) -> EngineResult<()>;
    /// `BatchGetItem`, any number of keys (chunked as the engine needs); missing items are
    /// left out, and the order of the answer is unspecified.
    async fn batch_get(&self, keys: Vec<Key>) -> EngineResult<Vec<Item>>;
    /// `BatchWriteItem`, any number of operations, retried until all are processed.
    async fn batch_write(&self, ops: Vec<WriteOp>) -> EngineResult<()>;
    /// Pages through every item of the table (for backup and maintenance jobs).
    async fn scan(&self, page: Page) -> EngineResult<QueryPage>;
    /// Whether the engine answers (for `/readyz`).
    async fn ping(&self) -> EngineResult<()>;
}

/// `batch_get`'s answer keyed by item key.
pub fn by_key(items: Vec<Item>) -> HashMap<Key, Item> {
    items.into_iter().map(|i| (i.key(), i)).collect()
}
