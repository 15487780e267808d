//! The server's resident memory, read from `/proc` when it runs on this machine
//! (`--server-pid`): the overload runs show that shedding keeps memory bounded.

use serde_json::{json, Value};

/// Resident memory now and at its peak since the process started, in KiB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resident {
    pub now_kib: u64,
    pub peak_kib: u64,
}

/// `pid`'s resident memory, or an error naming why it could not be read.
pub fn read(pid: u32) -> anyhow::Result<Resident> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|err| {
        anyhow::anyhow!("reading the memory of process {pid}: {err} (is it on this machine?)")
    })?;
    parse(&status).ok_or_else(|| anyhow::anyhow!("no VmRSS/VmHWM in /proc/{pid}/status"))
}

fn parse(status: &str) -> Option<Resident> {
    let field = |name: &str| {
        let line = status.lines().find(|line| line.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some(Resident { now_kib: field("VmRSS:")?, peak_kib: field("VmHWM:")? })
}

/// The report's `server_memory_mib`: before and after the workload, and the peak.
pub fn to_json(before: Resident, after: Resident) -> Value {
    let mib = |kib: u64| (kib as f64 / 1024.0 * 10.0).round() / 10.0;
    json!({"before": mib(before.now_kib), "after": mib(after.now_kib), "peak": mib(after.peak_kib)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_resident_and_peak() {
        let status = "Name:\troost\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        let resident = parse(status).unwrap();
        assert_eq!(resident, Resident { now_kib: 102_400, peak_kib: 204_800 });
        assert_eq!(to_json(resident, resident)["peak"], 200.0);
        assert!(parse("Name:\troost\n").is_none());
        assert!(read(std::process::id()).is_ok());
    }
}
