//! Where a service's layers are in the repository, and the lines that register a
//! new api service in them.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::kinds::Database;
use super::markers::Insert;

/// The folders of one service, relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The service's (and its binary's) name.
    pub name: String,
    pub api: PathBuf,
    pub biz: PathBuf,
    pub data: PathBuf,
    pub service: PathBuf,
    pub server: PathBuf,
    pub cmd: PathBuf,
}

/// What registers one api service.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The module of the service layer: `books`.
    pub module: String,
    /// `BookService`.
    pub struct_name: String,
    /// Its field of `Services`, and its name where the server layer mounts it:
    /// `books`.
    pub field: String,
    /// The proto service it serves, for the field's doc: `books.v1.BookService`.
    pub field_doc: String,
    /// The expression building it in cmd: `service::BookService::new(books)`.
    pub constructor: String,
    /// The tonic server type: `api::books::v1::book_service_server::BookServiceServer`.
    pub grpc_server: String,
    /// The generated HTTP routes function: `api::books::v1::book_service_http_routes`.
    pub http_routes: String,
}

impl Layout {
    /// The service `name` whose files are under `dir` (empty for the first
    /// service, `services/<name>` for one `make service-add` added).
    fn at(dir: &Path, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            api: dir.join("api"),
            biz: dir.join("internal/biz"),
            data: dir.join("internal/data"),
            service: dir.join("internal/service"),
            server: dir.join("internal/server"),
            cmd: dir.join("cmd").join(name),
        }
    }

    /// The service `service` of the repository at `root`, or its first one.
    pub fn find(root: &Path, service: Option<&str>) -> Result<Self> {
        let services = services(root);
        let Some(first) = services.first() else {
            bail!(
                "no service found: {} has no cmd/<name>/src/lib.rs",
                root.display()
            );
        };
        let Some(wanted) = service.filter(|s| !s.is_empty()) else {
            return Ok(first.clone());
        };
        match services.iter().find(|layout| layout.name == wanted) {
            Some(layout) => Ok(layout.clone()),
            None => bail!(
                "SERVICE={wanted} is not a service of this repository; it has: {}",
                services
                    .iter()
                    .map(|layout| layout.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The database the repository was generated with: the one whose migrations
    /// folder the data layer has.
    pub fn database(&self, root: &Path) -> Result<Database> {
        let found: Vec<Database> = Database::ALL
            .iter()
            .filter(|(name, _)| root.join(&self.data).join("migrations").join(name).is_dir())
            .map(|(_, database)| *database)
            .collect();
        match found.as_slice() {
            [database] => Ok(*database),
            _ => bail!(
                "cannot tell the database: {} should hold exactly one of sqlite/, postgres/, mysql/",
                self.data.join("migrations").display()
            ),
        }
    }

    /// The lines that register an api service, each at its marker: the module
    /// and field in the service layer, the constructor in cmd, and on each
    /// transport one line naming it (behind its proto's `buf.validate` rules)
    /// and one in the chain that mounts it.
    pub fn registration(&self, r: &Registration) -> Vec<Insert> {
        let service_lib = self.service.join("src/lib.rs");
        let grpc = self.server.join("src/grpc.rs");
        let http = self.server.join("src/http.rs");
        let field = &r.field;
        vec![
            Insert::new(&service_lib, "mod", &[format!("mod {};", r.module)]),
            Insert::new(
                &service_lib,
                "use",
                &[format!("pub use {}::{};", r.module, r.struct_name)],
            ),
            Insert::new(
                &service_lib,
                "field",
                &[
                    format!("/// `{}`.", r.field_doc),
                    format!("pub {field}: {},", r.struct_name),
                ],
            ),
            Insert::new(
                self.cmd.join("src/lib.rs"),
                "service",
                &[format!("{field}: {},", r.constructor)],
            ),
            Insert::new(
                &grpc,
                "grpc",
                &[format!(
                    "let {field} = {}::new(Validated::new(services.{field}.clone()));",
                    r.grpc_server
                )],
            ),
            Insert::new(
                &grpc,
                "grpc chain",
                &[format!(
                    ".add_service({field}.max_decoding_message_size(max_message))"
                )],
            ),
            Insert::new(
                &http,
                "http",
                &[format!(
                    "let {field} = Validated::new(services.{field}.clone());"
                )],
            ),
            Insert::new(
                &http,
                "http chain",
                &[format!(".merge({}({field}, options))", r.http_routes)],
            ),
        ]
    }
}

/// The services of the repository, the first one first: the one whose binary is
/// `cmd/<name>/` at the top, then each `services/<name>/` (`make service-add`)
/// in name order.
fn services(root: &Path) -> Vec<Layout> {
    let mut found: Vec<Layout> = binaries(&root.join("cmd"))
        .into_iter()
        .map(|name| Layout::at(Path::new(""), &name))
        .collect();
    let mut added: Vec<String> = subfolders(&root.join("services"));
    added.sort();
    for name in added {
        let dir = Path::new("services").join(&name);
        if root
            .join(&dir)
            .join("cmd")
            .join(&name)
            .join("src/lib.rs")
            .is_file()
        {
            found.push(Layout::at(&dir, &name));
        }
    }
    found
}

/// The folders under `cmd` holding a binary's composition root, in name order.
fn binaries(cmd: &Path) -> Vec<String> {
    let mut names: Vec<String> = subfolders(cmd)
        .into_iter()
        .filter(|name| cmd.join(name).join("src/lib.rs").is_file())
        .collect();
    names.sort();
    names
}

fn subfolders(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .collect()
}
