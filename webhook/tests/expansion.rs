//! Property tests of the `$` escaping against a model of the kubelet's `$(VAR)` expansion,
//! written from the Kubernetes API documentation of `Container.command`/`args`:
//!
//! > Variable references `$(VAR_NAME)` are expanded using the container's environment. If a
//! > variable cannot be resolved, the reference in the input string will be unchanged. Double `$$`
//! > are reduced to a single `$`, which allows for escaping the `$(VAR_NAME)` syntax: i.e.
//! > `"$$(VAR_NAME)"` will produce the string literal `"$(VAR_NAME)"`. Escaped references will
//! > never be expanded, regardless of whether the variable exists or not.
//!
//! Edge cases the prose leaves open follow the kubelet's behaviour: a `$` before any other
//! character is kept with that character, an unterminated `$(` stays literal, a trailing `$`
//! stays.

use std::collections::HashMap;

use proptest::prelude::*;
use respawn_webhook::{argv, image::ImageConfig};

/// The kubelet's expansion of one command/args string with the container's env.
fn expand(input: &str, env: &HashMap<String, String>) -> String {
    let c: Vec<char> = input.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] != '$' || i + 1 == c.len() {
            out.push(c[i]);
            i += 1;
            continue;
        }
        match c[i + 1] {
            '$' => {
                out.push('$');
                i += 2;
            }
            '(' => match c[i + 2..].iter().position(|&x| x == ')') {
                Some(off) => {
                    let name: String = c[i + 2..i + 2 + off].iter().collect();
                    match env.get(&name) {
                        Some(v) => out.push_str(v),
                        None => out.push_str(&format!("$({name})")),
                    }
                    i += 2 + off + 1;
                }
                None => {
                    out.push_str("$(");
                    i += 2;
                }
            },
            other => {
                out.push('$');
                out.push(other);
                i += 2;
            }
        }
    }
    out
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn model_follows_the_documented_examples() {
    let e = env(&[("VAR_NAME", "value"), ("PORT", "8080")]);
    let cases = [
        ("$(VAR_NAME)", "value"),
        ("--port=$(PORT)", "--port=8080"),
        ("$(UNSET)", "$(UNSET)"),
        ("$$(VAR_NAME)", "$(VAR_NAME)"),
        ("$$(UNSET)", "$(UNSET)"),
        ("$$", "$"),
        ("$$$(PORT)", "$8080"),
        ("a$b", "a$b"),
        ("$HOME", "$HOME"),
        ("trailing$", "trailing$"),
        ("$(unterminated", "$(unterminated"),
        ("$()", "$()"),
        ("$(PORT)$(PORT)", "80808080"),
    ];
    for (input, want) in cases {
        assert_eq!(expand(input, &e), want, "expand({input:?})");
    }
}

/// Strings rich in the characters that matter, plus arbitrary Unicode.
fn tricky() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("$".to_string()),
        Just("$$".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("$(".to_string()),
        Just("A".to_string()),
        Just("B_1".to_string()),
        "[a-zA-Z0-9_ /=-]{0,3}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

fn env_map() -> impl Strategy<Value = HashMap<String, String>> {
    prop::collection::hash_map(
        prop_oneof![Just("A".to_string()), Just("B_1".to_string()), "[A-Z]{1,2}"],
        tricky(),
        0..4,
    )
}

fn string_list() -> impl Strategy<Value = Option<Vec<String>>> {
    prop::option::of(prop::collection::vec(tricky(), 0..3))
}

/// What the runtime runs without the webhook: the kubelet expands the pod's command/args, the
/// runtime combines them with the image's ENTRYPOINT/CMD (never expanded).
fn runs_unwrapped(
    cmd: &Option<Vec<String>>,
    args: &Option<Vec<String>>,
    img: &ImageConfig,
    e: &HashMap<String, String>,
) -> Vec<String> {
    let x = |v: &Option<Vec<String>>| {
        v.clone()
            .unwrap_or_default()
            .iter()
            .map(|s| expand(s, e))
            .collect::<Vec<_>>()
    };
    let set = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| !v.is_empty());
    if set(cmd) {
        return [x(cmd), x(args)].concat();
    }
    let mut argv = img.entrypoint.clone().unwrap_or_default();
    if argv == [""] {
        argv.clear();
    }
    argv.extend(if set(args) {
        x(args)
    } else {
        img.cmd.clone().unwrap_or_default()
    });
    argv
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn escaped_strings_survive_expansion(s in tricky(), e in env_map()) {
        prop_assert_eq!(expand(&argv::escape(&s), &e), s);
    }

    #[test]
    fn arbitrary_strings_survive_expansion(s in any::<String>(), e in env_map()) {
        prop_assert_eq!(expand(&argv::escape(&s), &e), s);
    }

    /// The wrapped container's supervisor receives exactly what the unwrapped container ran.
    #[test]
    fn wrapping_preserves_what_runs(
        cmd in string_list(), args in string_list(),
        ep in string_list(), cmd_img in string_list(), e in env_map(),
    ) {
        let img = ImageConfig { entrypoint: ep, cmd: cmd_img, ..Default::default() };
        let before = runs_unwrapped(&cmd, &args, &img, &e);
        match argv::resolve(cmd.as_ref(), args.as_ref(), Some(&img)) {
            Ok((wrapped, _)) => {
                let after: Vec<String> = wrapped.iter().map(|s| expand(s, &e)).collect();
                prop_assert_eq!(after, before);
            }
            Err(_) => prop_assert!(before.is_empty(), "refused a runnable container: {:?}", before),
        }
    }
}
