//! Email: SMTP with lettre (STARTTLS, implicit TLS, or plain to a local relay) or
//! SendGrid's v3 API. Multipart text + HTML, and the booking's `.ics` attached when
//! there is one. The SMTP host passes the same outbound policy as every webhook: its
//! address is checked, then connected to directly (TLS still verifies the host name).
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;

use super::{Message, Outcome, Verdict, network_error, read_body, retry_after};
use crate::platform::outbound::OutboundPolicy;

pub struct Smtp<'a> {
    pub host: &'a str,
    pub port: Option<u16>,
    /// `starttls`, `tls` or `plain`.
    pub security: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub from: &'a str,
    pub from_name: &'a str,
    /// Extra roots (PEM) to trust besides the public ones.
    pub roots: Option<&'a [u8]>,
}

/// Header text on one line: a template value cannot add a header.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// The MIME message, as SMTP sends it.
pub fn build(
    from: &str,
    from_name: &str,
    to: &[String],
    m: &Message,
) -> Result<lettre::Message, String> {
    let from: Mailbox = format!(
        "{} <{}>",
        one_line(from_name).replace(['<', '>', '"'], ""),
        from
    )
    .parse()
    .or_else(|_| from.parse())
    .map_err(|e| format!("the sender address is not valid: {e}"))?;
    let mut b = lettre::Message::builder()
        .from(from)
        .subject(one_line(&m.subject));
    for addr in to {
        b = b.to(addr
            .parse::<Mailbox>()
            .map_err(|_| "the recipient's email address is not valid".to_string())?);
    }
    let alternative =
        MultiPart::alternative_plain_html(m.body.clone(), m.html.clone().unwrap_or_default());
    let body = match &m.ics {
        Some((ics, method)) => {
            let ct = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                .map_err(|e| e.to_string())?;
            MultiPart::mixed()
                .multipart(alternative)
                .singlepart(Attachment::new("booking.ics".into()).body(ics.clone(), ct))
        }
        None => alternative,
    };
    b.multipart(body).map_err(|e| e.to_string())
}

pub async fn send_smtp(
    policy: &OutboundPolicy,
    s: &Smtp<'_>,
    to: &[String],
    m: &Message,
) -> Outcome {
    let mail = match build(s.from, s.from_name, to, m) {
        Ok(mail) => mail,
        Err(e) => return Outcome::failed(Verdict::Failed, None, None, e),
    };
    let port = s.port.unwrap_or(match s.security {
        "tls" => 465,
        "starttls" => 587,
        _ => 25,
    });
    let found: Vec<SocketAddr> = match tokio::net::lookup_host((s.host, port)).await {
        Ok(a) => a.collect(),
        Err(e) => {
            return Outcome::failed(
                Verdict::Retry,
                None,
                None,
                format!("the SMTP host could not be resolved: {e}"),
            );
        }
    };
    let Some(addr) = found.iter().find(|a| policy.permits(a.ip())) else {
        return Outcome::failed(
            Verdict::Broken,
            None,
            None,
            "the SMTP host is on a network Hitch may not connect to".into(),
        );
    };
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
            .port(port)
            .timeout(Some(Duration::from_secs(20)));
    if s.security != "plain" {
        let mut params = TlsParameters::builder(s.host.to_string());
        if let Some(pem) = s.roots {
            match Certificate::from_pem(pem) {
                Ok(c) => params = params.add_root_certificate(c),
                Err(e) => {
                    return Outcome::failed(
                        Verdict::Broken,
                        None,
                        None,
                        format!("the extra SMTP root certificate is unusable: {e}"),
                    );
                }
            }
        }
        let params = match params.build_rustls() {
            Ok(p) => p,
            Err(e) => {
                return Outcome::failed(
                    Verdict::Broken,
                    None,
                    None,
                    format!("TLS set-up failed: {e}"),
                );
            }
        };
        builder = builder.tls(if s.security == "tls" {
            Tls::Wrapper(params)
        } else {
            Tls::Required(params)
        });
    }
    if !s.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            s.username.to_string(),
            s.password.to_string(),
        ));
    }
    match builder.build().send(mail).await {
        Ok(r) => Outcome::sent(
            Some(u16::from(r.code())),
            Some(r.message().collect::<Vec<_>>().join(" ")),
        ),
        Err(e) => {
            let code = e.status().map(u16::from);
            let verdict = match code {
                // Authentication refused: the channel's credentials are wrong.
                Some(530 | 534 | 535) => Verdict::Broken,
                _ if e.is_permanent() => Verdict::Failed,
                _ => Verdict::Retry,
            };
            Outcome::failed(verdict, code, None, format!("SMTP: {e}"))
        }
    }
}

pub struct SendGrid<'a> {
    pub api_base: &'a str,
    pub api_key: &'a str,
    pub from: &'a str,
    pub from_name: &'a str,
}

/// The v3 `mail/send` body.
pub fn sendgrid_payload(s: &SendGrid<'_>, to: &[String], m: &Message) -> serde_json::Value {
    let mut from = json!({ "email": s.from });
    if !s.from_name.is_empty() {
        from["name"] = json!(one_line(s.from_name));
    }
    let mut content = vec![json!({ "type": "text/plain", "value": m.body })];
    if let Some(html) = &m.html {
        content.push(json!({ "type": "text/html", "value": html }));
    }
    let mut p = json!({
        "personalizations": [{ "to": to.iter().map(|t| json!({ "email": t })).collect::<Vec<_>>() }],
        "from": from,
        "subject": one_line(&m.subject),
        "content": content,
    });
    if let Some((ics, method)) = &m.ics {
        p["attachments"] = json!([{
            "content": base64::engine::general_purpose::STANDARD.encode(ics),
            "type": format!("text/calendar; method={method}"),
            "filename": "booking.ics",
            "disposition": "attachment"
        }]);
    }
    p
}

pub async fn send_sendgrid(
    client: &reqwest::Client,
    s: &SendGrid<'_>,
    to: &[String],
    m: &Message,
) -> Outcome {
    let url = format!("{}/v3/mail/send", s.api_base.trim_end_matches('/'));
    let resp = match client
        .post(url)
        .bearer_auth(s.api_key)
        .json(&sendgrid_payload(s, to, m))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return network_error(&e),
    };
    let status = resp.status().as_u16();
    let after = retry_after(resp.headers());
    let body = read_body(resp).await;
    let verdict = match status {
        400 | 413 => Verdict::Failed,
        s => super::judge_status(s),
    };
    if verdict == Verdict::Sent {
        return Outcome::sent(Some(status), Some(body));
    }
    let mut o = Outcome::failed(
        verdict,
        Some(status),
        Some(body.clone()),
        format!("SendGrid answered {status}: {}", body.trim()),
    );
    o.retry_after = after;
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_in_the_subject_cannot_add_a_header() {
        let m = Message {
            subject: "Hi\r\nBcc: evil@example.com".into(),
            body: "text".into(),
            html: Some("<p>html</p>".into()),
            ..Message::default()
        };
        let mail = build("desk@example.com", "Desk", &["ada@example.com".into()], &m).unwrap();
        let raw = String::from_utf8(mail.formatted()).unwrap();
        assert!(!raw.to_lowercase().contains("\r\nbcc:"), "{raw}");
    }

    #[test]
    fn a_bad_recipient_is_refused_before_sending() {
        let m = Message::default();
        assert!(build("desk@example.com", "", &["not an address".into()], &m).is_err());
    }
}
