//! The workspace's Cargo.toml gains the new service's crates in `members` and
//! `default-members` (cargo refuses a member glob that matches nothing, so the
//! template cannot list `services/*` ahead of time).

use anyhow::{Context, Result, ensure};

/// `manifest` with `entries` appended to its `[workspace]` `members` and
/// `default-members` arrays, however they are laid out.
pub fn add_members(manifest: &str, entries: &[String]) -> Result<String> {
    let mut text = manifest.to_owned();
    for key in ["members", "default-members"] {
        text = append(&text, key, entries)?;
    }
    let parsed: toml::Table = toml::from_str(&text).context("Cargo.toml does not parse")?;
    for key in ["members", "default-members"] {
        let listed = parsed
            .get("workspace")
            .and_then(|workspace| workspace.get(key))
            .and_then(toml::Value::as_array)
            .with_context(|| format!("Cargo.toml's [workspace] has no `{key}` list"))?;
        for entry in entries {
            ensure!(
                listed.iter().any(|item| item.as_str() == Some(entry)),
                "could not add {entry} to `{key}` in Cargo.toml; add it by hand"
            );
        }
    }
    Ok(text)
}

/// Appends `entries` inside the array of the first line starting `key = [`.
fn append(text: &str, key: &str, entries: &[String]) -> Result<String> {
    let start = text
        .match_indices(&format!("{key} = ["))
        .map(|(at, _)| at)
        .find(|at| *at == 0 || text[..*at].ends_with('\n'))
        .with_context(|| {
            format!(
                "Cargo.toml has no `{key} = [...]` line under [workspace] to add the service to"
            )
        })?;
    let open = start + key.len() + 4;
    let close = open
        + text[open..]
            .find(']')
            .with_context(|| format!("Cargo.toml's `{key}` list is not closed"))?;
    let inside = text[open..close].trim_end();
    let inside = inside.strip_suffix(',').unwrap_or(inside);
    let quoted: Vec<String> = entries.iter().map(|entry| format!("\"{entry}\"")).collect();
    let joined = if inside.trim().is_empty() {
        quoted.join(", ")
    } else {
        format!("{inside}, {}", quoted.join(", "))
    };
    let tail = &text[open..close];
    let newline = if tail.trim_end() != tail && tail.contains('\n') {
        "\n"
    } else {
        ""
    };
    Ok(format!(
        "{}{joined}{newline}{}",
        &text[..open],
        &text[close..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<String> {
        vec!["services/b/api".into(), "services/b/internal/*".into()]
    }

    #[test]
    fn appends_to_one_line_lists() {
        let manifest =
            "[workspace]\nmembers = [\"api\", \"strata/*\"]\ndefault-members = [\"api\"]\n";
        assert_eq!(
            add_members(manifest, &entries()).expect("added"),
            "[workspace]\nmembers = [\"api\", \"strata/*\", \"services/b/api\", \"services/b/internal/*\"]\n\
             default-members = [\"api\", \"services/b/api\", \"services/b/internal/*\"]\n"
        );
    }

    #[test]
    fn appends_to_multi_line_lists() {
        let manifest = "[workspace]\nmembers = [\n  \"api\",\n]\ndefault-members = [\"api\"]\n";
        let out = add_members(manifest, &entries()).expect("added");
        assert!(
            out.starts_with("[workspace]\nmembers = [\n  \"api\", \"services/b/api\", \"services/b/internal/*\"\n]\n"),
            "{out}"
        );
    }

    #[test]
    fn names_a_missing_list() {
        let err = add_members("[workspace]\nmembers = [\"api\"]\n", &entries()).expect_err("none");
        assert!(err.to_string().contains("default-members"), "{err}");
    }
}
