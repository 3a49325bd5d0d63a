//! What the repository's shared files gain with a new service: its entry in the
//! compose stack, its scrape job (the Grafana dashboard's `job` menu lists every
//! job Prometheus scrapes) and a README section. Each is cut from the skeleton's
//! own rendering of that file, so it is what the first service has.

use anyhow::{Context, Result};

/// `text` with `block` inserted after its first line equal to `after`, or
/// `None` when there is no such line.
pub fn insert_after(text: &str, after: &str, block: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + block.len() + 1);
    let mut inserted = false;
    for line in text.split_inclusive('\n') {
        out.push_str(line);
        if !inserted && line.trim_end() == after {
            if !line.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(block);
            inserted = true;
        }
    }
    inserted.then_some(out)
}

/// The `services:` entry of `name` in the skeleton's compose file, built from
/// the new service's Dockerfile, followed by a blank line.
pub fn compose_entry(rendered: &str, name: &str) -> Result<String> {
    let header = format!("  {name}:");
    let mut lines = rendered.lines().skip_while(|line| *line != header);
    let first = lines
        .next()
        .context("the service skeleton's docker-compose.yaml has no entry for the service")?;
    let mut block = format!("{first}\n");
    for line in lines.take_while(|line| !line.trim().is_empty()) {
        let line = line.replace(
            "dockerfile: deploy/Dockerfile",
            &format!("dockerfile: services/{name}/deploy/Dockerfile"),
        );
        block.push_str(&line);
        block.push('\n');
    }
    block.push('\n');
    Ok(block)
}

/// The scrape job of `name` in the skeleton's prometheus.yml.
pub fn scrape_job(rendered: &str, name: &str) -> Result<String> {
    let header = format!("  - job_name: {name}");
    let start = rendered
        .find(&header)
        .context("the service skeleton's prometheus.yml has no job for the service")?;
    let job = rendered[start..].trim_end();
    Ok(format!("{job}\n"))
}

/// A README section: where the service is, its crates, ports and commands.
/// The docker and Kubernetes lines only when the repository has those files.
pub fn readme_section(
    name: &str,
    ports: super::ports::Ports,
    docker: bool,
    kubernetes: bool,
) -> String {
    let crates = super::relocate::LAYERS
        .iter()
        .map(|layer| format!("`{name}-{layer}`"))
        .collect::<Vec<_>>()
        .join(", ");
    [
        ("@name@", name),
        ("@crates@", crates.as_str()),
        ("@http@", ports.http.to_string().as_str()),
        ("@grpc@", ports.grpc.to_string().as_str()),
        ("@admin@", ports.admin.to_string().as_str()),
    ]
    .iter()
    .fold(
        include_str!("../templates/service-readme.md").to_owned(),
        |text, (key, value)| text.replace(key, value),
    )
    .split_inclusive('\n')
    .filter(|line| docker || !line.starts_with("make docker"))
    .filter(|line| kubernetes || !line.starts_with("make k8s-render"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPOSE: &str = "name: billing\n\nservices:\n  billing:\n    build:\n      context: ..\n      dockerfile: deploy/Dockerfile\n    image: billing:dev\n\n  jaeger:\n    image: j\n";

    #[test]
    fn cuts_the_compose_entry_with_its_own_dockerfile() {
        let entry = compose_entry(COMPOSE, "billing").expect("found");
        assert_eq!(
            entry,
            "  billing:\n    build:\n      context: ..\n      dockerfile: services/billing/deploy/Dockerfile\n    image: billing:dev\n\n"
        );
        let team = "name: shop\n\nservices:\n  shop:\n    image: shop:dev\n";
        assert_eq!(
            insert_after(team, "services:", &entry).expect("inserted"),
            format!("name: shop\n\nservices:\n{entry}  shop:\n    image: shop:dev\n")
        );
        assert!(insert_after("name: x\n", "services:", &entry).is_none());
    }

    #[test]
    fn cuts_the_scrape_job() {
        let rendered = "scrape_configs:\n  - job_name: billing\n    static_configs:\n      - targets: [\"billing:8082\"]\n";
        assert_eq!(
            scrape_job(rendered, "billing").expect("found"),
            "  - job_name: billing\n    static_configs:\n      - targets: [\"billing:8082\"]\n"
        );
    }
}
