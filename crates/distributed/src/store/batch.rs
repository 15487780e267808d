//! `batch_get` and `batch_write`: any number of keys or writes, in DynamoDB-sized chunks.
//!
//! DynamoDB takes at most 100 keys per `BatchGetItem` and 25 writes per `BatchWriteItem`,
//! refuses a key named twice in one request, and may leave part of a request unprocessed
//! (throttling, size limits) while answering with success. Chunks run a few at a time and
//! each retries its unprocessed remainder with backoff.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{
    DeleteRequest, KeysAndAttributes, PutRequest, ReturnConsumedCapacity, WriteRequest,
};
use futures::{StreamExt, TryStreamExt};
use roost_engines::{EngineResult, Item, Key, WriteOp};

use super::attributes::{item_from_map, item_to_map, key_map, AttrMap};
use super::errors::{backoff, build_error, sdk_error, unavailable};
use super::metrics::OpKind;
use super::{now, DynamoStore};

/// DynamoDB's limits on one `BatchGetItem` / `BatchWriteItem`.
const BATCH_GET_MAX: usize = 100;
const BATCH_WRITE_MAX: usize = 25;
/// Chunks in flight at once: enough to hide latency, few enough not to throttle ourselves on
/// a cold on-demand table.
const BATCH_CONCURRENCY: usize = 4;
/// Rounds of retrying unprocessed keys or writes before giving up.
const UNPROCESSED_RETRIES: u32 = 8;

impl DynamoStore {
    pub(crate) async fn batch_get_items(&self, keys: Vec<Key>) -> EngineResult<Vec<Item>> {
        let now = now();
        // DynamoDB refuses a request naming one key twice; the answer is a set anyway.
        let mut seen = HashSet::with_capacity(keys.len());
        let keys: Vec<Key> = keys.into_iter().filter(|k| seen.insert(k.clone())).collect();
        let chunks: Vec<Vec<Key>> = keys.chunks(BATCH_GET_MAX).map(<[Key]>::to_vec).collect();
        let found: Vec<Vec<Item>> = futures::stream::iter(chunks)
            .map(|chunk| self.batch_get_chunk(chunk, now))
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    pub(crate) async fn batch_write_ops(&self, ops: Vec<WriteOp>) -> EngineResult<()> {
        // DynamoDB refuses two requests on one key in a batch, and gives no order within
        // one: keep only the last operation per key, which is what applying them in order
        // would leave. That also makes the chunks independent, so they may run concurrently.
        let keys: Vec<Key> = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put(item) => item.key(),
                WriteOp::Delete(key) => key.clone(),
            })
            .collect();
        let last: HashMap<&Key, usize> = keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
        let mut requests = Vec::with_capacity(last.len());
        for (i, op) in ops.iter().enumerate() {
            if last.get(&keys[i]) != Some(&i) {
                continue;
            }
            requests.push(match op {
                WriteOp::Put(item) => WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item_to_map(item)?))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
                WriteOp::Delete(key) => WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder().set_key(Some(key_map(key))).build().map_err(build_error)?,
                    )
                    .build(),
            });
        }
        let chunks: Vec<Vec<WriteRequest>> =
            requests.chunks(BATCH_WRITE_MAX).map(<[WriteRequest]>::to_vec).collect();
        futures::stream::iter(chunks)
            .map(|chunk| self.batch_write_chunk(chunk))
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// One `BatchGetItem` chunk, retrying its unprocessed keys.
    async fn batch_get_chunk(&self, keys: Vec<Key>, now: i64) -> EngineResult<Vec<Item>> {
        let mut pending: Vec<AttrMap> = keys.iter().map(key_map).collect();
        let mut found = Vec::with_capacity(keys.len());
        for attempt in 0.. {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
                .send()
                .await
                .map_err(|e| sdk_error("BatchGetItem", e))?;
            self.capacity.record_all(OpKind::BatchGet, out.consumed_capacity.as_ref());
            for raw in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                let item = item_from_map(raw)?;
                if !item.is_expired(now) {
                    found.push(item);
                }
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(found);
            }
            if attempt >= UNPROCESSED_RETRIES {
                break;
            }
            backoff(attempt).await;
        }
        Err(unavailable(format!("BatchGetItem: {} keys still unprocessed after retries", pending.len())))
    }

    /// One `BatchWriteItem` chunk, retrying its unprocessed requests.
    async fn batch_write_chunk(&self, mut pending: Vec<WriteRequest>) -> EngineResult<()> {
        for attempt in 0.. {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending)
                .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
                .send()
                .await
                .map_err(|e| sdk_error("BatchWriteItem", e))?;
            self.capacity.record_all(OpKind::BatchWrite, out.consumed_capacity.as_ref());
            pending = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
            if pending.is_empty() {
                return Ok(());
            }
            if attempt >= UNPROCESSED_RETRIES {
                break;
            }
            backoff(attempt).await;
        }
        Err(unavailable(format!("BatchWriteItem: {} writes still unprocessed after retries", pending.len())))
    }
}
