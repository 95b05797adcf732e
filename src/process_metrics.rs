//! The `process_*` metrics of the Prometheus conventions (resident memory, CPU seconds, open
//! and maximum descriptors, start time) read from `/proc` on Linux, a build-info metric, and
//! the accept loop's connection figures.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::server::ConnStats;

/// Clock ticks per second of `/proc/self/stat` times (`sysconf(_SC_CLK_TCK)` is 100 on every
/// Linux architecture in use).
const CLOCK_TICKS: f64 = 100.0;

/// What `/proc` tells about this process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessFigures {
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    pub start_time_seconds: Option<f64>,
}

/// Reads the figures; each is `None` where `/proc` is missing (not Linux).
pub fn read() -> ProcessFigures {
    let stat = std::fs::read_to_string("/proc/self/stat").ok();
    let parsed = stat.as_deref().and_then(parse_stat);
    let boot_time = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    });
    let page = 4096u64;
    ProcessFigures {
        resident_bytes: parsed.map(|p| p.rss_pages * page),
        virtual_bytes: parsed.map(|p| p.vsize),
        cpu_seconds: parsed.map(|p| (p.utime + p.stime) as f64 / CLOCK_TICKS),
        open_fds: std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as u64),
        max_fds: crate::server::open_files_limit(),
        start_time_seconds: parsed
            .zip(boot_time)
            .map(|(p, boot)| boot + p.start_ticks as f64 / CLOCK_TICKS),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Stat {
    utime: u64,
    stime: u64,
    start_ticks: u64,
    vsize: u64,
    rss_pages: u64,
}

/// Fields of `/proc/self/stat` after the command name (which may hold spaces and brackets).
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); field n is fields[n - 3].
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        start_ticks: field(22)?,
        vsize: field(23)?,
        rss_pages: field(24)?,
    })
}

/// Appends the process, build and connection metrics to an exposition.
pub fn render(out: &mut String, connections: &ConnStats) {
    let p = read();
    let mut gauge = |name: &str, help: &str, kind: &str, value: Option<String>| {
        if let Some(value) = value {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
    };
    gauge(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        "gauge",
        p.resident_bytes.map(|v| v.to_string()),
    );
    gauge(
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        "gauge",
        p.virtual_bytes.map(|v| v.to_string()),
    );
    gauge(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        "counter",
        p.cpu_seconds.map(|v| format!("{v:.2}")),
    );
    gauge(
        "process_open_fds",
        "Number of open file descriptors.",
        "gauge",
        p.open_fds.map(|v| v.to_string()),
    );
    gauge(
        "process_max_fds",
        "Maximum number of open file descriptors.",
        "gauge",
        p.max_fds.map(|v| v.to_string()),
    );
    gauge(
        "process_start_time_seconds",
        "Start time of the process since the Unix epoch in seconds.",
        "gauge",
        p.start_time_seconds.map(|v| format!("{v:.2}")),
    );
    gauge(
        "ipmat_http_connections_open",
        "Client connections open now.",
        "gauge",
        Some(connections.open.load(Ordering::Relaxed).to_string()),
    );
    for (name, help, value) in [
        (
            "ipmat_http_connections_accepted_total",
            "Client connections accepted.",
            &connections.accepted,
        ),
        (
            "ipmat_http_connections_shed_total",
            "Idle connections closed because the connection cap was reached.",
            &connections.shed,
        ),
        (
            "ipmat_http_connections_timed_out_total",
            "Connections closed by the header-read or keep-alive idle limit.",
            &connections.timed_out,
        ),
    ] {
        gauge(
            name,
            help,
            "counter",
            Some(value.load(Ordering::Relaxed).to_string()),
        );
    }
    let _ = writeln!(
        out,
        "# HELP ipmat_build_info Build of this process (always 1).\n# TYPE ipmat_build_info gauge\n\
         ipmat_build_info{{version=\"{}\",revision=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        option_env!("IPMAT_GIT_REVISION").unwrap_or("unknown"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        let line = "4242 (ipmat (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 \
                    9 0 12345 1000000 2000 18446744073709551615";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.utime, 250);
        assert_eq!(stat.stime, 50);
        assert_eq!(stat.start_ticks, 12345);
        assert_eq!(stat.vsize, 1_000_000);
        assert_eq!(stat.rss_pages, 2000);
    }

    #[test]
    fn this_process_has_figures_on_linux() {
        if cfg!(target_os = "linux") {
            let p = read();
            assert!(p.resident_bytes.unwrap() > 0);
            assert!(p.open_fds.unwrap() > 0);
            assert!(p.cpu_seconds.is_some() && p.start_time_seconds.is_some());
        }
    }
}
