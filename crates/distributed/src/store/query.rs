//! `query` and `scan`: paging with an exact `last_key`, and GSI ties in table-key order.
//!
//! Two promises of the trait go beyond DynamoDB's own paging:
//! - `last_key` is `Some` exactly when more live items match. DynamoDB's `LastEvaluatedKey`
//!   may be set on a last page, and expired items it still holds must not count, so we read
//!   until we hold one live item past the page (over as many DynamoDB pages as needed).
//! - On a GSI, items with equal index sort keys come in table-key order. DynamoDB orders
//!   such ties its own way (moto by table sort key), so ties are sorted here: a page only
//!   ends once the tie group at its end has been read whole, and a page that resumes inside
//!   a tie group reads that group whole (alongside the rest of the page) to find what
//!   follows the start key in our order rather than in DynamoDB's.

use std::cmp::Ordering;
use std::future::Future;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use roost_engines::{
    EngineError, EngineResult, Index, Item, Key, KeyCondition, Page, QueryPage, SkCond, StartKey,
};

use super::attributes::{item_from_map, key_map, AttrMap};
use super::errors::sdk_error;
use super::expressions::index_key_attrs;
use super::expressions::{sk_matches, Expr};
use super::metrics::OpKind;
use super::table::{GSI1, GSI2};
use super::{now, DynamoStore};

/// What one DynamoDB page yields: raw items and `LastEvaluatedKey`.
type RawPage = (Vec<AttrMap>, Option<AttrMap>);

/// Items requested per DynamoDB page once the page proper is full but the tie group at its
/// end is still open.
const TIE_CHUNK: i32 = 25;

impl DynamoStore {
    pub(crate) async fn query_index(
        &self,
        index: Index,
        kc: KeyCondition,
        page: Page,
    ) -> EngineResult<QueryPage> {
        if page.limit == 0 {
            return Err(EngineError::Invalid("query limit must be at least 1".into()));
        }
        let (kc, forward, limit) = (&kc, page.forward, page.limit);
        let fetch = |start, limit| self.query_page(index, kc, forward, start, Some(limit));
        let Some(start) = page.start else {
            let items = read_pages(index, limit, None, |_| false, fetch).await?;
            return Ok(finish(index, limit, forward, items));
        };
        if index == Index::Table {
            let start = Self::exclusive_start_key(index, &kc.pk, start)?;
            let items = read_pages(index, limit, Some(start), |_| false, fetch).await?;
            return Ok(finish(index, limit, forward, items));
        }
        // Resuming on a GSI: DynamoDB continues after the start key in its tie order, which
        // may skip ties that follow it in ours. So the start key's tie group is read whole
        // (concurrently), and the main read skips that group.
        let isk = start
            .isk
            .clone()
            .ok_or_else(|| EngineError::Invalid("a GSI query's start key needs its index sort key".into()))?;
        let after = Key::new(start.pk.clone(), start.sk.clone());
        let exclusive = Self::exclusive_start_key(index, &kc.pk, start)?;
        let group = async {
            if !sk_matches(&kc.sk, &isk) {
                return Ok(Vec::new());
            }
            let ties = self.read_ties(index, &kc.pk, &isk, forward).await?;
            Ok(ties.into_iter().filter(|item| follows(&item.key(), &after, forward)).collect::<Vec<_>>())
        };
        let rest =
            read_pages(index, limit, Some(exclusive), |item| index_sk(index, item) == Some(&isk), fetch);
        let (mut items, rest) = futures::try_join!(group, rest)?;
        items.extend(rest);
        Ok(finish(index, limit, forward, items))
    }

    pub(crate) async fn scan_table(&self, page: Page) -> EngineResult<QueryPage> {
        if page.limit == 0 {
            return Err(EngineError::Invalid("scan limit must be at least 1".into()));
        }
        let start = page.start.map(|s| key_map(&Key::new(s.pk, s.sk)));
        let fetch = |start, limit| async move {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .limit(limit)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
                .send()
                .await
                .map_err(|e| sdk_error("Scan", e))?;
            self.capacity.record(OpKind::Scan, out.consumed_capacity.as_ref());
            Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
        };
        let items = read_pages(Index::Table, page.limit, start, |_| false, fetch).await?;
        // The table's own order (by partition hash): `finish` sorts only GSI results.
        Ok(finish(Index::Table, page.limit, true, items))
    }

    /// The `ExclusiveStartKey` for resuming on `index` after `start`: the table key, plus
    /// the index key for a GSI (whose partition is the one being queried).
    fn exclusive_start_key(index: Index, partition: &str, start: StartKey) -> EngineResult<AttrMap> {
        let mut map = key_map(&Key::new(start.pk, start.sk));
        if index != Index::Table {
            let isk = start.isk.ok_or_else(|| {
                EngineError::Invalid("a GSI query's start key needs its index sort key".into())
            })?;
            let (pk_attr, sk_attr) = index_key_attrs(index);
            map.insert(pk_attr.to_string(), AttributeValue::S(partition.to_string()));
            map.insert(sk_attr.to_string(), AttributeValue::S(isk));
        }
        Ok(map)
    }

    /// One DynamoDB `Query` page.
    async fn query_page(
        &self,
        index: Index,
        kc: &KeyCondition,
        forward: bool,
        start: Option<AttrMap>,
        limit: Option<i32>,
    ) -> EngineResult<RawPage> {
        let mut expr = Expr::new();
        let key_expression = expr.key_condition(index, kc);
        let (names, values) = expr.into_parts();
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index_name(index))
            .key_condition_expression(key_expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .scan_index_forward(forward)
            // GSIs only offer eventually consistent reads.
            .consistent_read(index == Index::Table)
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        self.capacity.record_on(OpKind::Query, index, out.consumed_capacity.as_ref());
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// Every live item of GSI partition `pk` whose index sort key is `isk`.
    async fn read_ties(&self, index: Index, pk: &str, isk: &str, forward: bool) -> EngineResult<Vec<Item>> {
        let kc = KeyCondition::pk(pk).with_sk(SkCond::Eq(isk.to_string()));
        let now = now();
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.query_page(index, &kc, forward, start, None).await?;
            for raw in page {
                let item = item_from_map(raw)?;
                if !item.is_expired(now) {
                    items.push(item);
                }
            }
            start = next.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

/// Reads DynamoDB pages from `start` until more than `limit` live items (not `skip`ped) are
/// held and, on a GSI, the tie group of the page's last item is complete — or until the
/// matches run out. Returns the items in DynamoDB's order, untruncated.
async fn read_pages<F, Fut>(
    index: Index,
    limit: usize,
    mut start: Option<AttrMap>,
    skip: impl Fn(&Item) -> bool,
    mut fetch: F,
) -> EngineResult<Vec<Item>>
where
    F: FnMut(Option<AttrMap>, i32) -> Fut,
    Fut: Future<Output = EngineResult<RawPage>>,
{
    let now = now();
    // `limit` comes from the caller; `usize::MAX` must read everything, not overflow.
    let wanted = limit.saturating_add(1);
    let mut items: Vec<Item> = Vec::with_capacity(wanted.min(1024));
    loop {
        let request = match wanted.checked_sub(items.len()) {
            Some(n) if n > 0 => i32::try_from(n).unwrap_or(i32::MAX),
            _ => TIE_CHUNK,
        };
        let (page, next) = fetch(start.take(), request).await?;
        for raw in page {
            let item = item_from_map(raw)?;
            if !item.is_expired(now) && !skip(&item) {
                items.push(item);
            }
        }
        start = next.filter(|k| !k.is_empty());
        let settled = items.len() > limit
            && (index == Index::Table
                || index_sk(index, &items[items.len() - 1]) != index_sk(index, &items[limit - 1]));
        if settled || start.is_none() {
            return Ok(items);
        }
    }
}

/// Orders a query's items (ties on a GSI by table key), cuts the page and sets `last_key`.
fn finish(index: Index, limit: usize, forward: bool, mut items: Vec<Item>) -> QueryPage {
    if index != Index::Table {
        items.sort_by(|a, b| {
            let order = index_sk(index, a).cmp(&index_sk(index, b)).then_with(|| a.key().cmp(&b.key()));
            if forward {
                order
            } else {
                order.reverse()
            }
        });
    }
    let more = items.len() > limit;
    items.truncate(limit);
    let last_key = if more { items.last().map(|item| QueryPage::start_key_of(index, item)) } else { None };
    QueryPage { items, last_key }
}

fn index_name(index: Index) -> Option<String> {
    match index {
        Index::Table => None,
        Index::Gsi1 => Some(GSI1.to_string()),
        Index::Gsi2 => Some(GSI2.to_string()),
    }
}

fn index_sk(index: Index, item: &Item) -> Option<&String> {
    match index {
        Index::Table => Some(&item.sk),
        Index::Gsi1 => item.gsi1.as_ref().map(|g| &g.1),
        Index::Gsi2 => item.gsi2.as_ref().map(|g| &g.1),
    }
}

/// Whether `key` comes after `start` in the direction of the query.
fn follows(key: &Key, start: &Key, forward: bool) -> bool {
    match key.cmp(start) {
        Ordering::Greater => forward,
        Ordering::Less => !forward,
        Ordering::Equal => false,
    }
}
