//! `roost check [--repair]`: recounts followers, following, posts, likes and comments from
//! the items they count, on the same engine settings as `roost serve`, and prints every
//! counter that drifted. Exit status: 0 when every counter is right (or was repaired), 1
//! when a drift is left (found without `--repair`, or one that moved while being repaired).
//!
//! Safe beside a running server: the scan only reads, and each repair is a conditional
//! write of one counter (see `roost_service::consistency`). A repair drops the cached
//! copies through the service: at once on Redis; a running embedded server keeps its own
//! in-process copies until they expire (an hour) or it restarts.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use roost_service::consistency::{Drift, Repair};
use roost_service::Service;

use crate::cli::ServeArgs;
use crate::{config, deployment};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Set every drifted counter to its count (conditional writes, safe while serving).
    #[arg(long)]
    pub repair: bool,
    #[command(flatten)]
    pub engines: ServeArgs,
}

pub async fn run(args: CheckArgs) -> anyhow::Result<()> {
    let settings = config::load(args.engines.clone(), config::environment())?;
    let engines = deployment::open(&settings).await?;
    let service = Service::new(engines, settings.service.clone()).await.context("starting the service")?;

    let spinner = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} scanning the store: {pos} items ({per_sec})") {
        spinner.set_style(style);
    }
    let drifts =
        service.check_counters(&|read| spinner.set_position(read)).await.context("scanning the store")?;
    spinner.finish_and_clear();
    eprintln!("scanned {} items", spinner.position());

    if drifts.is_empty() {
        println!("every counter matches its items");
        return Ok(());
    }
    let mut outcomes = Vec::with_capacity(drifts.len());
    for drift in &drifts {
        let outcome = match args.repair {
            true => Some(
                service.repair_counter(drift).await.with_context(|| format!("repairing {}", drift.label))?,
            ),
            false => None,
        };
        outcomes.push(outcome);
    }
    print!("{}", table(&drifts, &outcomes));
    let left = outcomes.iter().filter(|o| !matches!(o, Some(Repair::Fixed) | Some(Repair::Gone))).count();
    match (args.repair, left) {
        (false, _) => {
            println!("{} counters drifted; `roost check --repair` sets them to their counts", drifts.len())
        }
        (true, 0) => println!("{} counters repaired", drifts.len()),
        (true, _) => println!("{left} counters changed while being repaired; run `roost check` again"),
    }
    if left > 0 {
        std::io::stdout().flush()?;
        std::process::exit(1);
    }
    Ok(())
}

/// The drifts as an aligned table, with what the repair did when there was one.
fn table(drifts: &[Drift], outcomes: &[Option<Repair>]) -> String {
    let mut rows =
        vec![["item".to_string(), "counter".into(), "stored".into(), "counted".into(), String::new()]];
    for (drift, outcome) in drifts.iter().zip(outcomes) {
        let outcome = match outcome {
            None => "",
            Some(Repair::Fixed) => "repaired",
            Some(Repair::Moved) => "changed meanwhile, not repaired",
            Some(Repair::Gone) => "gone meanwhile",
        };
        rows.push([
            drift.label.clone(),
            drift.counter.to_string(),
            drift.stored.to_string(),
            drift.counted.to_string(),
            outcome.to_string(),
        ]);
    }
    let width = |column: usize| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..5).map(width).collect();
    let mut out = String::new();
    for row in &rows {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_engines::Key;

    #[test]
    fn the_table_lines_up_and_says_what_the_repair_did() {
        let drift = |label: &str, counter: &'static str, stored, counted| Drift {
            key: Key::new("k", "s"),
            label: label.into(),
            counter,
            stored,
            counted,
        };
        let drifts =
            [drift("user alice (01A)", "followers_count", 7, 2), drift("post 01B", "like_count", 0, 12)];
        let report = table(&drifts, &[Some(Repair::Fixed), Some(Repair::Moved)]);
        assert_eq!(
            report,
            "item              counter          stored  counted\n\
             user alice (01A)  followers_count       7        2  repaired\n\
             post 01B          like_count            0       12  changed meanwhile, not repaired\n"
        );
    }
}
