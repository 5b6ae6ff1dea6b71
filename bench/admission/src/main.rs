//! `respawn-bench apiserver|handler STACK_ENV`: the admission benchmarks against a running local
//! e2e stack (`bench/bench-apiserver.sh` and `bench/bench-webhook.sh` bring one up). Knobs are
//! `BENCH_*` environment variables (see `modes.rs` and `docs/bench.md`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use respawn_bench::cluster::Cluster;
use respawn_bench::{handler, machine, modes::Knobs, run};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(cmd), Some(env)) = (args.first(), args.get(1)) else {
        bail!("usage: respawn-bench apiserver|handler STACK_ENV");
    };
    // kube's client and ours use rustls with ring (aws-lc-rs is also linked in by a dependency).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cluster = Cluster::open(&PathBuf::from(env)).await?;
    let started = Instant::now();
    match cmd.as_str() {
        "apiserver" => run::apiserver(&cluster, &Knobs::from_env()?).await?,
        "handler" => handler_check(&cluster).await?,
        other => bail!("unknown benchmark {other}: apiserver or handler"),
    }
    eprintln!("respawn-bench {cmd}: {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

async fn handler_check(cluster: &Cluster) -> Result<()> {
    let num = |k: &str, d: u64| -> Result<u64> {
        std::env::var(k).map_or(Ok(d), |v| {
            v.parse().with_context(|| format!("{k} is not a number"))
        })
    };
    let (rate, seconds) = (num("RATE", 500)?, num("SECONDS_PER_ROUND", 10)?);
    let shapes: Vec<String> = std::env::var("BENCH_SHAPES")
        .unwrap_or_else(|_| "small,realistic".into())
        .split(',')
        .map(str::to_string)
        .collect();
    println!(
        "respawn-webhook handler latency: the stack's release binary over HTTPS (one HTTP/2 connection, \
         as kube-apiserver calls it), cached image, {rate} req/s for {seconds} s per pod shape; load {} ({} cores)",
        machine::loadavg(),
        machine::cores()
    );
    println!(
        "(the throughput-vs-TLS-echo goal of the old handler benchmark is retired: users feel admission \
         through the apiserver, see bench-apiserver.sh; only this latency goal remains)"
    );
    let ns = format!("rb-{}-handler", run::run_id());
    cluster.create_namespace(&ns, "plain").await?;
    let results = handler::run(cluster, &shapes, rate, seconds, &ns).await;
    cluster
        .delete_namespaces(&[ns], std::time::Duration::from_secs(120))
        .await?;
    handler::print(&results?, rate, seconds);
    println!("load after: {}", machine::loadavg());
    Ok(())
}
