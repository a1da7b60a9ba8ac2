//! The few Stripe API calls Hitch makes, form-encoded as Stripe expects, each POST with
//! an `Idempotency-Key` so a retry (ours or the job runner's) never pays or refunds twice.
//! The base URL is configurable (`HITCH_STRIPE_API_BASE`) so tests use a local fake.
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

/// The API version whose shapes this module reads; pinned so Stripe's upgrades do not
/// change responses under us.
pub const API_VERSION: &str = "2024-06-20";
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error object (`invalid_request_error`, `card_error`, …).
    #[error("Stripe refused the request: {message}")]
    Refused {
        status: u16,
        kind: String,
        code: Option<String>,
        param: Option<String>,
        message: String,
    },
    /// Rate limited, Stripe failing (5xx) or unreachable: try again later.
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
    /// The key is wrong or revoked (401) or lacks a permission (403).
    #[error("Stripe rejected the API key: {0}")]
    Auth(String),
    #[error("Stripe answered something unexpected: {0}")]
    Protocol(String),
}

impl StripeError {
    /// Worth retrying later with the same idempotency key.
    pub fn is_transient(&self) -> bool {
        matches!(self, StripeError::Unavailable(_))
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    /// `open`, `complete` or `expired`.
    pub status: Option<String>,
    /// `unpaid`, `paid` or `no_payment_required`.
    pub payment_status: String,
    #[serde(default)]
    pub payment_intent: Option<Value>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    pub expires_at: i64,
    #[serde(default)]
    pub metadata: serde_json::Map<String, Value>,
}

impl CheckoutSession {
    /// The PaymentIntent id, whether Stripe sent it as an id or expanded.
    pub fn payment_intent_id(&self) -> Option<String> {
        match self.payment_intent.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id")?.as_str().map(str::to_owned),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Account {
    pub id: String,
    #[serde(default)]
    pub settings: Option<Value>,
    #[serde(default)]
    pub business_profile: Option<Value>,
}

impl Account {
    /// The name Stripe shows for the account, if it has one.
    pub fn display_name(&self) -> Option<String> {
        let from = |v: &Option<Value>, path: &[&str]| {
            let mut cur = v.as_ref()?;
            for p in path {
                cur = cur.get(p)?;
            }
            cur.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
        };
        from(&self.settings, &["dashboard", "display_name"])
            .or_else(|| from(&self.business_profile, &["name"]))
    }
}

/// What a Checkout Session for one amount needs.
pub struct CheckoutRequest<'a> {
    pub amount_minor: i64,
    pub currency: &'a str,
    pub product_name: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    pub expires_at: i64,
    pub client_reference_id: &'a str,
    pub customer_email: Option<&'a str>,
    /// Copied to the session and to its PaymentIntent (whose events see only their own).
    pub metadata: &'a [(&'a str, &'a str)],
}

impl CheckoutRequest<'_> {
    /// Stripe's bracketed form fields.
    pub fn form(&self) -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = vec![
            ("mode".into(), "payment".into()),
            (
                "line_items[0][price_data][currency]".into(),
                self.currency.to_ascii_lowercase(),
            ),
            (
                "line_items[0][price_data][unit_amount]".into(),
                self.amount_minor.to_string(),
            ),
            (
                "line_items[0][price_data][product_data][name]".into(),
                self.product_name.into(),
            ),
            ("line_items[0][quantity]".into(), "1".into()),
            ("success_url".into(), self.success_url.into()),
            ("cancel_url".into(), self.cancel_url.into()),
            ("expires_at".into(), self.expires_at.to_string()),
            (
                "client_reference_id".into(),
                self.client_reference_id.into(),
            ),
        ];
        if let Some(email) = self.customer_email {
            f.push(("customer_email".into(), email.into()));
        }
        for (k, v) in self.metadata {
            f.push((format!("metadata[{k}]"), (*v).into()));
            f.push((format!("payment_intent_data[metadata][{k}]"), (*v).into()));
        }
        f
    }
}

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    key: std::sync::Arc<Zeroizing<String>>,
}

impl StripeClient {
    pub fn new(base: &str, secret_key: &str) -> StripeClient {
        StripeClient {
            http: shared_http(),
            base: base.trim_end_matches('/').to_string(),
            key: std::sync::Arc::new(Zeroizing::new(secret_key.to_string())),
        }
    }

    pub async fn create_checkout_session(
        &self,
        req: &CheckoutRequest<'_>,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, StripeError> {
        self.post("/v1/checkout/sessions", &req.form(), idempotency_key)
            .await
    }

    pub async fn expire_checkout_session(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, StripeError> {
        self.post(
            &format!("/v1/checkout/sessions/{}/expire", path_segment(id)),
            &[],
            idempotency_key,
        )
        .await
    }

    pub async fn retrieve_checkout_session(
        &self,
        id: &str,
    ) -> Result<CheckoutSession, StripeError> {
        self.get(&format!("/v1/checkout/sessions/{}", path_segment(id)))
            .await
    }

    /// Refunds `amount` (all that is left when `None`) of a PaymentIntent.
    pub async fn create_refund(
        &self,
        payment_intent: &str,
        amount: Option<i64>,
        metadata: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<Refund, StripeError> {
        let mut form = vec![("payment_intent".to_string(), payment_intent.to_string())];
        if let Some(a) = amount {
            form.push(("amount".into(), a.to_string()));
        }
        for (k, v) in metadata {
            form.push((format!("metadata[{k}]"), (*v).into()));
        }
        self.post("/v1/refunds", &form, idempotency_key).await
    }

    /// The account the key belongs to: the "test connection" call.
    pub async fn retrieve_account(&self) -> Result<Account, StripeError> {
        self.get("/v1/account").await
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let send = || {
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(self.key.as_str())
                .header("Stripe-Version", API_VERSION)
                .header("Idempotency-Key", idempotency_key)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body.clone())
                .send()
        };
        // One quick retry of a transient failure: safe under the same idempotency key,
        // and it hides a single dropped connection from the person waiting on the page.
        match read(send().await).await {
            Err(e) if e.is_transient() => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                read(send().await).await
            }
            other => other,
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, StripeError> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.key.as_str())
            .header("Stripe-Version", API_VERSION)
            .send()
            .await;
        read(res).await
    }
}

/// One connection pool for every organization's calls.
fn shared_http() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(TIMEOUT)
                .connect_timeout(Duration::from_secs(5))
                .user_agent(concat!("Hitch/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default()
        })
        .clone()
}

/// Ids come from Stripe or our database, but never let one change the path.
fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

async fn read<T: serde::de::DeserializeOwned>(
    res: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, StripeError> {
    let res = res.map_err(|e| {
        StripeError::Unavailable(if e.is_timeout() {
            "no answer in time".into()
        } else if e.is_connect() {
            "cannot connect".into()
        } else {
            "the connection failed".into()
        })
    })?;
    let status = res.status().as_u16();
    let bytes = res
        .bytes()
        .await
        .map_err(|_| StripeError::Unavailable("the answer was cut off".into()))?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&bytes)
            .map_err(|e| StripeError::Protocol(format!("unreadable response: {e}")));
    }
    let err = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("error").cloned())
        .unwrap_or(Value::Null);
    let text = |k: &str| err.get(k).and_then(Value::as_str).map(str::to_owned);
    let message = text("message").unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        401 | 403 => Err(StripeError::Auth(message)),
        429 | 500..=599 => Err(StripeError::Unavailable(message)),
        _ => Err(StripeError::Refused {
            status,
            kind: text("type").unwrap_or_else(|| "api_error".into()),
            code: text("code"),
            param: text("param"),
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_form_uses_stripes_bracketed_names_and_minor_units() {
        let req = CheckoutRequest {
            amount_minor: 12_50,
            currency: "EUR",
            product_name: "Invoice INV-0007",
            success_url: "https://x.test/ok?session_id={CHECKOUT_SESSION_ID}",
            cancel_url: "https://x.test/cancel",
            expires_at: 1_800_000_000,
            client_reference_id: "pl_1",
            customer_email: None,
            metadata: &[("hitch_link_id", "pl_1")],
        };
        let form = req.form();
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("mode"), Some("payment"));
        assert_eq!(get("line_items[0][price_data][currency]"), Some("eur"));
        assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("1250"));
        assert_eq!(get("line_items[0][quantity]"), Some("1"));
        assert_eq!(get("metadata[hitch_link_id]"), Some("pl_1"));
        assert_eq!(
            get("payment_intent_data[metadata][hitch_link_id]"),
            Some("pl_1")
        );
        assert_eq!(get("customer_email"), None);
    }
}
