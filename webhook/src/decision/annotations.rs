//! Per-pod `respawn.dev/*` annotations: which containers to wrap, the lookup-failure and
//! delivery overrides, and the supervisor settings passed as `RESPAWN_*` environment variables.
//! Supervisor settings are checked with the supervisor's own grammar (`respawn_settings`), so a
//! value accepted here is one the supervisor accepts. Bad values are dropped with a warning,
//! never fatal.

use std::collections::BTreeMap;

use respawn_settings::{OPTIONS, Opt};

use super::{Delivery, FailurePolicy};

/// Annotation/label prefix.
pub const PREFIX: &str = "respawn.dev/";
/// Label that opts pods in or out (`enabled`/`disabled`).
pub const INJECT_LABEL: &str = "respawn.dev/inject";
/// Annotation set on injected pods.
pub const STATUS: &str = "respawn.dev/status";
/// Label set on injected pods (`true`). The chart's `objectSelector` requires it absent, so the
/// apiserver skips injected pods (reinvocation, a pod recreated from an injected spec) with a
/// label match instead of a CEL expression over the whole pod (docs/decisions.md).
pub const INJECTED_LABEL: &str = "respawn.dev/injected";
/// Annotation with the original argv of every wrapped container (JSON).
pub const ORIGINAL_ARGV: &str = "respawn.dev/original-argv";
/// Annotation choosing the containers to wrap (`app,worker`).
pub const CONTAINERS: &str = "respawn.dev/containers";
/// Annotation overriding `--on-lookup-failure` for one pod.
pub const ON_LOOKUP_FAILURE: &str = "respawn.dev/on-lookup-failure";
/// Annotation overriding `--delivery` for one pod.
pub const DELIVERY: &str = "respawn.dev/delivery";
/// Annotation choosing what happens to liveness/startup probes: `rewrite` (default) or `keep`.
pub const PROBES: &str = "respawn.dev/probes";
/// Annotation replacing the grace of rewritten probes (a duration).
pub const PROBE_GRACE: &str = "respawn.dev/probe-grace";
/// Annotation with the original probes that were rewritten (JSON by container, then field).
pub const ORIGINAL_PROBES: &str = "respawn.dev/original-probes";
/// kubectl's default container for `exec`/`logs`; written (the pod's first container) when an
/// init container is added and the pod does not name one.
pub const KUBECTL_DEFAULT_CONTAINER: &str = "kubectl.kubernetes.io/default-container";

/// Annotations the webhook reads or writes that are not supervisor settings.
const OTHER_KNOWN: &[&str] = &[
    STATUS,
    ORIGINAL_ARGV,
    CONTAINERS,
    ON_LOOKUP_FAILURE,
    DELIVERY,
    PROBES,
    PROBE_GRACE,
    ORIGINAL_PROBES,
];

/// What happens to the liveness and startup probes of wrapped containers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProbeMode {
    /// Rewritten to `respawn probe`, which a restart in progress holds (`super::probes`).
    #[default]
    Rewrite,
    /// Left as they are (`respawn.dev/probes: keep`).
    Keep,
}

/// What the pod's annotations ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSettings {
    /// Containers named by `respawn.dev/containers`; `None` means all regular containers.
    pub containers: Option<Vec<String>>,
    /// Per-pod lookup-failure policy.
    pub on_lookup_failure: Option<FailurePolicy>,
    /// Per-pod delivery.
    pub delivery: Option<Delivery>,
    /// `respawn.dev/probes`.
    pub probes: ProbeMode,
    /// `respawn.dev/probe-grace`: replaces each probe's `failureThreshold × periodSeconds`.
    pub probe_grace: Option<std::time::Duration>,
    /// `RESPAWN_*` variables to add to every wrapped container, in the option table's order.
    pub env: Vec<(String, String)>,
    /// Problems found, for AdmissionResponse warnings.
    pub warnings: Vec<String>,
}

/// The supervisor options pods may set by annotation.
fn settable() -> impl Iterator<Item = &'static Opt> {
    OPTIONS.iter().filter(|o| o.annotation)
}

/// Parses a cluster-wide default for a supervisor setting, `NAME=VALUE` where NAME is a setting
/// annotation with or without its `respawn.dev/` prefix (`on-exit=wait`, `watch=/app`). Returns
/// the `RESPAWN_*` variable and the checked value. Used for `--default-setting`.
pub fn parse_default(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE (e.g. on-exit=wait), got {s:?}"))?;
    let name = name.trim();
    let bare = name.strip_prefix(PREFIX).unwrap_or(name);
    let opt = settable().find(|o| o.name == bare).ok_or_else(|| {
        let known: Vec<&str> = settable().map(|o| o.name).collect();
        format!("unknown setting {name:?}; known: {}", known.join(", "))
    })?;
    let value =
        respawn_settings::check_value(opt, value).map_err(|why| format!("{name}={value:?}: {why}"))?;
    Ok((opt.env.to_string(), value))
}

/// Reads the `respawn.dev/*` annotations of a pod. A setting the pod does not set (or sets to
/// a bad value) takes its cluster-wide default from `defaults` (`RESPAWN_*` name, value), if any.
pub fn parse(annotations: Option<&BTreeMap<String, String>>, defaults: &[(String, String)]) -> PodSettings {
    let mut out = PodSettings::default();
    let empty = BTreeMap::new();
    let annotations = annotations.unwrap_or(&empty);
    for opt in settable() {
        let key = format!("{PREFIX}{}", opt.name);
        let from_pod =
            annotations
                .get(&key)
                .and_then(|value| match respawn_settings::check_value(opt, value) {
                    Ok(v) => Some(v),
                    Err(why) => {
                        out.warnings
                            .push(format!("respawn: ignoring annotation {key}={value:?}: {why}"));
                        None
                    }
                });
        let default = || {
            defaults
                .iter()
                .find(|(e, _)| e == opt.env)
                .map(|(_, v)| v.clone())
        };
        if let Some(v) = from_pod.or_else(default) {
            out.env.push((opt.env.to_string(), v));
        }
    }
    if let Some(list) = annotations.get(CONTAINERS) {
        let names: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if names.is_empty() {
            out.warnings.push(format!(
                "respawn: annotation {CONTAINERS} is empty; no container wrapped"
            ));
        }
        out.containers = Some(names);
    }
    if let Some(p) = annotations.get(ON_LOOKUP_FAILURE) {
        match p.trim().parse::<FailurePolicy>() {
            Ok(p) => out.on_lookup_failure = Some(p),
            Err(why) => out
                .warnings
                .push(format!("respawn: ignoring annotation {ON_LOOKUP_FAILURE}: {why}")),
        }
    }
    if let Some(d) = annotations.get(DELIVERY) {
        match d.trim().parse::<Delivery>() {
            Ok(d) => out.delivery = Some(d),
            Err(why) => out
                .warnings
                .push(format!("respawn: ignoring annotation {DELIVERY}: {why}")),
        }
    }
    match annotations.get(PROBES).map(|v| v.trim()) {
        None | Some("rewrite") => {}
        Some("keep") => out.probes = ProbeMode::Keep,
        Some(other) => out.warnings.push(format!(
            "respawn: ignoring annotation {PROBES}={other:?}: expected rewrite or keep; probes are rewritten"
        )),
    }
    if let Some(g) = annotations.get(PROBE_GRACE) {
        match respawn_settings::duration(g) {
            Ok(d) => out.probe_grace = Some(d),
            Err(why) => out
                .warnings
                .push(format!("respawn: ignoring annotation {PROBE_GRACE}: {why}")),
        }
    }
    for key in annotations.keys().filter(|k| k.starts_with(PREFIX)) {
        let bare = &key[PREFIX.len()..];
        let known = settable().any(|o| o.name == bare) || OTHER_KNOWN.contains(&key.as_str());
        if !known {
            out.warnings
                .push(format!("respawn: unknown annotation {key} ignored"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_setting_maps_to_its_env_var() {
        let a = ann(&[
            ("respawn.dev/watch", "/app, /etc/app"),
            ("respawn.dev/trigger-file", "none"),
            ("respawn.dev/stop-signal", "int"),
            ("respawn.dev/stop-timeout", "1m30s"),
            ("respawn.dev/on-exit", "wait"),
            ("respawn.dev/env-file", "/config/.env"),
            ("respawn.dev/pre-start", "/app/migrate --up"),
            ("respawn.dev/log-format", "json"),
            ("respawn.dev/ignore", "*.swp,.git/**"),
            ("respawn.dev/debounce", "50ms"),
            ("respawn.dev/wait-for", "USR1"),
            ("respawn.dev/backoff-max", "30s"),
        ]);
        let s = parse(Some(&a), &[]);
        assert_eq!(s.warnings, Vec::<String>::new());
        let env: BTreeMap<_, _> = s.env.into_iter().collect();
        assert_eq!(env["RESPAWN_WATCH"], "/app,/etc/app");
        assert_eq!(env["RESPAWN_TRIGGER_FILE"], "none");
        assert_eq!(env["RESPAWN_STOP_SIGNAL"], "SIGINT");
        assert_eq!(env["RESPAWN_STOP_TIMEOUT"], "1m30s");
        assert_eq!(env["RESPAWN_ON_EXIT"], "wait");
        assert_eq!(env["RESPAWN_ENV_FILE"], "/config/.env");
        assert_eq!(env["RESPAWN_PRE_START"], "/app/migrate --up");
        assert_eq!(env["RESPAWN_LOG_FORMAT"], "json");
        assert_eq!(env["RESPAWN_IGNORE"], "*.swp,.git/**");
        assert_eq!(env["RESPAWN_DEBOUNCE"], "50ms");
        assert_eq!(env["RESPAWN_WAIT_FOR"], "SIGUSR1");
        assert_eq!(env["RESPAWN_BACKOFF_MAX"], "30s");
        let hooks = ann(&[("respawn.dev/pre-start", "/bin/a 'x y'\n\n  /bin/b\n")]);
        assert_eq!(
            parse(Some(&hooks), &[]).env,
            [(
                "RESPAWN_PRE_START".to_string(),
                "/bin/a 'x y'\n/bin/b".to_string()
            )]
        );
    }

    #[test]
    fn bad_values_are_dropped_with_a_warning() {
        let a = ann(&[
            ("respawn.dev/watch", " , "),
            ("respawn.dev/trigger-file", "relative"),
            ("respawn.dev/stop-signal", "SIGFOO"),
            ("respawn.dev/stop-timeout", "1e30"),
            ("respawn.dev/on-exit", "explode"),
            ("respawn.dev/env-file", "x.env"),
            ("respawn.dev/pre-start", "/bin/a 'unbalanced"),
            ("respawn.dev/log-format", "xml"),
            ("respawn.dev/wait-for", "KILL"),
            ("respawn.dev/on-lookup-failure", "maybe"),
            ("respawn.dev/delivery", "pigeon"),
            ("respawn.dev/control-socket", "@x"),
            ("respawn.dev/typo", "1"),
        ]);
        let s = parse(Some(&a), &[]);
        assert!(s.env.is_empty(), "{:?}", s.env);
        assert_eq!(s.warnings.len(), 13, "{:#?}", s.warnings);
        assert!(s.warnings.iter().any(|w| w.contains("respawn.dev/typo")));
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("respawn.dev/control-socket")),
            "not settable by annotation"
        );
    }

    #[test]
    fn every_accepted_value_is_one_the_supervisor_accepts() {
        // The same grammar: a value the webhook passes on parses in the supervisor's table too.
        for (name, value) in [
            ("stop-timeout", "1.5s"),
            ("stop-signal", "RTMIN+2"),
            ("pre-start", r"/bin/echo \'"),
        ] {
            let key = format!("{PREFIX}{name}");
            let s = parse(Some(&ann(&[(&key, value)])), &[]);
            assert!(s.warnings.is_empty(), "{name}={value}: {:?}", s.warnings);
            let opt = respawn_settings::option(name).unwrap();
            for item in respawn_settings::list(opt.kind, &s.env[0].1) {
                assert!(opt.kind.check(item).is_ok(), "{name}={item}");
            }
        }
    }

    #[test]
    fn containers_policy_and_delivery() {
        let a = ann(&[
            ("respawn.dev/containers", " app, worker ,"),
            ("respawn.dev/on-lookup-failure", "deny"),
            ("respawn.dev/delivery", "image-volume"),
        ]);
        let s = parse(Some(&a), &[]);
        assert_eq!(s.containers, Some(vec!["app".into(), "worker".into()]));
        assert_eq!(s.on_lookup_failure, Some(FailurePolicy::Deny));
        assert_eq!(s.delivery, Some(Delivery::ImageVolume));
        assert!(s.warnings.is_empty());
        assert_eq!(parse(None, &[]), PodSettings::default());
    }

    #[test]
    fn probe_mode_and_grace() {
        let s = parse(Some(&ann(&[(PROBES, "keep"), (PROBE_GRACE, "1m30s")])), &[]);
        assert_eq!(s.probes, ProbeMode::Keep);
        assert_eq!(s.probe_grace, Some(std::time::Duration::from_secs(90)));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let s = parse(Some(&ann(&[(PROBES, "drop"), (PROBE_GRACE, "1e30")])), &[]);
        assert_eq!((s.probes, s.probe_grace), (ProbeMode::Rewrite, None));
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(
            s.warnings[0].contains("expected rewrite or keep"),
            "{}",
            s.warnings[0]
        );
        assert!(s.warnings[1].contains(PROBE_GRACE), "{}", s.warnings[1]);
        let written = parse(Some(&ann(&[(ORIGINAL_PROBES, "{}")])), &[]);
        assert!(
            written.warnings.is_empty(),
            "the webhook's own annotation is known"
        );
    }

    #[test]
    fn defaults_apply_where_the_pod_is_silent_or_wrong() {
        let defaults = vec![
            parse_default("on-exit=wait").unwrap(),
            parse_default("respawn.dev/stop-timeout=30s").unwrap(),
            parse_default("watch=/app").unwrap(),
        ];
        let a = ann(&[
            ("respawn.dev/watch", "/src"),
            ("respawn.dev/stop-timeout", "soon"),
        ]);
        let s = parse(Some(&a), &defaults);
        let env: BTreeMap<_, _> = s.env.into_iter().collect();
        assert_eq!(env["RESPAWN_WATCH"], "/src", "the pod's annotation wins");
        assert_eq!(env["RESPAWN_ON_EXIT"], "wait", "default where the pod is silent");
        assert_eq!(
            env["RESPAWN_STOP_TIMEOUT"], "30s",
            "default where the pod's value is bad"
        );
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert_eq!(parse(None, &defaults).env.len(), 3);
    }

    #[test]
    fn bad_defaults_are_startup_errors_that_say_what_is_wrong() {
        assert_eq!(
            parse_default("stop-signal=int"),
            Ok(("RESPAWN_STOP_SIGNAL".into(), "SIGINT".into()))
        );
        assert!(parse_default("on-exit").unwrap_err().contains("NAME=VALUE"));
        let e = parse_default("colour=blue").unwrap_err();
        assert!(e.contains("unknown setting") && e.contains("on-exit"), "{e}");
        assert!(
            parse_default("on-exit=explode")
                .unwrap_err()
                .contains("exit, restart, wait")
        );
        assert!(parse_default("stop-timeout=1e30").is_err());
    }
}
