//! Slack incoming webhooks: Block Kit (header, sections, context, a button), within
//! Slack's limits: 50 blocks, 3,000 characters per section, 150 per header. Values in
//! the text are already mrkdwn-escaped by the template engine.
use serde_json::{Value, json};

use super::{Message, Outcome, Verdict, cut, network_error, read_body, retry_after};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION: usize = 3000;
pub const MAX_HEADER: usize = 150;
/// The `text` fallback shown in notifications.
const MAX_TEXT: usize = 3000;

/// The request body for one message.
pub fn payload(m: &Message) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": cut(&m.subject, MAX_HEADER), "emoji": true }
    })];
    // Room for the header, the context and the button.
    let room = MAX_BLOCKS - 3;
    let mut sections = Vec::new();
    let mut current = String::new();
    for para in m.body.split("\n\n") {
        let add = if current.is_empty() {
            para.to_string()
        } else {
            format!("\n\n{para}")
        };
        if current.chars().count() + add.chars().count() > MAX_SECTION && !current.is_empty() {
            sections.push(std::mem::take(&mut current));
            current = para.to_string();
        } else {
            current.push_str(&add);
        }
        while current.chars().count() > MAX_SECTION {
            let head: String = current.chars().take(MAX_SECTION).collect();
            // Break at the last newline or space in the section, not inside an entity.
            let at = head
                .rfind(['\n', ' '])
                .filter(|i| *i > MAX_SECTION / 2)
                .unwrap_or(head.len());
            let (first, rest) = current.split_at(at);
            let first = cut(first, MAX_SECTION);
            let rest = rest.trim_start().to_string();
            sections.push(first);
            current = rest;
        }
    }
    if !current.trim().is_empty() {
        sections.push(current);
    }
    let total = sections.len();
    for (i, s) in sections.into_iter().enumerate() {
        if i + 1 == room && total > room {
            blocks.push(json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": cut(&format!("{s}\n…"), MAX_SECTION) }
            }));
            break;
        }
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": s } }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": cut(&format!("{} · {}", m.org_name.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"), m.event_type), 300) }]
    }));
    if m.dashboard_url.starts_with("http") {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": "Open in Hitch" },
                "url": m.dashboard_url
            }]
        }));
    }
    json!({ "text": cut(&m.subject, MAX_TEXT), "blocks": blocks })
}

/// Posts to the webhook URL. Slack answers `ok`; 404 `no_service`, 410 `channel_is_archived`
/// and 403 `invalid_token`/`action_prohibited` mean the webhook is gone.
pub async fn send(client: &reqwest::Client, url: &str, m: &Message) -> Outcome {
    let resp = match client.post(url).json(&payload(m)).send().await {
        Ok(r) => r,
        Err(e) => return network_error(&e),
    };
    let status = resp.status().as_u16();
    let after = retry_after(resp.headers());
    let body = read_body(resp).await;
    let verdict = super::judge_status(status);
    if verdict == Verdict::Sent {
        return Outcome::sent(Some(status), Some(body));
    }
    let mut o = Outcome::failed(
        verdict,
        Some(status),
        Some(body.clone()),
        format!("Slack answered {status}: {}", body.trim()),
    );
    o.retry_after = after;
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_body_stays_within_every_limit() {
        let para = "é&amp;".repeat(400);
        let m = Message {
            subject: "ü".repeat(400),
            body: vec![para; 200].join("\n\n"),
            event_type: "booking.created".into(),
            org_name: "Chez <Ada>".into(),
            dashboard_url: "https://h.example/bookings/1".into(),
            ..Message::default()
        };
        let p = payload(&m);
        let blocks = p["blocks"].as_array().unwrap();
        assert!(blocks.len() <= MAX_BLOCKS, "{}", blocks.len());
        assert!(
            p["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= MAX_HEADER
        );
        for b in blocks.iter().filter(|b| b["type"] == "section") {
            let t = b["text"]["text"].as_str().unwrap();
            assert!(t.chars().count() <= MAX_SECTION);
            // No entity cut in half at the end of a section.
            let tail: String = t
                .chars()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            assert!(!tail.contains('&') || tail.contains(';'), "{tail}");
        }
        assert_eq!(blocks.last().unwrap()["type"], "actions");
        assert!(p["blocks"].to_string().contains("Chez &lt;Ada&gt;"));
    }
}
