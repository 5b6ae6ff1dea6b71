//! Registry credentials from the user's own login files, for `respawn-webhook inject`: the
//! `{"auths": {...}}` files that `docker login` and `podman login` write — the same format as a
//! `kubernetes.io/dockerconfigjson` pull secret, read by [`Keyring`]. [`LocalAuth`] is a
//! [`CredentialSource`] whose keyrings are those files for every pod: offline there is no API
//! server to read the pod's pull secrets from, so the provider, its credential scopes and its
//! cache work exactly as in the webhook, with the local files in place of the Secrets.
//!
//! Where the files are looked for (`--registry-config FILE` replaces all of it):
//! `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json` (for root without
//! `XDG_RUNTIME_DIR`: `/run/containers/0/auth.json`); then
//! `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`; then
//! `${DOCKER_CONFIG:-~/.docker}/config.json`. Every file that exists is used, in that order.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};

use super::credentials::{CredentialError, CredentialSource};
use super::keyring::Keyring;

/// A login file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalAuthError {
    /// The file cannot be read.
    #[error("cannot read registry auth file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a docker/podman auth file.
    #[error("registry auth file {path} is not a docker/podman auth file: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The credentials of the local login files, used for every lookup.
#[derive(Debug, Clone, Default)]
pub struct LocalAuth {
    files: Vec<PathBuf>,
    rings: Vec<Keyring>,
}

/// The parts of a login file that point at credential helpers (which are not run).
#[derive(serde::Deserialize, Default)]
struct Helpers {
    #[serde(default, rename = "credsStore")]
    store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    per_registry: std::collections::BTreeMap<String, String>,
}

impl LocalAuth {
    /// `explicit` alone when given (unreadable or invalid: an error); else every default
    /// location that exists (a broken one is skipped with a warning). Returns the warnings
    /// for the user, e.g. about credential helpers, which are not run.
    pub fn load(explicit: Option<&Path>) -> Result<(LocalAuth, Vec<String>), LocalAuthError> {
        let mut auth = LocalAuth::default();
        let mut warnings = Vec::new();
        match explicit {
            Some(path) => auth.add(path, &mut warnings)?,
            None => {
                let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| {
                    use std::os::unix::fs::MetadataExt as _;
                    m.uid() == 0
                });
                for path in default_paths(|name| std::env::var_os(name), is_root) {
                    if !path.exists() {
                        continue;
                    }
                    if let Err(e) = auth.add(&path, &mut warnings) {
                        warnings.push(format!("{e}; skipped"));
                    }
                }
            }
        }
        Ok((auth, warnings))
    }

    /// The files read, in the order their credentials are tried.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    fn add(&mut self, path: &Path, warnings: &mut Vec<String>) -> Result<(), LocalAuthError> {
        let bytes = std::fs::read(path).map_err(|source| LocalAuthError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let (ring, helpers) = parse(&bytes).map_err(|reason| LocalAuthError::Invalid {
            path: path.to_path_buf(),
            reason,
        })?;
        if let Some(w) = helpers {
            warnings.push(format!("{}: {w}", path.display()));
        }
        self.files.push(path.to_path_buf());
        self.rings.push(ring);
        Ok(())
    }
}

/// A login file's keyring (entries without credentials dropped) and, when it names credential
/// helpers, a warning saying they are not run.
fn parse(bytes: &[u8]) -> Result<(Keyring, Option<String>), String> {
    let ring = Keyring::parse(bytes, true)?.without_empty();
    let helpers: Helpers = serde_json::from_slice(bytes).unwrap_or_default();
    let mut named: Vec<String> = helpers
        .store
        .map(|s| format!("credsStore {s:?}"))
        .into_iter()
        .collect();
    if !helpers.per_registry.is_empty() {
        let hosts: Vec<&str> = helpers.per_registry.keys().map(String::as_str).collect();
        named.push(format!("credHelpers for {}", hosts.join(", ")));
    }
    let warning = (!named.is_empty()).then(|| {
        format!(
            "credential helpers are not run ({}); images of registries whose login lives in a \
             helper are looked up anonymously (give --registry-config a file with their \"auths\")",
            named.join("; ")
        )
    });
    Ok((ring, warning))
}

/// The default login files, in the order they are tried; `var` reads the environment.
pub fn default_paths(var: impl Fn(&str) -> Option<OsString>, is_root: bool) -> Vec<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = set("HOME");
    let mut paths = Vec::new();
    match (set("REGISTRY_AUTH_FILE"), set("XDG_RUNTIME_DIR")) {
        (Some(file), _) => paths.push(file),
        (None, Some(run)) => paths.push(run.join("containers/auth.json")),
        (None, None) if is_root => paths.push(PathBuf::from("/run/containers/0/auth.json")),
        (None, None) => {}
    }
    if let Some(config) = set("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config"))) {
        paths.push(config.join("containers/auth.json"));
    }
    if let Some(docker) = set("DOCKER_CONFIG").or_else(|| home.as_ref().map(|h| h.join(".docker"))) {
        paths.push(docker.join("config.json"));
    }
    paths
}

#[async_trait::async_trait]
impl CredentialSource for LocalAuth {
    /// No API server offline: no Secret exists.
    async fn secret(&self, _: &str, _: &str) -> Result<Option<Secret>, CredentialError> {
        Ok(None)
    }

    /// No API server offline: no ServiceAccount exists.
    async fn service_account(&self, _: &str, _: &str) -> Result<Option<ServiceAccount>, CredentialError> {
        Ok(None)
    }

    /// The login files' keyrings, whatever the pod names.
    async fn keyrings_for(
        &self,
        _: &str,
        _: &[String],
        _: &str,
        _: Option<&(String, String)>,
    ) -> (Vec<Keyring>, bool) {
        (self.rings.clone(), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::registry::Credential;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn paths(pairs: &[(&str, &str)], root: bool) -> Vec<String> {
        default_paths(env(pairs), root)
            .into_iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn default_locations_follow_podman_then_docker() {
        assert_eq!(
            paths(
                &[("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/1000")],
                false
            ),
            [
                "/run/user/1000/containers/auth.json",
                "/home/u/.config/containers/auth.json",
                "/home/u/.docker/config.json"
            ]
        );
        assert_eq!(
            paths(
                &[
                    ("HOME", "/h"),
                    ("REGISTRY_AUTH_FILE", "/a.json"),
                    ("XDG_RUNTIME_DIR", "/r"),
                    ("XDG_CONFIG_HOME", "/cfg"),
                    ("DOCKER_CONFIG", "/d")
                ],
                false
            ),
            ["/a.json", "/cfg/containers/auth.json", "/d/config.json"]
        );
        assert_eq!(
            paths(&[("HOME", "/root")], true),
            [
                "/run/containers/0/auth.json",
                "/root/.config/containers/auth.json",
                "/root/.docker/config.json"
            ]
        );
        assert!(paths(&[], false).is_empty());
    }

    #[tokio::test]
    async fn files_are_keyrings_for_every_pod_and_helpers_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        // "dXNlcjpwYXNz" = user:pass; the second entry's login lives in a helper.
        std::fs::write(
            &file,
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNz"},"helped.example":{}},
                "credsStore":"desktop","credHelpers":{"other.example":"ecr-login"}}"#,
        )
        .unwrap();
        let (auth, warnings) = LocalAuth::load(Some(&file)).unwrap();
        assert_eq!(auth.files(), std::slice::from_ref(&file));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("credsStore \"desktop\"") && warnings[0].contains("other.example"),
            "{warnings:?}"
        );
        let (rings, complete) = auth
            .keyrings_for("any", &["regcred".into()], "default", None)
            .await;
        assert!(complete);
        let want = Credential {
            username: "user".into(),
            password: "pass".into(),
        };
        assert_eq!(
            crate::images::registry::credentials::credentials_for(&rings, "127.0.0.1:5000/app"),
            [want]
        );
        assert!(
            crate::images::registry::credentials::credentials_for(&rings, "helped.example/app").is_empty(),
            "an entry without credentials means anonymous, not empty Basic auth"
        );
    }

    #[test]
    fn an_explicit_file_must_be_readable_and_valid() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let err = LocalAuth::load(Some(&missing)).unwrap_err().to_string();
        assert!(err.contains("nope.json"), "{err}");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "not json").unwrap();
        let err = LocalAuth::load(Some(&bad)).unwrap_err().to_string();
        assert!(
            err.contains("bad.json") && err.contains("not a docker/podman auth file"),
            "{err}"
        );
    }
}
