//! Fast tier: for every database, each kustomize overlay renders offline and every
//! manifest passes the Kubernetes schemas strictly; the Deployment keeps the
//! promises of docs/deploy.md (probes, limits, non-root read-only container,
//! shutdown timing) and both Services speak http and gRPC.

use std::path::Path;

use strata_tests::shipping::{
    SHIPPED, admin_port_set_in, configured_port, seconds, yaml_documents,
};
use strata_tests::validators::{kubectl, kubernetes_validate, kustomize, validate_manifests};
use strata_tests::{Variant, generate};
use yaml_rust2::Yaml;

const OVERLAYS: [&str; 2] = ["dev", "prod"];

fn render(root: &Path, overlay: &str) -> Option<String> {
    let kubectl = kubectl()?;
    let dir = root.join("deploy/kubernetes/overlays").join(overlay);
    Some(kustomize(&kubectl, &dir).unwrap_or_else(|err| panic!("kustomize {overlay}: {err}")))
}

fn find<'a>(documents: &'a [Yaml], kind: &str, name: &str) -> &'a Yaml {
    documents
        .iter()
        .find(|doc| {
            doc["kind"].as_str() == Some(kind) && doc["metadata"]["name"].as_str() == Some(name)
        })
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn kind<'a>(documents: &'a [Yaml], kind: &str) -> &'a Yaml {
    documents
        .iter()
        .find(|doc| doc["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn every_overlay_passes_the_kubernetes_schemas() {
    for variant in SHIPPED {
        let repo = generate(variant);
        for overlay in OVERLAYS {
            let Some(manifests) = render(&repo.root, overlay) else {
                return;
            };
            let Some(validator) = kubernetes_validate() else {
                return;
            };
            if let Err(err) = validate_manifests(&validator, &manifests) {
                panic!("{} {overlay}: {err}\n{manifests}", variant.name);
            }
            let documents = yaml_documents(&manifests);
            let mut kinds: Vec<&str> = documents
                .iter()
                .filter_map(|doc| doc["kind"].as_str())
                .collect();
            kinds.sort_unstable();
            let mut expected = vec![
                "ConfigMap",
                "Deployment",
                "HorizontalPodAutoscaler",
                "PodDisruptionBudget",
                "Service",
                "Service",
            ];
            // The dev overlay carries a development database URL; prod expects the
            // Secret to exist already.
            if variant.database() != "sqlite" && overlay == "dev" {
                expected.push("Secret");
                expected.sort_unstable();
            }
            assert_eq!(kinds, expected, "{} {overlay}", variant.name);
        }
    }
}

#[test]
fn the_validator_rejects_an_unknown_field() {
    let Some(validator) = kubernetes_validate() else {
        return;
    };
    let broken = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n";
    assert!(validate_manifests(&validator, broken).is_err());
}

fn container(deployment: &Yaml) -> &Yaml {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

fn assert_deployment(variant: Variant, root: &Path, documents: &[Yaml]) {
    let name = variant.name;
    let prefix = variant.env_prefix();
    let deployment = find(documents, "Deployment", name);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = container(deployment);

    for (probe, path) in [
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ] {
        assert_eq!(
            container[probe]["httpGet"]["path"].as_str(),
            Some(path),
            "{name} {probe}"
        );
        assert_eq!(
            container[probe]["httpGet"]["port"].as_str(),
            Some("admin"),
            "{name} {probe}: probes use the admin port, which no Service publishes"
        );
    }
    let ports: Vec<(Option<&str>, Option<i64>)> = container["ports"]
        .as_vec()
        .expect("container ports")
        .iter()
        .map(|port| (port["name"].as_str(), port["containerPort"].as_i64()))
        .collect();
    let http = i64::from(configured_port(root, "http"));
    let grpc = i64::from(configured_port(root, "grpc"));
    let admin = admin_port_set_in(root, "deploy/kubernetes/base/config.env", &prefix);
    assert_eq!(
        ports,
        [
            (Some("http"), Some(http)),
            (Some("grpc"), Some(grpc)),
            (Some("admin"), Some(i64::from(admin)))
        ],
        "{name}"
    );
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(
        annotations["prometheus.io/port"].as_str(),
        Some(admin.to_string().as_str()),
        "{name}: Prometheus scrapes the admin port"
    );

    for resource in ["cpu", "memory"] {
        assert!(
            !container["resources"]["requests"][resource].is_badvalue(),
            "{name}: {resource} request"
        );
        assert!(
            !container["resources"]["limits"][resource].is_badvalue(),
            "{name}: {resource} limit"
        );
    }
    assert_eq!(
        pod["securityContext"]["runAsNonRoot"].as_bool(),
        Some(true),
        "{name}"
    );
    let security = &container["securityContext"];
    assert_eq!(
        security["readOnlyRootFilesystem"].as_bool(),
        Some(true),
        "{name}"
    );
    assert_eq!(
        security["allowPrivilegeEscalation"].as_bool(),
        Some(false),
        "{name}"
    );
    assert_eq!(
        security["capabilities"]["drop"][0].as_str(),
        Some("ALL"),
        "{name}"
    );

    // Config from the ConfigMap, secrets from the Secret, both as environment.
    let config_map = kind(documents, "ConfigMap");
    let env_from = container["envFrom"].as_vec().expect("envFrom");
    assert_eq!(
        env_from[0]["configMapRef"]["name"].as_str(),
        config_map["metadata"]["name"].as_str(),
        "{name}"
    );
    assert!(
        env_from[1]["secretRef"]["name"].as_str().is_some(),
        "{name}"
    );
    assert_eq!(
        env_from[1]["secretRef"]["optional"].as_bool(),
        Some(variant.database() == "sqlite"),
        "{name}: only SQLite may start without the Secret"
    );
    let config = &config_map["data"];
    assert_eq!(
        config[format!("{prefix}__LOG__FILE__ENABLED").as_str()].as_str(),
        Some("false"),
        "{name}"
    );

    // SIGTERM comes after preStop; then in-flight requests get shutdown_grace.
    let grace = config[format!("{prefix}__SERVER__SHUTDOWN_GRACE").as_str()]
        .as_str()
        .map(seconds)
        .expect("shutdown grace in the ConfigMap");
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_i64()
        .expect("preStop sleep");
    let termination = pod["terminationGracePeriodSeconds"]
        .as_i64()
        .expect("terminationGracePeriodSeconds");
    assert!(
        termination > pre_stop + i64::try_from(grace).expect("small"),
        "{name}: terminationGracePeriodSeconds {termination} <= preStop {pre_stop} + shutdown_grace {grace}"
    );

    // SQLite writes its file under /app/data: a writable volume on a read-only root.
    let mounts: Vec<&str> = container["volumeMounts"]
        .as_vec()
        .map(|mounts| {
            mounts
                .iter()
                .filter_map(|mount| mount["mountPath"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        mounts.contains(&"/app/data"),
        variant.database() == "sqlite",
        "{name}: {mounts:?}"
    );
}

fn assert_services(variant: Variant, documents: &[Yaml]) {
    let name = variant.name;
    let service = find(documents, "Service", name);
    let protocols: Vec<(Option<&str>, Option<&str>)> = service["spec"]["ports"]
        .as_vec()
        .expect("ports")
        .iter()
        .map(|port| (port["name"].as_str(), port["appProtocol"].as_str()))
        .collect();
    assert_eq!(
        protocols,
        [
            (Some("http"), Some("http")),
            (Some("grpc"), Some("kubernetes.io/h2c"))
        ],
        "{name}"
    );
    // Client-side gRPC balancing resolves every pod through the headless Service.
    let headless = find(documents, "Service", &format!("{name}-headless"));
    assert_eq!(
        headless["spec"]["clusterIP"].as_str(),
        Some("None"),
        "{name}"
    );
    assert_eq!(
        headless["spec"]["ports"][0]["name"].as_str(),
        Some("grpc"),
        "{name}"
    );

    let hpa = kind(documents, "HorizontalPodAutoscaler");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"].as_str(), Some(name));
    let pdb = kind(documents, "PodDisruptionBudget");
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"], service["spec"]["selector"],
        "{name}: the PDB guards the pods the Service routes to"
    );
}

#[test]
fn the_deployment_and_services_keep_their_promises() {
    for variant in SHIPPED {
        let repo = generate(variant);
        for overlay in OVERLAYS {
            let Some(manifests) = render(&repo.root, overlay) else {
                return;
            };
            let documents = yaml_documents(&manifests);
            assert_deployment(variant, &repo.root, &documents);
            assert_services(variant, &documents);
        }
    }
}

#[test]
fn the_dev_overlay_points_a_server_database_at_its_secret() {
    for variant in SHIPPED
        .into_iter()
        .filter(|variant| variant.database() != "sqlite")
    {
        let repo = generate(variant);
        let Some(manifests) = render(&repo.root, "dev") else {
            return;
        };
        let documents = yaml_documents(&manifests);
        let secret = kind(&documents, "Secret");
        let deployment = find(&documents, "Deployment", variant.name);
        assert_eq!(
            container(deployment)["envFrom"][1]["secretRef"]["name"].as_str(),
            secret["metadata"]["name"].as_str(),
            "{}: kustomize renames the Secret and its reference together",
            variant.name
        );
        // kubectl kustomize keeps generated literals as stringData-free base64 data.
        let key = format!("{}__DATA__DATABASE__URL", variant.env_prefix());
        assert!(
            !secret["data"][key.as_str()].is_badvalue(),
            "{}: {key} in the dev Secret",
            variant.name
        );
    }
}
