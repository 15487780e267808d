//! Settings: defaults, then the TOML file, then `ROOST_*` variables and flags.
//!
//! The file has top-level keys for the process and engines (the same names as the flags,
//! with underscores) and a `[service]` table for `roost_service::ServiceConfig`. Every
//! service setting can also be set as `ROOST_<NAME>` (e.g. `ROOST_FANOUT_THRESHOLD=5000`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use roost_service::ServiceConfig;
use serde::Deserialize;

use crate::cli::ServeArgs;

/// Everything `serve` needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub data_dir: PathBuf,
    pub init: bool,
    pub engines: EngineSettings,
    pub service: ServiceConfig,
    /// The in-process cache's memory bound, in MiB.
    pub cache_max_mib: usize,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    pub dynamodb_endpoint: Option<String>,
    pub dynamodb_table: Option<String>,
    pub redis_url: Option<String>,
    #[serde(default)]
    pub redis_cluster: bool,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub aws_region: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    cache_max_mib: Option<usize>,
    #[serde(flatten)]
    engines: EngineSettings,
    #[serde(default)]
    service: toml::Table,
}

pub fn load(args: ServeArgs) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => read_file(path)?,
        None => FileSettings::default(),
    };
    let mut engines = file.engines;
    let overrides = [
        (&mut engines.dynamodb_endpoint, args.dynamodb_endpoint),
        (&mut engines.dynamodb_table, args.dynamodb_table),
        (&mut engines.redis_url, args.redis_url),
        (&mut engines.s3_bucket, args.s3_bucket),
        (&mut engines.s3_endpoint, args.s3_endpoint),
        (&mut engines.aws_region, args.aws_region),
    ];
    for (slot, value) in overrides {
        if value.is_some() {
            *slot = value;
        }
    }
    engines.redis_cluster |= args.redis_cluster;
    let cache_max_mib = match std::env::var("ROOST_CACHE_MAX_MIB") {
        Ok(v) => v.parse().context("ROOST_CACHE_MAX_MIB")?,
        Err(_) => file.cache_max_mib.unwrap_or(256),
    };
    Ok(Settings {
        listen: args.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into()),
        data_dir: args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("./data")),
        init: args.init,
        engines,
        service: service_config(file.service, std::env::vars())?,
        cache_max_mib,
    })
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The `[service]` table with `ROOST_<FIELD>` variables laid over it. Which variables count
/// is learnt from the fields the default config has, so a new setting needs no code here.
fn service_config(
    mut table: toml::Table,
    env: impl Iterator<Item = (String, String)>,
) -> anyhow::Result<ServiceConfig> {
    let defaults = toml::Table::try_from(ServiceConfig::default())?;
    for (name, value) in env {
        let Some(field) = name.strip_prefix("ROOST_").map(str::to_lowercase) else { continue };
        if !defaults.contains_key(&field) && field != "token_secret" {
            continue;
        }
        // Numbers and booleans parse as such; anything else is taken as a string.
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !v.is_str())
            .unwrap_or(toml::Value::String(value));
        table.insert(field, parsed);
    }
    toml::Value::Table(table).try_into().context("service settings")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_and_defaults_fill_the_rest() {
        let file: toml::Table = toml::from_str("fanout_threshold = 5\ncache_namespace = \"file\"").unwrap();
        let env = vec![
            ("ROOST_CACHE_NAMESPACE".to_string(), "env".to_string()),
            ("ROOST_FEED_CAP".to_string(), "100".to_string()),
            ("ROOST_UNRELATED".to_string(), "x".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let config = service_config(file, env.into_iter()).unwrap();
        assert_eq!(config.cache_namespace, "env");
        assert_eq!(config.feed_cap, 100);
        assert_eq!(config.fanout_threshold, 5);
        assert_eq!(config.session_ttl_days, ServiceConfig::default().session_ttl_days);
    }

    #[test]
    fn bad_values_are_reported() {
        let env = vec![("ROOST_FEED_CAP".to_string(), "lots".to_string())];
        assert!(service_config(toml::Table::new(), env.into_iter()).is_err());
    }
}
