//! Creating and checking the collection, and the meta point (model, dimension, corpus version).

use std::time::{SystemTime, UNIX_EPOCH};

use qdrant_client::qdrant::{
    CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, Distance, FieldType, GetPointsBuilder, Modifier, PointStruct,
    QuantizationType, ScalarQuantizationBuilder, SparseVectorParamsBuilder, SparseVectorsConfigBuilder, TextIndexParamsBuilder,
    TokenizerType, UpsertPointsBuilder, VectorParamsBuilder, VectorsConfigBuilder,
};
use qdrant_client::Payload;

use super::error::bad_payload;
use super::schema::{IndexedType, MetaPayload, DENSE, INDEXED_FIELDS, KEYWORDS, KIND_META, LAYOUT_VERSION, META_POINT_ID};
use super::Inner;
use crate::backend::BackendError;

/// Creates the collection when missing; checks the meta point of an existing one.
pub async fn ensure_collection(inner: &Inner) -> Result<(), BackendError> {
    let name = inner.collection();
    let dictionary = crate::keyword::shared_segmenter().fingerprint().to_string();
    let exists = inner.client.collection_exists(name).await.map_err(inner.err("checking the collection"))?;
    if !exists {
        create(inner).await?;
    }
    let meta = match read_meta(inner).await? {
        Some(m) => m,
        None => {
            let m = MetaPayload {
                kind: KIND_META.into(),
                model: inner.model.clone(),
                dim: inner.dim as u64,
                layout: LAYOUT_VERSION,
                corpus_version: 0,
                dictionary: dictionary.clone(),
            };
            write_meta(inner, &m).await?;
            m
        }
    };
    if meta.model != inner.model || meta.dim != inner.dim as u64 {
        return Err(BackendError::Incompatible(format!(
            "Qdrant collection '{name}' at {} holds vectors of model {} ({} dims), but this server runs {} ({} dims); \
             use another --collection, or run with --model {}",
            inner.url(),
            meta.model,
            meta.dim,
            inner.model,
            inner.dim,
            meta.model
        )));
    }
    if meta.layout != LAYOUT_VERSION {
        return Err(BackendError::Incompatible(format!(
            "Qdrant collection '{name}' at {} uses layout {} and this build understands layout {LAYOUT_VERSION} \
             (layout 2 added keyword vectors); use a new --collection and re-ingest, or copy an embedded data \
             directory into it with `simtheme migrate --to-qdrant`",
            inner.url(),
            meta.layout
        )));
    }
    if meta.dictionary != dictionary {
        return Err(BackendError::Incompatible(format!(
            "Qdrant collection '{name}' at {} was indexed with user dictionary {} and this server runs {dictionary}; \
             start every replica with the same --user-dict (or none), or use a new --collection",
            inner.url(),
            meta.dictionary
        )));
    }
    Ok(())
}

async fn create(inner: &Inner) -> Result<(), BackendError> {
    let s = &inner.settings;
    let mut dense = VectorsConfigBuilder::default();
    let mut params = VectorParamsBuilder::new(inner.dim as u64, Distance::Cosine);
    if s.quantization {
        // int8 per component, the 1% most extreme values clipped, in RAM; searches rescore
        params = params.quantization_config(
            ScalarQuantizationBuilder::default().r#type(QuantizationType::Int8.into()).quantile(0.99).always_ram(true),
        );
    }
    dense.add_named_vector_params(DENSE, params);
    let mut sparse = SparseVectorsConfigBuilder::default();
    sparse.add_named_vector_params(KEYWORDS, SparseVectorParamsBuilder::default().modifier(Modifier::Idf as i32));
    let request = CreateCollectionBuilder::new(inner.collection())
        .vectors_config(dense)
        .sparse_vectors_config(sparse)
        .shard_number(s.shards.max(1))
        .replication_factor(s.replication_factor.max(1));
    if let Err(e) = inner.client.create_collection(request).await {
        // Another replica may have created it at the same moment.
        let exists = inner.client.collection_exists(inner.collection()).await.unwrap_or(false);
        if !exists {
            return Err(super::error::map(inner.url(), "creating the collection", e));
        }
    }
    for (field, kind) in INDEXED_FIELDS {
        let field_type = match kind {
            IndexedType::Keyword => FieldType::Keyword,
            IndexedType::Integer => FieldType::Integer,
            IndexedType::Bool => FieldType::Bool,
            IndexedType::Phrase => FieldType::Text,
        };
        let mut request = CreateFieldIndexCollectionBuilder::new(inner.collection(), *field, field_type).wait(true);
        if *kind == IndexedType::Phrase {
            let params = TextIndexParamsBuilder::new(TokenizerType::Whitespace).lowercase(false).phrase_matching(true);
            request = request.field_index_params(params);
        }
        inner.client.create_field_index(request).await.map_err(inner.err(&format!("indexing payload field {field}")))?;
    }
    tracing::info!(collection = inner.collection(), url = inner.url(), "created Qdrant collection");
    Ok(())
}

/// The meta point; `None` in a collection that has none yet.
pub async fn read_meta(inner: &Inner) -> Result<Option<MetaPayload>, BackendError> {
    let got = inner
        .client
        .get_points(GetPointsBuilder::new(inner.collection(), vec![META_POINT_ID.to_string().into()]).with_payload(true))
        .await
        .map_err(inner.err("reading the meta point"))?;
    let Some(point) = got.result.into_iter().next() else { return Ok(None) };
    let json = serde_json::Value::Object(point.payload.into_iter().map(|(k, v)| (k, v.into_json())).collect());
    serde_json::from_value(json).map(Some).map_err(|e| bad_payload(inner.url(), "the meta point", e))
}

async fn write_meta(inner: &Inner, meta: &MetaPayload) -> Result<(), BackendError> {
    let json = serde_json::to_value(meta).map_err(|e| BackendError::Internal(e.to_string()))?;
    let payload = Payload::try_from(json).map_err(|e| BackendError::Internal(e.to_string()))?;
    let point = PointStruct::new(META_POINT_ID.to_string(), std::collections::HashMap::<String, Vec<f32>>::new(), payload);
    inner
        .client
        .upsert_points(UpsertPointsBuilder::new(inner.collection(), vec![point]).wait(true))
        .await
        .map_err(inner.err("writing the meta point"))?;
    Ok(())
}

/// The meta point; `DataLoss` when someone removed it.
pub async fn meta(inner: &Inner) -> Result<MetaPayload, BackendError> {
    read_meta(inner).await?.ok_or_else(|| {
        BackendError::DataLoss(format!(
            "Qdrant collection '{}' at {} lost its meta point; restart simtheme to recreate it",
            inner.collection(),
            inner.url()
        ))
    })
}

/// Moves the corpus version on after a write: to `max(current + 1, now in microseconds)`, so
/// two replicas writing at once still both change it (caches compare it for equality).
pub async fn bump_version(inner: &Inner) -> Result<(), BackendError> {
    let mut m = meta(inner).await?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
    m.corpus_version = (m.corpus_version + 1).max(now);
    write_meta(inner, &m).await
}
