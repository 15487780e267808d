//! Settings: one flat namespace of `snake_case` names, each set in one of four layers, the
//! later winning: its default, the TOML file (`--config FILE` or `ROOST_CONFIG`; top-level
//! `name = value`), the environment (`ROOST_NAME`), a flag (`--name value`).
//!
//! The names are learnt from the defaults of four structs (the process's own, the
//! engines', `roost_service::ServiceConfig` and `roost_api::HttpConfig`), so a field added to any of them is a
//! setting, with its variable and its flag, without code here. Text from the environment
//! and flags takes the type of the field it lands in (see `value`). A file key that names
//! no setting is an error, as a typo would otherwise be ignored; a `ROOST_*` variable that
//! names none is not, since other tools share the prefix (`ROOST_LOG`, `ROOST_TEST_*`).

mod flags;
mod value;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use roost_api::HttpConfig;
use roost_service::ServiceConfig;
use serde::de::value::MapDeserializer;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use flags::SettingFlags;
use value::{Given, Raw};

use crate::cli::ServeArgs;

/// Everything `serve` needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub process: ProcessSettings,
    /// Only a flag: creating tables and buckets is an act, not a standing setting.
    pub init: bool,
    pub engines: EngineSettings,
    pub service: ServiceConfig,
    pub http: HttpConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessSettings {
    pub listen: String,
    /// Where the embedded engines keep their data.
    pub data_dir: PathBuf,
    /// The in-process cache's memory bound, in MiB.
    pub cache_max_mib: usize,
    /// Where to serve `GET /metrics` instead of the public listener; unset: on `listen`.
    pub metrics_listen: Option<String>,
}

impl Default for ProcessSettings {
    fn default() -> Self {
        ProcessSettings {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            cache_max_mib: 256,
            metrics_listen: None,
        }
    }
}

/// Which engines run: each one set selects its distributed engine, see `engines`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    pub dynamodb_endpoint: Option<String>,
    pub dynamodb_table: Option<String>,
    pub redis_url: Option<String>,
    pub redis_cluster: bool,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub aws_region: Option<String>,
    /// How long one DynamoDB call may take, retries included, before it fails (503).
    pub dynamodb_timeout_secs: u64,
    /// The bound on one store call as the service sees it, retries and waits included; past
    /// it the call fails (503 with `Retry-After`). See `roost_engines::resilient`.
    pub store_timeout_ms: u64,
    /// Attempts per store call when the store throttles or fails transiently (at least 1).
    pub store_attempts: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            dynamodb_endpoint: None,
            dynamodb_table: None,
            redis_url: None,
            redis_cluster: false,
            s3_bucket: None,
            s3_endpoint: None,
            aws_region: None,
            dynamodb_timeout_secs: 10,
            store_timeout_ms: 10_000,
            store_attempts: 4,
        }
    }
}

/// One setting: its name and its default (JSON's `null` for "unset").
#[derive(Debug, Clone)]
pub struct Setting {
    pub name: String,
    pub default: serde_json::Value,
}

impl Setting {
    pub fn env_var(&self) -> String {
        format!("ROOST_{}", self.name.to_uppercase())
    }

    /// The flag's long name, without its dashes.
    pub fn flag(&self) -> String {
        self.name.replace('_', "-")
    }
}

/// The fields of a settings struct with their defaults. Serializing to JSON (not TOML)
/// keeps the `None` fields, as `null`.
fn fields<T: Default + Serialize>() -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(T::default()) {
        Ok(serde_json::Value::Object(map)) => map,
        other => panic!("a settings struct serializes to a map, not {other:?}"),
    }
}

/// Every setting.
pub fn all() -> Vec<Setting> {
    [
        fields::<ProcessSettings>(),
        fields::<EngineSettings>(),
        fields::<ServiceConfig>(),
        fields::<HttpConfig>(),
    ]
    .into_iter()
    .flatten()
    .map(|(name, default)| Setting { name, default })
    .collect()
}

/// The process's environment, skipping what is not UTF-8 (`std::env::vars` would panic on
/// a variable that has nothing to do with roost).
pub fn environment() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
}

/// Settings from the layers: `env` is the process's environment (a list, so tests can
/// pass their own).
pub fn load(args: ServeArgs, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Settings> {
    // An empty variable counts as unset, as `X=` is the usual way to blank one out.
    let env: HashMap<String, String> = env.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let settings = all();
    let mut given = BTreeMap::new();
    if let Some(path) = args.config.or_else(|| env.get("ROOST_CONFIG").map(PathBuf::from)) {
        for (name, value) in read_file(&path)? {
            anyhow::ensure!(
                settings.iter().any(|s| s.name == name),
                "{}: `{name}` is not a setting (see `roost serve --help`)",
                path.display()
            );
            let origin = format!("`{name}` in {}", path.display());
            given.insert(name, Given { raw: Raw::Toml(value), origin });
        }
    }
    for setting in &settings {
        let var = setting.env_var();
        if let Some(text) = env.get(&var) {
            let origin = format!("{var} in the environment");
            given.insert(setting.name.clone(), Given { raw: Raw::Text(text.clone()), origin });
        }
        if let Some(text) = args.settings.given.get(&setting.name) {
            let origin = format!("--{}", setting.flag());
            given.insert(setting.name.clone(), Given { raw: Raw::Text(text.clone()), origin });
        }
    }
    Ok(Settings {
        process: section(&given)?,
        init: args.init,
        engines: section(&given)?,
        service: section(&given)?,
        http: section(&given)?,
    })
}

fn read_file(path: &Path) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// One settings struct from the given values of its fields; the rest keep their defaults.
fn section<T: Default + Serialize + DeserializeOwned>(given: &BTreeMap<String, Given>) -> anyhow::Result<T> {
    let names = fields::<T>();
    let mine =
        given.iter().filter(|(name, _)| names.contains_key(*name)).map(|(n, g)| (n.as_str(), g.clone()));
    Ok(T::deserialize(MapDeserializer::new(mine))?)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::{json, Value};

    use super::*;
    use crate::cli::{Cli, Command};

    fn serve_args(flags: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(["roost", "serve"].iter().chain(flags)).unwrap();
        match cli.command {
            Command::Serve(args) => args,
            other => panic!("not serve: {other:?}"),
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// A settings file of its own for one test.
    fn file(test: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("roost-settings-{}-{test}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// All settings as one JSON map, as they came out typed.
    fn flat(settings: &Settings) -> serde_json::Map<String, Value> {
        let sections = [
            serde_json::to_value(&settings.process).unwrap(),
            serde_json::to_value(&settings.engines).unwrap(),
            serde_json::to_value(&settings.service).unwrap(),
            serde_json::to_value(&settings.http).unwrap(),
        ];
        sections.into_iter().flat_map(|s| s.as_object().unwrap().clone()).collect()
    }

    /// A value unlike the default, of the default's type (strings are digits, so that
    /// guessing a type from the text's look would fail).
    fn other_than(default: &Value) -> Value {
        match default {
            Value::Bool(b) => json!(!b),
            Value::Number(n) => match n.as_u64() {
                Some(int) => json!(int + 1),
                None => json!(n.as_f64().unwrap() + 1.0),
            },
            Value::String(_) | Value::Null => json!("123456"),
            other => panic!("no sample for {other:?}"),
        }
    }

    fn text(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    #[test]
    fn names_are_unique_across_the_structs() {
        let mut names: Vec<_> = all().into_iter().map(|s| s.name).collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "two structs declare the same setting");
    }

    #[test]
    fn the_readme_documents_every_setting() {
        let readme = include_str!("../../../README.md");
        let section = readme.split("## Configuration").nth(1).unwrap().split("\n## ").next().unwrap();
        for setting in all() {
            assert!(section.contains(&format!("`{}`", setting.name)), "README lacks {}", setting.name);
        }
    }

    #[test]
    fn defaults_when_nothing_is_given() {
        let settings = load(serve_args(&[]), env(&[])).unwrap();
        let defaults: serde_json::Map<_, _> = all().into_iter().map(|s| (s.name, s.default)).collect();
        assert_eq!(flat(&settings), defaults);
        assert!(!settings.init);
    }

    #[test]
    fn every_setting_is_read_from_the_file() {
        for setting in all() {
            let wanted = other_than(&setting.default);
            let mut table = toml::Table::new();
            table.insert(setting.name.clone(), toml::Value::try_from(&wanted).unwrap());
            let path = file("each", &table.to_string());
            let settings = load(serve_args(&["--config", path.to_str().unwrap()]), env(&[])).unwrap();
            assert_eq!(flat(&settings)[&setting.name], wanted, "{}", setting.name);
        }
    }

    #[test]
    fn every_setting_is_read_from_the_environment() {
        for setting in all() {
            let wanted = other_than(&setting.default);
            let settings = load(serve_args(&[]), env(&[(&setting.env_var(), &text(&wanted))])).unwrap();
            assert_eq!(flat(&settings)[&setting.name], wanted, "{}", setting.env_var());
        }
    }

    #[test]
    fn every_setting_is_read_from_its_flag() {
        for setting in all() {
            let wanted = other_than(&setting.default);
            let flag = format!("--{}", setting.flag());
            let settings = load(serve_args(&[&flag, &text(&wanted)]), env(&[])).unwrap();
            assert_eq!(flat(&settings)[&setting.name], wanted, "{flag}");
        }
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_file() {
        let path = file("precedence", "feed_cap = 1\ntoken_secret = \"file\"");
        let config = ["--config", path.to_str().unwrap()];
        let vars = env(&[("ROOST_FEED_CAP", "2"), ("ROOST_TOKEN_SECRET", "env")]);
        let flags = [&config[..], &["--feed-cap", "3", "--token-secret", "flag"]].concat();

        let s = load(serve_args(&flags), vars.clone()).unwrap().service;
        assert_eq!((s.feed_cap, s.token_secret.as_deref()), (3, Some("flag")));
        let s = load(serve_args(&config), vars).unwrap().service;
        assert_eq!((s.feed_cap, s.token_secret.as_deref()), (2, Some("env")));
        let s = load(serve_args(&config), env(&[])).unwrap().service;
        assert_eq!((s.feed_cap, s.token_secret.as_deref()), (1, Some("file")));
    }

    #[test]
    fn a_numeric_token_secret_is_a_string() {
        let settings = load(serve_args(&[]), env(&[("ROOST_TOKEN_SECRET", "123456")])).unwrap();
        assert_eq!(settings.service.token_secret.as_deref(), Some("123456"));
    }

    #[test]
    fn the_file_can_be_named_by_the_environment() {
        let path = file("from-env", "listen = \"0.0.0.0:9000\"");
        let settings = load(serve_args(&[]), env(&[("ROOST_CONFIG", path.to_str().unwrap())])).unwrap();
        assert_eq!(settings.process.listen, "0.0.0.0:9000");
    }

    #[test]
    fn booleans_take_the_usual_spellings_and_a_bare_flag() {
        for (text, wanted) in [("1", true), ("yes", true), ("TRUE", true), ("0", false), ("off", false)] {
            let settings = load(serve_args(&[]), env(&[("ROOST_REDIS_CLUSTER", text)])).unwrap();
            assert_eq!(settings.engines.redis_cluster, wanted, "{text}");
        }
        assert!(load(serve_args(&["--redis-cluster"]), env(&[])).unwrap().engines.redis_cluster);
    }

    #[test]
    fn empty_and_unrelated_variables_are_ignored() {
        let vars = env(&[("ROOST_DYNAMODB_TABLE", ""), ("ROOST_LOG", "debug"), ("ROOST_TEST_MODE", "x")]);
        let settings = load(serve_args(&[]), vars).unwrap();
        assert_eq!(settings.engines.dynamodb_table, None);
    }

    fn error(flags: &[&str], vars: &[(&str, &str)]) -> String {
        format!("{:#}", load(serve_args(flags), env(vars)).unwrap_err())
    }

    #[test]
    fn bad_values_name_the_setting_and_where_it_came_from() {
        let message = error(&[], &[("ROOST_FEED_CAP", "lots")]);
        assert!(
            message.contains("ROOST_FEED_CAP in the environment") && message.contains("lots"),
            "{message}"
        );
        let message = error(&["--session-ttl-days", "-1"], &[]);
        assert!(message.contains("--session-ttl-days") && message.contains("-1"), "{message}");
        let message = error(&[], &[("ROOST_REDIS_CLUSTER", "maybe")]);
        assert!(message.contains("ROOST_REDIS_CLUSTER") && message.contains("true or false"), "{message}");
        let path = file("bad", "feed_cap = \"lots\"");
        let message = error(&["--config", path.to_str().unwrap()], &[]);
        assert!(message.contains(&format!("`feed_cap` in {}", path.display())), "{message}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let path = file("typo", "fanout_treshold = 5");
        let message = error(&["--config", path.to_str().unwrap()], &[]);
        assert!(message.contains("`fanout_treshold` is not a setting"), "{message}");
    }
}
