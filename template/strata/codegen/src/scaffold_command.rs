//! `cargo strata scaffold --resource book --fields "title:string pages:int32"`:
//! shows the names it derived, then writes and registers every file; and the
//! `--key value` options it and `proto-server` take.

use anyhow::Context;
use strata_codegen::scaffold::{Layout, Plan, Resource};

/// Plans the resource in full (a refusal writes nothing), shows its names, writes.
pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let pairs = options(args, &["resource", "fields", "plural", "service"])?;
    let resource = option(&pairs, "resource")
        .filter(|r| !r.is_empty())
        .context(
            "RESOURCE is required: make scaffold RESOURCE=book FIELDS=\"title:string pages:int32\"",
        )?;
    let fields = option(&pairs, "fields").unwrap_or_default();
    let resource = Resource::parse(resource, option(&pairs, "plural"), fields)?;
    let root = crate::root()?;
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
    println!(
        "next: `make lint test`, then `make run SERVICE={}` and try it:",
        layout.name
    );
    println!(
        "  curl -XPOST localhost:<http port>{} -H 'content-type: application/json' -d '<a {} as JSON>'",
        plan.resource.collection(),
        plan.resource.singular
    );
    Ok(())
}

fn print_names(layout: &Layout, plan: &Plan) {
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
        layout.api.join(r.proto()).display(),
        r.package(),
        r.type_name
    );
    println!("  table      {} ({:?})", r.plural, plan.database);
    // Braces by concatenation: this crate's sources hold no doubled braces.
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

/// `--key value` pairs of `args`, each key one of `known`.
pub fn options<'a>(args: &[&'a str], known: &[&str]) -> anyhow::Result<Vec<(String, &'a str)>> {
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

/// The value of `key` in `pairs`.
pub fn option<'a>(pairs: &[(String, &'a str)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}
