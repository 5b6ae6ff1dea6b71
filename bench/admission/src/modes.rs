//! The five modes and how a run is laid out (knobs from the environment).

use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::client::Expect;

/// What is created, and through which webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// P: plain pods, no webhook.
    Plain,
    /// F: the final pods respawn would produce, created directly, no webhook.
    Final,
    /// N: plain pods through a webhook that changes nothing.
    Noop,
    /// A: plain pods through a webhook whose patch adds one annotation — the floor of any
    /// webhook that mutates (the apiserver applies a patch: encode, apply, decode, compare, and a
    /// second round of the mutating chain).
    Annotate,
    /// R: plain pods injected by respawn-webhook.
    Respawn,
}

impl Mode {
    /// In report order.
    pub const ALL: [Mode; 5] = [
        Mode::Plain,
        Mode::Final,
        Mode::Noop,
        Mode::Annotate,
        Mode::Respawn,
    ];

    /// P, F, N, A or R.
    pub fn letter(self) -> char {
        match self {
            Mode::Plain => 'P',
            Mode::Final => 'F',
            Mode::Noop => 'N',
            Mode::Annotate => 'A',
            Mode::Respawn => 'R',
        }
    }

    /// The value of the namespace label that selects the mode's webhook configuration.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::Final => "final",
            Mode::Noop => "noop",
            Mode::Annotate => "annotate",
            Mode::Respawn => "respawn",
        }
    }

    /// What a created pod of this mode must look like.
    pub fn expect(self) -> Expect {
        match self {
            Mode::Plain | Mode::Noop | Mode::Annotate => Expect::Plain,
            Mode::Final | Mode::Respawn => Expect::Injected,
        }
    }

    /// Served by the `noop-webhook` process (N and A).
    pub fn via_noop(self) -> bool {
        matches!(self, Mode::Noop | Mode::Annotate)
    }

    /// The mode's webhook configuration, if it has one.
    pub fn config_name(self) -> Option<&'static str> {
        match self {
            Mode::Noop => Some("respawn-bench-noop"),
            Mode::Annotate => Some("respawn-bench-annotate"),
            Mode::Respawn => Some("respawn-bench-respawn"),
            Mode::Plain | Mode::Final => None,
        }
    }
}

/// The order of the modes (and blocks) within a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Shuffled every round (seeded).
    Random,
    /// Always P, F, N, R: for comparison only.
    Fixed,
}

/// Where each round's pods live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespaces {
    /// Four new namespaces per round, their pods and then they themselves deleted (and waited
    /// for) after it.
    Fresh,
    /// Four namespaces for the whole run, emptied (and waited for) after each round: the same
    /// clean state as `Fresh` at half the clean-up (no namespace controller), so more rounds.
    Reuse,
    /// Four new namespaces per round, deletion started but not waited for: for comparison only.
    NoWait,
}

/// The grain of interleaving in 1-client blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interleave {
    /// Groups of one pod per mode, each group shuffled (`interleave.rs`).
    Pod,
    /// One segment per mode, as at more clients.
    Segment,
}

/// How the webhook configurations come and go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configs {
    /// Both present for the whole run; namespaces pick one by label.
    Static,
    /// Created before each N or R segment (waiting until in force), deleted after: for comparison.
    Churn,
}

/// How the webhook configurations leave already-injected pods out (the chart's
/// `admission.skipInjected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipInjected {
    /// The chart's: the objectSelector requires the label `respawn.dev/injected` absent.
    Label,
    /// The chart before session 8, for comparison: a CEL `matchConditions` on the status
    /// annotation, which the apiserver evaluates over the whole pod.
    Cel,
    /// Neither (`admission.skipInjected: false`).
    None,
}

/// How a run is laid out.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Measured rounds (a warm-up round comes first and is discarded).
    pub rounds: usize,
    /// Pods per segment at 1 client.
    pub pods_1: usize,
    /// Pods per segment at more clients.
    pub pods_n: usize,
    /// Concurrent clients, one block per count.
    pub clients: Vec<usize>,
    /// Pod shapes (fixtures in pods/).
    pub shapes: Vec<String>,
    /// Seed of the shuffles.
    pub seed: u64,
    /// Mode order.
    pub order: Order,
    /// Namespace policy.
    pub namespaces: Namespaces,
    /// Webhook configuration policy.
    pub configs: Configs,
    /// Interleaving grain at 1 client.
    pub interleave: Interleave,
    /// Pause before each segment, so the previous segment's asynchronous work (watch fan-out,
    /// controller-manager reacting to the pods) does not land in it.
    pub settle: Duration,
    /// The modes measured (all five unless `BENCH_MODES` picks some, e.g. to profile one).
    pub modes: Vec<Mode>,
    /// How the webhook configurations skip injected pods (`BENCH_SKIP_INJECTED`).
    pub skip_injected: SkipInjected,
    /// No new round starts after this long (the run stays bounded on a busy machine).
    pub max_time: Duration,
}

impl Knobs {
    /// Pods per segment at `clients`.
    pub fn pods(&self, clients: usize) -> usize {
        if clients == 1 { self.pods_1 } else { self.pods_n }
    }

    /// From `BENCH_*` variables, with the defaults of `make bench`.
    pub fn from_env() -> Result<Knobs> {
        let seed = match std::env::var("BENCH_SEED") {
            Ok(s) => s.parse().context("BENCH_SEED")?,
            Err(_) => {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_nanos() as u64
                    % 1_000_000
            }
        };
        Ok(Knobs {
            rounds: num("BENCH_ROUNDS", 40)?,
            pods_1: num("BENCH_PODS_1", 20)?,
            pods_n: num("BENCH_PODS_8", 64)?,
            clients: list("BENCH_CLIENTS", "1,8")?
                .iter()
                .map(|c| c.parse().context("BENCH_CLIENTS"))
                .collect::<Result<_>>()?,
            shapes: list("BENCH_SHAPES", "small,realistic")?,
            seed,
            order: match var("BENCH_ORDER", "random").as_str() {
                "random" => Order::Random,
                "fixed" => Order::Fixed,
                o => bail!("BENCH_ORDER={o}: random or fixed"),
            },
            namespaces: match var("BENCH_NAMESPACES", "reuse").as_str() {
                "fresh" => Namespaces::Fresh,
                "reuse" => Namespaces::Reuse,
                "nowait" => Namespaces::NoWait,
                o => bail!("BENCH_NAMESPACES={o}: fresh, reuse or nowait"),
            },
            configs: match var("BENCH_CONFIGS", "static").as_str() {
                "static" => Configs::Static,
                "churn" => Configs::Churn,
                o => bail!("BENCH_CONFIGS={o}: static or churn"),
            },
            interleave: match var("BENCH_INTERLEAVE", "pod").as_str() {
                "pod" => Interleave::Pod,
                "segment" => Interleave::Segment,
                o => bail!("BENCH_INTERLEAVE={o}: pod or segment"),
            },
            settle: Duration::from_millis(num("BENCH_SETTLE_MS", 100)? as u64),
            modes: var("BENCH_MODES", "PFNAR")
                .chars()
                .filter(|c| !c.is_whitespace() && *c != ',')
                .map(|c| {
                    Mode::ALL
                        .into_iter()
                        .find(|m| m.letter() == c.to_ascii_uppercase())
                })
                .collect::<Option<Vec<Mode>>>()
                .context("BENCH_MODES: letters of P, F, N, A, R")?,
            skip_injected: match var("BENCH_SKIP_INJECTED", "label").as_str() {
                "label" => SkipInjected::Label,
                "cel" => SkipInjected::Cel,
                "none" => SkipInjected::None,
                o => bail!("BENCH_SKIP_INJECTED={o}: label, cel or none"),
            },
            max_time: Duration::from_secs(num("BENCH_MAX_SECONDS", 480)? as u64),
        })
    }
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn num(name: &str, default: usize) -> Result<usize> {
    var(name, &default.to_string())
        .parse()
        .with_context(|| format!("{name} is not a number"))
}

fn list(name: &str, default: &str) -> Result<Vec<String>> {
    let v: Vec<String> = var(name, default)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if v.is_empty() {
        bail!("{name} is empty");
    }
    Ok(v)
}

/// A small seeded generator for the shuffles (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// Seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_are_permutations_and_seeded() {
        let mut a: Vec<u32> = (0..10).collect();
        let mut b = a.clone();
        Rng::new(7).shuffle(&mut a);
        Rng::new(7).shuffle(&mut b);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        let mut orders = std::collections::HashSet::new();
        let mut rng = Rng::new(1);
        for _ in 0..3000 {
            let mut m = Mode::ALL;
            rng.shuffle(&mut m);
            orders.insert(m);
        }
        assert_eq!(orders.len(), 120, "every order of the five modes comes up");
    }
}
