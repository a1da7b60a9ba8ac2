//! Signs visitors in before the dashboard renders. A signed-out GET of a dashboard page
//! is answered with a redirect to `/login?next=…` by the server itself, so no page
//! markup (or flash of it) ever reaches a signed-out browser, with or without
//! JavaScript. The user found here is kept in the request, so every server function the
//! page renders reuses it instead of reading the session and the user again.
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sea_orm::DatabaseConnection;

use crate::services::auth;

use crate::services::auth::SignedIn;

/// Pages anyone may open: sign-in, the guest portal and the pages Stripe sends payers back to.
fn is_public(path: &str) -> bool {
    path == "/login" || path.starts_with("/manage/") || path.starts_with("/payment/")
}

/// Only page loads are guarded: server functions and the REST API answer 401 themselves.
fn is_page_load(req: &Request) -> bool {
    req.method() == Method::GET
        && !req.uri().path().starts_with("/rpc/")
        && !req.uri().path().starts_with("/api/")
}

pub async fn require_sign_in(
    axum::extract::State(db): axum::extract::State<DatabaseConnection>,
    mut req: Request,
    next: Next,
) -> Response {
    if !is_page_load(&req) || is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    match auth::session_user(&db, &parts).await {
        Ok(Some(user)) => {
            parts.extensions.insert(SignedIn(user));
            req = Request::from_parts(parts, body);
            next.run(req).await
        }
        Ok(None) => Redirect::to(&login_url(&parts.uri)).into_response(),
        // A broken session store must not lock people out of an error page either;
        // the page's own server functions report the failure.
        Err(e) => {
            tracing::warn!(error = %e, "could not read the session");
            next.run(Request::from_parts(parts, body)).await
        }
    }
}

/// `/login?next=/invoices/new%3Fclient%3D…`: back to the page asked for after sign-in.
fn login_url(uri: &axum::http::Uri) -> String {
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if target == "/" {
        return "/login".into();
    }
    let mut url = String::from("/login?");
    url.push_str(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", target)
            .finish(),
    );
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_url_carries_the_page_asked_for() {
        let uri: axum::http::Uri = "/invoices/new?client=c1&x=a%20b".parse().unwrap();
        assert_eq!(
            login_url(&uri),
            "/login?next=%2Finvoices%2Fnew%3Fclient%3Dc1%26x%3Da%2520b"
        );
        assert_eq!(login_url(&"/".parse().unwrap()), "/login");
    }

    #[test]
    fn only_the_login_page_and_the_guest_portal_are_public() {
        assert!(is_public("/login"));
        assert!(is_public("/manage/abc"));
        assert!(!is_public("/bookings"));
        assert!(!is_public("/login/../bookings"));
    }
}
