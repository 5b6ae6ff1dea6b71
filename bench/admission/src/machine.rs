//! What else the machine is doing: load averages, and busy CPU time of the whole machine
//! (`/proc/stat`) to set against the benchmark's own processes.

/// `/proc/loadavg`'s first three fields.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Online CPUs.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Machine-wide busy and steal time so far, in ns (`/proc/stat`'s `cpu` line, USER_HZ = 100).
#[derive(Debug, Clone, Copy, Default)]
pub struct Busy {
    /// user + nice + system + irq + softirq.
    pub busy_ns: u64,
    /// Time the hypervisor gave to others.
    pub steal_ns: u64,
}

/// Reads [`Busy`] now.
pub fn busy() -> Busy {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0) * 10_000_000;
    Busy {
        busy_ns: at(0) + at(1) + at(2) + at(5) + at(6),
        steal_ns: at(7),
    }
}

/// Sum of the samples of every series of `metric` in Prometheus text from `addr` (`/metrics`),
/// `None` when unreachable or absent.
pub fn metric_sum(addr: &str, metric: &str) -> Option<f64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(metric) else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn machine_is_busy_sometimes() {
        assert!(super::busy().busy_ns > 0);
        assert!(super::cores() >= 1);
        assert_ne!(super::loadavg(), "?");
    }
}
