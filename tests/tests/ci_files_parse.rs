//! Fast tier: the reusable CI pieces and strata's own workflow are valid YAML.

use std::path::Path;

use strata_tests::template_root;

fn assert_yaml(path: &Path) {
    let text = std::fs::read_to_string(path).expect("readable");
    if let Err(err) = yaml_rust2::YamlLoader::load_from_str(&text) {
        panic!("{} is not YAML: {err}", path.display());
    }
}

#[test]
fn workflows_parse() {
    let root = template_root();
    for path in ["ci/github/rust-service.yml", ".github/workflows/ci.yml"] {
        assert_yaml(&root.join(path));
    }
}
