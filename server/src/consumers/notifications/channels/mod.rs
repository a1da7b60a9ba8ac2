//! One client per provider, each taking its base URL (or the webhook URL the user
//! pasted) so tests point it at a fake. A client turns the provider's answer into an
//! [`Outcome`]: sent, retry later (with the provider's own delay), failed for this
//! message, or the channel is broken (stop, tell the admins).
pub mod discord;
pub mod email;
pub mod slack;
pub mod twilio;

use std::time::Duration;

use crate::platform::outbound::redact_urls;

/// Provider answers are kept up to this size in the log.
pub const MAX_RESPONSE: usize = 4096;

/// What one message says, rendered for its channel.
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub event_type: String,
    /// Email subject, Slack header, Discord title.
    pub subject: String,
    /// Text escaped for the channel (mrkdwn, Discord markdown, plain).
    pub body: String,
    /// Email only.
    pub html: Option<String>,
    /// Email only: the booking's calendar entry and its METHOD (`REQUEST`, `CANCEL`).
    pub ics: Option<(String, &'static str)>,
    pub org_name: String,
    /// A link into the dashboard for the record it is about.
    pub dashboard_url: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Sent,
    /// Try again later (network, 429, 5xx).
    Retry,
    /// The provider refused this message; another may pass (a bad phone number).
    Failed,
    /// The channel itself is gone or refuses our credentials: stop using it.
    Broken,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub status: Option<u16>,
    pub response: Option<String>,
    pub error: Option<String>,
    /// The provider's own delay before a retry (`Retry-After`, Discord's `retry_after`).
    pub retry_after: Option<Duration>,
    /// The provider asks for a pause before the next message on this channel.
    pub hold: Option<Duration>,
}

impl Outcome {
    pub fn sent(status: Option<u16>, response: Option<String>) -> Outcome {
        Outcome {
            verdict: Verdict::Sent,
            status,
            response,
            error: None,
            retry_after: None,
            hold: None,
        }
    }

    pub fn failed(
        verdict: Verdict,
        status: Option<u16>,
        response: Option<String>,
        error: String,
    ) -> Outcome {
        Outcome {
            verdict,
            status,
            response,
            error: Some(redact_urls(&error)),
            retry_after: None,
            hold: None,
        }
    }
}

/// A network failure, named without the URL (a Slack or Discord URL is a credential).
pub fn network_error(e: &reqwest::Error) -> Outcome {
    let mut chain = String::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if !chain.is_empty() {
            chain.push_str(": ");
        }
        chain.push_str(&s.to_string());
        src = s.source();
    }
    let blocked = chain.contains("not allowed") || chain.contains("blocked");
    let what = if e.is_timeout() {
        "timed out"
    } else {
        "could not connect"
    };
    Outcome::failed(
        if blocked {
            Verdict::Failed
        } else {
            Verdict::Retry
        },
        None,
        None,
        format!("{what}: {chain}"),
    )
}

/// `Retry-After` in seconds (the HTTP-date form is rare from these providers).
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
}

/// Reads at most [`MAX_RESPONSE`] bytes of an answer.
pub async fn read_body(mut resp: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        buf.extend_from_slice(&chunk);
        if buf.len() >= MAX_RESPONSE {
            buf.truncate(MAX_RESPONSE);
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Cuts `text` to at most `max` characters without splitting a character or an
/// escape entity (`&amp;`), ending with `…` when something was cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    if let Some(amp) = out.rfind('&')
        && !out[amp..].contains(';')
        && out.len() - amp <= 5
    {
        out.truncate(amp);
    }
    // A dangling backslash would escape the ellipsis in Discord markdown.
    while out.ends_with('\\') {
        out.pop();
    }
    out.push('…');
    out
}

/// How a status code reads for HTTP providers without their own rules.
pub fn judge_status(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Sent,
        401 | 403 | 404 | 410 => Verdict::Broken,
        408 | 409 | 425 | 429 | 500..=599 => Verdict::Retry,
        _ => Verdict::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_characters_and_entities_whole() {
        assert_eq!(cut("héllo", 10), "héllo");
        assert_eq!(cut("ééééé", 3), "éé…");
        assert_eq!(cut("ab&amp;cd", 5), "ab…");
        assert_eq!(cut("a\\*b", 3), "a…");
        let long = "€".repeat(5000);
        let c = cut(&long, 3000);
        assert_eq!(c.chars().count(), 3000);
        assert!(c.ends_with('…'));
    }
}
