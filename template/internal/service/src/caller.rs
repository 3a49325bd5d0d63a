use strata::auth::Principal;

/// The caller of `request` as biz sees it: the principal the framework verified
/// from its bearer token (on gRPC and HTTP alike), or `None` when nobody was
/// authenticated. Raw claims stay here: read them with
/// `request.extensions().get::<strata::auth::Principal>()`.
pub fn caller<T>(request: &tonic::Request<T>) -> Option<biz::Caller> {
    let principal = request.extensions().get::<Principal>()?;
    Some(biz::Caller {
        subject: principal.subject().to_owned(),
        scopes: principal.scopes().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_principal_becomes_the_biz_caller() {
        let mut request = tonic::Request::new(());
        assert_eq!(caller(&request), None);

        let claims = serde_json::json!({"sub": "ada", "scope": "notes:read"});
        let serde_json::Value::Object(claims) = claims else {
            unreachable!("an object literal")
        };
        request
            .extensions_mut()
            .insert(Principal::from_claims(claims));
        let caller = caller(&request).expect("a caller");
        assert_eq!(caller.subject, "ada");
        assert!(caller.has_scope("notes:read"));
    }
}
