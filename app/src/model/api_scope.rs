//! What an API key may do. A key for a read-only report cannot change bookings, and a
//! key pasted into Zapier can manage webhooks and REST hooks but read nothing else.
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    /// Everything the REST API offers (what keys made before scopes can do).
    #[default]
    ReadWrite,
    /// GET only, on every resource.
    ReadOnly,
    /// Webhook endpoints and deliveries, REST hook subscriptions and their samples,
    /// events and event types: what Zapier and other automation tools need.
    Webhooks,
}

/// Every scope: (value, label, what it allows).
pub const SCOPES: &[(ApiScope, &str, &str)] = &[
    (
        ApiScope::ReadWrite,
        "Read and write",
        "Everything the REST API offers.",
    ),
    (
        ApiScope::ReadOnly,
        "Read only",
        "Reads everything, changes nothing.",
    ),
    (
        ApiScope::Webhooks,
        "Webhooks only",
        "Webhook endpoints, REST hooks (Zapier), events and event types; nothing else.",
    ),
];

/// API paths a webhooks-only key may use (and everything below them).
const WEBHOOK_PATHS: &[&str] = &[
    "/api/v1/webhook-endpoints",
    "/api/v1/webhook-deliveries",
    "/api/v1/hooks",
    "/api/v1/events",
    "/api/v1/event-types",
];

impl ApiScope {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::ReadWrite => "read_write",
            ApiScope::ReadOnly => "read_only",
            ApiScope::Webhooks => "webhooks",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        SCOPES.iter().map(|(k, _, _)| *k).find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        SCOPES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("", |(_, l, _)| l)
    }

    /// Whether a key of this scope may call `method path`.
    pub fn allows(self, method: &str, path: &str) -> bool {
        match self {
            ApiScope::ReadWrite => true,
            ApiScope::ReadOnly => matches!(method, "GET" | "HEAD"),
            ApiScope::Webhooks => WEBHOOK_PATHS.iter().any(|p| {
                path == *p
                    || path
                        .strip_prefix(p)
                        .is_some_and(|rest| rest.starts_with('/'))
            }),
        }
    }

    /// The scope a refused call needs: read-write, unless webhooks-only would do.
    pub fn needed_for(method: &str, path: &str) -> ApiScope {
        if ApiScope::ReadOnly.allows(method, path) {
            ApiScope::ReadOnly
        } else if ApiScope::Webhooks.allows(method, path) {
            ApiScope::Webhooks
        } else {
            ApiScope::ReadWrite
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_allows_what_it_says_and_nothing_more() {
        use ApiScope::*;
        assert!(ReadWrite.allows("DELETE", "/api/v1/resources/r1"));
        assert!(ReadOnly.allows("GET", "/api/v1/bookings"));
        assert!(!ReadOnly.allows("POST", "/api/v1/bookings"));
        assert!(!ReadOnly.allows("PATCH", "/api/v1/bookings/bk_1"));
        assert!(Webhooks.allows("POST", "/api/v1/hooks"));
        assert!(Webhooks.allows("DELETE", "/api/v1/hooks/h1"));
        assert!(Webhooks.allows("GET", "/api/v1/webhook-endpoints/we_1/deliveries"));
        assert!(Webhooks.allows("GET", "/api/v1/event-types"));
        assert!(!Webhooks.allows("GET", "/api/v1/bookings"));
        assert!(
            !Webhooks.allows("GET", "/api/v1/hooksx"),
            "a prefix is not a path"
        );
        assert!(!Webhooks.allows("GET", "/api/v1/eventsfeed"));
        assert_eq!(ApiScope::needed_for("POST", "/api/v1/bookings"), ReadWrite);
        assert_eq!(ApiScope::needed_for("POST", "/api/v1/hooks"), Webhooks);
        for (s, _, _) in SCOPES {
            assert_eq!(ApiScope::parse(s.as_str()), Some(*s));
        }
        assert_eq!(ApiScope::parse("admin"), None);
    }
}
