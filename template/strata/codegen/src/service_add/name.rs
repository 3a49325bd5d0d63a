//! The rules a service name obeys, as `hooks/validate-name.rhai` states them at
//! generation, with the same messages; here "locked" means every package of this
//! repository's Cargo.lock (the services and crates it has now), and a service
//! of that name must not exist already.

/// Rust keywords: the name is also a crate name (`-` read as `_`).
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];
/// Names cargo itself refuses.
const RESERVED: &[&str] = &["test", "std", "core", "alloc", "proc_macro", "build"];
/// The names of the workspace's own crates.
const LAYERS: &[&str] = &[
    "api",
    "biz",
    "conf",
    "data",
    "platform",
    "server",
    "service",
    "xtask",
    "strata",
    "strata_codegen",
];
const ALLOWED: &str = "abcdefghijklmnopqrstuvwxyz0123456789-_";

/// Why `name` cannot be a new service's name, or `None` when it can. `locked`
/// holds every package name of the repository's Cargo.lock; `suffixes` the
/// layer crates the new service gets (`<name>-<suffix>`).
pub fn problem_with(name: &str, locked: &[String], suffixes: &[&str]) -> Option<String> {
    let ident = name.replace('-', "_");
    let Some(first) = name.chars().next() else {
        return Some("the name is empty".into());
    };
    if name != name.to_lowercase() {
        return Some(format!(
            "it has uppercase letters; use `{}`",
            suggestion_for(name, locked, suffixes)
        ));
    }
    if first.is_ascii_digit() {
        return Some(format!(
            "it starts with a digit; start with a lowercase letter (e.g. `{}`)",
            suggestion_for(name, locked, suffixes)
        ));
    }
    if !first.is_ascii_lowercase() {
        return Some("it must start with a lowercase letter (a-z)".into());
    }
    if name.len() > 64 {
        return Some("it is longer than 64 characters".into());
    }
    if let Some(c) = name.chars().find(|c| !ALLOWED.contains(*c)) {
        return Some(format!(
            "it contains `{c}`; use only lowercase letters, digits, `-` and `_` (e.g. `hello-svc`)"
        ));
    }
    if name.ends_with(['-', '_']) {
        return Some("it ends with `-` or `_`".into());
    }
    if KEYWORDS.contains(&ident.as_str()) {
        return Some(format!("`{ident}` is a Rust keyword"));
    }
    if RESERVED.contains(&ident.as_str()) {
        return Some(format!("`{ident}` is reserved by Rust/cargo"));
    }
    if LAYERS.contains(&ident.as_str()) {
        return Some(format!(
            "`{ident}` is the name of one of the generated workspace's crates"
        ));
    }
    let is_locked = |candidate: &str| {
        locked
            .iter()
            .any(|package| package.replace('-', "_") == candidate.replace('-', "_"))
    };
    if is_locked(name) {
        return Some(format!(
            "`{name}` is the name of a crate the service depends on"
        ));
    }
    if let Some(crate_name) = suffixes
        .iter()
        .map(|suffix| format!("{name}-{suffix}"))
        .find(|crate_name| is_locked(crate_name))
    {
        return Some(format!(
            "`{crate_name}`, the name one of its crates would get, is the name of a crate the service depends on"
        ));
    }
    None
}

/// A valid name close to `name`, offered as what to use instead.
pub fn suggestion_for(name: &str, locked: &[String], suffixes: &[&str]) -> String {
    let fixed: String = name
        .to_lowercase()
        .chars()
        .map(|c| if ALLOWED.contains(c) { c } else { '-' })
        .collect();
    let mut fixed = fixed.trim_start_matches(['-', '_']).to_owned();
    fixed.truncate(60);
    let mut fixed = fixed.trim_end_matches(['-', '_']).to_owned();
    if fixed.starts_with(|c: char| c.is_ascii_digit()) {
        fixed = format!("svc-{fixed}");
    }
    let fine = |candidate: &str| problem_with(candidate, locked, suffixes).is_none();
    if !fixed.is_empty() && !fine(&fixed) {
        fixed.push_str("-svc"); // a keyword, a reserved name or a crate's name
    }
    if fixed.is_empty() || !fine(&fixed) {
        fixed = "billing".into();
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUFFIXES: &[&str] = &["api", "biz"];

    fn problem(name: &str) -> String {
        let locked = [
            "hello-svc".to_owned(),
            "tokio".to_owned(),
            "tower-api".to_owned(),
        ];
        problem_with(name, &locked, SUFFIXES).unwrap_or_default()
    }

    #[test]
    fn refuses_as_generation_does() {
        assert_eq!(problem("fn"), "`fn` is a Rust keyword");
        assert_eq!(problem("test"), "`test` is reserved by Rust/cargo");
        assert_eq!(
            problem("9lives"),
            "it starts with a digit; start with a lowercase letter (e.g. `svc-9lives`)"
        );
        assert_eq!(
            problem("Billing"),
            "it has uppercase letters; use `billing`"
        );
        assert_eq!(
            problem("biz"),
            "`biz` is the name of one of the generated workspace's crates"
        );
        assert_eq!(
            problem("tokio"),
            "`tokio` is the name of a crate the service depends on"
        );
        assert_eq!(
            problem("bill.ing"),
            "it contains `.`; use only lowercase letters, digits, `-` and `_` (e.g. `hello-svc`)"
        );
        assert_eq!(problem("billing-"), "it ends with `-` or `_`");
    }

    #[test]
    fn refuses_an_existing_service_and_the_crates_it_would_make() {
        assert_eq!(
            problem("hello_svc"),
            "`hello_svc` is the name of a crate the service depends on"
        );
        assert_eq!(
            problem("tower"),
            "`tower-api`, the name one of its crates would get, is the name of a crate the service depends on"
        );
    }

    #[test]
    fn accepts_a_plain_name() {
        assert_eq!(problem("billing"), "");
        assert_eq!(problem("billing-v2"), "");
    }

    #[test]
    fn suggests_a_valid_name() {
        let locked = ["billing".to_owned()];
        assert_eq!(suggestion_for("Fn", &locked, SUFFIXES), "fn-svc");
        assert_eq!(suggestion_for("7up", &locked, SUFFIXES), "svc-7up");
        assert_eq!(suggestion_for("billing", &locked, SUFFIXES), "billing-svc");
    }
}
