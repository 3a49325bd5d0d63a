//! `cargo strata <command>`: the repository's own tooling, in Rust, so it needs
//! nothing but cargo. The Makefile's proto targets call it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use strata_codegen::scaffold::Layout;

mod scaffold_command;
mod service_add;
mod upgrade;

const USAGE: &str = "usage:
  cargo strata proto-add <api/<package path>/<name>.proto>   write a new CRUD-shaped proto
  cargo strata proto-server <api/...proto> [--service <name>]
                                                             write a service skeleton for it and register it
  cargo strata scaffold --resource <singular> --fields \"<name:type> ...\" [--plural <plural>] [--service <name>]
                                                             write a CRUD resource through every layer and register it
  cargo strata service-add <name>                            add a service beside this one, under services/<name>/
  cargo strata upgrade --template <path or git URL> [--rev <tag or commit>]
                                                             move to another strata release, keeping your edits
  cargo strata upgrade-plan --template <..> [--rev <..>]     print what upgrade would do; writes nothing";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|arg| matches!(arg.as_str(), "-h" | "--help" | "help"))
    {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["proto-add", proto] if !proto.starts_with('-') => {
            proto_add(Path::new(proto)).map(|()| ExitCode::SUCCESS)
        }
        ["proto-server", proto, rest @ ..] if !proto.starts_with('-') => {
            proto_server(Path::new(proto), rest).map(|()| ExitCode::SUCCESS)
        }
        ["scaffold", rest @ ..] => scaffold_command::run(rest).map(|()| ExitCode::SUCCESS),
        ["service-add", name] if !name.starts_with('-') => {
            service_add(name).map(|()| ExitCode::SUCCESS)
        }
        ["upgrade", rest @ ..] => upgrade(rest, true),
        ["upgrade-plan", rest @ ..] => upgrade(rest, false),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: the nearest folder at or above the working directory
/// that holds the framework (`strata/codegen/`). Not the folder this binary was
/// built in: cargo reuses one build for identical checkouts that share a target
/// directory, so a baked-in path could name another repository.
fn root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    cwd.ancestors()
        .find(|dir| dir.join("strata/codegen/Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no strata/codegen/ in {} or above: run this inside a strata repository",
                cwd.display()
            )
        })
}

/// `proto` as given on the command line, relative to the repository `root`.
fn relative(root: &Path, proto: &Path) -> PathBuf {
    let absolute = std::env::current_dir()
        .map(|cwd| cwd.join(proto))
        .unwrap_or_else(|_| proto.to_path_buf());
    absolute
        .strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| proto.to_path_buf())
}

fn proto_add(proto: &Path) -> anyhow::Result<()> {
    let root = root()?;
    let proto = relative(&root, proto);
    strata_codegen::scaffold::proto_add(&root, &proto)?;
    println!("wrote {}", proto.display());
    println!(
        "next: `make api` to build it, then `make proto-server PROTO={}`",
        proto.display()
    );
    Ok(())
}

fn proto_server(proto: &Path, rest: &[&str]) -> anyhow::Result<()> {
    let root = root()?;
    let pairs = scaffold_command::options(rest, &["service"])?;
    let layout = Layout::find(&root, scaffold_command::option(&pairs, "service"))?;
    for written in strata_codegen::scaffold::proto_server(&root, &layout, &relative(&root, proto))?
    {
        println!(
            "wrote {}",
            written
                .file
                .strip_prefix(&root)
                .unwrap_or(&written.file)
                .display()
        );
        for file in &written.edited {
            println!("registered {} in {}", written.service, file.display());
        }
    }
    println!("next: `make build`; every rpc answers UNIMPLEMENTED until you fill it in");
    Ok(())
}

fn service_add(name: &str) -> anyhow::Result<()> {
    let added = service_add::run(&service_add::find_root()?, name)?;
    let ports = added.ports;
    println!("added {} under {}/", name, added.dir.display());
    println!(
        "  ports: HTTP {}, gRPC {}, admin {}",
        ports.http, ports.grpc, ports.admin
    );
    if !added.shared.is_empty() {
        println!("  and to {}", added.shared.join(", "));
    }
    println!("next: `make build test`, then `make run SERVICE={name}`");
    Ok(())
}

/// `upgrade` (`write`) or `upgrade-plan`: exits 1 when conflicts are left to resolve.
fn upgrade(args: &[&str], write: bool) -> anyhow::Result<ExitCode> {
    let options = upgrade::Options::parse(args, write)?;
    Ok(match upgrade::run(&options)? {
        upgrade::Outcome::Upgraded { conflicts } if conflicts > 0 => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}
