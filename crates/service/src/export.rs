//! The export (`GET /api/me/export`): everything a user made, as one JSON document — the
//! profile, posts (with their images' links), comments, liked post ids, follows both ways,
//! notifications and uploads. Never a secret: the password hash lives in the username
//! claim and sessions in their own items, and neither is read here.
//!
//! The document is written section by section while the store is walked a page at a time
//! (`walk`), so only the output and one page are in memory, never the account's items.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ServiceError, ServiceResult};
use crate::model::{Caller, StoredComment};
use crate::walk::Source;
use crate::{ids, keys, time, Service};

/// The format's name and version, the document's first field.
const FORMAT: &str = "roost-export/1";

/// A JSON document written a piece at a time.
struct Writer {
    out: Vec<u8>,
    /// Whether the array being written has an element yet.
    started: bool,
}

impl Writer {
    fn field<T: Serialize>(&mut self, name: &str, value: &T) -> ServiceResult<()> {
        self.out.push(if self.out.is_empty() { b'{' } else { b',' });
        serde_json::to_writer(&mut self.out, name)?;
        self.out.push(b':');
        serde_json::to_writer(&mut self.out, value)?;
        Ok(())
    }
    fn open_array(&mut self, name: &str) -> ServiceResult<()> {
        self.out.push(b',');
        serde_json::to_writer(&mut self.out, name)?;
        self.out.extend_from_slice(b":[");
        self.started = false;
        Ok(())
    }
    fn element<T: Serialize>(&mut self, value: &T) -> ServiceResult<()> {
        if self.started {
            self.out.push(b',');
        }
        self.started = true;
        serde_json::to_writer(&mut self.out, value)?;
        Ok(())
    }
    fn close_array(&mut self) {
        self.out.push(b']');
    }
}

/// An item's attributes, with its id (a sort key) added under `id`.
fn attrs_with_id(attrs: Map<String, Value>, id: &str) -> Map<String, Value> {
    let mut attrs = attrs;
    attrs.insert("id".into(), id.into());
    attrs
}

impl Service {
    /// The caller's archive, as JSON bytes.
    pub async fn export(&self, caller: &Caller) -> ServiceResult<Vec<u8>> {
        let uid = caller.user_id.as_str();
        let profile = self.profile(uid).await?.ok_or(ServiceError::Unauthorized)?;
        let mut w = Writer { out: Vec::new(), started: false };
        w.field("format", &FORMAT)?;
        w.field("exported_at", &time::now_rfc3339())?;
        w.field("profile", &profile)?;

        // Section by section; each `each_page` closure writes one page's elements.
        let writer = std::sync::Mutex::new(w);
        let write_all = |values: Vec<Value>| -> ServiceResult<()> {
            let mut w = writer.lock().expect("export writer");
            values.iter().try_for_each(|v| w.element(v))
        };
        let section = |name: &str| writer.lock().expect("export writer").open_array(name);
        let close = || writer.lock().expect("export writer").close_array();

        section("posts")?;
        self.each_page(Source::gsi1(keys::author_gsi(uid)), |_, items| {
            let done = write_all(items.into_iter().map(|i| Value::Object(i.attrs)).collect());
            async { done }
        })
        .await?;
        close();

        section("comments")?;
        self.each_page(Source::gsi1(keys::commenter_gsi(uid)), |s, lookups| {
            let write_all = &write_all;
            async move {
                let keys = lookups
                    .iter()
                    .map(|l| {
                        keys::comment_in_thread(
                            l.str("post_id").unwrap_or_default(),
                            l.str("path").unwrap_or_default(),
                        )
                    })
                    .collect();
                let mut comments = s
                    .store
                    .batch_get(keys)
                    .await?
                    .iter()
                    .map(|i| i.attrs_as::<StoredComment>())
                    .collect::<Result<Vec<_>, _>>()?;
                comments.sort_by(|a, b| a.id.cmp(&b.id));
                write_all(comments.iter().map(serde_json::to_value).collect::<Result<_, _>>()?)
            }
        })
        .await?;
        close();

        section("likes")?;
        self.each_page(Source::gsi1(keys::liker_gsi(uid)), |_, likes| {
            let done = write_all(
                likes.iter().map(|l| Value::from(l.pk.trim_start_matches("POST#").to_string())).collect(),
            );
            async { done }
        })
        .await?;
        close();

        for (name, prefix) in [("following", "FOLLOWING#"), ("followers", "FOLLOWER#")] {
            section(name)?;
            self.each_page(Source::prefix(keys::user_pk(uid), prefix), |s, edges| {
                let write_all = &write_all;
                async move {
                    let others: Vec<String> =
                        edges.iter().filter_map(|e| e.str("uid").map(str::to_string)).collect();
                    let profiles = s.profiles(&others).await?;
                    write_all(
                        others
                            .iter()
                            .map(|o| {
                                let username = profiles.get(o).map(|p| p.username.clone());
                                serde_json::json!({"user_id": o, "username": username})
                            })
                            .collect(),
                    )
                }
            })
            .await?;
            close();
        }

        section("notifications")?;
        self.each_page(Source::partition(keys::notifications_pk(uid)), |_, items| {
            let done = write_all(
                items
                    .into_iter()
                    .map(|i| {
                        let created = time::rfc3339_of_millis(ids::millis_of(&i.sk).unwrap_or_default());
                        let mut attrs = attrs_with_id(i.attrs, &i.sk);
                        attrs.insert("created_at".into(), created.into());
                        Value::Object(attrs)
                    })
                    .collect(),
            );
            async { done }
        })
        .await?;
        close();

        section("media")?;
        self.each_page(Source::gsi1(keys::owner_gsi(uid)), |_, items| {
            let done = write_all(items.into_iter().map(|i| Value::Object(i.attrs)).collect());
            async { done }
        })
        .await?;
        close();

        let mut w = writer.into_inner().expect("export writer");
        w.out.push(b'}');
        Ok(w.out)
    }
}
