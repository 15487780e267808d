//! Condition, update and key-condition expressions, with their placeholder maps.
//!
//! Every attribute name goes through a `#n` placeholder (many of ours, like `ttl`, are
//! DynamoDB reserved words) and every value through a `:v` placeholder. DynamoDB refuses
//! placeholders that an expression does not use, so a placeholder is only minted when the
//! expression text that uses it is written.
//!
//! Expired items must behave as absent for writes too, not just for reads: DynamoDB deletes
//! them lazily, and an expired session must neither satisfy `Exists` nor block `NotExists`.
//! Conditions therefore carry a liveness test on `ttl` against the caller's clock.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use roost_engines::{Cond, EngineError, EngineResult, Index, KeyCondition, SkCond, Update};
use serde_json::Value;

use super::attributes::{check_attr_name, to_attr, AttrMap, GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK, TTL};

/// An attribute removed by an otherwise empty update: `UpdateExpression` may not be empty in
/// a transaction, and a `REMOVE` of an attribute nobody has is a no-op that still upserts.
const NOOP_ATTR: &str = "__roost_noop__";

/// How a condition treats an item that is present but expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// The write replaces or removes the whole item (put, delete, condition check), so an
    /// expired item may simply be treated as missing.
    Whole,
    /// The write merges into the stored item (update): an expired item's stale attributes
    /// must not leak into the result, so the condition fails on it and the caller purges the
    /// item and retries (see `DynamoStore::purge_expired`).
    Merge,
}

#[derive(Default)]
pub(crate) struct Expr {
    names: HashMap<String, String>,
    values: AttrMap,
}

impl Expr {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The placeholder of an attribute name (one per name, reused).
    pub(crate) fn name(&mut self, attr: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, a)| a.as_str() == attr) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attr.to_string());
        placeholder
    }

    pub(crate) fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn string(&mut self, s: &str) -> String {
        self.value(AttributeValue::S(s.to_string()))
    }

    /// `(attribute_not_exists(ttl) OR ttl > :now)`: the item has not expired.
    fn live(&mut self, now: i64) -> String {
        let ttl = self.name(TTL);
        let now = self.value(AttributeValue::N(now.to_string()));
        format!("(attribute_not_exists({ttl}) OR {ttl} > {now})")
    }

    /// The `ConditionExpression` for `cond`, or `None` when the write is unconditional.
    pub(crate) fn condition(&mut self, cond: &Cond, now: i64, target: Target) -> Option<String> {
        match (cond, target) {
            (Cond::None, Target::Whole) => None,
            (Cond::None, Target::Merge) => Some(self.live(now)),
            (Cond::Exists, _) => {
                let pk = self.name(PK);
                let live = self.live(now);
                Some(format!("attribute_exists({pk}) AND {live}"))
            }
            (Cond::NotExists, Target::Whole) => {
                let pk = self.name(PK);
                let ttl = self.name(TTL);
                let now = self.value(AttributeValue::N(now.to_string()));
                Some(format!("(attribute_not_exists({pk}) OR {ttl} <= {now})"))
            }
            (Cond::NotExists, Target::Merge) => {
                let pk = self.name(PK);
                Some(format!("attribute_not_exists({pk})"))
            }
            (Cond::Equals(attr, value), _) => {
                let a = self.name(attr);
                let v = self.value(to_attr(value));
                let live = self.live(now);
                Some(format!("{a} = {v} AND {live}"))
            }
        }
    }

    /// A `ConditionCheck` needs some expression; for `Cond::None` one that always holds.
    pub(crate) fn check_condition(&mut self, cond: &Cond, now: i64) -> String {
        self.condition(cond, now, Target::Whole).unwrap_or_else(|| {
            let pk = self.name(PK);
            format!("(attribute_exists({pk}) OR attribute_not_exists({pk}))")
        })
    }

    /// The `UpdateExpression` that has the effect of `Update::apply`: `SET`s first, then
    /// `ADD`s, then `REMOVE`s. DynamoDB refuses two clauses on one attribute, so clauses on the
    /// same name are folded here into the one that `apply` would leave standing.
    pub(crate) fn update(&mut self, update: &Update) -> EngineResult<String> {
        for name in update.set.iter().map(|(n, _)| n).chain(update.add.iter().map(|(n, _)| n)) {
            check_attr_name(name)?;
        }
        for name in &update.remove {
            check_attr_name(name)?;
        }
        let removed = |name: &str| update.remove.iter().any(|r| r == name);
        let mut deltas: Vec<(&str, i64)> = Vec::new();
        for (name, delta) in &update.add {
            match deltas.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total = total.saturating_add(*delta),
                None => deltas.push((name, *delta)),
            }
        }
        let mut sets: Vec<(&str, Value)> = Vec::new();
        for (name, value) in &update.set {
            match sets.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => *v = value.clone(),
                None => sets.push((name, value.clone())),
            }
        }
        for (name, value) in sets.iter_mut() {
            if let Some(pos) = deltas.iter().position(|(n, _)| n == name) {
                let (_, delta) = deltas.remove(pos);
                let base = match &*value {
                    Value::Null => 0,
                    v => v.as_i64().ok_or_else(|| {
                        EngineError::Invalid(format!("ADD to non-numeric attribute {name}"))
                    })?,
                };
                *value = Value::from(base.saturating_add(delta));
            }
        }

        // DynamoDB evaluates every clause against the old item, so their order carries no
        // meaning (and the folding above leaves no two clauses on one path). ADD comes first
        // because it is the only clause that can fail on the stored data, and emulators that
        // apply clauses one by one (moto) then fail before writing anything.
        let mut clauses = Vec::new();
        let add: Vec<String> = deltas
            .iter()
            .filter(|(name, _)| !removed(name))
            .map(|(name, delta)| {
                format!("{} {}", self.name(name), self.value(AttributeValue::N(delta.to_string())))
            })
            .collect();
        if !add.is_empty() {
            clauses.push(format!("ADD {}", add.join(", ")));
        }
        let set: Vec<String> = sets
            .iter()
            .filter(|(name, _)| !removed(name))
            .map(|(name, value)| format!("{} = {}", self.name(name), self.value(to_attr(value))))
            .collect();
        if !set.is_empty() {
            clauses.push(format!("SET {}", set.join(", ")));
        }
        let mut remove: Vec<String> = Vec::new();
        for name in &update.remove {
            let placeholder = self.name(name);
            if !remove.contains(&placeholder) {
                remove.push(placeholder);
            }
        }
        if clauses.is_empty() && remove.is_empty() {
            remove.push(self.name(NOOP_ATTR));
        }
        if !remove.is_empty() {
            clauses.push(format!("REMOVE {}", remove.join(", ")));
        }
        Ok(clauses.join(" "))
    }

    /// The `KeyConditionExpression` of a query on `index`.
    pub(crate) fn key_condition(&mut self, index: Index, kc: &KeyCondition) -> String {
        let (pk_attr, sk_attr) = index_key_attrs(index);
        let pk = self.name(pk_attr);
        let pk_value = self.string(&kc.pk);
        let partition = format!("{pk} = {pk_value}");
        if kc.sk == SkCond::All {
            return partition;
        }
        let sk = self.name(sk_attr);
        let range = match &kc.sk {
            SkCond::All => return partition,
            SkCond::Eq(v) => format!("{sk} = {}", self.string(v)),
            SkCond::BeginsWith(v) => format!("begins_with({sk}, {})", self.string(v)),
            SkCond::Between(lo, hi) => format!("{sk} BETWEEN {} AND {}", self.string(lo), self.string(hi)),
            SkCond::Lt(v) => format!("{sk} < {}", self.string(v)),
            SkCond::Le(v) => format!("{sk} <= {}", self.string(v)),
            SkCond::Gt(v) => format!("{sk} > {}", self.string(v)),
            SkCond::Ge(v) => format!("{sk} >= {}", self.string(v)),
        };
        format!("{partition} AND {range}")
    }

    /// The placeholder maps, `None` when empty (DynamoDB refuses empty maps).
    pub(crate) fn into_parts(self) -> (Option<HashMap<String, String>>, Option<AttrMap>) {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        (names, values)
    }
}

/// Whether an index sort key satisfies `cond` (strings compare bytewise, as in DynamoDB).
pub(crate) fn sk_matches(cond: &SkCond, sk: &str) -> bool {
    match cond {
        SkCond::All => true,
        SkCond::Eq(v) => sk == v,
        SkCond::BeginsWith(prefix) => sk.starts_with(prefix.as_str()),
        SkCond::Between(lo, hi) => lo.as_str() <= sk && sk <= hi.as_str(),
        SkCond::Lt(v) => sk < v.as_str(),
        SkCond::Le(v) => sk <= v.as_str(),
        SkCond::Gt(v) => sk > v.as_str(),
        SkCond::Ge(v) => sk >= v.as_str(),
    }
}

/// The (partition, sort) key attributes of `index`.
pub(crate) fn index_key_attrs(index: Index) -> (&'static str, &'static str) {
    match index {
        Index::Table => (PK, SK),
        Index::Gsi1 => (GSI1PK, GSI1SK),
        Index::Gsi2 => (GSI2PK, GSI2SK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_folds_clauses_on_one_attribute() {
        let mut e = Expr::new();
        let update = Update::new().set("a", 1).add("a", 2).add("b", 1).add("b", 1).set("c", "x").remove("c");
        let text = e.update(&update).unwrap();
        assert_eq!(text, "ADD #n0 :v0 SET #n1 = :v1 REMOVE #n2");
        let (names, values) = e.into_parts();
        let names = names.unwrap();
        assert_eq!(names["#n0"], "b");
        assert_eq!(names["#n1"], "a");
        assert_eq!(names["#n2"], "c");
        let values = values.unwrap();
        assert_eq!(values[":v0"], AttributeValue::N("2".into()));
        assert_eq!(values[":v1"], AttributeValue::N("3".into()));
    }

    #[test]
    fn empty_update_is_a_noop_remove() {
        let mut e = Expr::new();
        assert_eq!(e.update(&Update::new()).unwrap(), "REMOVE #n0");
    }

    #[test]
    fn add_to_a_string_set_in_the_same_update_is_invalid() {
        let mut e = Expr::new();
        let update = Update::new().set("a", "x").add("a", 1);
        assert!(matches!(e.update(&update), Err(EngineError::Invalid(_))));
    }

    #[test]
    fn update_refuses_reserved_names() {
        let mut e = Expr::new();
        assert!(matches!(e.update(&Update::new().set("ttl", 1)), Err(EngineError::Invalid(_))));
    }

    #[test]
    fn sk_conditions_compare_bytewise() {
        assert!(sk_matches(&SkCond::Lt("a".into()), "Z"));
        assert!(sk_matches(&SkCond::Gt("z".into()), "é"));
        assert!(sk_matches(&SkCond::Between("b".into(), "c".into()), "c"));
        assert!(!sk_matches(&SkCond::BeginsWith("b#".into()), "b"));
    }

    #[test]
    fn unconditional_whole_writes_have_no_condition() {
        let mut e = Expr::new();
        assert_eq!(e.condition(&Cond::None, 5, Target::Whole), None);
        assert_eq!(e.into_parts(), (None, None));
    }
}
