//! Validation declared in the protos: the standard `buf.validate`
//! (protovalidate) rules, checked before the handler on both transports.
//!
//! `api` generates, for every service trait, an impl for [`Validated<T>`] that
//! checks each request against [`Rules`] and then calls `T`; the server mounts
//! `Validated::new(service)` on gRPC and HTTP alike, so both run this one check.
//! A request that breaks rules is refused with 400 / INVALID_ARGUMENT, one
//! [`Violation`] per broken rule (`google.rpc.BadRequest` over gRPC,
//! `"violations"` in the HTTP body) and the first field in `metadata.field`.
//!
//! Evaluated from the descriptors with prost-reflect, no CEL: see
//! `docs/security.md` for the rules this release checks.

mod check;
mod rules;
#[cfg(test)]
mod tests;

use prost_reflect::{DynamicMessage, ReflectMessage};
use tonic::Status;

pub use crate::error::Violation;
pub use rules::Rules;

use crate::error::Error;

/// A service behind its request rules: `api` implements each service trait
/// for it, checking the request before calling the inner service.
#[derive(Debug, Clone)]
pub struct Validated<T> {
    inner: T,
}

impl<T> Validated<T> {
    pub fn new(inner: T) -> Self {
        Self { inner }
    }

    /// The service the checked requests go to.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl Rules {
    /// Checks `request`, a message of the proto type `full_name` (as `api`
    /// generated it), against its rules: INVALID_ARGUMENT listing every broken
    /// rule, or INTERNAL if a rule cannot be evaluated. A message without rules
    /// costs one map lookup.
    pub fn check<M: prost::Message>(&self, full_name: &str, request: &M) -> Result<(), Status> {
        let Some(own) = self.messages.get(full_name) else {
            return Ok(());
        };
        let bytes = request.encode_to_vec();
        let mut report = check::Report::default();
        let texts = own
            .strings
            .as_ref()
            .and_then(|numbers| Some((numbers, crate::plain_strings::read(numbers, &bytes)?)));
        if let Some((numbers, texts)) = texts {
            check::strings(own, numbers, &texts, &mut report);
        } else {
            let message = DynamicMessage::decode(own.descriptor.clone(), bytes.as_slice())
                .map_err(|err| Status::internal(format!("{full_name} does not decode: {err}")))?;
            check::message(self, own, &message, "", &mut report);
        }
        outcome(report).map_err(|error| error.to_status())
    }

    /// [`Rules::check`] for a message already in reflection form.
    pub fn check_dynamic(&self, message: &DynamicMessage) -> Result<(), Error> {
        let Some(own) = self.messages.get(message.descriptor().full_name()) else {
            return Ok(());
        };
        let mut report = check::Report::default();
        check::message(self, own, message, "", &mut report);
        outcome(report)
    }
}

fn outcome(report: check::Report) -> Result<(), Error> {
    if let Some(rule) = report.unsupported {
        return Err(Error::new(
            500,
            "INTERNAL",
            format!("the validation rule {rule} is not evaluated by this strata release"),
        ));
    }
    let Some(first) = report.violations.first() else {
        return Ok(());
    };
    let mut message = report
        .violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    if report.more > 0 {
        message.push_str(&format!("; and {} more", report.more));
    }
    Err(Error::new(400, "INVALID_ARGUMENT", message)
        .with_metadata("field", first.field.clone())
        .with_violations(report.violations))
}
