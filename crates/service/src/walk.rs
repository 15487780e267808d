//! Walking everything a query finds, a bounded page at a time: the export and the erasure
//! read whole accounts this way, so neither holds more than a page of items at once.

use roost_engines::{Index, Item, KeyCondition, Page, StartKey};

use crate::error::ServiceResult;
use crate::Service;

/// Items read per store query.
pub(crate) const PAGE: usize = 100;

/// Where a walk finds its items: a partition (or a prefix of it), or a gsi1 partition.
pub(crate) struct Source {
    index: Index,
    cond: KeyCondition,
}

impl Source {
    pub(crate) fn gsi1(pk: String) -> Source {
        Source { index: Index::Gsi1, cond: KeyCondition::pk(pk) }
    }
    pub(crate) fn partition(pk: String) -> Source {
        Source { index: Index::Table, cond: KeyCondition::pk(pk) }
    }
    pub(crate) fn prefix(pk: String, prefix: &str) -> Source {
        Source { index: Index::Table, cond: KeyCondition::begins_with(pk, prefix) }
    }
}

impl Service {
    /// Calls `each` with every page of items `source` finds, in key order. Pages follow the
    /// store's start key, so deleting what a page found does not disturb the walk.
    pub(crate) async fn each_page<F, Fut>(&self, source: Source, mut each: F) -> ServiceResult<()>
    where
        F: FnMut(Service, Vec<Item>) -> Fut,
        Fut: std::future::Future<Output = ServiceResult<()>>,
    {
        let mut start: Option<StartKey> = None;
        loop {
            let page = Page::forward(PAGE).after(start);
            let result = self.store.query(source.index, source.cond.clone(), page).await?;
            if !result.items.is_empty() {
                each(self.clone(), result.items).await?;
            }
            match result.last_key {
                Some(key) => start = Some(key),
                None => return Ok(()),
            }
        }
    }
}
