//! Which operations need a token, and which scopes: globs over the operation
//! names the logs and metrics use (`/helloworld.v1.Greeter/SayHello`).

use glob::Pattern;

use crate::config::Jwt;

/// `auth.jwt.public_operations` and `auth.jwt.required_scopes`, compiled.
#[derive(Debug)]
pub(super) struct Policy {
    public: Vec<Pattern>,
    scopes: Vec<(Pattern, Vec<String>)>,
}

impl Policy {
    /// The policy of `jwt`; a glob that does not parse names its key.
    pub(super) fn new(jwt: &Jwt) -> Result<Self, String> {
        let compile = |key: &str, glob: &str| {
            Pattern::new(glob)
                .map_err(|err| format!("auth.jwt.{key}: {glob:?} is not a glob: {err}"))
        };
        let public = jwt
            .public_operations
            .iter()
            .map(|glob| compile("public_operations", glob))
            .collect::<Result<_, _>>()?;
        let scopes = jwt
            .required_scopes
            .iter()
            .map(|(glob, scopes)| Ok((compile("required_scopes", glob)?, scopes.clone())))
            .collect::<Result<_, String>>()?;
        Ok(Self { public, scopes })
    }

    /// Whether `operation` is served without a token.
    pub(super) fn is_public(&self, operation: &str) -> bool {
        self.public.iter().any(|glob| glob.matches(operation))
    }

    /// Every scope `operation` requires.
    pub(super) fn required_scopes<'a>(
        &'a self,
        operation: &'a str,
    ) -> impl Iterator<Item = &'a str> {
        self.scopes
            .iter()
            .filter(move |(glob, _)| glob.matches(operation))
            .flat_map(|(_, scopes)| scopes.iter().map(String::as_str))
    }
}
