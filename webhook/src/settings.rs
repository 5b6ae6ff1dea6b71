//! Per-pod `respawn.dev/*` annotations: which containers to wrap, the lookup-failure override,
//! and the supervisor settings passed as `RESPAWN_*` environment variables. Bad values are
//! dropped with a warning, never fatal.

use std::collections::BTreeMap;

use crate::podview::Str;

use crate::config::FailurePolicy;

/// Annotation/label prefix.
pub const PREFIX: &str = "respawn.dev/";
/// Label that opts pods in or out (`enabled`/`disabled`).
pub const INJECT_LABEL: &str = "respawn.dev/inject";
/// Annotation set on injected pods.
pub const STATUS: &str = "respawn.dev/status";
/// Annotation with the original argv of every wrapped container (JSON).
pub const ORIGINAL_ARGV: &str = "respawn.dev/original-argv";
/// Annotation choosing the containers to wrap (`app,worker`).
pub const CONTAINERS: &str = "respawn.dev/containers";
/// Annotation overriding `--on-lookup-failure` for one pod.
pub const ON_LOOKUP_FAILURE: &str = "respawn.dev/on-lookup-failure";

/// How a setting's value is checked.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// Comma-separated list of non-empty paths or globs.
    PathList,
    /// One absolute path, or `none` where the supervisor allows disabling.
    AbsPathOrNone,
    /// Signal name (`TERM`, `SIGTERM`) or number 1–64.
    Signal,
    /// Integer with optional unit `ms`, `s`, `m`.
    Duration,
    /// One of the listed words.
    OneOf(&'static [&'static str]),
    /// Command lines, one per line, split into words by the supervisor (quotes allowed, no shell).
    Command,
}

/// (annotation, env var, check) for every supervisor setting.
const SETTINGS: &[(&str, &str, Check)] = &[
    ("respawn.dev/watch", "RESPAWN_WATCH", Check::PathList),
    ("respawn.dev/ignore", "RESPAWN_IGNORE", Check::PathList),
    ("respawn.dev/debounce", "RESPAWN_DEBOUNCE", Check::Duration),
    (
        "respawn.dev/trigger-file",
        "RESPAWN_TRIGGER_FILE",
        Check::AbsPathOrNone,
    ),
    ("respawn.dev/stop-signal", "RESPAWN_STOP_SIGNAL", Check::Signal),
    (
        "respawn.dev/stop-timeout",
        "RESPAWN_STOP_TIMEOUT",
        Check::Duration,
    ),
    (
        "respawn.dev/on-exit",
        "RESPAWN_ON_EXIT",
        Check::OneOf(&["exit", "restart", "wait"]),
    ),
    ("respawn.dev/env-file", "RESPAWN_ENV_FILE", Check::AbsPathOrNone),
    ("respawn.dev/pre-start", "RESPAWN_PRE_START", Check::Command),
    (
        "respawn.dev/log-format",
        "RESPAWN_LOG_FORMAT",
        Check::OneOf(&["inherit", "prefix", "json"]),
    ),
    ("respawn.dev/wait-for", "RESPAWN_WAIT_FOR", Check::Signal),
];

/// Annotations the webhook reads or writes that are not supervisor settings.
const OTHER_KNOWN: &[&str] = &[STATUS, ORIGINAL_ARGV, CONTAINERS, ON_LOOKUP_FAILURE];

/// What the pod's annotations ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSettings {
    /// Containers named by `respawn.dev/containers`; `None` means all regular containers.
    pub containers: Option<Vec<String>>,
    /// Per-pod lookup-failure policy.
    pub on_lookup_failure: Option<FailurePolicy>,
    /// `RESPAWN_*` variables to add to every wrapped container, in a stable order.
    pub env: Vec<(String, String)>,
    /// Problems found, for AdmissionResponse warnings.
    pub warnings: Vec<String>,
}

/// Parses a cluster-wide default for a supervisor setting, `NAME=VALUE` where NAME is a setting
/// annotation with or without its `respawn.dev/` prefix (`on-exit=wait`, `watch=/app`). Returns
/// the `RESPAWN_*` variable and the checked value. Used for `--default-setting`.
pub fn parse_default(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE (e.g. on-exit=wait), got {s:?}"))?;
    let name = name.trim();
    let key = format!("{PREFIX}{}", name.strip_prefix(PREFIX).unwrap_or(name));
    let (_, env, check) = SETTINGS.iter().find(|(k, _, _)| *k == key).ok_or_else(|| {
        let known: Vec<&str> = SETTINGS.iter().map(|(k, _, _)| &k[PREFIX.len()..]).collect();
        format!("unknown setting {name:?}; known: {}", known.join(", "))
    })?;
    let value = validate(value.trim(), *check).map_err(|why| format!("{name}={value:?}: {why}"))?;
    Ok((env.to_string(), value))
}

/// Reads the `respawn.dev/*` annotations of a pod. A setting the pod does not set (or sets to
/// a bad value) takes its cluster-wide default from `defaults` (`RESPAWN_*` name, value), if any.
pub fn parse(annotations: Option<&BTreeMap<Str<'_>, Str<'_>>>, defaults: &[(String, String)]) -> PodSettings {
    let mut out = PodSettings::default();
    let empty = BTreeMap::new();
    let annotations = annotations.unwrap_or(&empty);
    for (key, env, check) in SETTINGS {
        let from_pod = annotations
            .get(*key)
            .and_then(|value| match validate(value.trim(), *check) {
                Ok(v) => Some(v),
                Err(why) => {
                    out.warnings
                        .push(format!("respawn: ignoring annotation {key}={value:?}: {why}"));
                    None
                }
            });
        let default = || defaults.iter().find(|(e, _)| e == env).map(|(_, v)| v.clone());
        if let Some(v) = from_pod.or_else(default) {
            out.env.push((env.to_string(), v));
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
    for key in annotations.keys().filter(|k| k.starts_with(PREFIX)) {
        let known = SETTINGS.iter().any(|(k, _, _)| k == key) || OTHER_KNOWN.contains(&&**key);
        if !known {
            out.warnings
                .push(format!("respawn: unknown annotation {key} ignored"));
        }
    }
    out
}

fn validate(v: &str, check: Check) -> Result<String, String> {
    let abs = |p: &str| p.starts_with('/');
    match check {
        Check::PathList => {
            let parts: Vec<&str> = v.split(',').map(str::trim).collect();
            if parts.iter().any(|p| p.is_empty()) {
                return Err("expected a comma-separated list of paths without empty entries".into());
            }
            Ok(parts.join(","))
        }
        Check::AbsPathOrNone if v == "none" => Ok(v.into()),
        Check::AbsPathOrNone if abs(v) => Ok(v.into()),
        Check::AbsPathOrNone => Err("expected an absolute path or `none`".into()),
        Check::Signal => signal(v),
        Check::Duration => match crate::config::parse_duration(v) {
            Ok(_) => Ok(v.into()),
            Err(_) => Err("expected a duration like 10s, 500ms or 1m".into()),
        },
        Check::OneOf(words) if words.contains(&v) => Ok(v.into()),
        Check::OneOf(words) => Err(format!("expected one of {}", words.join(", "))),
        Check::Command => command_lines(v),
    }
}

/// One hook per non-empty line, each with balanced quotes.
fn command_lines(v: &str) -> Result<String, String> {
    let lines: Vec<&str> = v.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return Err("expected a command".into());
    }
    for l in &lines {
        let (mut single, mut double) = (false, false);
        for ch in l.chars() {
            match ch {
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                _ => {}
            }
        }
        if single || double {
            return Err(format!("unbalanced quote in {l:?}"));
        }
    }
    Ok(lines.join("\n"))
}

/// Normalises a signal to `SIGNAME` or a number.
fn signal(v: &str) -> Result<String, String> {
    const NAMES: &[&str] = &[
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
        "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
        "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    if let Ok(n) = v.parse::<u8>() {
        return if (1..=64).contains(&n) {
            Ok(n.to_string())
        } else {
            Err("signal number out of range".into())
        };
    }
    let upper = v.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if NAMES.contains(&bare) {
        Ok(format!("SIG{bare}"))
    } else {
        Err("expected a signal name like SIGTERM or a number".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<Str<'static>, Str<'static>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string().into(), v.to_string().into()))
            .collect()
    }

    #[test]
    fn every_setting_maps_to_its_env_var() {
        let a = ann(&[
            ("respawn.dev/watch", "/app, /etc/app"),
            ("respawn.dev/trigger-file", "none"),
            ("respawn.dev/stop-signal", "int"),
            ("respawn.dev/stop-timeout", "30s"),
            ("respawn.dev/on-exit", "wait"),
            ("respawn.dev/env-file", "/config/.env"),
            ("respawn.dev/pre-start", "/app/migrate --up"),
            ("respawn.dev/log-format", "json"),
            ("respawn.dev/ignore", "*.swp,.git/**"),
            ("respawn.dev/debounce", "50ms"),
            ("respawn.dev/wait-for", "USR1"),
        ]);
        let s = parse(Some(&a), &[]);
        assert_eq!(s.warnings, Vec::<String>::new());
        let env: BTreeMap<_, _> = s.env.into_iter().collect();
        assert_eq!(env["RESPAWN_WATCH"], "/app,/etc/app");
        assert_eq!(env["RESPAWN_TRIGGER_FILE"], "none");
        assert_eq!(env["RESPAWN_STOP_SIGNAL"], "SIGINT");
        assert_eq!(env["RESPAWN_STOP_TIMEOUT"], "30s");
        assert_eq!(env["RESPAWN_ON_EXIT"], "wait");
        assert_eq!(env["RESPAWN_ENV_FILE"], "/config/.env");
        assert_eq!(env["RESPAWN_PRE_START"], "/app/migrate --up");
        assert_eq!(env["RESPAWN_LOG_FORMAT"], "json");
        assert_eq!(env["RESPAWN_IGNORE"], "*.swp,.git/**");
        assert_eq!(env["RESPAWN_DEBOUNCE"], "50ms");
        assert_eq!(env["RESPAWN_WAIT_FOR"], "SIGUSR1");
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
            ("respawn.dev/watch", "/a,,/b"),
            ("respawn.dev/trigger-file", "relative"),
            ("respawn.dev/stop-signal", "SIGFOO"),
            ("respawn.dev/stop-timeout", "soon"),
            ("respawn.dev/on-exit", "explode"),
            ("respawn.dev/env-file", "x.env"),
            ("respawn.dev/pre-start", "/bin/a 'unbalanced"),
            ("respawn.dev/log-format", "xml"),
            ("respawn.dev/on-lookup-failure", "maybe"),
            ("respawn.dev/typo", "1"),
        ]);
        let s = parse(Some(&a), &[]);
        assert!(s.env.is_empty(), "{:?}", s.env);
        assert_eq!(s.warnings.len(), 10, "{:#?}", s.warnings);
        assert!(s.warnings.iter().any(|w| w.contains("respawn.dev/typo")));
    }

    #[test]
    fn containers_and_policy() {
        let a = ann(&[
            ("respawn.dev/containers", " app, worker ,"),
            ("respawn.dev/on-lookup-failure", "deny"),
        ]);
        let s = parse(Some(&a), &[]);
        assert_eq!(s.containers, Some(vec!["app".into(), "worker".into()]));
        assert_eq!(s.on_lookup_failure, Some(FailurePolicy::Deny));
        assert!(s.warnings.is_empty());
        assert_eq!(parse(None, &[]), PodSettings::default());
    }

    #[test]
    fn signals() {
        assert_eq!(signal("15"), Ok("15".into()));
        assert_eq!(signal("SIGUSR1"), Ok("SIGUSR1".into()));
        assert_eq!(signal("term"), Ok("SIGTERM".into()));
        assert!(signal("0").is_err() && signal("65").is_err());
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
        let none = parse(None, &defaults);
        assert_eq!(none.env.len(), 3);
    }

    #[test]
    fn bad_defaults_are_startup_errors_that_say_what_is_wrong() {
        assert_eq!(
            parse_default("stop-signal=int"),
            Ok(("RESPAWN_STOP_SIGNAL".into(), "SIGINT".into()))
        );
        let e = parse_default("on-exit").unwrap_err();
        assert!(e.contains("NAME=VALUE"), "{e}");
        let e = parse_default("colour=blue").unwrap_err();
        assert!(e.contains("unknown setting") && e.contains("on-exit"), "{e}");
        let e = parse_default("on-exit=explode").unwrap_err();
        assert!(e.contains("exit, restart, wait"), "{e}");
    }
}
