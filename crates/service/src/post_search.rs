//! Post search: an inverted index in the store, shared by every instance and written in
//! the same transaction as the post, so a post is searchable as soon as it is created and
//! leaves the index in the transaction that deletes it.
//!
//! A posting (`keys::posting`: `WORD#term / pid`) says a post contains a term; sort keys are
//! post ids, so a term's postings walk newest first. A term dictionary (`keys::term_entry`,
//! partitioned by first character like user search) expands the last word of a query as a
//! prefix. A query walks the postings of its longest whole word (or, for a lone prefix, the
//! merged postings of the prefix's expansions) backward from the cursor, and checks each
//! candidate's text against the whole query: the check needs the post anyway (to show it),
//! and posts come from the cache. The walk examines a bounded number of candidates per page;
//! a page cut short by that bound still carries a cursor.

use roost_engines::{Cond, Index, Item, KeyCondition, Page, SkCond, TxOp, WriteOp};

use crate::cursor::PageRequest;
use crate::error::ServiceResult;
use crate::model::{Caller, Paged, Post, StoredPost};
use crate::text_index::{terms, TextQuery};
use crate::{keys, Service};

/// Postings read per term per round.
const BATCH: usize = 100;
/// Candidates examined per page at most.
const SCAN_BUDGET: usize = 1000;
/// Dictionary terms a prefix expands to at most (the alphabetically first ones).
const MAX_EXPANSIONS: usize = 32;

/// The index writes of a new post, for its create transaction.
pub(crate) fn posting_puts(pid: &str, text: &str) -> Vec<TxOp> {
    terms(text)
        .iter()
        .map(|t| {
            let key = keys::posting(t, pid);
            TxOp::Put { item: Item::new(key.pk, key.sk), cond: Cond::None }
        })
        .collect()
}

/// The index deletes of a deleted post, for its delete transaction.
pub(crate) fn posting_deletes(pid: &str, text: &str) -> Vec<TxOp> {
    terms(text).iter().map(|t| TxOp::Delete { key: keys::posting(t, pid), cond: Cond::None }).collect()
}

impl Service {
    /// Adds a new post's terms to the dictionary. Best effort, after the post is written
    /// (failing the request then would invite a duplicate post): a term missing from the
    /// dictionary is still found as a whole word, and as a prefix once another post has it.
    pub(crate) async fn note_terms(&self, text: &str) {
        let puts = terms(text)
            .iter()
            .map(|t| {
                let key = keys::term_entry(t);
                WriteOp::Put(Item::new(key.pk, key.sk))
            })
            .collect();
        if let Err(err) = self.store.batch_write(puts).await {
            tracing::warn!(%err, "search dictionary not updated");
        }
    }

    /// `GET /api/search/posts`: posts matching every word of `q` (the last as a prefix),
    /// newest first.
    pub async fn search_posts(
        &self,
        caller: Option<&Caller>,
        q: Option<&str>,
        page: &PageRequest,
    ) -> ServiceResult<Paged<Post>> {
        let query = TextQuery::parse(q)?;
        let limit = page.limit()?;
        let mut upper: Option<String> = page.cursor.as_deref().map(|c| self.cursors.decode(c)).transpose()?;
        let driving: Vec<String> = match query.driving_word() {
            Some(word) => vec![word.to_string()],
            None => self.expand_prefix(&query.prefix).await?,
        };
        let hidden = self.hidden_from(caller).await?;
        let mut found: Vec<StoredPost> = Vec::new();
        let mut examined = 0;
        let mut more = !driving.is_empty();
        while more && found.len() <= limit && examined < SCAN_BUDGET {
            let (pids, rest) = self.postings_before(&driving, upper.as_deref()).await?;
            more = rest;
            let mut posts = self.load_posts(&pids).await?;
            for pid in pids {
                examined += 1;
                upper = Some(pid.clone());
                // Absent: deleted after the candidate was read.
                if let Some(post) = posts.remove(&pid) {
                    if !hidden.blocks(&post.author_id) && query.matches(&terms(&post.text)) {
                        found.push(post);
                        if found.len() > limit {
                            break;
                        }
                    }
                }
            }
        }
        let next_cursor = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|p| self.cursors.encode(&p.id))
        } else if more {
            upper.as_ref().map(|position| self.cursors.encode(position))
        } else {
            None
        };
        Ok(Paged { items: self.present_posts(caller, found).await?, next_cursor })
    }

    /// The dictionary terms that start with `prefix`.
    async fn expand_prefix(&self, prefix: &str) -> ServiceResult<Vec<String>> {
        let cond = KeyCondition::begins_with(keys::term_entry(prefix).pk, prefix);
        let page = self.store.query(Index::Table, cond, Page::forward(MAX_EXPANSIONS)).await?;
        Ok(page.items.into_iter().map(|i| i.sk).collect())
    }

    /// The newest [`BATCH`] post ids below `upper` that have any of `terms`, newest first,
    /// and whether more remain.
    async fn postings_before(
        &self,
        terms: &[String],
        upper: Option<&str>,
    ) -> ServiceResult<(Vec<String>, bool)> {
        let queries = terms.iter().map(|t| {
            let cond = KeyCondition::pk(keys::posting_pk(t));
            let cond = match upper {
                Some(u) => cond.with_sk(SkCond::Lt(u.to_string())),
                None => cond,
            };
            self.store.query(Index::Table, cond, Page::backward(BATCH))
        });
        let pages = futures::future::try_join_all(queries).await?;
        let mut more = pages.iter().any(|p| p.last_key.is_some());
        let mut pids: Vec<String> = pages.into_iter().flat_map(|p| p.items).map(|i| i.sk).collect();
        pids.sort_unstable_by(|a, b| b.cmp(a));
        pids.dedup();
        // Each term gave its newest BATCH, so the newest BATCH of the union are exact.
        if pids.len() > BATCH {
            pids.truncate(BATCH);
            more = true;
        }
        Ok((pids, more))
    }
}
