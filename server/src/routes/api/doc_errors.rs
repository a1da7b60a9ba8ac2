//! The errors every operation can answer, written into the OpenAPI document once rather
//! than on each handler: the key check (401, 403), the rate limit (429), unreadable
//! input (400) and, where a body is sent, its size, type and validation (413, 415,
//! 422). Every error is `application/problem+json` with the `Problem` schema, so a
//! client generated from the document reads each of them.
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{
    ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Schema, Type,
    schema::ObjectBuilder,
};

pub const PROBLEM_JSON: &str = "application/problem+json";

const ALWAYS: [(&str, &str); 4] = [
    (
        "400",
        "`bad_request` or `invalid_json`: a query, path or body that cannot be read",
    ),
    (
        "401",
        "`unauthenticated`: no API key, or one that is unknown or revoked",
    ),
    (
        "403",
        "`forbidden`: the key's scope does not allow this call (`required_scope` says which does)",
    ),
    (
        "429",
        "`rate_limited`: too many calls for this key; wait for `Retry-After` seconds",
    ),
];

const WITH_BODY: [(&str, &str); 3] = [
    ("413", "`payload_too_large`: the body is over the limit"),
    (
        "415",
        "`unsupported_media_type`: the body must be `Content-Type: application/json`",
    ),
    (
        "422",
        "`validation`: a field is missing or invalid (`errors` lists each one)",
    ),
];

fn problem(description: &str, retry_after: bool) -> Response {
    let mut r = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    if retry_after {
        r = r.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Schema::Object(
                    ObjectBuilder::new().schema_type(Type::Integer).build(),
                ))
                .description(Some("Seconds to wait before calling again."))
                .build(),
        );
    }
    r.build()
}

fn complete(op: &mut Operation, path: &str) {
    let responses = &mut op.responses.responses;
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if (status.starts_with('4') || status.starts_with('5'))
            && let Some(content) = response.content.shift_remove("application/json")
        {
            response.content.insert(PROBLEM_JSON.into(), content);
        }
    }
    let with_body = op.request_body.is_some();
    let with_query = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query));
    let extra = ALWAYS
        .iter()
        .chain(WITH_BODY.iter().filter(|_| with_body))
        .chain(
            [(
                "422",
                "`validation`: a query value is out of range or invalid (`field` says which)",
            )]
            .iter()
            .filter(|_| with_query),
        )
        .chain(
            [("404", "`not_found`: no such id in this organization")]
                .iter()
                .filter(|_| path.contains('{')),
        );
    for (status, description) in extra {
        responses
            .entry((*status).to_string())
            .or_insert_with(|| RefOr::T(problem(description, *status == "429")));
    }
}

/// Adds the shared error answers to every operation of `doc`.
pub fn document(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            complete(op, path);
        }
    }
}
