/// Who is making a request, in the domain's words: the subject and scopes of
/// the caller's verified token. The service layer fills it in from the request
/// (`service::caller`); `None` where nobody was authenticated (auth off, or a
/// public operation), so a use case decides what an anonymous caller may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`: a user or a client id.
    pub subject: String,
    /// What the token grants (its `scope` / `scp` claim).
    pub scopes: Vec<String>,
}

impl Caller {
    /// Whether the caller was granted `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }
}
