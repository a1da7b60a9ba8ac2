//! How secrets look wherever they are shown: the provider prefix and the last four
//! characters (`sk_live_...a1B2`), never enough to use.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "••••".into();
    }
    // A prefix like `sk_live_` or `whsec_` names the kind of key; keep it if short.
    let head: String = chars[..chars.len().min(9)].iter().collect();
    let prefix = head.rfind('_').map_or("", |i| &head[..=i]);
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}...{tail}")
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn keeps_only_prefix_and_last_four() {
        assert_eq!(mask("sk_live_51HxyzABCDEFGa1B2"), "sk_live_...a1B2");
        assert_eq!(
            mask("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "whsec_...LaSw"
        );
        assert_eq!(mask("0123456789abcdefXYZW"), "...XYZW");
        assert_eq!(mask("short"), "••••");
    }
}
