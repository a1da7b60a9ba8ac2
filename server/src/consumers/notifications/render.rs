//! Templates rendered with minijinja, strictly: an unknown variable is an error at save
//! time (with its line and column), never a blank in a sent message. Values are escaped
//! for the channel they go to (HTML for email, mrkdwn for Slack, markdown and mentions
//! for Discord, nothing for SMS and plain text); the template's own text is trusted.
use std::fmt::Write as _;
use std::sync::{LazyLock, RwLock};

use app::model::money::format_amount;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};
use serde_json::Value;

use super::variables::{self, Var};
use crate::platform::clock::tz_named;

/// How values are escaped in a rendered text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Escape {
    /// Plain text: SMS, the text part of an email, a Slack header.
    Plain,
    Html,
    /// Slack mrkdwn: `&`, `<`, `>` as entities.
    Slack,
    /// Discord markdown: formatting characters escaped, `@` unable to mention.
    Discord,
}

/// How a family's subject and body are escaped (an email's HTML part is rendered
/// separately with [`Escape::Html`]).
pub fn escapes(family: &str) -> (Escape, Escape) {
    match family {
        "slack" => (Escape::Plain, Escape::Slack),
        "discord" => (Escape::Discord, Escape::Discord),
        _ => (Escape::Plain, Escape::Plain),
    }
}

const ESCAPES: [Escape; 4] = [Escape::Plain, Escape::Html, Escape::Slack, Escape::Discord];

/// Bounds one render's work (loops, filters) so a template cannot spin a worker.
const FUEL: u64 = 200_000;
/// Compiled templates kept before the cache starts over.
const MAX_CACHED: usize = 4096;

/// A template that does not compile or uses what the catalog does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

struct Engine {
    env: Environment<'static>,
    count: usize,
}

/// One engine per escape, each caching compiled templates by their source.
static ENGINES: LazyLock<Vec<RwLock<Engine>>> = LazyLock::new(|| {
    ESCAPES
        .iter()
        .map(|e| {
            RwLock::new(Engine {
                env: environment(*e),
                count: 0,
            })
        })
        .collect()
});

fn environment(escape: Escape) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_formatter(move |out, _state, value| {
        if value.is_safe() {
            return out
                .write_str(value.as_str().unwrap_or_default())
                .map_err(Error::from);
        }
        let text = if value.is_none() || value.is_undefined() {
            String::new()
        } else {
            value.to_string()
        };
        out.write_str(&escape_text(escape, &text))
            .map_err(Error::from)
    });
    env.add_filter("datetime", |s: &State, v: String| {
        at_local(s, &v, "%a %-d %b %Y, %H:%M")
    });
    env.add_filter("date", |s: &State, v: String| {
        // A plain date (an invoice's due date) has no time zone to move through.
        if let Ok(d) = chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
            return Ok(d.format("%a %-d %b %Y").to_string());
        }
        at_local(s, &v, "%a %-d %b %Y")
    });
    env.add_filter("time", |s: &State, v: String| at_local(s, &v, "%H:%M"));
    env.add_filter("money", |s: &State, v: i64, currency: Option<String>| {
        let currency = currency.unwrap_or_else(|| org_attr(s, "currency"));
        Ok::<_, Error>(format_amount(v, &currency))
    });
    env
}

fn org_attr(state: &State, attr: &str) -> String {
    state
        .lookup("org")
        .and_then(|o| o.get_attr(attr).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn at_local(state: &State, v: &str, format: &str) -> Result<String, Error> {
    if v.is_empty() {
        return Ok(String::new());
    }
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(v)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("`{v}` is not a time")))?
        .with_timezone(&Utc);
    let tz: Tz = tz_named(&org_attr(state, "time_zone"));
    Ok(at.with_timezone(&tz).format(format).to_string())
}

/// Escapes a value for where it is shown.
pub fn escape_text(escape: Escape, text: &str) -> String {
    match escape {
        Escape::Plain => text.to_string(),
        Escape::Html => {
            let mut out = String::with_capacity(text.len());
            for c in text.chars() {
                match c {
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '&' => out.push_str("&amp;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#x27;"),
                    c => out.push(c),
                }
            }
            out
        }
        Escape::Slack => text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
        Escape::Discord => {
            let mut out = String::with_capacity(text.len());
            for c in text.chars() {
                match c {
                    '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '[' | ']' | '-' => {
                        out.push('\\');
                        out.push(c);
                    }
                    // A zero-width space after `@`: no `@everyone`, no `@here`, even shown.
                    '@' => out.push_str("@\u{200b}"),
                    c => out.push(c),
                }
            }
            out
        }
    }
}

/// The cache name of a source: its SHA-256, so two organizations' templates can never
/// share a compiled entry.
fn key(source: &str) -> String {
    crate::platform::hash::sha256_hex(source)
}

/// Renders `source` with `ctx`, compiling it once per process.
pub fn render(escape: Escape, source: &str, ctx: &Value) -> Result<String, Error> {
    let Some(engine) = ESCAPES
        .iter()
        .position(|e| *e == escape)
        .map(|i| &ENGINES[i])
    else {
        return Err(Error::new(ErrorKind::InvalidOperation, "no such escape"));
    };
    let name = key(source);
    {
        let e = engine.read().map_err(|_| poisoned())?;
        if let Ok(t) = e.env.get_template(&name) {
            return t.render(ctx);
        }
    }
    let mut e = engine.write().map_err(|_| poisoned())?;
    if e.count >= MAX_CACHED {
        e.env = environment(escape);
        e.count = 0;
    }
    e.env.add_template_owned(name.clone(), source.to_string())?;
    e.count += 1;
    e.env.get_template(&name)?.render(ctx)
}

fn poisoned() -> Error {
    Error::new(ErrorKind::InvalidOperation, "template cache unavailable")
}

/// Renders once without caching: previews of sources nobody saved.
pub fn render_once(escape: Escape, source: &str, ctx: &Value) -> Result<String, Error> {
    let env = environment(escape);
    let t = env.template_from_str(source)?;
    t.render(ctx)
}

/// Builtins a template may name without them being variables.
const GLOBALS: [&str; 6] = ["range", "dict", "namespace", "loop", "debug", "cycler"];

/// Checks a template against the catalog of its event type: it compiles, names only
/// known variables, and renders with the sample context.
pub fn check(source: &str, event_type: &str) -> Result<(), TemplateError> {
    let env = environment(Escape::Plain);
    let t = env
        .template_from_str(source)
        .map_err(|e| located(source, &e))?;
    let catalog: Vec<Var> = variables::catalog(event_type);
    let mut unknown: Vec<String> = t
        .undeclared_variables(true)
        .into_iter()
        .filter(|v| {
            let root = v.split('.').next().unwrap_or_default();
            !GLOBALS.contains(&root) && !variables::known(&catalog, v)
        })
        .collect();
    unknown.sort();
    if let Some(v) = unknown.first() {
        let (line, column) = position_of(source, v);
        // The nearest known name (fewest edits): most likely what was meant.
        let hint = catalog
            .iter()
            .map(|(n, _, _)| *n)
            .min_by_key(|n| edits(n, v))
            .filter(|n| edits(n, v) <= v.len() / 2)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        return Err(TemplateError {
            line,
            column,
            message: format!("unknown variable `{v}`{hint}"),
        });
    }
    t.render(variables::sample(event_type))
        .map(|_| ())
        .map_err(|e| located(source, &e))
}

/// Levenshtein distance, for suggesting the variable that was meant.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn located(source: &str, e: &Error) -> TemplateError {
    let (line, column) = match e.range() {
        Some(r) => line_col(source, r.start),
        None => (e.line().unwrap_or(1), 1),
    };
    let mut message = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_string);
    if message.is_empty() {
        message = e.kind().to_string();
    }
    TemplateError {
        line,
        column,
        message,
    }
}

fn line_col(source: &str, byte: usize) -> (usize, usize) {
    let before = &source[..source.floor_char_boundary(byte.min(source.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where an unknown variable first appears.
fn position_of(source: &str, path: &str) -> (usize, usize) {
    let last = path.rsplit('.').next().unwrap_or(path);
    let at = source
        .find(path)
        .or_else(|| source.find(&format!(".{last}")).map(|i| i + 1))
        .or_else(|| source.find(last))
        .unwrap_or(0);
    line_col(source, at)
}

/// The HTML part of an email: the body rendered with HTML escaping, paragraphs from
/// blank lines, links made clickable, in a small layout that mail clients show well.
pub fn email_html(escaped_body: &str, title: &str) -> String {
    let mut html = String::new();
    for para in escaped_body
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let _ = write!(
            html,
            "<p style=\"margin:0 0 16px\">{}</p>",
            linkify(para).replace('\n', "<br>")
        );
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"margin:0;background:#f8fafc;font-family:-apple-system,Segoe UI,Roboto,sans-serif;color:#0f172a\">\
         <div style=\"max-width:560px;margin:0 auto;padding:24px;background:#ffffff;line-height:1.5\">{html}</div></body></html>",
        escape_text(Escape::Html, title)
    )
}

/// Wraps `http(s)://…` runs of an already escaped text in links.
fn linkify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("http") {
        let tail = &rest[i..];
        if !(tail.starts_with("https://") || tail.starts_with("http://")) {
            out.push_str(&rest[..i + 4]);
            rest = &rest[i + 4..];
            continue;
        }
        out.push_str(&rest[..i]);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '<' || c == '"')
            .unwrap_or(tail.len());
        let url = &tail[..end];
        let _ = write!(out, "<a href=\"{url}\" style=\"color:#4338ca\">{url}</a>");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Shared read access for the benchmark and tests: how many templates are compiled.
pub fn cached() -> usize {
    ENGINES
        .iter()
        .filter_map(|e| e.read().ok().map(|e| e.count))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Value {
        let mut c = variables::sample("booking.created");
        c["guest"]["name"] = json!("<script>alert(1)</script> @everyone *bold* & co");
        c
    }

    #[test]
    fn values_are_escaped_for_each_channel_and_template_text_is_not() {
        let src = "Hi <b>{{ guest.name }}</b>";
        assert_eq!(
            render(Escape::Html, src, &ctx()).unwrap(),
            "Hi <b>&lt;script&gt;alert(1)&lt;/script&gt; @everyone *bold* &amp; co</b>"
        );
        assert_eq!(
            render(Escape::Slack, src, &ctx()).unwrap(),
            "Hi <b>&lt;script&gt;alert(1)&lt;/script&gt; @everyone *bold* &amp; co</b>"
        );
        let d = render(Escape::Discord, "{{ guest.name }}", &ctx()).unwrap();
        assert!(d.contains("@\u{200b}everyone"), "{d}");
        assert!(d.contains("\\*bold\\*"), "{d}");
        assert!(!d.contains("@everyone"));
        assert_eq!(
            render(Escape::Plain, "{{ guest.name }}", &ctx()).unwrap(),
            "<script>alert(1)</script> @everyone *bold* & co"
        );
    }

    #[test]
    fn filters_use_the_organization_time_zone_and_currency() {
        let mut c = variables::sample("booking.created");
        c["org"]["time_zone"] = json!("America/New_York");
        c["org"]["currency"] = json!("USD");
        let out = render(
            Escape::Plain,
            "{{ booking.starts_at|datetime }} | {{ booking.starts_at|time }} | {{ booking.deposit_minor|money }} | {{ 12800|money('EUR') }}",
            &c,
        )
        .unwrap();
        assert_eq!(out, "Thu 24 Dec 2026, 13:00 | 13:00 | $20.00 | €128.00");
    }

    #[test]
    fn unknown_variables_are_refused_with_their_position() {
        let err = check("Hello\n  {{ guest.nmae }}", "booking.created").unwrap_err();
        assert_eq!((err.line, err.column), (2, 6), "{err}");
        assert!(err.message.contains("guest.nmae"), "{err}");
        // Even inside a branch the sample data never takes.
        let err = check(
            "{% if false %}{{ invoice.number }}{% endif %}",
            "booking.created",
        )
        .unwrap_err();
        assert!(err.message.contains("invoice.number"), "{err}");
        assert_eq!(
            check(
                "{{ guest.name }} {% for i in range(2) %}{{ loop.index }}{% endfor %}",
                "booking.created"
            ),
            Ok(())
        );
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let err = check("ok\n{% if guest.name %}\nno end", "booking.created").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("end of block"), "{err}");
        let err = check("{{ guest.name|nosuchfilter }}", "booking.created").unwrap_err();
        assert!(
            err.message.contains("nosuchfilter") || err.message.contains("unknown filter"),
            "{err}"
        );
    }

    #[test]
    fn a_runaway_loop_runs_out_of_fuel() {
        let src =
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";
        assert!(render_once(Escape::Plain, src, &ctx()).is_err());
    }

    #[test]
    fn email_html_makes_paragraphs_and_links() {
        let html = email_html(
            "Hello &amp; welcome\n\nManage: https://h.example/manage/abc\nBye",
            "T",
        );
        assert!(html.contains("<p style=\"margin:0 0 16px\">Hello &amp; welcome</p>"));
        assert!(html.contains("<a href=\"https://h.example/manage/abc\""));
        assert!(html.contains("<br>Bye"));
    }
}
