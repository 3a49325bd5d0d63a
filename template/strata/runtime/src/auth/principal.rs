//! Who is calling: the verified claims of the request's bearer token.

use serde_json::{Map, Value};

/// The caller of a request whose token was verified, in the request's
/// extensions on both transports (`request.extensions().get::<Principal>()`).
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    subject: String,
    scopes: Vec<String>,
    claims: Map<String, Value>,
}

impl Principal {
    /// The principal of a token with these `claims`: `sub`, and the scopes of
    /// `scope` (space-separated, RFC 8693) or `scp` (a list or a string).
    pub fn from_claims(claims: Map<String, Value>) -> Self {
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let scopes = ["scope", "scp"]
            .iter()
            .filter_map(|name| claims.get(*name))
            .flat_map(|value| match value {
                Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        Self {
            subject,
            scopes,
            claims,
        }
    }

    /// `sub`: who the token was issued to (empty when the token has none).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The scopes the token grants.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }

    /// Every claim of the token, as sent.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// One claim, e.g. `tenant`.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_subject_and_scopes_of_either_claim() {
        let claims =
            serde_json::json!({"sub": "ada", "scope": "notes:read notes:write", "scp": ["admin"]});
        let Value::Object(claims) = claims else {
            unreachable!("an object literal")
        };
        let principal = Principal::from_claims(claims);
        assert_eq!(principal.subject(), "ada");
        assert_eq!(principal.scopes(), ["notes:read", "notes:write", "admin"]);
        assert!(principal.has_scope("admin"));
        assert!(!principal.has_scope("notes"));
    }
}
