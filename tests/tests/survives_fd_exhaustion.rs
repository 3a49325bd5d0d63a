//! Slow tier: out of file descriptors, no listener spins. With the service's
//! descriptor limit lowered to 64 (`prlimit` on the running process) and more
//! connections queued on each port than it can accept, `accept` fails with EMFILE
//! again and again; every listener backs off instead of retrying at once, so the
//! process stays nearly idle, and it serves again once the connections go.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use strata_tests::raw_http::{exchange, request};
use strata_tests::{Variant, start_built};
use tokio::net::TcpStream;

/// The descriptor limit the service runs under during the test.
const NOFILE: u32 = 64;
/// Connections held open on each port: more than the limit allows.
const HELD_PER_PORT: usize = 100;
/// How long the process's CPU time is watched while it cannot accept.
const WATCHED: Duration = Duration::from_secs(5);

/// User plus system CPU time of `pid` so far, in clock ticks (fields 14 and 15
/// of `/proc/<pid>/stat`; the command name before them is in parentheses).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/<pid>/stat");
    let after_name = stat.rsplit_once(") ").expect("stat has a name").1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` starts at field 3 (state): utime is field 14, stime 15.
    let ticks = |index: usize| fields[index - 3].parse::<u64>().expect("a tick count");
    ticks(14) + ticks(15)
}

fn clock_ticks_per_second() -> u64 {
    let output = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

async fn hold(addr: SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        // The kernel completes the handshake from the listen backlog even when the
        // service cannot accept, so every connect succeeds.
        held.push(TcpStream::connect(addr).await.expect("connect"));
    }
    held
}

async fn healthz(addr: SocketAddr, within: Duration) -> Result<u16, String> {
    let response = exchange(addr, &request("GET", b"/healthz", &[], b""), within).await?;
    Ok(response.status)
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn out_of_descriptors_no_listener_spins_and_service_recovers() {
    let (service, _scratch) = start_built(Variant::SQLITE, &[]);
    let lowered = Command::new("prlimit")
        .arg("--pid")
        .arg(service.pid().to_string())
        .arg(format!("--nofile={NOFILE}:{NOFILE}"))
        .status()
        .expect("prlimit runs (util-linux)");
    assert!(lowered.success(), "prlimit --nofile={NOFILE} failed");

    let mut held = hold(service.grpc, HELD_PER_PORT).await;
    held.extend(hold(service.http, HELD_PER_PORT).await);

    let before = cpu_ticks(service.pid());
    tokio::time::sleep(WATCHED).await;
    let used = (cpu_ticks(service.pid()) - before) as f64 / clock_ticks_per_second() as f64;
    eprintln!(
        "CPU time while {} connections waited on a limit of {NOFILE} descriptors: {used:.2} s in {WATCHED:?}",
        held.len()
    );
    // A listener retrying accept at once burns a whole core (~5 s in 5 s); one
    // that backs off uses a few hundredths.
    assert!(
        used < 1.0,
        "the service used {used:.2} CPU-seconds in {WATCHED:?} while out of descriptors: a listener is spinning on accept"
    );

    drop(held);
    // The queued connections are accepted and found closed; then /healthz answers.
    let mut last = Err("not tried".to_owned());
    for _ in 0..30 {
        last = healthz(service.http, Duration::from_secs(2)).await;
        if last == Ok(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(last, Ok(200), "/healthz after the held connections closed");
}
