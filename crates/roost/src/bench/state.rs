//! What seeding created on a server — accounts with their tokens, post ids, fan-out
//! accounts — saved as JSON so that `bench --state` can reuse a seeded server.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// Bumped when the file's shape changes incompatibly.
const VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub token: String,
}

/// An account with a known number of followers: `users[..followers]` follow it, and
/// `users[followers - 1]` was the last to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FanoutAccount {
    pub followers: usize,
    pub author: Account,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    pub version: u32,
    /// The server these accounts live on.
    pub target: String,
    /// The graph's users by node index, then users added later (fan-out audiences).
    pub users: Vec<Account>,
    /// How many of `users` are the seeded graph's nodes; workloads act as these.
    pub graph_users: usize,
    /// The next free `user_<n>` number.
    pub next_label: u64,
    pub follows: u64,
    /// Ids of the seeded posts (likes pick from these).
    pub posts: Vec<String>,
    pub fanout: Vec<FanoutAccount>,
    /// Set while `roost seed` is still at work: what it was asked to seed. A file that has
    /// it holds the work done so far (`users`, `posts` and `follows` are each a prefix of
    /// the plan), and a rerun with the same plan continues from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<String>,
}

impl State {
    pub fn new(target: &str) -> State {
        State {
            version: VERSION,
            target: target.to_string(),
            users: Vec::new(),
            graph_users: 0,
            next_label: 0,
            follows: 0,
            posts: Vec::new(),
            fanout: Vec::new(),
            unfinished: None,
        }
    }

    /// The accounts workloads act as.
    pub fn graph_users(&self) -> &[Account] {
        &self.users[..self.graph_users.min(self.users.len())]
    }

    /// A finished seeding's state, for a benchmark.
    pub fn load(path: &Path) -> anyhow::Result<State> {
        let state = State::load_any(path)?;
        if let Some(plan) = &state.unfinished {
            bail!(
                "{} is an unfinished seeding ({plan}): run the same `roost seed` again to finish it",
                path.display()
            );
        }
        if state.graph_users == 0 || state.graph_users > state.users.len() {
            bail!("{} holds no seeded users", path.display());
        }
        Ok(state)
    }

    /// The state in `path`, finished or not.
    pub fn load_any(path: &Path) -> anyhow::Result<State> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let state: State = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a bench state file", path.display()))?;
        if state.version != VERSION {
            bail!(
                "{} has state version {}, this roost writes {VERSION}: seed again",
                path.display(),
                state.version
            );
        }
        Ok(state)
    }

    /// Writes the file whole or not at all (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(self)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_file() {
        let dir = std::env::temp_dir().join(format!("roost-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let mut state = State::new("http://127.0.0.1:1");
        let account = Account { id: "u1".into(), username: "user_0".into(), token: "t".into() };
        state.users.push(account.clone());
        state.graph_users = 1;
        state.fanout.push(FanoutAccount { followers: 1, author: account });
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), state);
        state.unfinished = Some("a plan".into());
        state.save(&path).unwrap();
        assert!(State::load(&path).is_err(), "an unfinished seeding is no benchmark state");
        assert_eq!(State::load_any(&path).unwrap(), state);
        std::fs::write(&path, b"{}").unwrap();
        assert!(State::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
