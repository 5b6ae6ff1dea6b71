//! The no-op webhook (`src/bin/noop-webhook.rs`) as a child process of the benchmark: started
//! next to this binary, stopped when dropped (and by itself when the benchmark dies).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The running no-op webhook.
pub struct Noop {
    /// `https://127.0.0.1:PORT/mutate`: answers without a patch (anchor N).
    pub url: String,
    /// `https://127.0.0.1:PORT/annotate`: a patch adding one annotation (anchor A).
    pub annotate_url: String,
    /// PEM of the CA that signed its certificate.
    pub ca_pem: String,
    stats: String,
    child: Child,
}

/// What the no-op webhook has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Reviews received over HTTP/2.
    pub h2: u64,
    /// Reviews received over HTTP/1.x.
    pub h1: u64,
    /// Bodies that were not an AdmissionReview with a uid.
    pub bad: u64,
    /// Open connections.
    pub connections: u64,
}

impl Stats {
    /// Reviews received.
    pub fn calls(&self) -> u64 {
        self.h2 + self.h1
    }
}

impl Noop {
    /// Starts `noop-webhook` from this executable's directory and waits for its address.
    pub fn start() -> Result<Noop> {
        let exe = std::env::current_exe()?;
        let bin: PathBuf = exe.with_file_name("noop-webhook");
        let mut child = Command::new(&bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("noop-webhook stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let hello: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                bail!("noop-webhook did not start (said {line:?}): {e}");
            }
        };
        let field = |k: &str| {
            hello[k]
                .as_str()
                .map(str::to_string)
                .context("noop-webhook hello")
        };
        let url = field("url")?;
        Ok(Noop {
            annotate_url: url.replace("/mutate", "/annotate"),
            url,
            ca_pem: field("ca_pem")?,
            stats: field("stats")?,
            child,
        })
    }

    /// The endpoint of anchor `mode` (N or A).
    pub fn url_for(&self, mode: crate::modes::Mode) -> &str {
        if mode == crate::modes::Mode::Annotate {
            &self.annotate_url
        } else {
            &self.url
        }
    }

    /// The process id (for CPU accounting).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its counters, read over plain HTTP.
    pub fn stats(&self) -> Result<Stats> {
        let mut s = std::net::TcpStream::connect(&self.stats).context("noop-webhook stats")?;
        write!(s, "GET /stats HTTP/1.0\r\nHost: {}\r\n\r\n", self.stats)?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        let body = text.split("\r\n\r\n").nth(1).context("stats answer")?;
        let v: Value = serde_json::from_str(body)?;
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        Ok(Stats {
            h2: n("h2"),
            h1: n("h1"),
            bad: n("bad"),
            connections: n("connections"),
        })
    }
}

impl Drop for Noop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
