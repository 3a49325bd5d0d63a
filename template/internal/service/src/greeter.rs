use api::helloworld::v1::{
    HelloReply, HelloRequest, error_greeting_already_exists, error_greeting_not_found,
    error_invalid_name, greeter_server::Greeter,
};
use biz::GreeterUsecase;
use tonic::{Request, Response, Status};

use crate::dependency_errors;

/// `helloworld.v1.Greeter`, served on gRPC and HTTP alike.
#[derive(Debug, Clone)]
pub struct GreeterService {
    usecase: GreeterUsecase,
}

impl GreeterService {
    /// The service answering through `usecase`.
    pub fn new(usecase: GreeterUsecase) -> Self {
        Self { usecase }
    }
}

#[tonic::async_trait]
impl Greeter for GreeterService {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let HelloRequest { name } = request.into_inner();
        let greeter = self.usecase.say_hello(&name).await.map_err(to_status)?;
        Ok(Response::new(HelloReply {
            message: greeter.message,
        }))
    }
}

/// biz errors as API errors. Causes that are not the caller's business are logged
/// here and never sent.
fn to_status(err: biz::Error) -> Status {
    match err {
        biz::Error::InvalidArgument { field, message } if field == "name" => {
            error_invalid_name(message)
                .with_metadata("field", field)
                .into()
        }
        // The greeter refuses only names; a field it may refuse later gets the
        // framework's generic reason until the api declares one for it.
        biz::Error::InvalidArgument { field, message } => {
            strata::Error::new(400, "INVALID_ARGUMENT", message)
                .with_metadata("field", field)
                .into()
        }
        biz::Error::NotFound(what) => error_greeting_not_found(format!("{what} not found")).into(),
        biz::Error::AlreadyExists(what) => {
            error_greeting_already_exists(format!("{what} already exists")).into()
        }
        // The greeter decides on no caller yet: the framework's generic reason.
        biz::Error::PermissionDenied(why) => {
            strata::Error::new(403, "PERMISSION_DENIED", why).into()
        }
        biz::Error::Unavailable(cause) => dependency_errors::unavailable("greeter", &cause),
        biz::Error::Storage(cause) => dependency_errors::storage_failed("greeter", &cause),
    }
}

#[cfg(test)]
mod tests {
    use api::helloworld::v1::{is_greeting_already_exists, is_invalid_name};
    use biz::testing::FakeGreeterRepo;
    use tonic::Code;

    use super::*;

    fn service() -> GreeterService {
        GreeterService::new(GreeterUsecase::new(FakeGreeterRepo::default()))
    }

    fn failing_with(error: fn() -> biz::Error) -> GreeterService {
        GreeterService::new(GreeterUsecase::new(FakeGreeterRepo::failing_with(error)))
    }

    fn hello(name: &str) -> Request<HelloRequest> {
        Request::new(HelloRequest { name: name.into() })
    }

    #[tokio::test]
    async fn replies_with_the_greeting() {
        let reply = service().say_hello(hello("world")).await.expect("reply");

        assert_eq!(reply.into_inner().message, "Hello world");
    }

    #[test]
    fn a_name_biz_refuses_is_invalid_argument_with_its_reason() {
        // The proto's rules refuse a malformed name before the service runs
        // (tests/validation.rs); a name the domain refuses gets INVALID_NAME.
        let status = to_status(biz::Error::invalid_argument("name", "name is reserved"));

        assert_eq!(status.code(), Code::InvalidArgument);
        let error = strata::Error::from(status);
        assert!(is_invalid_name(&error), "{error}");
        assert_eq!(error.message(), "name is reserved");
        assert_eq!(error.domain(), "helloworld.v1");
        assert_eq!(error.metadata()["field"], "name");
    }

    #[test]
    fn another_invalid_field_is_invalid_argument_without_the_name_reason() {
        let status = to_status(biz::Error::invalid_argument("mood", "mood must be sunny"));

        assert_eq!(status.code(), Code::InvalidArgument);
        let error = strata::Error::from(status);
        assert_eq!(error.reason(), "INVALID_ARGUMENT");
        assert_eq!(error.message(), "mood must be sunny");
        assert_eq!(error.metadata()["field"], "mood");
    }

    #[tokio::test]
    async fn a_duplicate_is_already_exists_with_its_reason() {
        let service = failing_with(|| biz::Error::AlreadyExists("greeting".into()));

        let status = service
            .say_hello(hello("twice"))
            .await
            .expect_err("duplicate");

        assert_eq!(status.code(), Code::Aborted);
        assert!(is_greeting_already_exists(&status.into()));
    }

    #[tokio::test]
    async fn an_unreachable_database_is_unavailable_and_hides_the_cause() {
        let service =
            failing_with(|| biz::Error::Unavailable("pool timed out after 2s at 10.0.0.7".into()));

        let status = service.say_hello(hello("world")).await.expect_err("down");

        assert_eq!(status.code(), Code::Unavailable);
        assert!(
            !status.message().contains("10.0.0.7"),
            "{}",
            status.message()
        );
    }

    #[tokio::test]
    async fn a_storage_failure_is_internal_and_hides_the_cause() {
        let status = failing_with(|| biz::Error::storage("connection refused to 10.0.0.7"))
            .say_hello(hello("world"))
            .await
            .expect_err("fails");

        assert_eq!(status.code(), Code::Internal);
        assert!(
            !status.message().contains("10.0.0.7"),
            "{}",
            status.message()
        );
    }
}
