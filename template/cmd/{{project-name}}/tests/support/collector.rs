//! An OTLP trace receiver that keeps what it is sent, for the tests that check
//! which spans leave the process.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// One export call: its gRPC metadata and its spans.
struct Export {
    metadata: tonic::metadata::MetadataMap,
    request: ExportTraceServiceRequest,
}

#[derive(Clone, Default)]
pub struct Collector {
    received: Arc<Mutex<Vec<Export>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let (metadata, _, request) = request.into_parts();
        self.received
            .lock()
            .expect("lock")
            .push(Export { metadata, request });
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Collector {
    /// Listens on a free loopback port; returns its `http://` endpoint.
    pub async fn start() -> (String, Collector) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let collector = Collector::default();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(collector.clone()))
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        (endpoint, collector)
    }

    /// Every span received so far, each with its resource's attributes.
    pub fn spans(&self) -> Vec<(Vec<KeyValue>, Span)> {
        let received = self.received.lock().expect("lock");
        let mut spans = Vec::new();
        for resource_spans in received
            .iter()
            .flat_map(|export| &export.request.resource_spans)
        {
            let resource = resource_spans
                .resource
                .as_ref()
                .map(|resource| resource.attributes.clone())
                .unwrap_or_default();
            for scope in &resource_spans.scope_spans {
                for span in &scope.spans {
                    spans.push((resource.clone(), span.clone()));
                }
            }
        }
        spans
    }

    /// The span of trace `trace_id` (hex) received so far, if any.
    pub fn span_of(&self, trace_id: &str) -> Option<(Vec<KeyValue>, Span)> {
        self.spans()
            .into_iter()
            .find(|(_, span)| hex(&span.trace_id) == trace_id)
    }

    /// The values of metadata `key` over every export call received.
    pub fn metadata(&self, key: &str) -> Vec<String> {
        let received = self.received.lock().expect("lock");
        received
            .iter()
            .filter_map(|export| export.metadata.get(key)?.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// The string value of attribute `key`, if it is there.
pub fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes
        .iter()
        .find(|attribute| attribute.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    match value {
        Value::StringValue(text) => Some(text.clone()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
