//! `respawn-webhook inject`: offline injection for GitOps. Reads manifests (YAML or JSON, several
//! documents, Lists), and writes them as YAML with the pods and pod templates of Pods,
//! Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs and CronJobs
//! mutated exactly as the webhook would admit them — the same `admission::decide` (plan → lookup
//! → decide) and `render::patch`, the same flags — and every other document unchanged, in order.
//!
//! The flow: [`args`] (flags) → [`input`] (files, documents) → [`inject`] (opt-in by [`select`],
//! pods found by [`kinds`], the webhook's decision, the patch applied) → [`output`] (YAML on
//! stdout, reports on stderr). Image lookups use the registry provider with the user's own
//! login files (`images::registry::LocalAuth`). Nothing is written unless everything succeeded.

pub mod args;
pub mod inject;
pub mod input;
pub mod kinds;
pub mod output;
pub mod select;

use std::fmt;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::Value;

pub use args::InjectArgs;
pub use inject::{Injected, Injector};
pub use input::Input;
pub use select::Selection;

use crate::admission::AppState;
use crate::images::registry::{self, CredentialSource, LocalAuth, RegistryMetrics};
use crate::server::metrics::Metrics;

/// Where a document is: `FILE, document N` (from 1), `, item M` for each List it sits in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The input's name.
    pub source: String,
    /// The document's number in its input, from 1; 0 for the input as a whole.
    pub document: usize,
    /// Item numbers (from 1) within Lists, outermost first.
    pub items: Vec<usize>,
}

impl Location {
    /// The input as a whole.
    pub fn source(name: &str) -> Location {
        Location::document(name, 0)
    }

    /// Document `n` (from 1) of an input.
    pub fn document(name: &str, n: usize) -> Location {
        Location {
            source: name.to_string(),
            document: n,
            items: Vec::new(),
        }
    }

    /// Item `n` (from 1) of the List at this location.
    pub fn item(&self, n: usize) -> Location {
        let mut at = self.clone();
        at.items.push(n);
        at
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if self.document > 0 {
            write!(f, ", document {}", self.document)?;
        }
        for i in &self.items {
            write!(f, ", item {i}")?;
        }
        Ok(())
    }
}

/// One document of the input.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it came from.
    pub at: Location,
    /// The object.
    pub value: Value,
}

/// What happened to one pod (template).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Injected.
    Injected {
        /// The wrapped containers.
        containers: Vec<String>,
        /// The webhook's warnings.
        warnings: Vec<String>,
    },
    /// Written unchanged.
    Unchanged {
        /// Why.
        why: String,
        /// The webhook's warnings (e.g. a failed lookup under `allow`).
        warnings: Vec<String>,
    },
}

/// One pod (template) found in the input and what happened to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Its document.
    pub at: Location,
    /// `Kind namespace/name` of the document.
    pub object: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Why nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// A file or directory cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A directory given with `-f` holds no manifest.
    #[error("{path}: no .yaml, .yml or .json file in this directory")]
    EmptyDirectory {
        /// The directory.
        path: String,
    },
    /// A document is not YAML/JSON or not an object.
    #[error("{at}: {reason}")]
    Parse {
        /// Where.
        at: Location,
        /// What is wrong.
        reason: String,
    },
    /// A workload's pod template cannot be read as a pod.
    #[error("{at} ({object}): {reason}")]
    Invalid {
        /// Where.
        at: Location,
        /// `Kind namespace/name`.
        object: String,
        /// What is wrong.
        reason: String,
    },
    /// The webhook would deny the pod (`--on-lookup-failure deny`, or the pod's annotation).
    #[error("{at} ({object}): denied: {message}")]
    Denied {
        /// Where.
        at: Location,
        /// `Kind namespace/name`.
        object: String,
        /// The webhook's message (container, image, cause).
        message: String,
    },
    /// A document cannot be written as YAML.
    #[error("{at}: cannot write as YAML: {reason}")]
    Write {
        /// Where.
        at: Location,
        /// Why.
        reason: String,
    },
}

/// Builds the injector from the flags: the webhook's injection settings, the registry provider
/// with the local login files; returns the login warnings too.
pub fn injector(args: &InjectArgs) -> anyhow::Result<(Injector, Vec<String>)> {
    anyhow::ensure!(
        args.registry.global_pull_secret.is_none(),
        "--global-pull-secret reads a Secret from the cluster's API, which inject does not use; \
         registry logins come from --registry-config or the local docker/podman auth files"
    );
    let (auth, warnings) = LocalAuth::load(args.registry_config.as_deref())?;
    let registry_metrics = RegistryMetrics::new();
    let credentials: Arc<dyn CredentialSource> = Arc::new(auth);
    let provider = registry::provider_from(&args.registry, Some(credentials), registry_metrics.clone())
        .context("cannot set up the registry client")?;
    let state = Arc::new(AppState {
        // Offline the cluster's version is unknown: image-volume delivery, when asked for, is
        // taken as supported (docs/install.md says so).
        injection: args.injection.injection(true),
        lookup_budget: args.lookup_budget,
        provider,
        metrics: Arc::new(Metrics::with_registry_metrics(&registry_metrics)),
    });
    let selection = Selection {
        all: args.all,
        namespaces: args.enabled_namespaces.iter().cloned().collect(),
    };
    let injector = Injector {
        state,
        selection,
        namespace: args.namespace.clone(),
    };
    Ok((injector, warnings))
}

/// Reads every input named by `-f` (stdin when none). When one cannot be read, the others are
/// still parsed, so that one run reports every unreadable input and document.
pub fn read_inputs(args: &InjectArgs) -> Result<Vec<Input>, Vec<InjectError>> {
    let named: Vec<String> = if args.files.is_empty() {
        vec!["-".into()]
    } else {
        args.files.clone()
    };
    let sources = input::expand(&named, args.recursive).map_err(|e| vec![e])?;
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    let mut stdin_read = false;
    for s in sources {
        let read = match s {
            input::Source::File(path) => input::read_file(&path),
            input::Source::Stdin if stdin_read => continue,
            input::Source::Stdin => {
                stdin_read = true;
                read_stdin(args.files.is_empty())
            }
        };
        match read {
            Ok(i) => inputs.push(i),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        errors.extend(inputs.iter().filter_map(|i| input::documents(i).err()));
        return Err(errors);
    }
    Ok(inputs)
}

fn read_stdin(implicit: bool) -> Result<Input, InjectError> {
    let mut stdin = std::io::stdin();
    if implicit && stdin.is_terminal() {
        return Err(InjectError::Parse {
            at: Location::source(input::STDIN),
            reason: "no input: give -f FILE|DIR, or pipe manifests in (-f -)".into(),
        });
    }
    let mut bytes = Vec::new();
    stdin
        .read_to_end(&mut bytes)
        .map_err(|source| InjectError::Read {
            path: input::STDIN.into(),
            source,
        })?;
    input::text(input::STDIN.into(), bytes)
}

/// `respawn-webhook inject`: everything read and decided first, then stdout written at once, or
/// nothing written and exit status 1 with every error on stderr.
pub async fn run(args: InjectArgs) -> anyhow::Result<ExitCode> {
    let (injector, warnings) = injector(&args)?;
    for w in warnings {
        eprintln!("respawn-webhook inject: warning: {w}");
    }
    let result = match read_inputs(&args) {
        Ok(inputs) => injector.run(&inputs).await,
        Err(errors) => Err(errors),
    };
    let text = result.and_then(|done| {
        let text = output::yaml(&done.documents).map_err(|e| vec![e])?;
        Ok((text, done.reports))
    });
    match text {
        Ok((text, reports)) => {
            for line in output::report_lines(&reports, args.quiet) {
                eprintln!("respawn-webhook inject: {line}");
            }
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("writing to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("respawn-webhook inject: error: {e}");
            }
            eprintln!(
                "respawn-webhook inject: {} error(s); nothing written",
                errors.len()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
