//! How secrets look wherever they are shown: a known provider prefix and the last four
//! characters (`sk_live_...a1B2`), never enough to use or to guess the rest.

/// Prefixes that name the kind of key and are not secret themselves.
const KNOWN_PREFIXES: [&str; 9] = [
    "sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_", "pk_test_", "whsec_", "hk_live_",
    "Bearer ",
];

/// Below this many characters after the prefix, even the last four are hidden: they
/// would be a large share of the value.
const SHOW_TAIL_FROM: usize = 16;

pub fn mask(secret: &str) -> String {
    let prefix = KNOWN_PREFIXES
        .iter()
        .find(|p| secret.starts_with(*p))
        .copied()
        .unwrap_or("");
    let rest: Vec<char> = secret[prefix.len()..].chars().collect();
    if rest.len() < SHOW_TAIL_FROM {
        return format!("{prefix}••••");
    }
    let tail: String = rest[rest.len() - 4..].iter().collect();
    format!("{prefix}...{tail}")
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn keeps_only_a_known_prefix_and_last_four() {
        assert_eq!(mask("sk_live_51HxyzABCDEFGa1B2"), "sk_live_...a1B2");
        assert_eq!(
            mask("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "whsec_...LaSw"
        );
        assert_eq!(mask("0123456789abcdefXYZW"), "...XYZW");
        assert_eq!(mask("short"), "••••");
    }

    #[test]
    fn never_shows_most_of_a_short_value() {
        // An unknown prefix is part of the secret: not shown.
        assert_eq!(mask("abcdefgh_xyz"), "••••");
        assert_eq!(mask("sk_test_abc"), "sk_test_••••");
        assert_eq!(mask("Bearer 0123456789"), "Bearer ••••");
        for s in [
            "token_123456789012345",
            "x".repeat(40).as_str(),
            "ä".repeat(17).as_str(),
        ] {
            let shown = mask(s).chars().filter(|c| *c != '.' && *c != '•').count();
            assert!(shown <= 4, "{s} -> {}", mask(s));
        }
    }
}
