//! Guests (clients) of the business.
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldError};
use crate::model::text;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
}

/// The client form as submitted: raw text, checked by [`ClientInput::validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
}

impl ClientInput {
    /// Trims every field and checks it; all problems are reported at once.
    pub fn validate(&self) -> Result<ClientInput, AppError> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_string();
        let email = self.email.trim().to_lowercase();
        let phone = self.phone.trim().to_string();
        if name.is_empty() {
            errors.push(FieldError::new("name", "Enter the guest's name."));
        } else if name.chars().count() > 120 {
            errors.push(FieldError::new(
                "name",
                "Keep the name under 120 characters.",
            ));
        }
        text::check_line("name", &name, &mut errors);
        if !email.is_empty() && !looks_like_email(&email) {
            errors.push(FieldError::new(
                "email",
                "Enter an email address like name@example.com.",
            ));
        }
        if !phone.is_empty() && !looks_like_phone(&phone) {
            errors.push(FieldError::new(
                "phone",
                "Enter a phone number: digits, spaces, +, - and brackets only.",
            ));
        }
        if errors.is_empty() {
            Ok(ClientInput { name, email, phone })
        } else {
            Err(AppError::Validation { fields: errors })
        }
    }
}

pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && !domain.contains('@')
}

fn looks_like_phone(s: &str) -> bool {
    let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
    (6..=20).contains(&digits)
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_bad_field_at_once() {
        let input = ClientInput {
            name: " ".into(),
            email: "nope".into(),
            phone: "call me".into(),
        };
        let Err(AppError::Validation { fields }) = input.validate() else {
            panic!("expected validation error")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["name", "email", "phone"]);
    }

    #[test]
    fn trims_and_normalises_good_input() {
        let input = ClientInput {
            name: " Ada Lovelace ".into(),
            email: "Ada@Example.org".into(),
            phone: "+44 20 7946 0958".into(),
        };
        let ok = input.validate().expect("valid");
        assert_eq!(ok.name, "Ada Lovelace");
        assert_eq!(ok.email, "ada@example.org");
    }
}
