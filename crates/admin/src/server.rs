//! The admin listener: routes, authentication, JSON answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use smppguard_proxy::{AdminError, ProxyHandle, ReloadError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::auth::{Token, TokenError};
use crate::rates::{self, Rates};
use crate::scan::{ScanBody, ScanError, scan};

/// Every route: method and path template, as documented in `docs/admin-api.md`.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/reload"),
    ("GET", "/accounts"),
    ("GET", "/accounts/{id}"),
    ("POST", "/accounts/{id}/suspend"),
    ("POST", "/accounts/{id}/resume"),
    ("POST", "/rules/test"),
    ("GET", "/quarantine"),
    ("GET", "/quarantine/{id}"),
    ("DELETE", "/quarantine/{id}"),
    ("POST", "/quarantine/{id}/release"),
];

/// Request bodies larger than this are refused (413).
const MAX_BODY: usize = 256 * 1024;
/// Longest error text returned (serde messages may quote the input).
const MAX_ERROR: usize = 200;

/// Why the admin listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminStartError {
    /// The address could not be bound.
    #[error("admin.address {address}: {reason}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        reason: String,
    },
    /// The token file is unusable.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A non-loopback address without a token (the configuration check refuses this
    /// too; this guards listeners started another way).
    #[error("admin.token_file: required when admin.address is not a loopback address")]
    TokenRequired,
}

struct AppState {
    proxy: Arc<ProxyHandle>,
    token: Token,
    rates: Arc<Rates>,
}

/// The admin API entry point.
#[derive(Debug)]
pub struct Admin;

/// A running admin listener.
#[derive(Debug)]
pub struct AdminHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    sampler: JoinHandle<()>,
}

impl Admin {
    /// Binds `[admin] address` of the proxy's configuration and serves the API for
    /// `proxy`. Must be called inside a tokio runtime.
    pub async fn start(proxy: Arc<ProxyHandle>) -> Result<AdminHandle, AdminStartError> {
        let cfg = proxy.static_config().admin.clone();
        let token = match &cfg.token_file {
            Some(path) => Token::from_file(path)?,
            None if !cfg.address.ip().is_loopback() => return Err(AdminStartError::TokenRequired),
            None => Token::none(),
        };
        let listener =
            TcpListener::bind(cfg.address)
                .await
                .map_err(|e| AdminStartError::Listen {
                    address: cfg.address,
                    reason: e.to_string(),
                })?;
        let addr = listener.local_addr().unwrap_or(cfg.address);
        let token_required = token.required();
        let rates = Arc::new(Rates::default());
        let sampler = tokio::spawn(rates::run(
            Arc::clone(&rates),
            Arc::downgrade(proxy.metrics()),
        ));
        let state = Arc::new(AppState {
            proxy,
            token,
            rates,
        });
        let app = router(state);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "admin listener failed");
            }
        });
        tracing::info!(address = %addr, token_required, "admin listener started");
        Ok(AdminHandle {
            addr,
            stop: Some(stop),
            server,
            sampler,
        })
    }
}

impl AdminHandle {
    /// The bound address (with the real port when 0 was configured).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets requests in progress finish (up to 5 s) and stops.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.server).await;
        self.server.abort();
        self.sampler.abort();
    }
}

impl Drop for AdminHandle {
    fn drop(&mut self) {
        self.server.abort();
        self.sampler.abort();
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/reload", post(reload))
        .route("/accounts", get(accounts))
        .route("/accounts/{id}", get(account))
        .route("/accounts/{id}/suspend", post(suspend))
        .route("/accounts/{id}/resume", post(resume))
        .route("/rules/test", post(rules_test))
        .route("/quarantine", get(quarantine_list))
        .route(
            "/quarantine/{id}",
            get(quarantine_get).delete(quarantine_delete),
        )
        .route("/quarantine/{id}/release", post(quarantine_release))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Authenticates (all but the probes), then counts the request by route and status.
async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let endpoint = endpoint(req.method(), req.uri().path());
    let open = matches!(endpoint, "healthz" | "readyz");
    let response = if open
        || state.token.allows(
            req.headers()
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes),
        ) {
        next.run(req).await
    } else {
        let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"smppguard\""),
        );
        r
    };
    state
        .proxy
        .metrics()
        .admin_request(endpoint, response.status().as_u16());
    response
}

/// The bounded `endpoint` label of a request.
fn endpoint(method: &Method, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        (_, ["healthz"]) => "healthz",
        (_, ["readyz"]) => "readyz",
        (_, ["metrics"]) => "metrics",
        (_, ["reload"]) => "reload",
        (_, ["accounts"]) => "accounts",
        (_, ["accounts", _]) => "account",
        (_, ["accounts", _, "suspend"]) => "suspend",
        (_, ["accounts", _, "resume"]) => "resume",
        (_, ["rules", "test"]) => "rules_test",
        (_, ["quarantine"]) => "quarantine",
        ("DELETE", ["quarantine", _]) => "quarantine_delete",
        (_, ["quarantine", _]) => "quarantine_message",
        (_, ["quarantine", _, "release"]) => "quarantine_release",
        _ => "other",
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut text: String = message.chars().take(MAX_ERROR).collect();
    if text.len() < message.len() {
        text.push('…');
    }
    json_response(status, &json!({ "error": text }))
}

/// A refusal: status and message, answered as `{"error": message}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Parses an optional JSON body (empty means `T::default()`).
fn body<T: for<'de> Deserialize<'de> + Default>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

fn admin_error(e: &AdminError) -> Response {
    let status = match e {
        AdminError::UnknownAccount | AdminError::UnknownMessage => StatusCode::NOT_FOUND,
        AdminError::NoUpstream => StatusCode::SERVICE_UNAVAILABLE,
        AdminError::Draining => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let r = state.proxy.ready_status();
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &to_value(&r))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    match state.proxy.metrics().encode() {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                smppguard_metrics::Metrics::CONTENT_TYPE,
            )],
            text,
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn reload(State(state): State<Arc<AppState>>) -> Response {
    match state.proxy.reload_from_file(None).await {
        Ok(r) => json_response(
            StatusCode::OK,
            &json!({
                "accounts": r.accounts,
                "routes": r.routes,
                "removed_accounts": r.removed_accounts,
                "rules_version": r.rules_version,
                "restart_needed_for": r.restart_needed_for,
            }),
        ),
        Err(ReloadError::Draining) => error(StatusCode::CONFLICT, "the proxy is draining"),
        // The message names the key and line of the operator's own file.
        Err(e) => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "error": e.to_string() }),
        ),
    }
}

fn with_rates(state: &AppState, status: &smppguard_proxy::AccountStatus, now: Instant) -> Value {
    let mut v = to_value(status);
    let m = state.proxy.metrics().account(&status.system_id);
    if let Value::Object(map) = &mut v {
        map.insert("rates".into(), to_value(&state.rates.rates(&m, now)));
    }
    v
}

async fn accounts(State(state): State<Arc<AppState>>) -> Response {
    let now = Instant::now();
    let list: Vec<Value> = state
        .proxy
        .accounts()
        .iter()
        .map(|a| with_rates(&state, a, now))
        .collect();
    json_response(StatusCode::OK, &json!({ "accounts": list }))
}

async fn account(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.proxy.account(&id) {
        Some(a) => json_response(StatusCode::OK, &with_rates(&state, &a, Instant::now())),
        None => admin_error(&AdminError::UnknownAccount),
    }
}

/// `POST /accounts/{id}/suspend` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuspendBody {
    /// Why, for the record (at most 200 characters).
    reason: Option<String>,
}

async fn suspend(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let b: SuspendBody = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if b.reason.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return error(StatusCode::BAD_REQUEST, "reason: at most 200 characters");
    }
    match state.proxy.suspend(&id, b.reason) {
        Ok(a) => json_response(StatusCode::OK, &with_rates(&state, &a, Instant::now())),
        Err(e) => admin_error(&e),
    }
}

async fn resume(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.proxy.resume(&id) {
        Ok(a) => json_response(StatusCode::OK, &with_rates(&state, &a, Instant::now())),
        Err(e) => admin_error(&e),
    }
}

async fn rules_test(State(state): State<Arc<AppState>>, bytes: Bytes) -> Response {
    let b: ScanBody = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("bad JSON body: {e}")),
    };
    match scan(&state.proxy, &b) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(ScanError::NoRules) => error(StatusCode::CONFLICT, &ScanError::NoRules.to_string()),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

async fn quarantine_list(State(state): State<Arc<AppState>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({ "messages": to_value(&state.proxy.quarantined()) }),
    )
}

fn message_id(id: &str) -> Result<u64, ApiError> {
    id.parse().map_err(|_| {
        ApiError(
            StatusCode::NOT_FOUND,
            AdminError::UnknownMessage.to_string(),
        )
    })
}

async fn quarantine_get(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let id = match message_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    match state.proxy.quarantined_message(id) {
        Some(m) => json_response(StatusCode::OK, &to_value(&m)),
        None => admin_error(&AdminError::UnknownMessage),
    }
}

async fn quarantine_delete(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let id = match message_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    match state.proxy.delete_quarantined(id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => admin_error(&e),
    }
}

async fn quarantine_release(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    let id = match message_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    match state.proxy.release(id) {
        Ok(r) => json_response(StatusCode::OK, &to_value(&r)),
        Err(e) => admin_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_labels_are_bounded() {
        let m = Method::GET;
        assert_eq!(endpoint(&m, "/accounts/acme"), "account");
        assert_eq!(endpoint(&m, "/accounts/acme/x/y"), "other");
        assert_eq!(
            endpoint(&Method::DELETE, "/quarantine/7"),
            "quarantine_delete"
        );
        assert_eq!(endpoint(&m, "/quarantine/7"), "quarantine_message");
        assert_eq!(endpoint(&m, "/../../etc/passwd"), "other");
        for (method, path) in ROUTES {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_ne!(endpoint(&method, path), "other", "{path}");
        }
    }

    #[test]
    fn long_errors_are_cut() {
        let long = "x".repeat(1000);
        let r = error(StatusCode::BAD_REQUEST, &long);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}
