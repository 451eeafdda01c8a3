//! simtheme: semantic similarity and theme clustering of paragraphs.
//!
//! The library holds every capability; the gRPC service ([`service`]) and the CLI ([`cli`])
//! are thin layers over the [`engine`], which combines:
//! [`corpus`] (cleaning, segmentation, metadata), [`embed`] (model loading, batching,
//! pooling), a storage [`backend`] (the embedded one is [`store`], SQLite, plus [`index`],
//! HNSW and exact search, plus [`keyword`], BM25 over jieba tokens) and [`themes`]
//! (clustering, keywords, year comparison).

pub mod backend;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod embed;
pub mod engine;
pub mod index;
pub mod keyword;
pub mod service;
pub mod store;
pub mod themes;

/// Code generated from `proto/simtheme/v1/simtheme.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("simtheme.v1");

    /// Encoded file descriptor set of the simtheme protos, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("simtheme_descriptor");
}
