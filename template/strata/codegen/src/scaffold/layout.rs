//! Where a service's layers are in the repository, and the lines that register a
//! new api service in them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

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
    /// Its field of `Services`: `books`.
    pub field: String,
    /// The proto service it serves, for the field's doc: `books.v1.BookService`.
    pub field_doc: String,
    /// The expression building it in cmd: `service::BookService::new(books)`.
    pub constructor: String,
    /// The tonic server over `services.<field>`.
    pub grpc: String,
    /// The HTTP routes over `services.<field>` with `options`.
    pub http: String,
}

impl Layout {
    /// The layout of the service `name` in a repository holding one service.
    pub fn single(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            api: "api".into(),
            biz: "internal/biz".into(),
            data: "internal/data".into(),
            service: "internal/service".into(),
            server: "internal/server".into(),
            cmd: Path::new("cmd").join(name),
        }
    }

    /// The service `service` of the repository at `root`, or its first one.
    pub fn find(root: &Path, service: Option<&str>) -> Result<Self> {
        let names = services(root)?;
        let Some(first) = names.first() else {
            bail!(
                "no service found: {} has no cmd/<name>/src/lib.rs",
                root.display()
            );
        };
        match service.filter(|s| !s.is_empty()) {
            None => Ok(Self::single(first)),
            Some(wanted) if names.iter().any(|name| name == wanted) => Ok(Self::single(wanted)),
            Some(wanted) => bail!(
                "SERVICE={wanted} is not a service of this repository; it has: {}",
                names.join(", ")
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

    /// The lines that register an api service, each at its marker.
    pub fn registration(&self, r: &Registration) -> Vec<Insert> {
        let service_lib = self.service.join("src/lib.rs");
        let grpc = self.server.join("src/grpc.rs");
        let http = self.server.join("src/http.rs");
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
                    format!("pub {}: {},", r.field, r.struct_name),
                ],
            ),
            Insert::new(
                self.cmd.join("src/lib.rs"),
                "service",
                &[format!("{}: {},", r.field, r.constructor)],
            ),
            Insert::new(
                grpc,
                "grpc",
                &[format!(
                    "routes = routes.add_service({}.max_decoding_message_size(max_message));",
                    r.grpc
                )],
            ),
            Insert::new(
                http,
                "http",
                &[format!("routes = routes.merge({});", r.http)],
            ),
        ]
    }
}

/// The services of the repository: every `cmd/<name>/` with a `src/lib.rs`, in
/// name order.
fn services(root: &Path) -> Result<Vec<String>> {
    let cmd = root.join("cmd");
    let entries = std::fs::read_dir(&cmd).with_context(|| format!("reading {}", cmd.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("src/lib.rs").is_file())
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}
