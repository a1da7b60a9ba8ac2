//! Discord webhooks (`?wait=true`): one embed within every documented limit, coloured by
//! event, and `allowed_mentions: {"parse": []}` always, so nothing a guest typed can
//! ping anyone. 401/403/404 stop the channel: Discord bans callers that keep trying.
use std::time::Duration;

use serde_json::{Value, json};

use super::{Message, Outcome, Verdict, cut, network_error, read_body, retry_after};

pub const MAX_TITLE: usize = 256;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_FOOTER: usize = 2048;
/// Across title, description and footer of all embeds.
pub const MAX_EMBED_TOTAL: usize = 6000;

fn colour(event_type: &str) -> u32 {
    match event_type.rsplit('.').next().unwrap_or_default() {
        "cancelled" | "failed" | "broken" | "overdue" | "voided" => 0xDC2626,
        "rescheduled" | "updated" | "reminder" | "refunded" | "deposit_refunded" => 0xD97706,
        "created" | "confirmed" | "paid" | "deposit_paid" => 0x16A34A,
        _ => 0x4F46E5,
    }
}

pub fn payload(m: &Message) -> Value {
    let title = cut(&m.subject, MAX_TITLE);
    let footer = cut(&format!("{} · {}", m.org_name, m.event_type), 200);
    let room = MAX_EMBED_TOTAL - title.chars().count() - footer.chars().count();
    let description = cut(&m.body, MAX_DESCRIPTION.min(room));
    let mut embed = json!({
        "title": title,
        "description": description,
        "color": colour(&m.event_type),
        "footer": { "text": footer },
    });
    if m.dashboard_url.starts_with("http") {
        embed["url"] = json!(m.dashboard_url);
    }
    json!({ "embeds": [embed], "allowed_mentions": { "parse": [] } })
}

fn with_wait(url: &str) -> String {
    if url.contains("wait=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&wait=true")
    } else {
        format!("{url}?wait=true")
    }
}

pub async fn send(client: &reqwest::Client, url: &str, m: &Message) -> Outcome {
    let resp = match client.post(with_wait(url)).json(&payload(m)).send().await {
        Ok(r) => r,
        Err(e) => return network_error(&e),
    };
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = read_body(resp).await;
    // An exhausted bucket: wait for its reset before the next message.
    let hold = (headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        == Some("0"))
    .then(|| {
        headers
            .get("x-ratelimit-reset-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0)))
    })
    .flatten();
    let verdict = super::judge_status(status);
    if verdict == Verdict::Sent {
        let mut o = Outcome::sent(Some(status), Some(body));
        o.hold = hold;
        return o;
    }
    let mut o = Outcome::failed(
        verdict,
        Some(status),
        Some(body.clone()),
        format!("Discord answered {status}: {}", body.trim()),
    );
    o.retry_after = retry_after(&headers).or_else(|| {
        serde_json::from_str::<Value>(&body)
            .ok()?
            .get("retry_after")?
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0)))
    });
    o.hold = hold;
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_and_mentions_are_never_parsed() {
        let m = Message {
            subject: "ß".repeat(1000),
            body: "ж".repeat(10_000),
            event_type: "booking.cancelled".into(),
            org_name: "Org".into(),
            ..Message::default()
        };
        let p = payload(&m);
        let e = &p["embeds"][0];
        let t = e["title"].as_str().unwrap().chars().count();
        let d = e["description"].as_str().unwrap().chars().count();
        let f = e["footer"]["text"].as_str().unwrap().chars().count();
        assert!(t <= MAX_TITLE && d <= MAX_DESCRIPTION && f <= MAX_FOOTER);
        assert!(t + d + f <= MAX_EMBED_TOTAL);
        assert_eq!(p["allowed_mentions"], json!({ "parse": [] }));
        assert_eq!(e["color"], 0xDC2626);
        assert_eq!(
            with_wait("https://d/api/webhooks/1/x"),
            "https://d/api/webhooks/1/x?wait=true"
        );
    }
}
