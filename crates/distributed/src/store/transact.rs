//! `transact_write` on `TransactWriteItems`: validation, cancellation reasons, retries.
//!
//! DynamoDB reports why a transaction was cancelled per operation (`CancellationReasons`);
//! condition failures are final and go back to the caller index-aligned, while conflicts
//! with concurrent transactions and throttling only mean "not now" and are retried whole.

use std::collections::HashSet;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, ReturnConsumedCapacity, TransactWriteItem};
use roost_engines::store::MAX_TRANSACT_ITEMS;
use roost_engines::{CancelReason, Cond, EngineError, EngineResult, TxOp};

use super::attributes::{item_to_map, key_map};
use super::errors::{backoff, build_error, sdk_error, unavailable, CONFLICT_RETRIES};
use super::expressions::{Expr, Target};
use super::metrics::OpKind;
use super::{now, DynamoStore, PURGE_RETRIES};

/// `CancellationReasons` codes that mean "try again later" rather than "no".
const TRANSIENT_CODES: [&str; 4] =
    ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"];

impl DynamoStore {
    pub(crate) async fn transact(&self, ops: Vec<TxOp>) -> EngineResult<()> {
        if ops.is_empty() {
            return Ok(());
        }
        // DynamoDB enforces both limits too, but checking here costs no request and lets the
        // message name the offending item.
        if ops.len() > MAX_TRANSACT_ITEMS {
            return Err(EngineError::Invalid(format!(
                "{} operations in one transaction, at most {MAX_TRANSACT_ITEMS}",
                ops.len()
            )));
        }
        let mut seen = HashSet::with_capacity(ops.len());
        for op in &ops {
            let key = op.key();
            if !seen.insert(key.clone()) {
                return Err(EngineError::Invalid(format!("transaction touches {}/{} twice", key.pk, key.sk)));
            }
        }
        let (mut conflicts, mut purges) = (0, 0);
        loop {
            let now = now();
            let items = ops.iter().map(|op| self.tx_item(op, now)).collect::<EngineResult<Vec<_>>>()?;
            // The SDK fills in ClientRequestToken, so its own retries of this call are idempotent.
            let err = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
                .send()
                .await
            {
                Ok(out) => {
                    self.capacity.record_all(OpKind::TransactWrite, out.consumed_capacity.as_ref());
                    return Ok(());
                }
                Err(err) => err,
            };
            match classify_cancellation(&err) {
                None => return Err(sdk_error("TransactWriteItems", err)),
                Some(Cancellation::Conditions(reasons)) => {
                    // Updates that treat an expired item as absent fail on it (see
                    // `Target::Merge`): purge those items and run the transaction again. An
                    // unconditional update fails on nothing else, so it is worth a retry even
                    // when the expired item was replaced or deleted before our purge.
                    let mut purged = false;
                    if purges < PURGE_RETRIES {
                        purges += 1;
                        for (op, reason) in ops.iter().zip(&reasons) {
                            if let (
                                TxOp::Update { key, cond: cond @ (Cond::None | Cond::NotExists), .. },
                                Some(CancelReason::ConditionFailed),
                            ) = (op, reason)
                            {
                                purged |= self.purge_expired(key, now).await? || *cond == Cond::None;
                            }
                        }
                    }
                    if !purged {
                        return Err(EngineError::TransactionCanceled { reasons });
                    }
                }
                Some(Cancellation::Transient(message)) => {
                    if conflicts >= CONFLICT_RETRIES {
                        // A cancelled transaction applied nothing: safe to retry higher up.
                        return Err(EngineError::Throttled {
                            engine: super::ENGINE,
                            message: format!("{message} (gave up after {CONFLICT_RETRIES} retries)"),
                        });
                    }
                    backoff(conflicts).await;
                    conflicts += 1;
                }
                Some(Cancellation::Other(message)) => return Err(unavailable(message)),
            }
        }
    }

    fn tx_item(&self, op: &TxOp, now: i64) -> EngineResult<TransactWriteItem> {
        let mut expr = Expr::new();
        Ok(match op {
            TxOp::Put { item, cond } => {
                let condition = expr.condition(cond, now, Target::Whole);
                let (names, values) = expr.into_parts();
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item_to_map(item)?))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().put(put).build()
            }
            TxOp::Update { key, update, cond } => {
                let update_expression = expr.update(update)?;
                let condition = expr.condition(cond, now, Target::Merge);
                let (names, values) = expr.into_parts();
                let update = aws_sdk_dynamodb::types::Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .update_expression(update_expression)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().update(update).build()
            }
            TxOp::Delete { key, cond } => {
                let condition = expr.condition(cond, now, Target::Whole);
                let (names, values) = expr.into_parts();
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().delete(delete).build()
            }
            TxOp::Check { key, cond } => {
                let condition = expr.check_condition(cond, now);
                let (names, values) = expr.into_parts();
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
        })
    }
}

/// What a cancelled transaction tells us, by `CancellationReasons` code.
enum Cancellation {
    /// Some operation's condition failed: final, reported per operation.
    Conditions(Vec<Option<CancelReason>>),
    /// A conflict with another transaction or throttling: worth retrying as a whole.
    Transient(String),
    /// Anything else (validation, item size, ...): final.
    Other(String),
}

fn classify_cancellation(err: &SdkError<TransactWriteItemsError>) -> Option<Cancellation> {
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = err.as_service_error()? else {
        return None;
    };
    let codes: Vec<Option<&str>> = cancelled
        .cancellation_reasons
        .iter()
        .flatten()
        .map(|r| r.code.as_deref().filter(|c| *c != "None"))
        .collect();
    let message = format!("TransactWriteItems cancelled: {codes:?}");
    if codes.contains(&Some("ConditionalCheckFailed")) {
        let reasons = codes
            .iter()
            .map(|c| (*c == Some("ConditionalCheckFailed")).then_some(CancelReason::ConditionFailed))
            .collect();
        return Some(Cancellation::Conditions(reasons));
    }
    if codes.iter().flatten().any(|c| TRANSIENT_CODES.contains(c)) {
        return Some(Cancellation::Transient(message));
    }
    if codes.contains(&Some("ValidationError")) {
        return Some(Cancellation::Other(format!(
            "{message}: {}",
            cancelled.message.as_deref().unwrap_or("")
        )));
    }
    Some(Cancellation::Other(message))
}
