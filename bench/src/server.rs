//! A server under test as a child process: started (pinned to core 0 when asked),
//! timed to its first successful request, measured for memory, killed on drop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How long a server may take to answer its first request before the run fails.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How one server is started: which binary, where, with what.
#[derive(Debug, Clone)]
pub struct Launch {
    pub name: &'static str,
    pub binary: std::path::PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The working directory; its stdout goes to `stdout.log` there.
    pub dir: std::path::PathBuf,
    pub http: SocketAddr,
    /// `None` for a server with no gRPC port (the peer).
    pub grpc: Option<SocketAddr>,
    pub pin: bool,
}

/// A running server; killed when dropped.
#[derive(Debug)]
pub struct Server {
    pub launch: Launch,
    child: Child,
    /// From spawning the process to its first `200` on `GET /helloworld/bench`.
    pub first_request: Duration,
}

impl Server {
    pub fn start(launch: &Launch) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&launch.dir)?;
        let stdout = std::fs::File::create(launch.dir.join("stdout.log"))?;
        let mut command = if launch.pin {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", "0"]).arg(&launch.binary);
            taskset
        } else {
            Command::new(&launch.binary)
        };
        let started = Instant::now();
        let mut child = command
            .args(&launch.args)
            .envs(launch.env.iter().map(|(key, value)| (key, value)))
            .current_dir(&launch.dir)
            .stdout(stdout.try_clone()?)
            .stderr(stdout)
            .spawn()
            .with_context(|| format!("starting {}", launch.binary.display()))?;
        loop {
            if matches!(http_get(launch.http, "/helloworld/bench"), Ok(200)) {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "{} exited with {status}; see {}/stdout.log",
                    launch.name,
                    launch.dir.display()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                bail!("{} did not answer within {START_TIMEOUT:?}", launch.name);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let first_request = started.elapsed();
        Ok(Self {
            launch: launch.clone(),
            child,
            first_request,
        })
    }

    /// Resident memory now, in bytes (`VmRSS` of /proc/<pid>/status).
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc/<pid>/status")?;
        Ok(kib * 1024)
    }

    /// The body of `GET path` on the HTTP port.
    pub fn get(&self, path: &str) -> anyhow::Result<String> {
        let (status, body) = http_request(self.launch.http, path)?;
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        Ok(body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `launch` `times` times (one at a time) and returns each start-up time.
pub fn start_times(launch: &Launch, times: u32) -> anyhow::Result<Vec<Duration>> {
    (0..times)
        .map(|_| Server::start(launch).map(|server| server.first_request))
        .collect()
}

/// A `data/` and `logs/` of its own for each server.
pub fn fresh_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}

fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<u16> {
    http_request(addr, path).map(|(status, _)| status)
}

/// A minimal HTTP/1.1 GET (no client library, so nothing here warms or slows the
/// servers differently).
fn http_request(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(100))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .context("no HTTP status line")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
