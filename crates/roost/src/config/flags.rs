//! `serve`'s flag for every setting, `--name <VALUE>`, made from the list of settings so a new
//! one gets its flag (and its line in `--help`) without code here. The values stay text until
//! the loader types them by their field, as it does the environment's.

use std::collections::HashMap;

use clap::{Arg, ArgMatches, Command, FromArgMatches};

use super::{all, Setting};

/// The settings given as flags: their text by name.
#[derive(Debug, Clone, Default)]
pub struct SettingFlags {
    pub given: HashMap<String, String>,
}

fn arg(setting: &Setting) -> Arg {
    let default = match &setting.default {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => format!(" [default: {s}]"),
        other => format!(" [default: {other}]"),
    };
    let arg = Arg::new(setting.name.clone())
        .long(setting.flag())
        .help(format!("[env: {}]{default}", setting.env_var()))
        .help_heading("Settings (see README)");
    // A bare `--redis-cluster` means true, as a switch would.
    if setting.default.is_boolean() {
        arg.value_name("BOOL").num_args(0..=1).default_missing_value("true")
    } else {
        // A secret may well begin with a dash.
        arg.value_name("VALUE").allow_hyphen_values(true)
    }
}

impl clap::Args for SettingFlags {
    fn augment_args(command: Command) -> Command {
        all().iter().fold(command, |command, setting| command.arg(arg(setting)))
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl FromArgMatches for SettingFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = SettingFlags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for setting in all() {
            if let Some(text) = matches.get_one::<String>(&setting.name) {
                self.given.insert(setting.name, text.clone());
            }
        }
        Ok(())
    }
}
