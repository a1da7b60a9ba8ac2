//! The client-facing error: serializable, with a stable `code` per variant that the
//! UI, the server-function endpoints and (later) the REST API all share.
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// One invalid input field, named as the form names it (`party_size`, `lines.0.quantity`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    #[error("Please correct the highlighted fields.")]
    Validation { fields: Vec<FieldError> },
    #[error("{detail}")]
    SlotTaken { detail: String, field: String },
    #[error("Someone else changed this {what} in the meantime. Reload to see their change.")]
    StaleRevision { what: String },
    #[error("{detail}")]
    InvalidTransition { detail: String },
    #[error("No {what} with that id.")]
    NotFound { what: String },
    #[error("Please sign in.")]
    Unauthenticated,
    #[error("Wrong email or password.")]
    BadCredentials,
    #[error("Your role ({role}) may not do this.")]
    Forbidden { role: String },
    #[error("The request could not be read: {detail}")]
    BadRequest { detail: String },
    #[error("The request body is larger than {limit_bytes} bytes.")]
    PayloadTooLarge { limit_bytes: u64 },
    #[error("Could not reach the server: {detail}")]
    Network { detail: String },
    /// Too many failed attempts (guessed guest links, wrong passwords).
    #[error("{detail}")]
    #[serde(rename = "rate_limited")]
    TooManyRequests { detail: String },
    /// An integration is not set up yet (e.g. no Stripe keys).
    #[error("{detail}")]
    NotConfigured { detail: String },
    /// A provider (Stripe, Google, …) failed or refused; nothing was saved here.
    #[error("{detail}")]
    #[serde(rename = "provider_error")]
    Provider { provider: String, detail: String },
    #[error("Something went wrong on our side (reference {reference}). Nothing was saved.")]
    Internal { reference: String },
}

impl AppError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            fields: vec![FieldError::new(field, message)],
        }
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound {
            what: what.to_string(),
        }
    }

    /// The stable machine-readable code (the serde tag).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { .. } => "validation",
            AppError::SlotTaken { .. } => "slot_taken",
            AppError::StaleRevision { .. } => "stale_revision",
            AppError::InvalidTransition { .. } => "invalid_transition",
            AppError::NotFound { .. } => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadCredentials => "bad_credentials",
            AppError::Forbidden { .. } => "forbidden",
            AppError::BadRequest { .. } => "bad_request",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::Network { .. } => "network",
            AppError::TooManyRequests { .. } => "rate_limited",
            AppError::NotConfigured { .. } => "not_configured",
            AppError::Provider { .. } => "provider_error",
            AppError::Internal { .. } => "internal",
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation { .. } => 422,
            AppError::SlotTaken { .. }
            | AppError::StaleRevision { .. }
            | AppError::InvalidTransition { .. } => 409,
            AppError::NotFound { .. } => 404,
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden { .. } => 403,
            AppError::BadRequest { .. } => 400,
            AppError::PayloadTooLarge { .. } => 413,
            AppError::Network { .. } => 503,
            AppError::TooManyRequests { .. } => 429,
            AppError::NotConfigured { .. } => 409,
            AppError::Provider { .. } => 502,
            AppError::Internal { .. } => 500,
        }
    }

    /// The message for one form field, if this error names it.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            AppError::Validation { fields } => fields
                .iter()
                .find(|f| f.field == name)
                .map(|f| f.message.clone()),
            AppError::SlotTaken { detail, field } if field == name => Some(detail.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(detail) => AppError::BadRequest { detail },
            ServerFnErrorErr::MissingArg(arg) => AppError::BadRequest {
                detail: format!("missing field `{arg}`"),
            },
            ServerFnErrorErr::Request(detail) => AppError::Network { detail },
            other => AppError::Internal {
                reference: other.to_string(),
            },
        }
    }
}
