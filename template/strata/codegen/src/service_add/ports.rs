//! The new service's ports: the first service's HTTP, gRPC and admin ports moved
//! up together by the smallest step that takes none already in use in this
//! repository (8001/9001/8082 beside 8000/9000/8081), so each service runs beside
//! the others on one machine and in the compose stack.

use std::collections::BTreeSet;

use anyhow::{Result, bail};

/// HTTP, gRPC and admin ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub http: u16,
    pub grpc: u16,
    pub admin: u16,
}

/// The first free step above `first`, avoiding every port in `taken`.
pub fn choose(first: Ports, taken: &BTreeSet<u16>) -> Result<Ports> {
    for step in 1..=1000u16 {
        let moved = [first.http, first.grpc, first.admin].map(|port| port.checked_add(step));
        let [Some(http), Some(grpc), Some(admin)] = moved else {
            break;
        };
        let distinct = http != grpc && grpc != admin && http != admin;
        if distinct && [http, grpc, admin].iter().all(|port| !taken.contains(port)) {
            return Ok(Ports { http, grpc, admin });
        }
    }
    bail!(
        "no free ports above {}/{}/{} for the new service: every step up to 1000 is taken",
        first.http,
        first.grpc,
        first.admin
    )
}

/// Every port a config file in this repository names (`0.0.0.0:8000`, also in
/// comments, which is where the admin port is written).
pub fn named_in(text: &str) -> impl Iterator<Item = u16> + '_ {
    text.split("0.0.0.0:").skip(1).filter_map(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Ports = Ports {
        http: 8000,
        grpc: 9000,
        admin: 8081,
    };

    #[test]
    fn moves_up_past_taken_ports() {
        let taken = BTreeSet::from([8000, 9000, 8081]);
        assert_eq!(
            choose(FIRST, &taken).expect("free"),
            Ports {
                http: 8001,
                grpc: 9001,
                admin: 8082
            }
        );
        let taken = BTreeSet::from([8000, 9000, 8081, 8001, 9001, 8082]);
        assert_eq!(choose(FIRST, &taken).expect("free").http, 8002);
    }

    #[test]
    fn skips_a_step_where_two_ports_meet() {
        let first = Ports {
            http: 8000,
            grpc: 8001,
            admin: 8002,
        };
        let taken = BTreeSet::from([8000, 8001, 8002]);
        assert_eq!(choose(first, &taken).expect("free").http, 8003);
    }

    #[test]
    fn reads_ports_from_config_text() {
        let text = "addr: 0.0.0.0:8001\n# e.g. 0.0.0.0:8082;\n  addr: 0.0.0.0:9001\n";
        assert_eq!(named_in(text).collect::<Vec<_>>(), [8001, 8082, 9001]);
    }
}
