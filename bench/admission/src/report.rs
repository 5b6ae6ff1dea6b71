//! The report: per shape and client count, pods/s and latency per mode, the per-round ratios
//! R/F, N/P, F/P as medians with their spread, the p50 each webhook adds, the goal (PASS/MISS),
//! and CPU per pod by process.

use std::collections::BTreeMap;

use crate::modes::{Knobs, Mode};
use crate::rounds::{Record, Run, by_cell};
use crate::shapes::{self, Shape};
use crate::stats::{Spread, quantile};

/// The goal's margins (issue 18): R/F ≥ N/P − 0.03; p50 added over F at 1 client within
/// 0.2 ms of what the no-op adds over P.
pub const RATIO_MARGIN: f64 = 0.03;
/// See [`RATIO_MARGIN`].
pub const P50_MARGIN_MS: f64 = 0.2;

/// One (shape, clients) block's verdict.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Shape name.
    pub shape: String,
    /// Client count.
    pub clients: usize,
    /// Medians of the per-round ratios.
    pub r_f: Spread,
    /// See `r_f`.
    pub n_p: Spread,
    /// See `r_f`.
    pub f_p: Spread,
    /// See `r_f` (NaN when A was not measured).
    pub a_p: Spread,
    /// Median per-round p50 differences, ms.
    pub r_minus_f: Spread,
    /// See `r_minus_f`.
    pub n_minus_p: Spread,
    /// See `r_minus_f` (NaN when A was not measured).
    pub a_minus_p: Spread,
}

/// What R is judged against: N for the goal, A for the floor.
#[derive(Clone, Copy)]
enum Anchor {
    Noop,
    Annotate,
}

impl Anchor {
    fn letter(self) -> char {
        match self {
            Anchor::Noop => Mode::Noop.letter(),
            Anchor::Annotate => Mode::Annotate.letter(),
        }
    }
}

impl Verdict {
    /// R against `anchor`: (R/F ≥ anchor/P − the margin, and at 1 client R's p50 added over F ≤
    /// the anchor's over P + the margin; true at 8 clients).
    fn against(&self, anchor: Anchor) -> (bool, bool) {
        let (ratio, added) = self.anchor(anchor);
        (
            self.r_f.median >= ratio - RATIO_MARGIN,
            self.clients != 1 || self.r_minus_f.median <= added + P50_MARGIN_MS,
        )
    }

    /// The anchor's ratio to P and its p50 added over P.
    fn anchor(&self, anchor: Anchor) -> (f64, f64) {
        match anchor {
            Anchor::Noop => (self.n_p.median, self.n_minus_p.median),
            Anchor::Annotate => (self.a_p.median, self.a_minus_p.median),
        }
    }

    /// Whether the goal holds (anchored on N, the webhook that changes nothing).
    pub fn pass(&self) -> bool {
        self.against(Anchor::Noop) == (true, true)
    }

    /// Whether the goal re-anchored on A holds: R/F ≥ A/P − 0.03 and, at 1 client, p50 added
    /// over F within 0.2 ms of A's over P (docs/bench.md: no mutating webhook can meet the goal
    /// anchored on N; this one guards what respawn adds over the cheapest mutation).
    pub fn floor_pass(&self) -> bool {
        self.against(Anchor::Annotate) == (true, true)
    }
}

fn per_round<'a>(cell: &[&'a Record]) -> BTreeMap<usize, &'a Record> {
    cell.iter().map(|r| (r.round, *r)).collect()
}

/// Per-round `f(a, b)` over the rounds both cells have.
fn paired(a: &[&Record], b: &[&Record], f: impl Fn(&Record, &Record) -> f64) -> Vec<f64> {
    let (a, b) = (per_round(a), per_round(b));
    a.iter()
        .filter_map(|(round, ra)| b.get(round).map(|rb| f(ra, rb)))
        .collect()
}

/// Server-side CPU ns per pod of a segment (every process but the load generator).
fn server_cpu(r: &Record) -> f64 {
    if r.cpu.is_empty() {
        return f64::NAN; // a pod-interleaved block: no per-mode CPU
    }
    let ns: u64 = r
        .cpu
        .iter()
        .filter(|(k, _)| k.as_str() != "client")
        .map(|(_, v)| v)
        .sum();
    ns as f64 / r.segment.latencies_ms.len().max(1) as f64
}

fn p50(r: &Record) -> f64 {
    quantile(&r.segment.latencies_ms, 0.5)
}

/// Prints the report; returns one verdict per (shape, clients).
pub fn print(run: &Run, shapes: &[Shape], knobs: &Knobs) -> Vec<Verdict> {
    let cells = by_cell(&run.records);
    let empty = Vec::new();
    let mut verdicts = Vec::new();
    for (si, shape) in shapes.iter().enumerate() {
        let (p_size, f_size) = (shapes::size(&shape.plain), shapes::size(&shape.final_pod));
        for &clients in &knobs.clients {
            let cell = |m: Mode| cells.get(&(si, clients, m)).unwrap_or(&empty);
            println!();
            println!(
                "## {} pods ({p_size} B plain, {f_size} B final: respawn adds {} B), {clients} client{}, {} pods per mode and round, {} rounds",
                shape.name,
                f_size - p_size.min(f_size),
                if clients == 1 { "" } else { "s" },
                knobs.pods(clients),
                cell(Mode::Plain).len()
            );
            println!(
                "  mode {:<38} {:>8} {:>8}  p50 per round: median [IQR, min–max]",
                "pods/s: median [IQR, min–max]", "p50 ms", "p99 ms"
            );
            for m in Mode::ALL {
                let c = cell(m);
                let rates: Vec<f64> = c.iter().map(|r| r.segment.pods_per_s()).collect();
                let all: Vec<f64> = c
                    .iter()
                    .flat_map(|r| r.segment.latencies_ms.iter().copied())
                    .collect();
                let p50s: Vec<f64> = c.iter().map(|r| p50(r)).collect();
                println!(
                    "  {:<4} {:<38} {:>8.2} {:>8.2}  {}",
                    m.letter(),
                    Spread::of(&rates).show(0),
                    quantile(&all, 0.5),
                    quantile(&all, 0.99),
                    Spread::of(&p50s).show(2)
                );
            }
            let ratio = |a: Mode, b: Mode| {
                Spread::of(&paired(cell(a), cell(b), |x, y| {
                    x.segment.pods_per_s() / y.segment.pods_per_s()
                }))
            };
            let added = |a: Mode, b: Mode| Spread::of(&paired(cell(a), cell(b), |x, y| p50(x) - p50(y)));
            // Pods per server CPU-second: like pods/s, but nearly blind to other load.
            let by_cpu = |a: Mode, b: Mode| {
                Spread::of(&paired(cell(a), cell(b), |x, y| server_cpu(y) / server_cpu(x)))
            };
            let v = Verdict {
                shape: shape.name.clone(),
                clients,
                r_f: ratio(Mode::Respawn, Mode::Final),
                n_p: ratio(Mode::Noop, Mode::Plain),
                f_p: ratio(Mode::Final, Mode::Plain),
                a_p: ratio(Mode::Annotate, Mode::Plain),
                r_minus_f: added(Mode::Respawn, Mode::Final),
                n_minus_p: added(Mode::Noop, Mode::Plain),
                a_minus_p: added(Mode::Annotate, Mode::Plain),
            };
            println!("  per-round ratios of pods/s, median [IQR, min–max]:");
            println!(
                "    R/F {}   (respawn vs the same final pods created directly)",
                v.r_f.show(3)
            );
            println!(
                "    N/P {}   (a webhook that changes nothing vs no webhook)",
                v.n_p.show(3)
            );
            println!(
                "    F/P {}   (the final pods vs the plain ones, both without webhook)",
                v.f_p.show(3)
            );
            println!(
                "    A/P {}   (a webhook whose patch adds one annotation vs no webhook: the floor of any mutation)",
                v.a_p.show(3)
            );
            let cpu_ratio = by_cpu(Mode::Respawn, Mode::Final);
            if cpu_ratio.n == 0 {
                println!(
                    "  (no server CPU per pod at this client count: its modes are interleaved pod by pod)"
                );
            } else {
                println!(
                    "  the same from server CPU per pod (apiserver, etcd, controller manager, webhooks; other load \
                 barely moves it): R/F {}  N/P {}  F/P {}  A/P {}",
                    cpu_ratio.show(3),
                    by_cpu(Mode::Noop, Mode::Plain).show(3),
                    by_cpu(Mode::Final, Mode::Plain).show(3),
                    by_cpu(Mode::Annotate, Mode::Plain).show(3)
                );
            }
            println!(
                "  p50 added per round, ms: R−F {}   N−P {}   A−P {}",
                v.r_minus_f.show(2),
                v.n_minus_p.show(2),
                v.a_minus_p.show(2)
            );
            judge("goal", Anchor::Noop, &v);
            judge("floor (the goal re-anchored on A):", Anchor::Annotate, &v);
            verdicts.push(v);
        }
    }
    print_cpu(run, shapes, knobs);
    print_positions(run);
    verdicts
}

/// Prints a block's verdict against `anchor` (N for the goal, A for the floor).
fn judge(label: &str, anchor: Anchor, v: &Verdict) {
    let (ratio, added) = v.anchor(anchor);
    let (ratio_ok, p50_ok) = v.against(anchor);
    let anchor = anchor.letter();
    let p50 = if v.clients == 1 {
        format!(
            "; p50 added over F ≤ {anchor}'s over P + {P50_MARGIN_MS} ms: {:+.2} vs {:+.2}: {}",
            v.r_minus_f.median,
            added + P50_MARGIN_MS,
            pass_miss(p50_ok)
        )
    } else {
        String::new()
    };
    println!(
        "  {label} R/F ≥ {anchor}/P − {RATIO_MARGIN}: {:.3} vs {:.3}: {}{p50}",
        v.r_f.median,
        ratio - RATIO_MARGIN,
        pass_miss(ratio_ok)
    );
}

fn pass_miss(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

/// CPU ms per pod by process and mode, all rounds and client counts together.
fn print_cpu(run: &Run, shapes: &[Shape], knobs: &Knobs) {
    let names: Vec<String> = run
        .records
        .iter()
        .find(|r| !r.cpu.is_empty())
        .map(|r| r.cpu.keys().cloned().collect())
        .unwrap_or_default();
    println!();
    println!(
        "## CPU per pod, ms (sum over the segments of all rounds / their pods; /proc/PID/task/*/schedstat; \
         segments only: pod-interleaved 1-client blocks cannot be split by mode)"
    );
    for (si, shape) in shapes.iter().enumerate() {
        if !run.records.iter().any(|r| r.shape == si && !r.cpu.is_empty()) {
            continue;
        }
        println!("  {}", shape.name);
        println!(
            "    mode {} {:>10}",
            names.iter().map(|n| format!("{n:>10}")).collect::<String>(),
            "total"
        );
        let mut totals = BTreeMap::new();
        for m in Mode::ALL {
            let recs: Vec<&Record> = run
                .records
                .iter()
                .filter(|r| r.shape == si && r.mode == m && !r.cpu.is_empty())
                .collect();
            let pods: usize = recs.iter().map(|r| r.segment.latencies_ms.len()).sum();
            let per = |name: &str| {
                recs.iter()
                    .map(|r| r.cpu.get(name).copied().unwrap_or(0))
                    .sum::<u64>() as f64
                    / 1e6
                    / pods.max(1) as f64
            };
            let total: f64 = names.iter().map(|n| per(n)).sum();
            totals.insert(m, total);
            println!(
                "    {:<4} {} {total:>10.3}",
                m.letter(),
                names
                    .iter()
                    .map(|n| format!("{:>10.3}", per(n)))
                    .collect::<String>(),
            );
        }
        println!(
            "    CPU added per pod: R−F {:+.3} ms, N−P {:+.3} ms, A−P {:+.3} ms",
            totals[&Mode::Respawn] - totals[&Mode::Final],
            totals[&Mode::Noop] - totals[&Mode::Plain],
            totals[&Mode::Annotate] - totals[&Mode::Plain],
        );
    }
    let _ = knobs;
}

/// Does a segment's place in its block matter? Each segment's pods/s relative to the median of
/// its (shape, clients, mode) cell, grouped by its place in the block; with shuffled modes this is
/// ≈ 0 everywhere unless going first, second, ... itself changes the speed.
fn print_positions(run: &Run) {
    let cells = by_cell(&run.records);
    let mut by_pos: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for recs in cells.values() {
        let rates: Vec<f64> = recs.iter().map(|r| r.segment.pods_per_s()).collect();
        let median = Spread::of(&rates).median;
        for r in recs {
            by_pos
                .entry(r.position)
                .or_default()
                .push(r.segment.pods_per_s() / median - 1.0);
        }
    }
    let shown: Vec<String> = by_pos
        .iter()
        .map(|(p, v)| {
            let s = Spread::of(v);
            format!(
                "{}: {:+.1} % [IQR {:+.1}–{:+.1}]",
                p + 1,
                s.median * 100.0,
                s.q1 * 100.0,
                s.q3 * 100.0
            )
        })
        .collect();
    println!();
    println!(
        "## order check: pods/s vs its mode's median, by place in the block: {}",
        shown.join(", ")
    );
}
