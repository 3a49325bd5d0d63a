//! `cargo strata <command>`: the repository's own tooling, in Rust, so it needs
//! nothing but cargo. The Makefile's proto targets call it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use strata_codegen::scaffold::{Layout, Resource};

mod upgrade;

const USAGE: &str = "usage:
  cargo strata proto-add <api/<package path>/<name>.proto>   write a new CRUD-shaped proto
  cargo strata proto-server <api/...proto> [--service <name>]
                                                             write a service skeleton for it and register it
  cargo strata scaffold --resource <singular> --fields \"<name:type> ...\" [--plural <plural>] [--service <name>]
                                                             write a CRUD resource through every layer and register it
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
        ["scaffold", rest @ ..] => scaffold(rest).map(|()| ExitCode::SUCCESS),
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

/// `--key value` pairs of `args`, each key one of `known`.
fn options<'a>(args: &[&'a str], known: &[&str]) -> anyhow::Result<Vec<(String, &'a str)>> {
    let mut pairs = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let key = arg.trim_start_matches("--");
        anyhow::ensure!(
            arg.starts_with("--") && known.contains(&key),
            "unknown argument {arg:?}; expected {}",
            known
                .iter()
                .map(|k| format!("--{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let value = rest
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        pairs.push((key.to_owned(), *value));
    }
    Ok(pairs)
}

fn option<'a>(pairs: &[(String, &'a str)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// The repository root: the nearest folder at or above the current one holding
/// `strata/codegen/`. Read at run time: a target directory shared by several
/// repositories keeps one `strata` binary, built in any of them.
fn root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    cwd.ancestors()
        .find(|dir| dir.join("strata/codegen/Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "{} is not inside a strata repository (no strata/codegen/ here or above)",
                cwd.display()
            )
        })
}

/// `proto` as given on the command line, relative to the repository root.
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
    let pairs = options(rest, &["service"])?;
    let layout = Layout::find(&root, option(&pairs, "service"))?;
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

/// `scaffold --resource book --fields "title:string pages:int32"`: prints the
/// names it derived, then writes and registers every file.
fn scaffold(args: &[&str]) -> anyhow::Result<()> {
    let pairs = options(args, &["resource", "fields", "plural", "service"])?;
    let resource = option(&pairs, "resource")
        .filter(|r| !r.is_empty())
        .context(
            "RESOURCE is required: make scaffold RESOURCE=book FIELDS=\"title:string pages:int32\"",
        )?;
    let fields = option(&pairs, "fields").unwrap_or_default();
    let resource = Resource::parse(resource, option(&pairs, "plural"), fields)?;
    let root = root()?;
    let layout = Layout::find(&root, option(&pairs, "service"))?;
    let plan = strata_codegen::scaffold::plan(&root, &layout, resource)?;
    print_names(&layout, &plan);
    strata_codegen::scaffold::write(&root, &plan)?;
    for (file, _) in &plan.created {
        println!("  wrote      {}", file.display());
    }
    for (file, _) in &plan.edited {
        println!("  registered {}", file.display());
    }
    println!("next: `make lint test`, then `make run` and try it:");
    println!(
        "  curl -XPOST localhost:<http port>{} -H 'content-type: application/json' -d '<a {} as JSON>'",
        plan.resource.collection(),
        plan.resource.singular
    );
    Ok(())
}

fn print_names(layout: &Layout, plan: &strata_codegen::scaffold::Plan) {
    let r = &plan.resource;
    let collection = r.collection();
    let fields: Vec<String> = r.fields.iter().map(ToString::to_string).collect();
    println!("scaffolding {} in service {}:", r.singular, layout.name);
    println!("  singular   {} ({})", r.singular, r.type_name);
    println!(
        "  plural     {} ({}); PLURAL=<word> changes it",
        r.plural, r.plural_type
    );
    println!("  fields     {}", fields.join(" "));
    println!(
        "  proto      {} (package {}, service {}Service)",
        r.proto(),
        r.package(),
        r.type_name
    );
    println!("  table      {} ({:?})", r.plural, plan.database);
    let by_id = [collection.as_str(), "/", "{", "id", "}"].concat();
    let by_field_id = [collection.as_str(), "/", "{", &r.singular, ".id", "}"].concat();
    println!(
        "  routes     POST {collection}, GET {by_id}, GET {collection}, PATCH {by_field_id}, DELETE {by_id}"
    );
    println!(
        "  gRPC       {}.{}Service: Create{t}, Get{t}, List{}, Update{t}, Delete{t}",
        r.package(),
        r.type_name,
        r.plural_type,
        t = r.type_name
    );
}

/// `upgrade` (`write`) or `upgrade-plan`: exits 1 when conflicts are left to resolve.
fn upgrade(args: &[&str], write: bool) -> anyhow::Result<ExitCode> {
    let options = upgrade::Options::parse(args, write)?;
    Ok(match upgrade::run(&options)? {
        upgrade::Outcome::Upgraded { conflicts } if conflicts > 0 => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}
