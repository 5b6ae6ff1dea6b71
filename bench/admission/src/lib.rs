//! Admission as users feel it: pod creates through the real kube-apiserver of the local e2e
//! stack, in four modes interleaved round by round — (P) plain pods, no webhook; (F) the final
//! pods respawn produces, created directly; (N) plain pods through a webhook that changes nothing
//! (`noop-webhook`); (R) plain pods injected by the release respawn-webhook — and the webhook's
//! own latency at a fixed rate. Method and figures: `docs/bench.md`.

pub mod client;
pub mod cluster;
pub mod cpu;
pub mod handler;
pub mod interleave;
pub mod machine;
pub mod modes;
pub mod noop;
pub mod report;
pub mod rounds;
pub mod run;
pub mod shapes;
pub mod stats;
