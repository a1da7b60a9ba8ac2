//! The layering rule, checked on the source tree by `cargo test`: each top-level
//! module may import only the modules below it, and a consumer never another consumer.
//!
//! ```text
//! routes ─> services ─> stripe ─┬─> events ─> jobs ─> metrics
//!    └────> consumers/* ────────┘      │        └──> vault ─> db ─> platform
//! ```
//! `services` emit events and never name a consumer; consumers subscribe to events and
//! never name a service. The root files (lib.rs, main.rs, config.rs, ...) compose
//! everything and are not checked.
use std::path::Path;

/// What each layer may import (itself always allowed).
const ALLOWED: &[(&str, &[&str])] = &[
    ("platform", &[]),
    ("db", &["platform"]),
    ("vault", &["db", "platform"]),
    ("metrics", &["platform"]),
    ("jobs", &["db", "platform", "metrics"]),
    ("events", &["jobs", "db", "platform"]),
    (
        "consumers",
        &["events", "jobs", "db", "vault", "platform", "metrics"],
    ),
    ("stripe", &["events", "jobs", "db", "vault", "platform"]),
    (
        "services",
        &["stripe", "events", "jobs", "db", "vault", "platform"],
    ),
];

/// One import that breaks the rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Violation {
    pub file: String,
    pub imports: String,
}

/// The first path segments after every `crate::` in `code`, comments left out:
/// `crate::a::b` gives `a`; `crate::{a::b, c}` gives `a` and `c`. For
/// `crate::consumers::x` the consumer's name comes along as `consumers::x`.
fn imported(code: &str) -> Vec<String> {
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.push(head(item.trim()));
            }
        } else {
            out.push(head(rest));
        }
    }
    out
}

/// `a::b::c` -> `a` (or `consumers::b` for a consumer).
fn head(path: &str) -> String {
    let idents: Vec<&str> = path
        .split("::")
        .take(2)
        .map(|s| {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            &s[..end]
        })
        .collect();
    match idents.as_slice() {
        ["consumers", name, ..] if !name.is_empty() => format!("consumers::{name}"),
        [first, ..] => first.to_string(),
        [] => String::new(),
    }
}

/// Checks one file, named by its path under `src/`.
pub fn check_file(rel: &str, code: &str) -> Vec<Violation> {
    let mut parts = rel.split('/');
    let layer = parts.next().unwrap_or_default().trim_end_matches(".rs");
    let consumer = (layer == "consumers")
        .then(|| parts.next().map(|p| p.trim_end_matches(".rs").to_string()))
        .flatten();
    let Some((_, allowed)) = ALLOWED.iter().find(|(l, _)| *l == layer) else {
        return Vec::new(); // the composition root and routes
    };
    let mut out = Vec::new();
    for target in imported(code) {
        let top = target.split("::").next().unwrap_or_default();
        let ok = match top {
            t if t == layer => match (&consumer, target.split("::").nth(1)) {
                // consumers/mod.rs names them all; a consumer names only itself.
                (Some(me), Some(other)) if me != "mod" => me == other,
                _ => true,
            },
            "self" | "super" | "" => true,
            t => allowed.contains(&t),
        };
        if !ok {
            out.push(Violation {
                file: rel.to_string(),
                imports: target,
            });
        }
    }
    out
}

/// Checks every `.rs` file under `src`.
pub fn check_tree(src: &Path) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(src)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                let code = std::fs::read_to_string(&path).unwrap_or_default();
                out.extend(check_file(&rel, &code));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_follows_the_layers() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let wrong = check_tree(&src);
        assert!(
            wrong.is_empty(),
            "lower layers import upper ones: {wrong:#?}"
        );
    }

    #[test]
    fn no_source_file_is_over_600_lines() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut long = Vec::new();
        let mut stack: Vec<_> = ["server/src", "app/src", "frontend/src", "migrations/src"]
            .iter()
            .map(|d| root.join(d))
            .collect();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let n = std::fs::read_to_string(&path)
                        .unwrap_or_default()
                        .lines()
                        .count();
                    if n > 600 {
                        long.push(format!("{} ({n} lines)", path.display()));
                    }
                }
            }
        }
        assert!(long.is_empty(), "split these by what they do: {long:?}");
    }

    #[test]
    fn a_lower_layer_importing_an_upper_one_is_caught() {
        let wrong = check_file(
            "events/outbox.rs",
            "use crate::consumers::webhooks::fanout;",
        );
        assert_eq!(
            wrong,
            [Violation {
                file: "events/outbox.rs".into(),
                imports: "consumers::webhooks".into()
            }]
        );
        assert_eq!(
            check_file("jobs/runner.rs", "use crate::{db::WriteGate, routes::api};").len(),
            1
        );
        assert_eq!(
            check_file(
                "services/bookings.rs",
                "let s = crate::consumers::webhooks::KIND;"
            )
            .len(),
            1
        );
        assert_eq!(
            check_file("platform/ids.rs", "use crate::db::entities;").len(),
            1
        );
    }

    #[test]
    fn consumers_do_not_name_each_other() {
        let code = "use crate::consumers::webhooks::fanout;";
        assert_eq!(check_file("consumers/notifications/send.rs", code).len(), 1);
        assert!(check_file("consumers/webhooks/deliver.rs", code).is_empty());
        assert!(check_file("consumers/mod.rs", code).is_empty());
    }

    #[test]
    fn comments_and_allowed_imports_pass() {
        let code =
            "// see crate::routes::api\nuse crate::platform::{ids, now_ms};\nuse crate::db::audit;";
        assert!(check_file("services/clients.rs", code).is_empty());
        assert!(check_file("lib.rs", "use crate::routes;").is_empty());
    }
}
