use std::cell::Cell;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::Variant;

/// The target directory every generated repository builds into, so dependencies
/// compile once: `CARGO_TARGET_DIR`, else `~/.cache/strata/target`.
pub fn shared_target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            Path::new(&home).join(".cache/strata/target")
        });
    // Earlier versions of these tests kept their built repositories inside the
    // target directory, where cargo records sources target-relative: a render
    // elsewhere with a same-named crate (every `biz`) read those records and
    // took stale artifacts as fresh. Removing the folder makes every such
    // record stale, so those crates are rebuilt from their own sources.
    static LEGACY: std::sync::Once = std::sync::Once::new();
    LEGACY.call_once(|| {
        let inside = target.join("strata-built");
        if inside.exists() {
            let _ = std::fs::remove_dir_all(&inside);
        }
    });
    target
}

/// Runs `cargo <args>` in `dir` with the shared target directory and returns its
/// stderr; panics with the output when it fails, naming the step.
pub fn cargo(dir: &Path, args: &[&str]) -> String {
    cargo_with_env(dir, args, &[])
}

/// Held for the whole of each cargo or make run in a generated repository, so
/// one test's run never overlaps another's in this process.
///
/// Cargo names a path crate's artifacts by its path relative to the workspace, so
/// every render's `strata_config` (and `conf`, `biz`, ...) is the same file in the
/// shared target. Cargo locks the target only while it compiles: a doctest of one
/// render, which links those rlibs after the compile, failed with "extern location
/// does not exist" while a second render rebuilt them.
static SHARED_TARGET: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread holds [`SHARED_TARGET`] through an [`Exclusive`].
    static EXCLUSIVE: Cell<bool> = const { Cell::new(false) };
}

fn run_alone(command: &mut Command) -> std::process::Output {
    if EXCLUSIVE.get() {
        return command.output().expect("the command runs");
    }
    // A test that panicked while holding the lock left nothing half-done in it.
    let _alone = SHARED_TARGET
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    command.output().expect("the command runs")
}

/// The shared target to one render alone, from now until it is dropped: every
/// cargo and make run of the other tests in this process waits.
///
/// For a test that builds a render in several steps: between its steps another
/// render could rebuild crates the two share a name with, and cargo judges a
/// path crate fresh by its files' times alone. A render made before another
/// one's build has older files than those artifacts, so its `cargo test` ran
/// the other render's `conf` tests (and read that render's config through the
/// `CARGO_MANIFEST_DIR` compiled into them: it failed once its directory was
/// gone). So the render's files are dated now, newer than anything in the
/// target, and its crates are built from its own sources.
#[must_use = "the render has the target to itself only while this lives"]
pub struct Exclusive {
    _alone: MutexGuard<'static, ()>,
}

/// See [`Exclusive`].
pub fn exclusive(root: &Path) -> Exclusive {
    let alone = SHARED_TARGET
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    EXCLUSIVE.set(true);
    date_now(root);
    Exclusive { _alone: alone }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        // Before the lock goes, with the fields.
        EXCLUSIVE.set(false);
    }
}

/// Sets the modification time of every file under `dir` (but `target` and
/// `.git`) to now.
fn date_now(dir: &Path) {
    let now = SystemTime::now();
    for entry in std::fs::read_dir(dir).expect("read the render") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            if !path.ends_with("target") && !path.ends_with(".git") {
                date_now(&path);
            }
        } else {
            std::fs::File::options()
                .append(true)
                .open(&path)
                .and_then(|file| file.set_modified(now))
                .unwrap_or_else(|err| panic!("date {} now: {err}", path.display()));
        }
    }
}

/// [`cargo`] with `env` added to its environment.
pub fn cargo_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = run_alone(
        Command::new("cargo")
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", shared_target_dir())
            .env("CARGO_TERM_COLOR", "never"),
    );
    // stderr first: cargo's own report (which test binary failed, and how: a
    // signal, an exit code) is short and must survive when a long log is cut.
    assert!(
        output.status.success(),
        "`cargo {}` failed in {}:\n--- stderr ---\n{}\n--- stdout ---\n{}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What `make` did: whether it succeeded, and its stdout and stderr together.
#[derive(Debug)]
pub struct Made {
    pub ok: bool,
    pub text: String,
}

/// Runs `make <args>` in `dir` (a generated repository or this one) with the shared
/// target directory, whatever its outcome.
pub fn make(dir: &Path, args: &[&str]) -> Made {
    let output = run_alone(
        Command::new("make")
            .args(args)
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", shared_target_dir())
            .env("CARGO_TERM_COLOR", "never"),
    );
    Made {
        ok: output.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// [`make`] that must succeed: panics with the output naming the step, else returns it.
pub fn make_ok(dir: &Path, args: &[&str]) -> String {
    let made = make(dir, args);
    assert!(
        made.ok,
        "make {} in {}:\n{}",
        args.join(" "),
        dir.display(),
        made.text
    );
    made.text
}

/// Reports a missing prerequisite and returns false: under `CI=true` the test fails
/// instead, so CI never passes by skipping.
pub(crate) fn unavailable(what: &str) -> bool {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what}, and CI=true requires it"
    );
    eprintln!("SKIPPED: {what} (set CI=true to make this fatal)");
    false
}

/// A port nothing listens on right now, below Linux's ephemeral range (32768
/// and up): a port the kernel picked would be free for any outgoing connection
/// to take as its source port (another test's client, say) before the service
/// binds it, which made a service fail with "Address already in use".
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    const FIRST: u16 = 20_000;
    const COUNT: u64 = 12_768;
    for _ in 0..1_000 {
        // A fresh `RandomState` hashes differently each time: a random pick.
        let pick = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let port = FIRST + (pick % COUNT) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{}", u64::from(FIRST) + COUNT);
}

/// Whether the database `variant` needs answers: PostgreSQL at 127.0.0.1:5432,
/// MySQL/MariaDB at 127.0.0.1:3306, nothing for SQLite. Outside CI a missing
/// server skips the test with a printed reason; in CI (`CI=true`) it is a failure.
pub fn database_available(variant: Variant) -> bool {
    let addr: SocketAddr = match variant.database() {
        "postgres" => "127.0.0.1:5432",
        "mysql" => "127.0.0.1:3306",
        _ => return true,
    }
    .parse()
    .expect("addr");
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
        || unavailable(&format!(
            "{} is not reachable at {addr}",
            variant.database()
        ))
}

/// Whether promtool is on the PATH; like [`database_available`], a skip outside CI
/// and a failure in CI.
pub fn promtool_available() -> bool {
    Command::new("promtool").arg("--version").output().is_ok()
        || unavailable("promtool is not installed (apt-get install prometheus)")
}

/// Runs `promtool check metrics` on `text`; its complaint, if any.
pub fn promtool_check(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| err.to_string())?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(text.as_bytes())
        .map_err(|err| err.to_string())?;
    let output = child.wait_with_output().map_err(|err| err.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A generated service's binary, started with its own config and env overrides.
#[derive(Debug)]
pub struct Service {
    child: Child,
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    log: PathBuf,
}

impl Service {
    /// Starts the variant's debug binary in `repo` on free ports with `env` added,
    /// and waits until both ports accept connections.
    pub fn start(repo: &Path, variant: Variant, env: &[(String, String)]) -> Self {
        Self::start_in(repo, repo, variant, env)
    }

    /// Like [`Service::start`], with `workdir` as the working directory: its log
    /// files, relative paths and `service.log` go there, so several services can
    /// run from one built repository.
    pub fn start_in(
        repo: &Path,
        workdir: &Path,
        variant: Variant,
        env: &[(String, String)],
    ) -> Self {
        let prefix = variant.env_prefix();
        let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let log = workdir.join("service.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(shared_target_dir().join("debug").join(variant.name))
            .arg("--conf")
            .arg(repo.join("configs/config.yaml"))
            .current_dir(workdir)
            .env(format!("{prefix}__SERVER__HTTP__ADDR"), http.to_string())
            .env(format!("{prefix}__SERVER__GRPC__ADDR"), grpc.to_string())
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .stdin(Stdio::null())
            .spawn()
            .expect("service binary starts");
        let mut service = Self {
            child,
            http,
            grpc,
            log,
        };
        service.wait_until_listening();
        service
    }

    /// Everything the service printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The output once it holds `needle`, or as it is after `within`: a line
    /// reaches stdout from the log sink's thread a few milliseconds after it
    /// is logged.
    pub fn output_containing(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let output = self.output();
            if output.contains(needle) || Instant::now() >= deadline {
                return output;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_until_listening(&mut self) {
        // A deadline so a broken build fails the test instead of hanging it.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                panic!(
                    "service exited with {status} before listening:\n{}",
                    self.output()
                );
            }
            if TcpStream::connect(self.http).is_ok() && TcpStream::connect(self.grpc).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("service did not listen within 30 s:\n{}", self.output());
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The resident set size in KiB (`VmRSS` in `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_else(|err| panic!("read /proc/{}/status: {err}", self.pid()));
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS line in:\n{status}"))
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll child").is_none()
    }

    /// Sends SIGTERM and returns at once.
    pub fn send_sigterm(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM could not be sent");
    }

    /// Waits up to `within` for the process to exit and returns how it exited and
    /// everything it printed; kills it and panics when it does not.
    pub fn wait_for_exit(mut self, within: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                return (status, self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!(
            "service still running {within:?} after SIGTERM:\n{}",
            self.output()
        );
    }

    /// Sends SIGTERM, waits for the process to exit, and returns how it exited and
    /// everything it printed.
    pub fn terminate(self) -> (ExitStatus, String) {
        self.send_sigterm();
        self.wait_for_exit(Duration::from_secs(30))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every line of the log files in `dir` (the service's rolling JSON log), or
/// nothing if there are none.
pub fn read_logs(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}
