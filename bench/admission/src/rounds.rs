//! The rounds: every round creates, for every (shape, client count) block, one segment per mode,
//! in a shuffled order, in four namespaces of its own (one per mode, selected by label); then the
//! namespaces are deleted and waited for, so each round starts from the same, empty state.
//! Round 0 is the warm-up and is discarded.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::client::{Create, Pool, Segment};
use crate::cluster::Cluster;
use crate::cpu::{self, Procs, Sample};
use crate::modes::{Configs, Interleave, Knobs, Mode, Namespaces, Order, Rng};
use crate::noop::Noop;
use crate::shapes::{self, Shape};

/// One segment's outcome.
#[derive(Debug, Clone)]
pub struct Record {
    /// Round number (1-based; the warm-up round 0 is not recorded).
    pub round: usize,
    /// Index into the shapes.
    pub shape: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// The mode.
    pub mode: Mode,
    /// Its position within the block (0..4).
    pub position: usize,
    /// Latencies and wall time.
    pub segment: Segment,
    /// CPU ns per process during the segment.
    pub cpu: Sample,
    /// Cores other processes used on average during the segment (machine busy time minus ours;
    /// `/proc/stat` counts in 10 ms ticks, so this is coarse for short segments).
    pub others: f64,
}

/// Everything a run measured.
#[derive(Debug, Default)]
pub struct Run {
    /// The measured segments.
    pub records: Vec<Record>,
    /// How long each round's clean-up took (namespaces deleted and gone).
    pub cleanups: Vec<Duration>,
    /// Reviews the no-op webhook must have received.
    pub noop_expected: u64,
    /// The time limit ended the run before `knobs.rounds`.
    pub stopped_early: bool,
}

/// What the rounds need.
pub struct Bench<'a> {
    /// The stack.
    pub cluster: &'a Cluster,
    /// The load generator's connections.
    pub pool: &'a Pool,
    /// The no-op webhook.
    pub noop: &'a Noop,
    /// Shapes with their final pods.
    pub shapes: &'a [Shape],
    /// Layout.
    pub knobs: &'a Knobs,
    /// Processes whose CPU is accounted.
    pub procs: &'a Procs,
    /// Prefix of every namespace of this run.
    pub run_id: String,
}

impl Bench<'_> {
    fn ns(&self, round: usize, mode: Mode) -> String {
        match self.knobs.namespaces {
            Namespaces::Reuse => format!("{}-{}", self.run_id, mode.label()),
            Namespaces::Fresh | Namespaces::NoWait => format!("{}-{round}-{}", self.run_id, mode.label()),
        }
    }

    /// Runs the warm-up round and `knobs.rounds` measured rounds.
    pub async fn run(&self) -> Result<Run> {
        let mut run = Run::default();
        let mut rng = Rng::new(self.knobs.seed);
        let mut blocks: Vec<(usize, usize)> = (0..self.shapes.len())
            .flat_map(|s| self.knobs.clients.iter().map(move |&c| (s, c)))
            .collect();
        let run_start = Instant::now();
        for round in 0..=self.knobs.rounds {
            if round > 1 && run_start.elapsed() > self.knobs.max_time {
                eprintln!(
                    "respawn-bench: stopping after {} measured rounds: {:.0} s is past BENCH_MAX_SECONDS",
                    round - 1,
                    run_start.elapsed().as_secs_f64()
                );
                run.stopped_early = true;
                break;
            }
            let started = Instant::now();
            let namespaces: Vec<String> = Mode::ALL.iter().map(|&m| self.ns(round, m)).collect();
            if round == 0 || self.knobs.namespaces != Namespaces::Reuse {
                for (&m, ns) in Mode::ALL.iter().zip(&namespaces) {
                    self.cluster.create_namespace(ns, m.label()).await?;
                }
            }
            run.noop_expected += self.warm(round).await?;
            if self.knobs.order == Order::Random {
                rng.shuffle(&mut blocks);
            }
            for &(shape, clients) in &blocks {
                if clients == 1
                    && self.knobs.interleave == Interleave::Pod
                    && self.knobs.configs == Configs::Static
                {
                    let (records, noop) = self.interleaved_block(round, shape, &mut rng).await?;
                    run.noop_expected += noop;
                    if round > 0 {
                        run.records.extend(records);
                    }
                    continue;
                }
                let mut modes = self.knobs.modes.clone();
                if self.knobs.order == Order::Random {
                    rng.shuffle(&mut modes);
                }
                for (position, &mode) in modes.iter().enumerate() {
                    let (segment, cpu, others, probes) = self.segment(round, shape, clients, mode).await?;
                    run.noop_expected += probes;
                    if mode.via_noop() {
                        run.noop_expected += segment.latencies_ms.len() as u64;
                    }
                    if round > 0 {
                        run.records.push(Record {
                            round,
                            shape,
                            clients,
                            mode,
                            position,
                            segment,
                            cpu,
                            others,
                        });
                    }
                }
            }
            let created = Instant::now();
            let cleanup = self.clean(&namespaces).await?;
            if round > 0 {
                run.cleanups.push(cleanup);
            }
            eprintln!(
                "respawn-bench: round {round}{} done: {:.1} s creating, {:.1} s cleaning up",
                if round == 0 { " (warm-up, discarded)" } else { "" },
                (created - started).as_secs_f64(),
                cleanup.as_secs_f64()
            );
        }
        if self.knobs.namespaces == Namespaces::Reuse {
            let all: Vec<String> = Mode::ALL.iter().map(|&m| self.ns(0, m)).collect();
            self.cluster
                .delete_namespaces(&all, Duration::from_secs(120))
                .await?;
        }
        Ok(run)
    }

    /// One pod of every shape in every mode's namespace, untimed: the new namespaces reach the
    /// apiserver's informers (namespace lifecycle, webhook namespace selectors) and respawn's
    /// ServiceAccount cache before anything is timed. Returns the no-op reviews it caused.
    async fn warm(&self, round: usize) -> Result<u64> {
        let mut noop_calls = 0;
        for &mode in &self.knobs.modes {
            if self.knobs.configs == Configs::Churn && mode.config_name().is_some() {
                continue;
            }
            for shape in self.shapes {
                let creates = vec![self.create(round, shape, mode, &format!("warm-{}", shape.name))];
                self.pool.segment(Arc::new(creates), 1, mode.expect()).await?;
                noop_calls += u64::from(mode.via_noop());
            }
        }
        Ok(noop_calls)
    }

    pub(crate) fn create(&self, round: usize, shape: &Shape, mode: Mode, name: &str) -> Create {
        let pod = if mode == Mode::Final {
            &shape.final_pod
        } else {
            &shape.plain
        };
        Create {
            path: format!("/api/v1/namespaces/{}/pods", self.ns(round, mode)),
            body: shapes::body(pod, name),
        }
    }

    /// One timed segment; returns it, the CPU it took, the cores other processes used meanwhile
    /// and the no-op reviews of its set-up.
    async fn segment(
        &self,
        round: usize,
        shape: usize,
        clients: usize,
        mode: Mode,
    ) -> Result<(Segment, Sample, f64, u64)> {
        let s = &self.shapes[shape];
        let creates: Vec<Create> = (0..self.knobs.pods(clients))
            .map(|i| self.create(round, s, mode, &format!("{}-c{clients}-{i}", s.name)))
            .collect();
        let mut probes = 0;
        if self.knobs.configs == Configs::Churn
            && let Some(name) = mode.config_name()
        {
            probes = self.config_on(round, mode, name).await?;
        }
        tokio::time::sleep(self.knobs.settle).await;
        let (before, busy) = (self.procs.sample(), crate::machine::busy());
        let segment = self
            .pool
            .segment(Arc::new(creates), clients, mode.expect())
            .await
            .with_context(|| {
                format!(
                    "round {round}, {} pods, {clients} clients, mode {}",
                    s.name,
                    mode.letter()
                )
            })?;
        let (after, busy_after) = (self.procs.sample(), crate::machine::busy());
        let cpu = cpu::delta(&before, &after);
        let ours: u64 = cpu.values().sum();
        let others = busy_after
            .busy_ns
            .saturating_sub(busy.busy_ns)
            .saturating_sub(ours) as f64
            / segment.wall.as_secs_f64().max(1e-3)
            / 1e9;
        if self.knobs.configs == Configs::Churn
            && let Some(name) = mode.config_name()
        {
            self.cluster.delete_webhook_config(name).await;
        }
        Ok((segment, cpu, others, probes))
    }

    /// Churn only: creates `mode`'s configuration and waits until a dry run in its namespace
    /// shows it in force. Returns the no-op reviews the probes caused.
    async fn config_on(&self, round: usize, mode: Mode, name: &str) -> Result<u64> {
        let url = if mode.via_noop() {
            (self.noop.url_for(mode).to_string(), self.noop.ca_pem.clone())
        } else {
            respawn_endpoint(self.cluster)?
        };
        self.cluster
            .apply_webhook_config(name, mode.label(), &url.0, &url.1, self.knobs.skip_injected)
            .await?;
        wait_in_force(
            self.cluster,
            self.noop,
            &self.ns(round, mode),
            mode,
            &self.shapes[0].plain,
        )
        .await
    }

    /// Deletes (or empties) the round's namespaces and waits until that is done.
    async fn clean(&self, namespaces: &[String]) -> Result<Duration> {
        let limit = Duration::from_secs(180);
        match self.knobs.namespaces {
            Namespaces::Fresh => self.cluster.delete_namespaces(namespaces, limit).await,
            Namespaces::NoWait => {
                let start = Instant::now();
                for ns in namespaces {
                    self.cluster
                        .request("DELETE", &format!("/api/v1/namespaces/{ns}"), None)
                        .await?;
                }
                Ok(start.elapsed())
            }
            Namespaces::Reuse => {
                let start = Instant::now();
                for ns in namespaces {
                    let path = format!("/api/v1/namespaces/{ns}/pods");
                    self.cluster.request("DELETE", &path, None).await?;
                    loop {
                        let left = self
                            .cluster
                            .request("GET", &format!("{path}?limit=1"), None)
                            .await?;
                        if left["items"].as_array().is_none_or(Vec::is_empty) {
                            break;
                        }
                        ensure!(start.elapsed() < limit, "pods of {ns} not gone after {limit:?}");
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                }
                Ok(start.elapsed())
            }
        }
    }
}

/// respawn-webhook's URL and CA in the stack.
pub fn respawn_endpoint(cluster: &Cluster) -> Result<(String, String)> {
    let url = format!("https://127.0.0.1:{}/mutate", cluster.stack.var("WEBHOOK_PORT")?);
    let ca = std::fs::read_to_string(cluster.stack.var("WEBHOOK_CA")?).context("the webhook's CA")?;
    Ok((url, ca))
}

/// Waits until a dry-run create of `pod` in `ns` goes through `mode`'s webhook: injected for
/// respawn, one more review counted by the no-op. Returns the no-op reviews the probes caused.
pub async fn wait_in_force(
    cluster: &Cluster,
    noop: &Noop,
    ns: &str,
    mode: Mode,
    pod: &serde_json::Value,
) -> Result<u64> {
    let start = Instant::now();
    let mut probe = pod.clone();
    probe["metadata"]["name"] = "in-force-probe".into();
    let mut calls = 0;
    loop {
        let before = noop.stats()?.calls();
        let stored = cluster.create_pod(ns, &probe, true).await?;
        let after = noop.stats()?.calls();
        calls += after - before;
        let in_force = match mode {
            Mode::Respawn => stored["metadata"]["annotations"]["respawn.dev/status"] == "injected",
            Mode::Noop => after > before,
            Mode::Annotate => stored["metadata"]["annotations"]["bench.respawn.dev/annotated"] == "true",
            Mode::Plain | Mode::Final => true,
        };
        if in_force {
            return Ok(calls);
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!(
                "the {} webhook configuration is not in force after 30 s",
                mode.label()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Records grouped by (shape, clients, mode), each list in round order.
pub fn by_cell(records: &[Record]) -> BTreeMap<(usize, usize, Mode), Vec<&Record>> {
    let mut cells: BTreeMap<_, Vec<&Record>> = BTreeMap::new();
    for r in records {
        cells.entry((r.shape, r.clients, r.mode)).or_default().push(r);
    }
    cells
}
