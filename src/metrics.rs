//! What `--metrics` exposes at `/_blimp/metrics`, in the Prometheus text
//! format (prometheus-client, the Prometheus project's own crate):
//! requests by status and script, their latency, requests in flight, live
//! sessions and session-store errors. Off, it costs a branch per request.

use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub status: u16,
    /// The script's path in the scripts folder; `static` for files,
    /// `none` for what no script answered.
    pub script: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Histogram,
    pub in_flight: Gauge,
    pub live_sessions: Gauge<u64, AtomicU64>,
    pub store_errors: Counter,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// Turns the metrics on (at start, with `--metrics`).
pub fn enable() {
    METRICS.get_or_init(|| {
        let mut registry = Registry::with_prefix("blimp");
        let requests = Family::<RequestLabels, Counter>::default();
        // 0.25 ms to about 8 s.
        let latency = Histogram::new(exponential_buckets(0.000_25, 2.0, 16));
        let in_flight = Gauge::default();
        let live_sessions = Gauge::<u64, AtomicU64>::default();
        let store_errors = Counter::default();
        registry.register("requests", "Requests answered", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Time from the request to its response's end",
            latency.clone(),
        );
        registry.register("in_flight", "Requests being answered", in_flight.clone());
        registry.register(
            "live_sessions",
            "Sessions in the store",
            live_sessions.clone(),
        );
        registry.register(
            "session_store_errors",
            "Session loads and saves that failed",
            store_errors.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            in_flight,
            live_sessions,
            store_errors,
        }
    });
}

/// The metrics, when `--metrics` turned them on.
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

impl Metrics {
    pub fn answered(&self, status: u16, script: &str, took: Duration) {
        let labels = RequestLabels {
            status,
            script: script.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.observe(took.as_secs_f64());
    }

    /// A request answered before it could be read: counted, not timed.
    pub fn refused(&self, status: u16) {
        let labels = RequestLabels {
            status,
            script: "none".to_string(),
        };
        self.requests.get_or_create(&labels).inc();
    }

    /// The text a scrape gets.
    pub fn text(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
