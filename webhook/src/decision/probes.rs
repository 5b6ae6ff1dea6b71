//! Probe-aware restarts: the liveness and startup probes of a wrapped container become
//! `exec: [/respawn/respawn, probe, …]` carrying the original check, so an in-place restart
//! (or `--grace` after one) does not get the container killed, while a real hang still does.
//!
//! Per probe: an `exec` check is carried as is; a plain-HTTP `httpGet` and a `tcpSocket` are
//! carried with named ports resolved against the container's `ports`, made from inside the pod
//! to `RESPAWN_POD_IP` (added from the downward API). Left as they are, with a warning naming
//! them: HTTPS `httpGet` and `grpc` (the supervisor speaks neither), an explicit `host` (the
//! kubelet connects to it from the node), a port name the container does not declare, a value
//! the `respawn probe` grammar refuses. Readiness probes are never touched: a restarting app
//! should drop out of the Service's endpoints. Every other field of a probe (periods,
//! thresholds, timeouts, `terminationGracePeriodSeconds`) is kept by the renderer.
//! Pod annotation `respawn.dev/probes: keep` turns this off; `respawn.dev/probe-grace`
//! replaces the default grace, the probe's `failureThreshold × periodSeconds`.

use std::ffi::OsString;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe as K8sProbe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use respawn_settings::{Check, PROBE, Probe, probe};
use serde_json::{Map, Value};

use super::SUPERVISOR_PATH;
use super::annotations::{PodSettings, ProbeMode};
use super::argv::escape;
use super::mutation::{ProbeField, ProbeRewrite};

/// The kubelet's defaults for unset probe fields.
const DEFAULT_PERIOD: i32 = 10;
const DEFAULT_FAILURE_THRESHOLD: i32 = 3;
const DEFAULT_TIMEOUT: i32 = 1;

/// What happens to one container's probes.
#[derive(Debug, Default)]
pub struct Rewrites {
    /// The probes rewritten.
    pub probes: Vec<ProbeRewrite>,
    /// A network check is among them: the container needs `RESPAWN_POD_IP`.
    pub pod_ip: bool,
    /// The original probes that were rewritten, by field name (for the annotation).
    pub originals: Map<String, Value>,
}

/// Decides the rewrite of `c`'s liveness and startup probes.
pub fn rewrite(c: &Container, settings: &PodSettings, warnings: &mut Vec<String>) -> Rewrites {
    let mut out = Rewrites::default();
    if settings.probes == ProbeMode::Keep {
        return out;
    }
    for (field, p) in [
        (ProbeField::Liveness, &c.liveness_probe),
        (ProbeField::Startup, &c.startup_probe),
    ] {
        let Some(p) = p else { continue };
        let checked = check_of(c, p).and_then(|check| {
            let network = !matches!(check, Check::Exec(_));
            let grace = settings.probe_grace.unwrap_or_else(|| default_grace(p));
            let seconds = p.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT).max(1);
            let spec = Probe {
                grace,
                timeout: Duration::from_secs(seconds as u64),
                control_socket: None,
                check,
            };
            let words = spec.args();
            // The supervisor reads these words with the same grammar: prove it here.
            let os: Vec<OsString> = words.iter().map(OsString::from).collect();
            probe(&os).map_err(|e| format!("respawn probe refuses it: {e}"))?;
            Ok((words, network))
        });
        match checked {
            Ok((words, network)) => {
                // The kubelet expands `$(VAR)` in an exec probe's command: an exec check's own
                // words keep that expansion; HTTP paths and headers must reach us unchanged.
                let words = words.into_iter().map(|w| match network {
                    true => escape(&w).into_owned(),
                    false => w,
                });
                let command = [SUPERVISOR_PATH.to_string(), PROBE.to_string()]
                    .into_iter()
                    .chain(words)
                    .collect();
                out.pod_ip |= network;
                let original = serde_json::to_value(p).expect("k8s-openapi objects serialize");
                out.originals.insert(field.json_name().into(), original);
                out.probes.push(ProbeRewrite { field, command });
            }
            Err(why) => warnings.push(format!(
                "respawn: container {:?}: {} left as is ({why}); a restart longer than its failure window \
                 gets the container killed",
                c.name,
                field.json_name()
            )),
        }
    }
    out
}

/// The kubelet gives up after `failureThreshold` failures `periodSeconds` apart.
fn default_grace(p: &K8sProbe) -> Duration {
    let period = p.period_seconds.unwrap_or(DEFAULT_PERIOD).max(1);
    let threshold = p.failure_threshold.unwrap_or(DEFAULT_FAILURE_THRESHOLD).max(1);
    Duration::from_secs(period as u64 * threshold as u64)
}

/// The probe's check in `respawn probe` terms, or why it stays as it is.
fn check_of(c: &Container, p: &K8sProbe) -> Result<Check, String> {
    if p.grpc.is_some() {
        return Err("a grpc check: respawn probe does not speak gRPC".into());
    }
    if let Some(e) = &p.exec {
        return match e.command.as_deref() {
            Some(cmd) if !cmd.is_empty() => Ok(Check::Exec(cmd.iter().map(OsString::from).collect())),
            _ => Err("an exec check without a command".into()),
        };
    }
    if let Some(h) = &p.http_get {
        let scheme = h.scheme.as_deref().filter(|s| !s.is_empty());
        if scheme.is_some_and(|s| !s.eq_ignore_ascii_case("HTTP")) {
            return Err(format!(
                "an httpGet with scheme {}: respawn probe speaks plain HTTP only",
                scheme.unwrap_or_default()
            ));
        }
        no_host(h.host.as_deref())?;
        let headers = h.http_headers.iter().flatten();
        return Ok(Check::HttpGet {
            port: port(c, &h.port)?,
            host: None,
            path: h.path.clone().unwrap_or_default(),
            headers: headers
                .map(|x| (x.name.clone(), x.value.trim().to_string()))
                .collect(),
        });
    }
    if let Some(t) = &p.tcp_socket {
        no_host(t.host.as_deref())?;
        return Ok(Check::TcpSocket {
            port: port(c, &t.port)?,
            host: None,
        });
    }
    Err("no check it knows".into())
}

fn no_host(host: Option<&str>) -> Result<(), String> {
    match host {
        Some(h) if !h.is_empty() => Err(format!(
            "host {h:?} is set: the kubelet connects to it from the node, respawn probe would from inside the pod"
        )),
        _ => Ok(()),
    }
}

/// A port number, or a name resolved against the container's `ports`, as the kubelet does.
fn port(c: &Container, p: &IntOrString) -> Result<u16, String> {
    let n = match p {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => {
            let declared = c.ports.iter().flatten();
            let found = declared
                .filter(|d| d.name.as_deref() == Some(name.as_str()))
                .map(|d| d.container_port)
                .next();
            match (found, name.parse::<i32>()) {
                (Some(n), _) => n,
                // The kubelet also takes a number written as a string.
                (None, Ok(n)) => n,
                (None, Err(_)) => return Err(format!("port {name:?} names no port of the container")),
            }
        }
    };
    u16::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("port {n} is not a port number"))
}
