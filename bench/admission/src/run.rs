//! `respawn-bench apiserver`: set-up (no-op webhook, both webhook configurations, the final
//! pods), the rounds, the checks that every mode went where it should, and the report.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use crate::client::Pool;
use crate::cluster::Cluster;
use crate::cpu::{self, Procs};
use crate::modes::{Configs, Knobs, Mode, SkipInjected};
use crate::noop::Noop;
use crate::report::Verdict;
use crate::rounds::{Bench, respawn_endpoint, wait_in_force};
use crate::{machine, report, shapes};

/// Above this many cores used by other processes on average, the run is flagged as noisy.
pub const QUIET_CORES: f64 = 0.2;

/// A short id for this run's namespaces.
pub fn run_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{:x}", (t ^ u128::from(std::process::id())) & 0xfffff)
}

/// The whole apiserver benchmark.
pub async fn apiserver(cluster: &Cluster, knobs: &Knobs) -> Result<()> {
    let load_before = machine::loadavg();
    println!(
        "admission through kube-apiserver {} (local e2e stack: etcd, kube-apiserver, kube-controller-manager, \
         respawn-webhook, all on 127.0.0.1; no kubelet, pods stay Pending); {} cores shared by all of them and \
         the load generator",
        std::env::var("KUBE_VERSION").unwrap_or_else(|_| "v1.36.3".into()),
        machine::cores()
    );
    println!(
        "rounds: {} measured + 1 warm-up (discarded); per round and per (shape, clients) block every mode, \
         order {:?} (seed {}); {} pods per mode at 1 client, {} at more; clients {:?}; namespaces {:?}; \
         webhook configurations {:?}{}; modes {}; 1-client blocks interleaved by {:?}; settle {} ms before each segment",
        knobs.rounds,
        knobs.order,
        knobs.seed,
        knobs.pods_1,
        knobs.pods_n,
        knobs.clients,
        knobs.namespaces,
        knobs.configs,
        match knobs.skip_injected {
            SkipInjected::Label => " skipping injected pods by label (the chart's)",
            SkipInjected::Cel => " skipping injected pods by CEL matchConditions (comparison)",
            SkipInjected::None => " not skipping injected pods",
        },
        knobs.modes.iter().map(|m| m.letter()).collect::<String>(),
        knobs.interleave,
        knobs.settle.as_millis()
    );
    println!("load average before: {load_before}");

    for ns in cluster.leftover_namespaces().await? {
        eprintln!("respawn-bench: deleting namespace {ns} left by an earlier run");
        cluster.delete_namespaces(&[ns], Duration::from_secs(180)).await?;
    }
    let noop = Noop::start().context("the no-op webhook (anchor N) did not start")?;
    let respawn = respawn_endpoint(cluster)?;
    let id = run_id();
    let setup: Vec<(Mode, String)> = [Mode::Respawn, Mode::Noop, Mode::Annotate, Mode::Final]
        .iter()
        .map(|&m| (m, format!("rb-{id}-setup-{}", m.label())))
        .collect();
    for (m, ns) in &setup {
        cluster.create_namespace(ns, m.label()).await?;
    }
    let configs = [
        (Mode::Respawn, respawn.clone()),
        (Mode::Noop, (noop.url.clone(), noop.ca_pem.clone())),
        (Mode::Annotate, (noop.annotate_url.clone(), noop.ca_pem.clone())),
    ];
    for (m, (url, ca)) in &configs {
        let name = m.config_name().expect("N, A and R have configurations");
        cluster
            .apply_webhook_config(name, m.label(), url, ca, knobs.skip_injected)
            .await?;
    }
    let registry = cluster.stack.registry()?;
    let probe = shapes::load("small", &registry)?;
    for (m, ns) in &setup[..3] {
        wait_in_force(cluster, &noop, ns, *m, &probe)
            .await
            .with_context(|| format!("anchor {}", m.letter()))?;
    }
    let mut shape_list = Vec::new();
    for name in &knobs.shapes {
        let plain = shapes::load(name, &registry)?;
        let shape = shapes::derive(cluster, name, plain, &setup[0].1, &setup[3].1)
            .await
            .with_context(|| format!("deriving the final {name} pod"))?;
        println!(
            "shape {name}: plain {} B, final {} B (found with {} dry-run creates; created directly it stores \
             exactly the pod respawn injected)",
            shapes::size(&shape.plain),
            shapes::size(&shape.final_pod),
            shape.trials
        );
        shape_list.push(shape);
    }
    let setup_ns: Vec<String> = setup.iter().map(|(_, ns)| ns.clone()).collect();
    cluster
        .delete_namespaces(&setup_ns, Duration::from_secs(180))
        .await?;
    if knobs.configs == Configs::Churn {
        for (m, _) in &configs {
            cluster
                .delete_webhook_config(m.config_name().expect("configured"))
                .await;
        }
    }

    let max_clients = knobs.clients.iter().copied().max().unwrap_or(1);
    let pool = Pool::connect(cluster.apiserver, &cluster.ca_pem, &cluster.token, max_clients).await?;
    let mut procs = Procs::default();
    for (short, c) in [
        ("apiserver", "kube-apiserver"),
        ("etcd", "etcd"),
        ("ctrl-mgr", "kube-controller-manager"),
        ("respawn", "respawn-webhook"),
    ] {
        procs.add(short, cluster.pid(c));
    }
    procs.add("noop", Some(noop.pid()));
    procs.add("client", Some(std::process::id()));
    println!(
        "load generator: one tokio thread, {max_clients} HTTP/2 connections (hyper, rustls), JSON bodies \
         serialised before each segment; processes: {}",
        procs
            .list
            .iter()
            .map(|(n, p)| format!("{n} {p}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let metrics = format!("127.0.0.1:{}", cluster.stack.var("WEBHOOK_METRICS_PORT")?);
    let reviews_before = machine::metric_sum(&metrics, "respawn_webhook_admission_requests_total");
    let noop_before = noop.stats()?;
    let (busy0, ours0, t0) = (machine::busy(), procs.sample(), Instant::now());
    let bench = Bench {
        cluster,
        pool: &pool,
        noop: &noop,
        shapes: &shape_list,
        knobs,
        procs: &procs,
        run_id: format!("rb-{id}"),
    };
    let result = bench.run().await;
    let (busy1, ours1, wall) = (machine::busy(), procs.sample(), t0.elapsed());
    let load_after = machine::loadavg();
    if knobs.configs == Configs::Static {
        for (m, _) in &configs {
            cluster
                .delete_webhook_config(m.config_name().expect("configured"))
                .await;
        }
    }
    let run = result?;

    let noop_after = noop.stats()?;
    let noop_calls = noop_after.calls() - noop_before.calls();
    ensure!(
        noop_calls == run.noop_expected && noop_after.bad == 0,
        "the no-op webhook received {noop_calls} reviews ({} unreadable), expected {}: the modes did not \
         go through the webhooks they should",
        noop_after.bad,
        run.noop_expected
    );
    let ours: u64 = cpu::delta(&ours0, &ours1).values().sum();
    let machine_ns = busy1.busy_ns.saturating_sub(busy0.busy_ns);
    let secs = wall.as_secs_f64();
    let others = machine_ns.saturating_sub(ours) as f64 / 1e9 / secs;
    println!();
    println!(
        "run: {:.0} s; load average before {load_before}, after {load_after}; CPU in use on average: the \
         benchmark's processes {:.2} cores, everything else {others:.2} cores, steal {:.2}",
        secs,
        ours as f64 / 1e9 / secs,
        busy1.steal_ns.saturating_sub(busy0.steal_ns) as f64 / 1e9 / secs
    );
    let per_segment: Vec<f64> = run.records.iter().map(|r| r.others).collect();
    let noisy = per_segment.iter().filter(|&&c| c > QUIET_CORES).count();
    println!(
        "other processes during the timed segments: {} cores (median [IQR, min–max]); {noisy} of {} segments above {QUIET_CORES}",
        crate::stats::Spread::of(&per_segment).show(2),
        per_segment.len()
    );
    if others > QUIET_CORES {
        println!(
            "WARNING: other processes used {others:.2} cores during the run (more than {QUIET_CORES}): the machine \
             was not quiet, the pods/s and latency figures are noise; CPU per pod (below) holds up better"
        );
    }
    let r_pods: usize = run
        .records
        .iter()
        .filter(|r| r.mode == Mode::Respawn)
        .map(|r| r.segment.latencies_ms.len())
        .sum();
    let reviews = machine::metric_sum(&metrics, "respawn_webhook_admission_requests_total")
        .zip(reviews_before)
        .map(|(a, b)| a - b);
    println!(
        "webhook calls: no-op {noop_calls} reviews (HTTP/2 {}, HTTP/1.x {}; {} connection(s) open), all expected; \
         respawn-webhook {} reviews for {} timed R pods plus warm-ups (no reinvocation when ≈ equal); \
         clean-up (namespaces deleted and gone) per round: {}",
        noop_after.h2 - noop_before.h2,
        noop_after.h1 - noop_before.h1,
        noop_after.connections,
        reviews.map_or("?".into(), |r| format!("{r:.0}")),
        r_pods,
        crate::stats::Spread::of(&run.cleanups.iter().map(|d| d.as_secs_f64()).collect::<Vec<_>>()).show(2)
    );
    if run.stopped_early {
        println!(
            "NOTE: the time limit (BENCH_MAX_SECONDS={}) stopped the run after {} of {} rounds",
            knobs.max_time.as_secs(),
            run.cleanups.len(),
            knobs.rounds
        );
    }
    let verdicts = report::print(&run, &shape_list, knobs);
    println!();
    for v in &verdicts {
        println!(
            "RESULT {} clients={} R/F={:.3} [IQR {:.3}] N/P={:.3} [IQR {:.3}] F/P={:.3} A/P={:.3} p50-added R-F={:+.2}ms N-P={:+.2}ms A-P={:+.2}ms goal {} floor {}",
            v.shape,
            v.clients,
            v.r_f.median,
            v.r_f.iqr(),
            v.n_p.median,
            v.n_p.iqr(),
            v.f_p.median,
            v.a_p.median,
            v.r_minus_f.median,
            v.n_minus_p.median,
            v.a_minus_p.median,
            if v.pass() { "PASS" } else { "MISS" },
            if v.floor_pass() { "PASS" } else { "MISS" }
        );
    }
    let summary = |label: &str, anchor: char, ok: bool| {
        println!(
            "{label} (every shape and client count): R/F ≥ {anchor}/P − {} and, at 1 client, p50 added over F ≤ {anchor}'s over P + {} ms: {}",
            report::RATIO_MARGIN,
            report::P50_MARGIN_MS,
            if ok { "PASS" } else { "MISS" }
        )
    };
    summary("goal", 'N', verdicts.iter().all(Verdict::pass));
    summary(
        "floor (the goal re-anchored on A, the one-annotation webhook)",
        'A',
        verdicts.iter().all(Verdict::floor_pass),
    );
    Ok(())
}
