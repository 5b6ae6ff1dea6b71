//! Temporary namespaces: every test runs in its own, created with the labels it needs and deleted
//! afterwards (kube-controller-manager's namespace controller removes the content). When the test
//! fails or panics, the pods and events of the namespace are printed together with the tail of
//! the webhook's log (and, on the local stack, the kubelet's). `RESPAWN_E2E_KEEP=1` keeps the
//! namespaces for inspection.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use futures::FutureExt;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, ServiceAccount};
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::Stack;

/// A namespace that exists for the duration of one test.
#[derive(Clone)]
pub struct TempNs {
    /// The namespace's name.
    pub name: String,
    /// An admin client for the stack.
    pub client: Client,
}

/// Runs `body` in a fresh namespace named `e2e-<prefix>-<suffix>` carrying `labels`; on failure
/// dumps the namespace's pods and the webhook log, then deletes the namespace either way.
pub async fn with_ns<F, Fut>(prefix: &str, labels: &[(&str, &str)], body: F) -> Result<()>
where
    F: FnOnce(TempNs) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let stack = Stack::get();
    let client = stack.client().await?;
    let ns = TempNs::create(client, prefix, labels).await?;
    let outcome = AssertUnwindSafe(body(ns.clone())).catch_unwind().await;
    let failure = match &outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(panic) => Some(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".to_string()),
        ),
    };
    if let Some(why) = failure {
        ns.dump(stack, &why).await;
    }
    if std::env::var_os("RESPAWN_E2E_KEEP").is_none() {
        ns.delete().await;
    }
    match outcome {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A name suffix unique enough for concurrent tests and repeated runs against one stack.
pub fn unique_suffix() -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:x}{n}", (nanos ^ std::process::id().rotate_left(16)) & 0xfffff)
}

impl TempNs {
    /// Creates the namespace and its `default` ServiceAccount (the ServiceAccount admission plugin
    /// rejects pods until it exists; the controller-manager may win the race, which is fine), and
    /// waits for the `kube-root-ca.crt` ConfigMap the controller-manager publishes (a pod's
    /// service-account token volume mounts it; without it the kubelet holds the pod back).
    pub async fn create(client: Client, prefix: &str, labels: &[(&str, &str)]) -> Result<TempNs> {
        let name = format!("e2e-{prefix}-{}", unique_suffix());
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(labels),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating namespace {name}"))?;
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some("default".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        match Api::<ServiceAccount>::namespaced(client.clone(), &name)
            .create(&PostParams::default(), &sa)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e).context("creating the default ServiceAccount"),
        }
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &name);
        crate::webhooks::eventually(
            "the controller-manager publishes kube-root-ca.crt",
            std::time::Duration::from_secs(30),
            || async { Ok(configmaps.get_opt("kube-root-ca.crt").await?.is_some()) },
        )
        .await
        .with_context(|| format!("namespace {name}"))?;
        Ok(TempNs { name, client })
    }

    /// The namespace's pods.
    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Any namespaced API in this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Creates `pod` through the real apiserver (webhooks included) and returns what it stored.
    pub async fn create_pod(&self, pod: &Pod) -> Result<Pod> {
        let name = pod
            .metadata
            .name
            .clone()
            .or_else(|| pod.metadata.generate_name.clone())
            .unwrap_or_default();
        self.pods()
            .create(&PostParams::default(), pod)
            .await
            .with_context(|| format!("creating pod {name} in {}", self.name))
    }

    /// Creates `pod` keeping the raw answer: status code, stored pod or `Status`, warnings.
    pub async fn admit(&self, pod: &Pod) -> Result<crate::admit::Admission> {
        crate::admit::create_pod(&self.client, &self.name, pod, false).await
    }

    /// Like [`TempNs::admit`] with `dryRun=All`: the whole admission chain runs, nothing is stored.
    pub async fn admit_dry_run(&self, pod: &Pod) -> Result<crate::admit::Admission> {
        crate::admit::create_pod(&self.client, &self.name, pod, true).await
    }

    /// Waits until a webhook configuration created for a test is in force: a dry-run of `probe`
    /// comes back carrying the marker label of the test webhook ([`crate::testhook::TestHook`]).
    pub async fn wait_for_marker_hook(&self, probe: &Pod) -> Result<()> {
        crate::webhooks::eventually(
            "the configuration is in force",
            std::time::Duration::from_secs(20),
            || async {
                let stored = self.admit_dry_run(probe).await?.pod()?;
                Ok(stored
                    .metadata
                    .labels
                    .unwrap_or_default()
                    .contains_key(crate::testhook::TOUCHED_LABEL))
            },
        )
        .await
    }

    /// Prints why the test failed (first: a CI log may show only the beginning), every pod of the
    /// namespace as JSON (without managedFields) and the tail of the webhook log.
    pub async fn dump(&self, stack: &Stack, why: &str) {
        eprintln!("===== e2e failure in namespace {}: {why}", self.name);
        match self.pods().list(&ListParams::default()).await {
            Ok(list) => {
                for mut pod in list.items {
                    pod.metadata.managed_fields = None;
                    let json = serde_json::to_string_pretty(&pod).unwrap_or_default();
                    eprintln!("--- pod {} ---\n{json}", pod.metadata.name.unwrap_or_default());
                }
            }
            Err(e) => eprintln!("(listing pods failed: {e})"),
        }
        match self.api::<Event>().list(&ListParams::default()).await {
            Ok(list) => {
                eprintln!("--- events ---");
                for e in list.items {
                    let o = e.involved_object;
                    eprintln!(
                        "{} {}/{}: {} {}",
                        e.type_.unwrap_or_default(),
                        o.kind.unwrap_or_default(),
                        o.name.unwrap_or_default(),
                        e.reason.unwrap_or_default(),
                        e.message.unwrap_or_default()
                    );
                }
            }
            Err(e) => eprintln!("(listing events failed: {e})"),
        }
        eprintln!(
            "--- respawn-webhook log (tail) ---\n{}",
            stack.log_tail("respawn-webhook", 60)
        );
        if stack.mode == crate::stack::Mode::Local && stack.env.contains_key("NODE_NAME") {
            eprintln!("--- kubelet log (tail) ---\n{}", stack.log_tail("kubelet", 40));
        }
        eprintln!("===== end of dump ({}: {why})", self.name);
    }

    /// Deletes the namespace (best effort; the namespace controller removes its content).
    pub async fn delete(&self) {
        let _ = Api::<Namespace>::all(self.client.clone())
            .delete(&self.name, &DeleteParams::background())
            .await;
    }
}
