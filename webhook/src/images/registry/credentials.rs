//! Where pull credentials come from: the pod's `imagePullSecrets`, its ServiceAccount's
//! `imagePullSecrets`, and an optional global pull secret. [`CredentialSource`] is the seam
//! (a fake in tests); [`KubeCredentials`] reads with `get` on the named objects only (no list or
//! watch), reusing answers for a short TTL.

use std::time::Duration;

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

    /// The keyrings to try for one pod identity, in order, and whether every read succeeded
    /// (only a complete answer is remembered). By default [`keyrings`] over this source's
    /// Secrets and ServiceAccounts, in the kubelet's order; a source that is not the API server
    /// (the local auth files of `respawn-webhook inject`) answers directly.
    async fn keyrings_for(
        &self,
        namespace: &str,
        pod_secrets: &[String],
        service_account: &str,
        global: Option<&(String, String)>,
    ) -> (Vec<Keyring>, bool) {
        keyrings(self, namespace, pod_secrets, service_account, global).await
    }
}

/// The pull secrets that apply to one pod, in the kubelet's order: the pod's own, then its
/// service account's (deduplicated), then the global one. Missing or unreadable secrets are
/// skipped with a warning, as the kubelet does. The flag is false when an API read failed (the
/// answer is then not worth remembering).
pub async fn keyrings<S: CredentialSource + ?Sized>(
    source: &S,
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

/// [`CredentialSource`] backed by the API server: `get` on named Secrets and ServiceAccounts,
/// each answer reused for the TTL (failed reads are not kept). Bounded moka caches.
pub struct KubeCredentials {
    client: kube::Client,
    secrets: Option<moka::future::Cache<(String, String), Option<Secret>>>,
    accounts: Option<moka::future::Cache<(String, String), Option<ServiceAccount>>>,
}

/// Objects of each kind kept.
const CAPACITY: u64 = 4096;

impl KubeCredentials {
    /// Reads with `client`, reusing each answer for `ttl` (zero: every call reads).
    pub fn new(client: kube::Client, ttl: Duration) -> Self {
        fn memo<V: Clone + Send + Sync + 'static>(
            ttl: Duration,
        ) -> Option<moka::future::Cache<(String, String), V>> {
            (!ttl.is_zero()).then(|| {
                moka::future::Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_live(ttl)
                    .build()
            })
        }
        KubeCredentials {
            client,
            secrets: memo(ttl),
            accounts: memo(ttl),
        }
    }
}

/// Reads `namespace/name`, through `memo` when there is one. Concurrent reads of one object
/// share one API call; errors are returned, never kept.
async fn cached_get<K>(
    memo: Option<&moka::future::Cache<(String, String), Option<K>>>,
    api: Api<K>,
    kind: &'static str,
    namespace: &str,
    name: &str,
) -> Result<Option<K>, CredentialError>
where
    K: Clone + Send + Sync + serde::de::DeserializeOwned + std::fmt::Debug + 'static,
{
    let read = async {
        api.get_opt(name).await.map_err(|e| CredentialError {
            kind,
            namespace: namespace.into(),
            name: name.into(),
            reason: e.to_string(),
        })
    };
    match memo {
        Some(m) => m
            .try_get_with((namespace.to_string(), name.to_string()), read)
            .await
            .map_err(|e| (*e).clone()),
        None => read.await,
    }
}

#[async_trait::async_trait]
impl CredentialSource for KubeCredentials {
    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>, CredentialError> {
        let api = Api::namespaced(self.client.clone(), namespace);
        cached_get(self.secrets.as_ref(), api, "Secret", namespace, name).await
    }

    async fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ServiceAccount>, CredentialError> {
        let api = Api::namespaced(self.client.clone(), namespace);
        cached_get(self.accounts.as_ref(), api, "ServiceAccount", namespace, name).await
    }
}
