//! Pod-level interleaving for 1-client blocks (`BENCH_INTERLEAVE=pod`, the default): instead of
//! one segment per mode, the block creates its pods in groups of one pod per mode, each group in a
//! freshly shuffled order, one after the other. A mode's "segment" is then its pods scattered over
//! the whole block, and a burst of other load lands on all modes alike instead of on whichever
//! segment it happened to hit. At 1 client a mode's pods/s is 1 / its mean latency either way.
//! Not used at more clients, where pods/s is a property of a mode running alone. CPU per pod is
//! not measured for such blocks (it cannot be split by mode at this grain).

use std::time::Duration;

use anyhow::{Context, Result};

use crate::client::{Create, Segment};
use crate::cpu::Sample;
use crate::modes::{Mode, Rng};
use crate::rounds::{Bench, Record};

impl Bench<'_> {
    /// One 1-client block, pod by pod; returns one record per mode (position: the mode's place in
    /// the first group) and the no-op reviews it caused.
    pub(crate) async fn interleaved_block(
        &self,
        round: usize,
        shape: usize,
        rng: &mut Rng,
    ) -> Result<(Vec<Record>, u64)> {
        let s = &self.shapes[shape];
        let mut plan: Vec<(Mode, Create)> = Vec::new();
        let mut first = Vec::new();
        for i in 0..self.knobs.pods(1) {
            let mut group = self.knobs.modes.clone();
            rng.shuffle(&mut group);
            if i == 0 {
                first = group.clone();
            }
            plan.extend(
                group
                    .into_iter()
                    .map(|m| (m, self.create(round, s, m, &format!("{}-c1-{i}", s.name)))),
            );
        }
        tokio::time::sleep(self.knobs.settle).await;
        let busy = crate::machine::busy();
        let ours0: u64 = self.procs.sample().values().sum();
        let mut latencies: Vec<(Mode, f64)> = Vec::with_capacity(plan.len());
        for (mode, create) in &plan {
            let ms = self
                .pool
                .create_one(create, mode.expect())
                .await
                .with_context(|| {
                    format!("round {round}, {} pods, 1 client, mode {}", s.name, mode.letter())
                })?;
            latencies.push((*mode, ms));
        }
        let ours = self.procs.sample().values().sum::<u64>().saturating_sub(ours0);
        let total_ms: f64 = latencies.iter().map(|(_, ms)| ms).sum();
        let others = crate::machine::busy()
            .busy_ns
            .saturating_sub(busy.busy_ns)
            .saturating_sub(ours) as f64
            / (total_ms * 1e6).max(1.0);
        let mut records = Vec::new();
        let mut noop = 0;
        for (position, &mode) in first.iter().enumerate() {
            let latencies_ms: Vec<f64> = latencies
                .iter()
                .filter(|(m, _)| *m == mode)
                .map(|(_, ms)| *ms)
                .collect();
            let busy_ms: f64 = latencies_ms.iter().sum();
            if mode.via_noop() {
                noop += latencies_ms.len() as u64;
            }
            records.push(Record {
                round,
                shape,
                clients: 1,
                mode,
                position,
                segment: Segment {
                    latencies_ms,
                    wall: Duration::from_secs_f64(busy_ms / 1e3),
                },
                cpu: Sample::new(),
                others,
            });
        }
        Ok((records, noop))
    }
}
