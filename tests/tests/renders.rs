//! Fast tier: every variant renders into the promised tree, with no Liquid left over
//! and every Cargo.toml and YAML file parseable.

use std::path::{Path, PathBuf};

use strata_tests::{Variant, generate, template_root};

const VARIANTS: [Variant; 3] = [Variant::SQLITE, Variant::POSTGRES, Variant::MYSQL];

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn renders_the_layout() {
    for variant in VARIANTS {
        let repo = generate(variant);
        for expected in [
            "Cargo.toml",
            "Makefile",
            "README.md",
            ".gitignore",
            "configs/config.yaml",
            "api/build.rs",
            "api/helloworld/v1/greeter.proto",
            "api/helloworld/v1/error_reason.proto",
            "third_party/google/api/annotations.proto",
            "third_party/google/api/http.proto",
            "third_party/errors/errors.proto",
            &format!("cmd/{}/src/main.rs", variant.name),
            "internal/biz/src/greeter.rs",
            "internal/conf/src/lib.rs",
            "internal/data/src/greeter.rs",
            "strata/runtime/src/app.rs",
            "strata/config/src/load.rs",
            "strata/codegen/src/lib.rs",
            "internal/server/src/http.rs",
            "internal/service/src/greeter.rs",
        ] {
            assert!(
                repo.root.join(expected).is_file(),
                "{}: {expected} is missing",
                variant.name
            );
        }
    }
}

#[test]
fn renders_only_the_chosen_database() {
    let sqlite = generate(Variant::SQLITE);
    assert!(sqlite.root.join("internal/data/src/sqlite.rs").is_file());
    assert!(sqlite.root.join("internal/data/migrations/sqlite").is_dir());
    assert!(!sqlite.root.join("internal/data/src/postgres.rs").exists());
    assert!(
        !sqlite
            .root
            .join("internal/data/migrations/postgres")
            .exists()
    );

    let postgres = generate(Variant::POSTGRES);
    assert!(
        postgres
            .root
            .join("internal/data/src/postgres.rs")
            .is_file()
    );
    assert!(!postgres.root.join("internal/data/src/sqlite.rs").exists());
    assert!(
        !postgres
            .root
            .join("internal/data/migrations/sqlite")
            .exists()
    );
    let config =
        std::fs::read_to_string(postgres.root.join("configs/config.yaml")).expect("config");
    assert!(config.contains("url: postgres://"), "{config}");
}

#[test]
fn leaves_no_liquid_behind() {
    for variant in VARIANTS {
        let repo = generate(variant);
        for file in files(&repo.root) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            // strata/ is copied verbatim (its format strings hold `{{`): it must be
            // byte for byte the template's, the release `make lint` checks against.
            if let Ok(relative) = file.strip_prefix(repo.root.join("strata")) {
                let source = template_root().join("template/strata").join(relative);
                assert_eq!(
                    std::fs::read_to_string(&source).ok().as_deref(),
                    Some(text.as_str()),
                    "{}: {} differs from the template's copy",
                    variant.name,
                    file.display()
                );
                continue;
            }
            // GitHub Actions' own `${{ }}` is the one legitimate `{{`.
            let stray = text
                .match_indices("{{")
                .any(|(at, _)| !text[..at].ends_with('$'));
            assert!(
                !stray,
                "{}: `{{{{` left in {}",
                variant.name,
                file.display()
            );
            assert!(
                !text.contains("{%"),
                "{}: `{{%` left in {}",
                variant.name,
                file.display()
            );
        }
    }
}

#[test]
fn names_the_service_everywhere() {
    let repo = generate(Variant::SQLITE);
    let manifest =
        std::fs::read_to_string(repo.root.join("cmd/hello-sqlite/Cargo.toml")).expect("manifest");
    assert!(manifest.contains("name = \"hello-sqlite\""), "{manifest}");
    let config = std::fs::read_to_string(repo.root.join("configs/config.yaml")).expect("config");
    assert!(
        config.contains("HELLO_SQLITE__SERVER__HTTP__ADDR"),
        "{config}"
    );
    assert!(config.contains("addr: 0.0.0.0:8000"), "{config}");
}

#[test]
fn every_manifest_and_yaml_file_parses() {
    for variant in VARIANTS {
        let repo = generate(variant);
        let mut manifests = 0;
        for file in files(&repo.root) {
            let name = file
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or_default();
            let text = || std::fs::read_to_string(&file).expect("readable");
            if name == "Cargo.toml" {
                manifests += 1;
                if let Err(err) = text().parse::<toml::Table>() {
                    panic!("{}: {} is not TOML: {err}", variant.name, file.display());
                }
            } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
                && let Err(err) = yaml_rust2::YamlLoader::load_from_str(&text())
            {
                panic!("{}: {} is not YAML: {err}", variant.name, file.display());
            }
        }
        // The workspace plus api, cmd, five internal crates and three of strata.
        assert_eq!(manifests, 11, "{}: Cargo.toml count", variant.name);
    }
}

#[test]
fn honours_the_port_placeholders() {
    let repo = strata_tests::generate(Variant {
        name: "hello-ports",
        defines: &[("http_port", "18080"), ("grpc_port", "19090")],
    });
    let config = std::fs::read_to_string(repo.root.join("configs/config.yaml")).expect("config");
    assert!(config.contains("addr: 0.0.0.0:18080"), "{config}");
    assert!(config.contains("addr: 0.0.0.0:19090"), "{config}");
}
