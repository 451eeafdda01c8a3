//! The one table of `simtheme.v1.SimThemeService` RPCs. Everything the edge knows about an RPC comes
//! from its row: whether it changes the corpus (refused to the read-only key), whether and how
//! it is served over HTTP/JSON (`POST /v1/<Rpc>`), how its deadline applies, and its metrics
//! label. Adding an RPC: its handler in [`super::handlers`] (and [`super::instrument`]), and
//! one row here.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use serde::Serialize;
use tonic::Status;

use super::instrument::{CallFacts, Instrumented};
use crate::proto::sim_theme_service_server::SimThemeService;

/// How `--request-timeout-secs` bounds a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// The whole call must be answered within the timeout (every unary RPC).
    WholeCall,
    /// The handler bounds the wait for each next message instead: a long upload is not one
    /// slow answer (client streaming).
    PerMessage,
}

/// A successful HTTP/JSON call: the JSON body, the handler's response headers, facts for the
/// request log.
pub struct Answer {
    /// The response message as proto3 JSON.
    pub body: Vec<u8>,
    /// Response metadata of the handler (`x-embed-ms`, ...).
    pub headers: http::HeaderMap,
    /// Tokens and hits for the request log.
    pub facts: CallFacts,
}

/// Answers one HTTP/JSON call: decodes the JSON body (`&[u8]`, `{}` when blank) as the RPC's
/// request message, calls the handler, encodes its answer.
pub type HttpCall = for<'a> fn(&'a Instrumented, &'static str, Bytes) -> Pin<Box<dyn Future<Output = Result<Answer, Status>> + Send + 'a>>;

/// One RPC of `simtheme.v1.SimThemeService`.
#[derive(Clone, Copy)]
pub struct Rpc {
    /// Method name, as in the proto and the gRPC path (`NearestParagraphs`); also the metrics
    /// and request-log label and the HTTP route `/v1/<name>`.
    pub name: &'static str,
    /// True when it changes the corpus: the read-only API key may not call it.
    pub writes: bool,
    /// The HTTP/JSON call, `None` for RPCs served over gRPC only (client streaming).
    pub http: Option<HttpCall>,
    /// How the request deadline applies.
    pub deadline: Deadline,
}

/// Builds the [`HttpCall`] of a unary handler method of [`SimThemeService`].
macro_rules! http {
    ($method:ident) => {{
        fn call<'a>(
            h: &'a Instrumented,
            rpc: &'static str,
            body: Bytes,
        ) -> Pin<Box<dyn Future<Output = Result<Answer, Status>> + Send + 'a>> {
            Box::pin(async move {
                let message = decode(rpc, &body)?;
                answer(h.$method(tonic::Request::new(message)).await?)
            })
        }
        Some(call as HttpCall)
    }};
}

/// Every RPC, in proto order.
pub const RPCS: &[Rpc] = &[
    Rpc { name: "NearestParagraphs", writes: false, http: http!(nearest_paragraphs), deadline: Deadline::WholeCall },
    Rpc { name: "Similarity", writes: false, http: http!(similarity), deadline: Deadline::WholeCall },
    Rpc { name: "Embed", writes: false, http: http!(embed), deadline: Deadline::WholeCall },
    Rpc { name: "GetParagraph", writes: false, http: http!(get_paragraph), deadline: Deadline::WholeCall },
    Rpc { name: "ListDocuments", writes: false, http: http!(list_documents), deadline: Deadline::WholeCall },
    Rpc { name: "DeleteDocument", writes: true, http: http!(delete_document), deadline: Deadline::WholeCall },
    Rpc { name: "Stats", writes: false, http: http!(stats), deadline: Deadline::WholeCall },
    Rpc { name: "AddDocuments", writes: true, http: http!(add_documents), deadline: Deadline::WholeCall },
    Rpc { name: "StreamDocuments", writes: true, http: None, deadline: Deadline::PerMessage },
    Rpc { name: "ClusterThemes", writes: false, http: http!(cluster_themes), deadline: Deadline::WholeCall },
    Rpc { name: "ThemesOverTime", writes: false, http: http!(themes_over_time), deadline: Deadline::WholeCall },
    Rpc { name: "CompareYears", writes: false, http: http!(compare_years), deadline: Deadline::WholeCall },
    Rpc { name: "AssignTheme", writes: false, http: http!(assign_theme), deadline: Deadline::WholeCall },
    Rpc { name: "ThemeTree", writes: false, http: http!(theme_tree), deadline: Deadline::WholeCall },
    Rpc { name: "TextReuse", writes: false, http: http!(text_reuse), deadline: Deadline::WholeCall },
    Rpc { name: "ListParagraphs", writes: false, http: http!(list_paragraphs), deadline: Deadline::WholeCall },
    Rpc { name: "GetDocument", writes: false, http: http!(get_document), deadline: Deadline::WholeCall },
];

/// Health and reflection methods (other services), labelled `service/method`.
pub const OTHER_METHODS: [&str; 4] = [
    "grpc.health.v1.Health/Check",
    "grpc.health.v1.Health/Watch",
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The row of RPC `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Rpc> {
    RPCS.iter().find(|r| r.name == name)
}

/// True when RPC `name` changes the corpus.
pub fn writes(name: &str) -> bool {
    find(name).is_some_and(|r| r.writes)
}

/// The RPCs served over HTTP/JSON, in table order.
pub fn http_rpcs() -> impl Iterator<Item = &'static Rpc> {
    RPCS.iter().filter(|r| r.http.is_some())
}

fn decode<T: serde::de::DeserializeOwned>(rpc: &str, body: &[u8]) -> Result<T, Status> {
    let text: &[u8] = if body.iter().all(|b| b.is_ascii_whitespace()) { b"{}" } else { body };
    serde_json::from_slice(text).map_err(|e| Status::invalid_argument(format!("the body is not a valid JSON {rpc} request: {e}")))
}

fn answer<T: Serialize>(resp: tonic::Response<T>) -> Result<Answer, Status> {
    let (metadata, message, extensions) = resp.into_parts();
    let body = serde_json::to_vec(&message).map_err(|e| Status::internal(format!("cannot encode the response as JSON: {e}")))?;
    Ok(Answer { body, headers: metadata.into_headers(), facts: extensions.get::<CallFacts>().copied().unwrap_or_default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_proto_service() {
        use prost::Message;
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET).unwrap();
        let file = set.file.iter().find(|f| f.package() == "simtheme.v1").unwrap();
        let methods = &file.service.iter().find(|s| s.name() == "SimThemeService").unwrap().method;
        let names: Vec<&str> = RPCS.iter().map(|r| r.name).collect();
        let proto_names: Vec<&str> = methods.iter().map(|m| m.name()).collect();
        assert_eq!(names, proto_names, "one row per RPC of the proto, in proto order");
        for (r, m) in RPCS.iter().zip(methods) {
            let streaming = m.client_streaming();
            assert_eq!(r.http.is_none(), streaming, "{}: unary RPCs are served over HTTP, streaming ones are not", r.name);
            assert_eq!(r.deadline == Deadline::PerMessage, streaming, "{}: only client streaming bounds each message", r.name);
        }
        let writes: Vec<&str> = RPCS.iter().filter(|r| r.writes).map(|r| r.name).collect();
        assert_eq!(writes, ["DeleteDocument", "AddDocuments", "StreamDocuments"]);
        assert!(writes.iter().all(|w| super::writes(w)) && !super::writes("Stats") && !super::writes("Nope"));
        assert_eq!(http_rpcs().count(), 16);
    }

    #[test]
    fn blank_bodies_are_empty_messages_and_bad_ones_name_the_rpc() {
        let r: crate::proto::StatsRequest = decode("Stats", b"  \n").unwrap();
        assert_eq!(r, crate::proto::StatsRequest::default());
        let e = decode::<crate::proto::StatsRequest>("Stats", b"not json").unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("JSON Stats request"), "{}", e.message());
    }
}
