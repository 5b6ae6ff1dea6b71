//! Image references as the kubelet reads them — `busybox` → `docker.io/library/busybox:latest`,
//! registries with ports, tags, digests — parsed by hand into oci-client's `Reference`.
//!
//! Why not `Reference::try_from`: oci-spec checks the grammar with one large regex whose
//! compiled automaton stays resident — about 8 MiB of the webhook's heap, more than half of its
//! idle memory target (measured with valgrind's massif; docs/decisions.md, issue "webhook
//! memory"). The grammar is small: the distribution project's reference grammar, checked here
//! piece by piece. `tests` holds oci-spec's parser as the oracle: on every generated string
//! both must agree (accept with the same parts, or both refuse).

use oci_client::Reference;

/// The default registry, its legacy name, and the official-images namespace.
const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
const OFFICIAL: &str = "library";
/// Longest repository name (`NAME_TOTAL_LENGTH_MAX`).
const MAX_NAME: usize = 255;

/// Parses `s` into a reference, or says what is wrong with it.
pub fn parse(s: &str) -> Result<Reference, String> {
    if s.is_empty() {
        return Err("repository name must have at least one component".into());
    }
    let (rest, digest) = match s.split_once('@') {
        Some((rest, d)) => (rest, Some(d)),
        None => (s, None),
    };
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    let bad_format = || "invalid reference format".to_string();
    if !valid_name(name) || !tag.is_none_or(valid_tag) || !digest.is_none_or(valid_digest_syntax) {
        return Err(bad_format());
    }
    let (registry, repository) = split_domain(name);
    if repository.len() > MAX_NAME {
        return Err(format!(
            "repository name must not be more than {MAX_NAME} characters"
        ));
    }
    if let Some(d) = digest {
        check_digest_length(d)?;
    }
    Ok(match (tag, digest) {
        (Some(t), Some(d)) => Reference::with_tag_and_digest(registry, repository, t.into(), d.into()),
        (None, Some(d)) => Reference::with_digest(registry, repository, d.into()),
        (Some(t), None) => Reference::with_tag(registry, repository, t.into()),
        (None, None) => Reference::with_tag(registry, repository, "latest".into()),
    })
}

/// `[domain[:port]/]path`, where a first component counts as a domain only if the rest is a
/// valid path (the regex tries that alternative first, then the whole name as a path).
fn valid_name(name: &str) -> bool {
    if let Some((first, rest)) = name.split_once('/') {
        if valid_domain(first) && valid_path(rest) {
            return true;
        }
    }
    valid_path(name)
}

/// `component(.component)*(:port)?`, components `[A-Za-z0-9]` runs joined by `-` inside.
fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    let label = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    host.split('.').all(label) && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// Path components separated by `/`.
fn valid_path(p: &str) -> bool {
    p.split('/').all(valid_component)
}

/// `[a-z0-9]+` runs joined by one `.`, one `_`, `__`, or any number of `-`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: &u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(&b[0]) || !alnum(&b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(&b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(&b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b[1..].iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

/// `algorithm:hex`, the algorithm `[A-Za-z][A-Za-z0-9]*` parts joined by `-_+.`, 32+ hex digits.
fn valid_digest_syntax(d: &str) -> bool {
    let Some((algo, hex)) = d.split_once(':') else {
        return false;
    };
    let part = |p: &str| {
        let b = p.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|c| c.is_ascii_alphanumeric())
    };
    algo.split(['-', '_', '+', '.']).all(part)
        && hex.len() >= 32
        && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// The known algorithms' exact lengths; others are unsupported.
fn check_digest_length(d: &str) -> Result<(), String> {
    let (algo, hex) = d.split_once(':').unwrap_or((d, ""));
    let want = match algo {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err("unsupported digest algorithm".into()),
    };
    if hex.len() != want {
        return Err("invalid checksum digest length".into());
    }
    Ok(())
}

/// The registry and the repository: a first component with `.` or `:`, or `localhost`, is a
/// registry; Docker Hub's legacy name is normalized and its one-component names get `library/`.
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut rest) = match name.split_once('/') {
        Some((left, right)) if left.contains(['.', ':']) || left == "localhost" => {
            (left.to_string(), right.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    };
    if domain == DOCKER_HUB_LEGACY {
        domain = DOCKER_HUB.into();
    }
    if domain == DOCKER_HUB && !rest.contains('/') {
        rest = format!("{OFFICIAL}/{rest}");
    }
    (domain, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The parts both parsers must agree on.
    fn parts(r: &Reference) -> (String, String, Option<String>, Option<String>, String) {
        let own = |s: Option<&str>| s.map(str::to_string);
        (
            r.registry().into(),
            r.repository().into(),
            own(r.tag()),
            own(r.digest()),
            r.whole(),
        )
    }

    fn same_as_oci_spec(s: &str) -> Result<(), TestCaseError> {
        let ours = parse(s).map(|r| parts(&r));
        let theirs = Reference::try_from(s).map(|r| parts(&r));
        prop_assert_eq!(
            ours.is_ok(),
            theirs.is_ok(),
            "{:?}: ours {:?}, oci-spec {:?}",
            s,
            ours,
            theirs
        );
        if let (Ok(a), Ok(b)) = (ours, theirs) {
            prop_assert_eq!(a, b, "{:?}", s);
        }
        Ok(())
    }

    #[test]
    fn known_references() {
        let d = "a".repeat(64);
        for s in [
            "busybox",
            "busybox:1.36",
            "docker.io/library/busybox",
            "index.docker.io/user/app:v1",
            "user/app",
            "localhost/app",
            "localhost:5000/team/app:v1",
            "reg.example/a/b/c:t",
            "test.com:5000",
            "foo_bar.com:8080",
            "lowercase:Uppercase",
            "a__b/c-d---e/f.g",
            "Busy/Box",
            "app@sha256:abc",
            "a//b",
            "app:tag:tag",
            "",
            ":tag",
            "/app",
            "app/",
            "-app",
            "app-",
            "a..b",
            "a___b",
            "127.0.0.1:5000/x",
            "host:port/x",
            "a:b/c",
            "1.2.3.4/x/y:z",
            "x.-y/z",
            "UPPER.case:1/a",
            "ok@sha512:00",
        ] {
            same_as_oci_spec(s).unwrap();
        }
        same_as_oci_spec(&format!("reg.example:443/app:v1@sha256:{d}")).unwrap();
        same_as_oci_spec(&format!("app@sha256:{d}")).unwrap();
        same_as_oci_spec(&format!("app@sha384:{d}")).unwrap();
        same_as_oci_spec(&format!("app@md5:{d}")).unwrap();
        same_as_oci_spec(&format!("x/{}", "a".repeat(300))).unwrap();
        same_as_oci_spec(&format!("app:{}", "t".repeat(129))).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_oci_spec_on_noise(s in "[a-zA-Z0-9._:/@-]{0,24}") {
            same_as_oci_spec(&s)?;
        }

        #[test]
        fn agrees_with_oci_spec_on_shaped_references(
            domain in prop::option::of("[a-zA-Z0-9.-]{1,10}(:[0-9]{1,5})?"),
            path in "[a-z0-9._-]{1,8}(/[a-z0-9._-]{1,8}){0,2}",
            tag in prop::option::of("[a-zA-Z0-9_.-]{1,10}"),
            digest in prop::option::of("sha(256|384|512):[0-9a-f]{60,70}"),
        ) {
            let mut s = String::new();
            if let Some(d) = domain { s.push_str(&d); s.push('/'); }
            s.push_str(&path);
            if let Some(t) = tag { s.push(':'); s.push_str(&t); }
            if let Some(d) = digest { s.push('@'); s.push_str(&d); }
            same_as_oci_spec(&s)?;
        }
    }
}
