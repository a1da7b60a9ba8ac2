//! RFC 9457 problem details: every API error is `application/problem+json` with a stable
//! `code`, a human `detail`, and the offending `field` when there is one.
use app::error::{AppError, FieldError};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::ToSchema;

/// An API error on its way out; serialized as [`ProblemBody`].
#[derive(Debug)]
pub struct Problem {
    pub status: u16,
    pub code: &'static str,
    pub detail: String,
    pub field: Option<String>,
    pub errors: Vec<ProblemField>,
    pub retry_after: Option<u32>,
    pub required_scope: Option<&'static str>,
}

/// The wire form of an error (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// A URI naming the problem type; branch on `code`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code: validation, slot_taken, not_found, ...
    pub code: String,
    pub detail: String,
    /// The first offending input field, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every invalid field with its message (validation errors).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// On `forbidden` for an API key: the scope the call needs
    /// (`read_only`, `webhooks` or `read_write`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_scope: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status: status.as_u16(),
            code,
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            retry_after: None,
            required_scope: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Problem {
        let message = message.into();
        let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", &message);
        p.field = Some(field.into());
        p.errors = vec![ProblemField {
            field: field.into(),
            message,
        }];
        p
    }

    pub fn not_found(what: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No {what} with that id."),
        )
    }

    /// Renames fields from the dashboard's form names to the API's (`start_time` ->
    /// `starts_at`).
    pub fn rename_fields(mut self, map: &[(&str, &str)]) -> Problem {
        let rename = |f: &mut String| {
            for (from, to) in map {
                if f == from {
                    *f = to.to_string();
                } else if let Some(rest) = f.strip_suffix(from)
                    && rest.ends_with('.')
                {
                    *f = format!("{rest}{to}");
                }
            }
        };
        if let Some(f) = &mut self.field {
            rename(f);
        }
        for e in &mut self.errors {
            rename(&mut e.field);
        }
        self
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let detail = e.to_string();
        let mut p = Problem::new(status, e.code(), detail);
        match e {
            AppError::Validation { fields } => {
                p.status = StatusCode::UNPROCESSABLE_ENTITY.as_u16();
                p.field = fields.first().map(|f| f.field.clone());
                if let [only] = fields.as_slice() {
                    p.detail = only.message.clone();
                }
                p.errors = fields
                    .into_iter()
                    .map(|FieldError { field, message }| ProblemField { field, message })
                    .collect();
            }
            AppError::SlotTaken { field, .. } => p.field = Some(field),
            _ => {}
        }
        p
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let body = serde_json::to_vec(&ProblemBody {
            kind: format!("https://hitch.example/problems/{}", self.code),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status,
            code: self.code.into(),
            detail: self.detail,
            field: self.field,
            errors: self.errors,
            required_scope: self.required_scope.map(String::from),
        })
        .unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// serde's path to the bad value, from axum's "...target type: party_size: invalid ..."
fn field_of(text: &str) -> Option<String> {
    if let Some(rest) = text.split("unknown field `").nth(1) {
        return rest.split('`').next().map(String::from);
    }
    if let Some(rest) = text.split("missing field `").nth(1) {
        return rest.split('`').next().map(String::from);
    }
    let rest = text.split("target type: ").nth(1)?;
    let (path, _) = rest.split_once(": ")?;
    (!path.contains(' ')).then(|| path.to_string())
}

impl From<JsonRejection> for Problem {
    fn from(r: JsonRejection) -> Problem {
        let text = r.body_text();
        let (status, code) = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            JsonRejection::JsonDataError(_) if text.contains("unknown field") => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_field")
            }
            JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation"),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            _ => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        let mut p = Problem::new(status, code, text.clone());
        p.field = field_of(&text);
        p
    }
}

impl From<QueryRejection> for Problem {
    fn from(r: QueryRejection) -> Problem {
        let text = r.body_text();
        let mut p = Problem::new(StatusCode::BAD_REQUEST, "invalid_query", text.clone());
        p.field = text
            .split("Failed to deserialize query string: ")
            .nth(1)
            .and_then(|t| t.split_once(':').map(|(f, _)| f.to_string()))
            .filter(|f| !f.contains(' '));
        p
    }
}

impl From<PathRejection> for Problem {
    fn from(r: PathRejection) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad_request", r.body_text())
    }
}

/// `Json<T>` whose failures are problems. A NUL character in any string is refused
/// here, for every body at once: no field has a use for it and PostgreSQL cannot store it.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let axum::Json(value) = axum::Json::<Value>::from_request(req, state).await?;
        if let Some(mut path) = nul_in(&value) {
            path.reverse();
            let field = if path.is_empty() {
                "body".to_string()
            } else {
                path.join(".")
            };
            return Err(Problem::invalid(
                &field,
                "Text may not contain the NUL character (\\u0000).",
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let text = format!("Failed to deserialize the JSON body into the target type: {e}");
                let code = if text.contains("unknown field") {
                    "unknown_field"
                } else {
                    "validation"
                };
                let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, text.clone());
                p.field = field_of(&text);
                p
            })
    }
}

/// The path (innermost segment first) of the first string or key holding a NUL.
/// Segments are only made for a hit, so a clean body costs one walk and no allocation.
fn nul_in(value: &Value) -> Option<Vec<String>> {
    let within = |found: Option<Vec<String>>, seg: &dyn Fn() -> String| {
        found.map(|mut path| {
            path.push(seg());
            path
        })
    };
    match value {
        Value::String(s) => s.contains('\0').then(Vec::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| within(nul_in(v), &|| i.to_string())),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(vec!["(key)".to_string()])
            } else {
                within(nul_in(v), &|| k.clone())
            }
        }),
        _ => None,
    }
}

/// `Query<T>` whose failures are problems; a NUL (`%00`) is refused like in a body.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        if let Some(q) = parts.uri.query()
            && let Some(field) = q
                .split('&')
                .find(|pair| pair.contains("%00"))
                .map(|pair| pair.split('=').next().unwrap_or_default().to_string())
        {
            let mut p = Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "Query parameters may not contain the NUL character (%00).",
            );
            p.field = Some(field);
            return Err(p);
        }
        let axum::extract::Query(v) =
            axum::extract::Query::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// `Path<T>` whose failures are problems. No id holds a NUL, so a path with one names
/// nothing (and never reaches the database, which would refuse it).
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        if parts.uri.path().contains("%00") {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Nothing here has that id.",
            ));
        }
        let axum::extract::Path(v) = axum::extract::Path::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}

#[cfg(test)]
mod tests {
    use super::{field_of, nul_in};

    #[test]
    fn a_nul_is_found_wherever_it_hides_and_named_by_its_path() {
        let at = |v: serde_json::Value| {
            nul_in(&v).map(|mut p| {
                p.reverse();
                p.join(".")
            })
        };
        assert_eq!(at(serde_json::json!({"name": "Ann", "notes": "ok"})), None);
        assert_eq!(
            at(serde_json::json!({"notes": "a\u{0}b"})).as_deref(),
            Some("notes")
        );
        assert_eq!(
            at(serde_json::json!({"lines": [{"d": "x"}, {"d": "y\u{0}"}]})).as_deref(),
            Some("lines.1.d")
        );
        assert_eq!(
            at(serde_json::json!({"a\u{0}": 1})).as_deref(),
            Some("(key)")
        );
        assert_eq!(at(serde_json::json!("\u{0}")).as_deref(), Some(""));
    }

    #[test]
    fn finds_the_field_in_serde_messages() {
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: party_size: invalid type: string \"x\", expected u32 at line 1 column 20").as_deref(),
            Some("party_size")
        );
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: unknown field `colour`, expected one of `name`").as_deref(),
            Some("colour")
        );
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 2").as_deref(),
            Some("name")
        );
    }
}
