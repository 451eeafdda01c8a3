//! Keeps `grpc.health.v1.Health` in step with the storage backend: NOT_SERVING while it cannot
//! be reached (e.g. Qdrant is down), SERVING again as soon as it answers, without a restart.

use std::sync::Arc;
use std::time::Duration;

use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use super::SERVICE_NAME;
use crate::engine::Engine;

/// How often the backend is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Probes the backend forever, flipping the health status on every change (logged once).
pub async fn watch_backend(engine: Arc<Engine>, health: HealthReporter) {
    let mut serving = true;
    loop {
        tokio::time::sleep(PROBE_INTERVAL).await;
        let result = tokio::time::timeout(Duration::from_secs(5), engine.health()).await;
        let ok = matches!(result, Ok(Ok(())));
        if ok != serving {
            serving = ok;
            let status = if ok { ServingStatus::Serving } else { ServingStatus::NotServing };
            match result {
                Ok(Err(e)) => tracing::warn!("storage is unavailable, health NOT_SERVING: {e}"),
                Err(_) => tracing::warn!("storage health probe timed out, health NOT_SERVING"),
                Ok(Ok(())) => tracing::warn!("storage answers again, health SERVING"),
            }
            health.set_service_status("", status).await;
            health.set_service_status(SERVICE_NAME, status).await;
        }
    }
}
