//! Moderation: users report posts, comments and users; moderators list the open reports
//! (oldest first: a queue worked from its head) and resolve each once, dismissing it,
//! removing the content or suspending its author. Also the account switches behind them and
//! `roost admin`: the moderator role and suspension.
//!
//! A suspension ends every session of the user at once on every instance: the profile gets
//! `suspended` and a session floor (a fresh id; sessions are ids ordered by time, so every
//! existing one is below it), and the floor is mirrored into the shared cache, which the
//! session check reads in the same round trip as the session itself (`accounts`). Sign-in
//! reads the profile from the store and refuses a suspended user (403 `suspended`).

use roost_engines::{Cond, EngineError, Index, Item, Key, KeyCondition, Page, StartKey, TxOp, Update};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::normalize_username;
use crate::config::ttl;
use crate::cursor::PageRequest;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{
    Caller, ModerationAction, Paged, Profile, Report, ReportTarget, ReportTargetType, StoredComment,
    StoredReport,
};
use crate::{ids, keys, time, Service};

/// The longest reason a report may give, in characters.
pub const MAX_REASON: usize = 500;

/// `POST /api/reports`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewReport {
    /// What is reported.
    pub target_type: ReportTargetType,
    /// The post's or comment's id; a user's id or username.
    pub target_id: String,
    /// Why (1 to 500 characters).
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/admin/reports/{id}/resolve`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct Resolution {
    /// What to do about the report.
    pub action: ModerationAction,
}

/// The store item of a report; an open one is in the open-reports index.
fn report_item(report: &StoredReport) -> Item {
    let key = keys::report(&report.id);
    let item = Item::new(key.pk, key.sk).with_attrs(report);
    if report.action.is_none() {
        item.with_gsi1(keys::OPEN_REPORTS_GSI, report.id.as_str()).with("status", "open")
    } else {
        item.with("status", "resolved")
    }
}

/// The write of the report the screening list files on content it holds.
pub(crate) fn automatic_report(
    target_type: ReportTargetType,
    target_id: &str,
    author_id: &str,
    word: &str,
) -> TxOp {
    let report = StoredReport {
        id: ids::new_id(),
        target_type,
        target_id: target_id.to_string(),
        target_author_id: author_id.to_string(),
        reason: format!("held by the screening list (\"{word}\")"),
        reporter_id: None,
        created_at: time::now_rfc3339(),
        action: None,
        resolved_by: None,
        resolved_at: None,
    };
    TxOp::Put { item: report_item(&report), cond: Cond::NotExists }
}

fn already_resolved() -> ServiceError {
    ServiceError::Conflict { code: "already_resolved", message: "this report is already resolved".into() }
}

impl Service {
    /// Whether the caller is a moderator (from the cached profile, which sign-in refreshes).
    pub(crate) async fn is_moderator(&self, caller: &Caller) -> ServiceResult<bool> {
        Ok(self.profile(&caller.user_id).await?.is_some_and(|p| p.is_moderator()))
    }

    pub(crate) async fn ensure_moderator(&self, caller: &Caller) -> ServiceResult<()> {
        if self.is_moderator(caller).await? {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("only moderators may do this".into()))
        }
    }

    /// Files a report. The target must exist (and be visible to the reporter).
    pub async fn report(&self, caller: &Caller, new: NewReport) -> ServiceResult<Report> {
        let reason = new.reason.trim().to_string();
        if !(1..=MAX_REASON).contains(&reason.chars().count()) {
            return Err(ServiceError::validation(
                "reason",
                format!("reason must be 1 to {MAX_REASON} characters"),
            ));
        }
        let (target_id, author_id) = self.report_target(caller, new.target_type, &new.target_id).await?;
        let report = StoredReport {
            id: ids::new_id(),
            target_type: new.target_type,
            target_id,
            target_author_id: author_id,
            reason,
            reporter_id: Some(caller.user_id.clone()),
            created_at: time::now_rfc3339(),
            action: None,
            resolved_by: None,
            resolved_at: None,
        };
        self.store.put(report_item(&report), Cond::NotExists).await?;
        Ok(self.present_reports(vec![report]).await?.remove(0))
    }

    /// The target's id and its author (the user, for a user), or 404.
    async fn report_target(
        &self,
        caller: &Caller,
        target_type: ReportTargetType,
        id: &str,
    ) -> ServiceResult<(String, String)> {
        let found = match target_type {
            // Neither an id nor a possible username: no lookup (keys stay bounded).
            ReportTargetType::User if !ids::looks_like_id(id) && normalize_username(id).is_err() => {
                return Err(ServiceError::NotFound("user"))
            }
            ReportTargetType::User => {
                let profile = self.resolve_user(id).await?;
                return Ok((profile.id.clone(), profile.id));
            }
            _ if !ids::looks_like_id(id) => None,
            ReportTargetType::Post => match self.load_post(id).await? {
                Some(post) => Some(post.author_id),
                None => self.held_post_for(Some(caller), id).await?.map(|p| p.author_id),
            },
            ReportTargetType::Comment => match self.comment_ref(id).await? {
                Some(found) => Some(found.author_id),
                None => self.held_comment_for(caller, id).await?.map(|c| c.author_id),
            },
        };
        let what = if target_type == ReportTargetType::Post { "post" } else { "comment" };
        found.map(|author| (id.to_string(), author)).ok_or(ServiceError::NotFound(what))
    }

    /// The open reports, oldest first (moderators only).
    pub async fn open_reports(&self, caller: &Caller, page: &PageRequest) -> ServiceResult<Paged<Report>> {
        self.ensure_moderator(caller).await?;
        let start = self.cursors.decode_start(page.cursor.as_deref())?;
        // A cursor of another list would start the query at a key of another kind.
        let of_a_report = |s: &StartKey| {
            s.isk.as_deref().is_some_and(|rid| keys::report(rid) == Key::new(s.pk.clone(), s.sk.clone()))
        };
        if start.as_ref().is_some_and(|s| !of_a_report(s)) {
            return Err(ServiceError::BadRequest("invalid cursor".into()));
        }
        let cond = KeyCondition::pk(keys::OPEN_REPORTS_GSI);
        let result = self.store.query(Index::Gsi1, cond, Page::forward(page.limit()?).after(start)).await?;
        let reports = result.items.iter().map(|i| i.attrs_as()).collect::<Result<Vec<StoredReport>, _>>()?;
        Ok(Paged {
            items: self.present_reports(reports).await?,
            next_cursor: result.last_key.as_ref().map(|position| self.cursors.encode(position)),
        })
    }

    /// Resolves an open report (moderators only); a resolved one is 409 `already_resolved`.
    /// The action runs before the report is closed, so a failure leaves it open to retry;
    /// every action is idempotent, so two moderators racing do no harm.
    pub async fn resolve_report(
        &self,
        caller: &Caller,
        rid: &str,
        action: ModerationAction,
    ) -> ServiceResult<Report> {
        self.ensure_moderator(caller).await?;
        let item = match ids::looks_like_id(rid) {
            true => self.store.get(&keys::report(rid)).await?,
            false => None,
        };
        let report: StoredReport = item.ok_or(ServiceError::NotFound("report"))?.attrs_as()?;
        if report.action.is_some() {
            return Err(already_resolved());
        }
        self.apply_moderation(caller, &report, action).await?;
        let resolved = StoredReport {
            action: Some(action),
            resolved_by: Some(caller.user_id.clone()),
            resolved_at: Some(time::now_rfc3339()),
            ..report
        };
        // Rewritten without its index keys: it leaves the open reports.
        match self.store.put(report_item(&resolved), Cond::Equals("status".into(), "open".into())).await {
            Ok(()) => {}
            Err(EngineError::ConditionFailed) => return Err(already_resolved()),
            Err(err) => return Err(err.into()),
        }
        Ok(self.present_reports(vec![resolved]).await?.remove(0))
    }

    async fn apply_moderation(
        &self,
        caller: &Caller,
        report: &StoredReport,
        action: ModerationAction,
    ) -> ServiceResult<()> {
        let id = report.target_id.as_str();
        let removed = match (report.target_type, action) {
            (ReportTargetType::User, ModerationAction::Dismiss) => Ok(()),
            // A user has no content to remove: both mean suspension.
            (ReportTargetType::User, _) => return self.set_suspended(id, true).await.map(drop),
            // Held content is published; published content stays.
            (ReportTargetType::Post, ModerationAction::Dismiss) => return self.publish_held_post(id).await,
            (ReportTargetType::Comment, ModerationAction::Dismiss) => {
                return self.publish_held_comment(id).await
            }
            (target_type, ModerationAction::Suspend) => {
                self.set_suspended(&report.target_author_id, true).await?;
                // Held content of a suspended author is never published.
                return self.discard_held(target_type, id).await;
            }
            (ReportTargetType::Post, ModerationAction::Remove) => {
                self.discard_held(ReportTargetType::Post, id).await?;
                self.delete_post(caller, id).await
            }
            (ReportTargetType::Comment, ModerationAction::Remove) => {
                self.discard_held(ReportTargetType::Comment, id).await?;
                self.delete_comment(caller, id).await
            }
        };
        match removed {
            // Gone already: the outcome wanted.
            Ok(()) | Err(ServiceError::NotFound(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Reports as the API shows them: reporter and target summarised, a few reads each.
    async fn present_reports(&self, reports: Vec<StoredReport>) -> ServiceResult<Vec<Report>> {
        let targets = futures::future::try_join_all(reports.iter().map(|r| self.target_content(r))).await?;
        let uids: Vec<String> =
            reports.iter().flat_map(|r| r.reporter_id.iter().chain([&r.target_author_id])).cloned().collect();
        let profiles = self.profiles(&uids).await?;
        Ok(reports
            .into_iter()
            .zip(targets)
            .map(|(r, content)| {
                let author = profiles.get(&r.target_author_id);
                let target = content.zip(author).map(|((text, held), author)| ReportTarget {
                    user: author.into(),
                    text,
                    held,
                    suspended: author.suspended,
                });
                Report {
                    reporter: r.reporter_id.as_ref().and_then(|u| profiles.get(u)).map(Into::into),
                    automatic: r.reporter_id.is_none(),
                    status: if r.action.is_some() { "resolved" } else { "open" }.into(),
                    id: r.id,
                    target_type: r.target_type,
                    target_id: r.target_id,
                    reason: r.reason,
                    action: r.action,
                    created_at: r.created_at,
                    resolved_at: r.resolved_at,
                    target,
                }
            })
            .collect())
    }

    /// A report's target now: its text (none for a user) and whether it is held; `None`
    /// once it is gone.
    async fn target_content(&self, report: &StoredReport) -> ServiceResult<Option<(Option<String>, bool)>> {
        let id = report.target_id.as_str();
        Ok(match report.target_type {
            ReportTargetType::User => Some((None, false)),
            ReportTargetType::Post => match self.load_post(id).await? {
                Some(post) => Some((Some(post.text), false)),
                None => self.held_post(id).await?.map(|p| (Some(p.text), true)),
            },
            ReportTargetType::Comment => match self.comment_ref(id).await? {
                Some(found) => {
                    let item = self.store.get(&keys::comment_in_thread(&found.post_id, &found.path)).await?;
                    let comment = item.map(|i| i.attrs_as::<StoredComment>()).transpose()?;
                    comment.filter(|c| !c.deleted).map(|c| (Some(c.text), false))
                }
                None => self.held_comment(id).await?.map(|c| (Some(c.text), true)),
            },
        })
    }

    /// Suspends (ending every session at once) or reinstates a user. Reinstating keeps the
    /// session floor: the sessions a suspension ended stay over.
    pub(crate) async fn set_suspended(&self, uid: &str, suspended: bool) -> ServiceResult<Profile> {
        let floor = ids::new_id();
        let mut update = Update::new().set("suspended", suspended);
        if suspended {
            update = update.set("sessions_after", floor.as_str());
        }
        let profile = self.update_profile(uid, update).await?;
        if suspended {
            // Outlives every cached session (as logout's mark does); after it, sessions are
            // checked against the store's floor.
            self.cache.set(&self.ck.session_floor(uid), floor.into(), Some(ttl::SESSION * 2)).await?;
        }
        Ok(profile)
    }

    /// One profile write (the user must exist), its cached copies forgotten.
    async fn update_profile(&self, uid: &str, update: Update) -> ServiceResult<Profile> {
        let item = match self.store.update(&keys::user(uid), update, Cond::Exists).await {
            Ok(item) => item,
            Err(EngineError::ConditionFailed) => return Err(ServiceError::NotFound("user")),
            Err(err) => return Err(err.into()),
        };
        self.forget_profiles(&[uid]).await;
        Ok(item.attrs_as()?)
    }

    /// `roost admin suspend|unsuspend USER` (an id or a username).
    pub async fn suspend_user(&self, user: &str, suspended: bool) -> ServiceResult<Profile> {
        let profile = self.resolve_user(user).await?;
        self.set_suspended(&profile.id, suspended).await
    }

    /// `roost admin grant-moderator|revoke-moderator USER`. Another process's cached copy
    /// of the profile may keep the old role until the user next signs in, which reads it
    /// from the store.
    pub async fn set_moderator(&self, user: &str, moderator: bool) -> ServiceResult<Profile> {
        let profile = self.resolve_user(user).await?;
        let role = if moderator { "moderator" } else { "user" };
        self.update_profile(&profile.id, Update::new().set("role", role)).await
    }
}
