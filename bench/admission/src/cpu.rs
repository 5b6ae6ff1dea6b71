//! CPU time of the processes taking part (kube-apiserver, etcd, the webhooks, the controller
//! manager, this load generator), read around each segment: the sum over a process's threads of
//! `/proc/PID/task/TID/schedstat`'s first field (ns on a CPU). Unlike wall time this is nearly
//! independent of what else runs on the machine, so it shows where a pod's cost goes.

use std::collections::BTreeMap;

/// A named set of processes.
#[derive(Debug, Clone, Default)]
pub struct Procs {
    /// (name, pid) in report order.
    pub list: Vec<(String, u32)>,
}

/// CPU ns per process name at one instant.
pub type Sample = BTreeMap<String, u64>;

impl Procs {
    /// Adds `name` when its pid is known.
    pub fn add(&mut self, name: &str, pid: Option<u32>) {
        if let Some(pid) = pid {
            self.list.push((name.to_string(), pid));
        }
    }

    /// Every process's CPU time so far.
    pub fn sample(&self) -> Sample {
        self.list
            .iter()
            .map(|(name, pid)| (name.clone(), cpu_ns(*pid)))
            .collect()
    }
}

/// `after - before` per name.
pub fn delta(before: &Sample, after: &Sample) -> Sample {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v.saturating_sub(*before.get(k).unwrap_or(&0))))
        .collect()
}

/// Adds `d` into `total`.
pub fn accumulate(total: &mut Sample, d: &Sample) {
    for (k, v) in d {
        *total.entry(k.clone()).or_default() += v;
    }
}

/// CPU ns of all threads of `pid` (0 when it is gone).
pub fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_uses_cpu() {
        let me = std::process::id();
        let a = cpu_ns(me);
        // Spin a little, then block once: the kernel accounts a thread's run time at ticks and
        // context switches.
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(20) {
            std::hint::black_box(spin);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert!(cpu_ns(me) > a);
        assert_eq!(cpu_ns(u32::MAX), 0);
    }

    #[test]
    fn deltas_accumulate() {
        let before: Sample = [("a".to_string(), 5)].into();
        let after: Sample = [("a".to_string(), 8), ("b".to_string(), 2)].into();
        let mut total = Sample::new();
        accumulate(&mut total, &delta(&before, &after));
        accumulate(&mut total, &delta(&before, &after));
        assert_eq!(total, [("a".to_string(), 6), ("b".to_string(), 4)].into());
    }
}
