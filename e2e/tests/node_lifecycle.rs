//! The stack's node comes and goes without leaving anything on the host: with a pod running,
//! `e2e/stack/node.sh down` then `up`, twice in a row. After each `down` nothing of the node may
//! remain — no mount under its directory or in /run/netns, no cgroup under its cgroup root (nor a
//! `kubepods` at the top of any hierarchy), no process in those cgroups or naming its directory,
//! no log symlink into it. After each `up` the node is Ready and the kubelet runs the pod again
//! in a new container. The node is left up, as the test found it.
//!
//! These checks read the host directly; they do not reuse node.sh's own cleanup logic.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use respawn_e2e::stack::repo_root;
use respawn_e2e::{Stack, node, pods, with_ns};

const NEEDS: &str = "the local node (e2e/stack/node.sh)";

fn node_sh(action: &str) -> Result<()> {
    let script = repo_root().join("e2e/stack/node.sh");
    let out = Command::new(&script).arg(action).output()?;
    if !out.status.success() {
        bail!(
            "node.sh {action} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Everything of the node still on the host, one line each.
fn leftovers(node_dir: &str, cgroup_root: &str) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    let mut hierarchies = Vec::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let point = fields.get(4).copied().unwrap_or_default().replace("\\040", " ");
        let fstype = fields
            .iter()
            .skip_while(|f| **f != "-")
            .nth(1)
            .copied()
            .unwrap_or_default();
        if fstype == "cgroup" || fstype == "cgroup2" {
            hierarchies.push(point.clone());
        }
        if point.starts_with(node_dir)
            || point.starts_with("/run/netns/")
            || point.starts_with("/run/containerd")
        {
            found.push(format!("mount {point} ({fstype})"));
        }
    }
    if let Ok(entries) = std::fs::read_dir("/run/netns") {
        for e in entries.flatten() {
            found.push(format!("network namespace {}", e.path().display()));
        }
    }
    for h in &hierarchies {
        for dir in [format!("{h}{cgroup_root}"), format!("{h}/kubepods")] {
            if Path::new(&dir).exists() {
                found.push(format!("cgroup {dir}"));
            }
        }
    }
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cgroup.contains(cgroup_root) || cmdline.contains(node_dir) {
            found.push(format!("process {pid}: {}", cmdline.trim()));
        }
    }
    if let Ok(entries) = std::fs::read_dir("/var/log/containers") {
        for e in entries.flatten() {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            if target.starts_with(node_dir) {
                found.push(format!("log link {} -> {}", e.path().display(), target.display()));
            }
        }
    }
    Ok(found)
}

#[tokio::test]
async fn node_down_and_up_twice_leaves_nothing_behind() -> Result<()> {
    let stack = Stack::local_only(NEEDS)?;
    let node_dir = stack.var("NODE_DIR")?.to_string();
    let cgroup_root = stack.var("NODE_CGROUP_ROOT")?.to_string();
    let image = stack.test_image("oci")?;
    with_ns("node-cycle", &[], |ns| async move {
        let pod = pods::pod("sleeper", &[], &image, None, None);
        ns.create_pod(&pod).await?;
        let mut container = container_id(&node::wait_running(&ns, "sleeper").await?)?;
        for round in 1..=2 {
            node_sh("down")?;
            let left = leftovers(&node_dir, &cgroup_root)?;
            ensure!(
                left.is_empty(),
                "after node.sh down #{round}:\n  {}",
                left.join("\n  ")
            );
            node_sh("up")?;
            // The pod object outlived its node; the new kubelet runs it in a new container.
            let again = node::wait_pod(&ns, "sleeper", "run again", |p| {
                container_id(p).is_ok_and(|c| c != container)
                    && node::status(p, "app").is_some_and(|s| s.ready)
            })
            .await?;
            container = container_id(&again)?;
            eprintln!("node-cycle: round {round} clean; the pod runs again as {container}");
        }
        Ok(())
    })
    .await
}

fn container_id(pod: &k8s_openapi::api::core::v1::Pod) -> Result<String> {
    node::status(pod, "app")
        .and_then(|s| s.container_id.clone())
        .context("no container id yet")
}
