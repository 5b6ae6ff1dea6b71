//! Where pull credentials come from: the pod's `imagePullSecrets`, its ServiceAccount's
//! `imagePullSecrets`, and an optional global pull secret. [`CredentialSource`] is the seam
//! (a fake in tests); [`KubeCredentials`] reads with `get` on the named objects only (no list or
//! watch), reusing answers for a short TTL.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::Api;

use super::keyring::{Credential, Keyring};

/// A read of the API server failed (not "not found", which is `Ok(None)`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("reading {kind} {namespace}/{name}: {reason}")]
pub struct CredentialError {
    /// `Secret` or `ServiceAccount`.
    pub kind: &'static str,
    /// Namespace of the object.
    pub namespace: String,
    /// Name of the object.
    pub name: String,
    /// The API error.
    pub reason: String,
}

/// Reads the objects pull credentials come from.
#[async_trait::async_trait]
pub trait CredentialSource: Send + Sync {
    /// The secret `namespace/name`, `None` when it does not exist.
    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>, CredentialError>;
    /// The service account `namespace/name`, `None` when it does not exist.
    async fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ServiceAccount>, CredentialError>;
}

/// The pull secrets that apply to one pod, in the kubelet's order: the pod's own, then its
/// service account's (deduplicated), then the global one. Missing or unreadable secrets are
/// skipped with a warning, as the kubelet does. The flag is false when an API read failed (the
/// answer is then not worth remembering).
pub async fn keyrings(
    source: &dyn CredentialSource,
    namespace: &str,
    pod_secrets: &[String],
    service_account: &str,
    global: Option<&(String, String)>,
) -> (Vec<Keyring>, bool) {
    let mut complete = true;
    let mut names: Vec<String> = Vec::new();
    for n in pod_secrets {
        if !n.is_empty() && !names.contains(n) {
            names.push(n.clone());
        }
    }
    match source.service_account(namespace, service_account).await {
        Ok(Some(sa)) => {
            for r in sa.image_pull_secrets.unwrap_or_default() {
                if !r.name.is_empty() && !names.contains(&r.name) {
                    names.push(r.name);
                }
            }
        }
        Ok(None) => tracing::debug!(namespace, service_account, "service account not found"),
        Err(e) => {
            complete = false;
            tracing::warn!(error = %e, "cannot read service account; using the pod's pull secrets only")
        }
    }
    let mut wanted: Vec<(&str, &str)> = names.iter().map(|n| (namespace, n.as_str())).collect();
    if let Some((ns, name)) = global {
        wanted.push((ns, name));
    }
    let mut rings = Vec::with_capacity(wanted.len());
    for (ns, name) in wanted {
        match source.secret(ns, name).await {
            Ok(Some(secret)) => match Keyring::from_secret(&secret) {
                Ok(ring) => rings.push(ring),
                Err(e) => tracing::warn!(namespace = ns, secret = name, error = %e, "ignoring pull secret"),
            },
            Ok(None) => tracing::warn!(namespace = ns, secret = name, "pull secret not found"),
            Err(e) => {
                complete = false;
                tracing::warn!(error = %e, "ignoring unreadable pull secret")
            }
        }
    }
    (rings, complete)
}

/// The credentials to try for `image` (`registry/repository`), in order; empty means anonymous.
pub fn credentials_for(rings: &[Keyring], image: &str) -> Vec<Credential> {
    let mut out: Vec<Credential> = Vec::new();
    for c in rings.iter().flat_map(|r| r.lookup(image)) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The credentials for one (namespace, service account, pod pull secrets, repository), as
/// [`keyrings`] and [`credentials_for`] found them, reused for the credential TTL: a warm
/// admission neither reads (clones) the API objects nor parses dockerconfigjson again. Answers
/// with a failed API read are not kept. A TTL of zero keeps nothing.
pub struct ScopeMemo {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<hashbrown::HashMap<ScopeKey, Remembered>>,
}

/// When a scope was worked out, and the scope.
type Remembered = (Instant, Arc<[Credential]>);

/// What a scope depends on, borrowed from the lookup.
#[derive(Debug, Clone, Copy)]
pub struct ScopeRef<'a> {
    /// The pod's namespace.
    pub namespace: &'a str,
    /// The pod's service account.
    pub service_account: &'a str,
    /// The pod's `imagePullSecrets` names.
    pub pull_secrets: &'a [String],
    /// `registry/repository` of the image.
    pub repo: &'a str,
}

#[derive(Debug, PartialEq, Eq)]
struct ScopeKey {
    namespace: String,
    service_account: String,
    pull_secrets: Vec<String>,
    repo: String,
}

impl Hash for ScopeRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.repo.hash(state);
        self.namespace.hash(state);
        self.service_account.hash(state);
        self.pull_secrets.hash(state);
    }
}

impl Hash for ScopeKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        ScopeRef {
            namespace: &self.namespace,
            service_account: &self.service_account,
            pull_secrets: &self.pull_secrets,
            repo: &self.repo,
        }
        .hash(state);
    }
}

impl hashbrown::Equivalent<ScopeKey> for ScopeRef<'_> {
    fn equivalent(&self, k: &ScopeKey) -> bool {
        self.repo == k.repo
            && self.namespace == k.namespace
            && self.service_account == k.service_account
            && *self.pull_secrets == k.pull_secrets[..]
    }
}

impl ScopeMemo {
    /// Keeps at most `capacity` scopes, each for `ttl`.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        ScopeMemo {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::default(),
        }
    }

    /// The scope remembered for `key`, if younger than the TTL.
    pub fn get(&self, key: ScopeRef<'_>) -> Option<Arc<[Credential]>> {
        let entries = self.entries.lock().expect("scope memo poisoned");
        let (at, scope) = entries.get(&key)?;
        (at.elapsed() < self.ttl).then(|| Arc::clone(scope))
    }

    /// Remembers `scope` for `key`.
    pub fn put(&self, key: ScopeRef<'_>, scope: Arc<[Credential]>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("scope memo poisoned");
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let key = ScopeKey {
            namespace: key.namespace.to_string(),
            service_account: key.service_account.to_string(),
            pull_secrets: key.pull_secrets.to_vec(),
            repo: key.repo.to_string(),
        };
        entries.insert(key, (Instant::now(), scope));
    }
}

type Cached<T> = (Instant, Result<Option<T>, CredentialError>);

/// [`CredentialSource`] backed by the API server: `get` on named Secrets and ServiceAccounts.
pub struct KubeCredentials {
    client: kube::Client,
    ttl: Duration,
    secrets: Mutex<HashMap<(String, String), Cached<Secret>>>,
    accounts: Mutex<HashMap<(String, String), Cached<ServiceAccount>>>,
}

impl KubeCredentials {
    /// Reads with `client`, reusing each answer for `ttl`.
    pub fn new(client: kube::Client, ttl: Duration) -> Self {
        KubeCredentials {
            client,
            ttl,
            secrets: Mutex::default(),
            accounts: Mutex::default(),
        }
    }
}

/// Reads `namespace/name` through a small TTL map (errors are not reused).
async fn cached_get<K>(
    map: &Mutex<HashMap<(String, String), Cached<K>>>,
    ttl: Duration,
    api: Api<K>,
    kind: &'static str,
    namespace: &str,
    name: &str,
) -> Result<Option<K>, CredentialError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let key = (namespace.to_string(), name.to_string());
    if let Some((at, value)) = map.lock().expect("credential cache poisoned").get(&key) {
        if at.elapsed() < ttl {
            return value.clone();
        }
    }
    let value = api.get_opt(name).await.map_err(|e| CredentialError {
        kind,
        namespace: namespace.into(),
        name: name.into(),
        reason: e.to_string(),
    });
    let mut map = map.lock().expect("credential cache poisoned");
    if map.len() > 4096 {
        map.retain(|_, (at, _)| at.elapsed() < ttl);
    }
    if value.is_ok() {
        map.insert(key, (Instant::now(), value.clone()));
    }
    value
}

#[async_trait::async_trait]
impl CredentialSource for KubeCredentials {
    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>, CredentialError> {
        let api = Api::namespaced(self.client.clone(), namespace);
        cached_get(&self.secrets, self.ttl, api, "Secret", namespace, name).await
    }

    async fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ServiceAccount>, CredentialError> {
        let api = Api::namespaced(self.client.clone(), namespace);
        cached_get(&self.accounts, self.ttl, api, "ServiceAccount", namespace, name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(user: &str) -> Arc<[Credential]> {
        Arc::from([Credential {
            username: user.into(),
            password: "p".into(),
        }])
    }

    fn key<'a>(namespace: &'a str, secrets: &'a [String], repo: &'a str) -> ScopeRef<'a> {
        ScopeRef {
            namespace,
            service_account: "default",
            pull_secrets: secrets,
            repo,
        }
    }

    #[test]
    fn the_scope_memo_keys_on_every_part_and_forgets_after_its_ttl() {
        let memo = ScopeMemo::new(Duration::from_millis(200), 8);
        let pull = ["pull".to_string()];
        memo.put(key("a", &pull, "r/x"), cred("a"));
        assert_eq!(memo.get(key("a", &pull, "r/x")), Some(cred("a")));
        for other in [
            key("b", &pull, "r/x"),
            key("a", &[], "r/x"),
            key("a", &pull, "r/y"),
        ] {
            assert_eq!(memo.get(other), None, "{other:?}");
        }
        let sa = ScopeRef {
            service_account: "builder",
            ..key("a", &pull, "r/x")
        };
        assert_eq!(memo.get(sa), None);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(memo.get(key("a", &pull, "r/x")), None, "past the TTL");
    }

    #[test]
    fn the_scope_memo_stays_bounded_and_a_zero_ttl_keeps_nothing() {
        let memo = ScopeMemo::new(Duration::from_secs(60), 2);
        let repos = ["r/1", "r/2", "r/3"];
        for r in repos {
            memo.put(key("a", &[], r), cred(r));
        }
        let held = repos
            .iter()
            .filter(|r| memo.get(key("a", &[], r)).is_some())
            .count();
        assert!(held <= 2, "{held} scopes held, capacity 2");
        assert_eq!(
            memo.get(key("a", &[], "r/3")),
            Some(cred("r/3")),
            "the newest is kept"
        );
        let off = ScopeMemo::new(Duration::ZERO, 2);
        off.put(key("a", &[], "r/1"), cred("x"));
        assert_eq!(off.get(key("a", &[], "r/1")), None);
    }
}
