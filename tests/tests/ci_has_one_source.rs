//! Fast tier: the CI files of a generated repository are strata's ci/ files, byte for
//! byte (ci/sync-template.sh writes the template's copies), and the generated
//! workflow calls the reusable one with the service's database.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use strata_tests::shipping::{SHIPPED, files_under, read};
use strata_tests::{generate, template_root};

fn assert_same(source: &Path, generated: &Path) {
    let expected = std::fs::read(source).expect("ci/ file");
    let actual = std::fs::read(generated)
        .unwrap_or_else(|err| panic!("{}: {err} (run ci/sync-template.sh)", generated.display()));
    assert!(
        expected == actual,
        "{} differs from {}: run ci/sync-template.sh",
        generated.display(),
        source.display()
    );
    let executable = |path: &Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o111
    };
    assert_eq!(
        executable(source),
        executable(generated),
        "{}: executable bits differ from {}: run ci/sync-template.sh",
        generated.display(),
        source.display()
    );
}

#[test]
fn generated_ci_files_are_the_reusable_ones() {
    let ci = template_root().join("ci");
    for variant in SHIPPED {
        let repo = generate(variant);
        assert_same(
            &ci.join("github/rust-service.yml"),
            &repo.root.join(".github/workflows/rust-service.yml"),
        );
        assert_same(
            &ci.join("gitlab/rust-service.yml"),
            &repo.root.join("ci/gitlab/rust-service.yml"),
        );
        let scripts = files_under(&ci.join("scripts"));
        let generated = files_under(&repo.root.join("ci/scripts"));
        assert_eq!(
            scripts.len(),
            generated.len(),
            "{}: ci/scripts/",
            variant.name
        );
        for script in scripts {
            let name = script.file_name().expect("file name");
            assert_same(&script, &repo.root.join("ci/scripts").join(name));
        }
    }
}

#[test]
fn the_generated_workflow_calls_the_reusable_one() {
    for variant in SHIPPED {
        let repo = generate(variant);
        let workflow = read(&repo.root, ".github/workflows/ci.yml");
        assert!(
            workflow.contains("uses: ./.github/workflows/rust-service.yml"),
            "{workflow}"
        );
        assert!(
            workflow.contains(&format!("database: {}", variant.database())),
            "{}: {workflow}",
            variant.name
        );
        assert!(workflow.contains("docker: true"), "{workflow}");
    }
}
