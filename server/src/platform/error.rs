//! The internal half of errors. [`app::error::AppError`] is what a client sees (stable
//! codes); an [`Internal`] keeps what the operator needs: the cause chain and where it
//! happened. It is logged once, inside the request's span (so with its request id),
//! and the user gets a plain message with a reference to quote.
use std::fmt;
use std::panic::Location;

use app::error::AppError;

use super::ids;

/// A failure that is nobody's input's fault: a database error, a broken invariant.
pub struct Internal {
    cause: anyhow::Error,
    at: &'static Location<'static>,
}

impl Internal {
    #[track_caller]
    pub fn new(cause: impl Into<anyhow::Error>) -> Internal {
        Internal {
            cause: cause.into(),
            at: Location::caller(),
        }
    }

    /// A failure described in words (no error value to carry).
    #[track_caller]
    pub fn msg(what: &'static str) -> Internal {
        Internal {
            cause: anyhow::anyhow!(what),
            at: Location::caller(),
        }
    }

    /// Where it happened, as `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.at.file(), self.at.line())
    }

    /// Logs the cause chain with a new reference and returns the client-facing error.
    pub fn report(self) -> AppError {
        let reference = ids::new("err");
        tracing::error!(
            %reference,
            at = %self.location(),
            error = %format!("{:#}", self.cause),
            "internal error"
        );
        AppError::Internal { reference }
    }
}

impl fmt::Debug for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#} (at {})", self.cause, self.location())
    }
}

impl fmt::Display for Internal {
    /// The whole chain, outermost first: "database: connection reset: broken pipe".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.cause)
    }
}

/// Logs `err` with its chain and where this was called, and hides the details.
#[track_caller]
pub fn internal(err: impl Into<anyhow::Error>) -> AppError {
    Internal::new(err).report()
}

pub trait OrInternal<T> {
    fn or_internal(self) -> Result<T, AppError>;
}

impl<T, E: Into<anyhow::Error>> OrInternal<T> for Result<T, E> {
    #[track_caller]
    fn or_internal(self) -> Result<T, AppError> {
        match self {
            Ok(v) => Ok(v),
            Err(e) => Err(Internal::new(e).report()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not save the booking")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn keeps_the_cause_chain_and_the_place() {
        let e = Internal::new(Outer(std::io::Error::other("disk full")));
        assert_eq!(e.to_string(), "could not save the booking: disk full");
        assert!(
            e.location().starts_with("server/src/platform/error.rs:"),
            "{}",
            e.location()
        );
    }

    #[test]
    fn the_client_sees_only_a_reference() {
        let r: Result<(), _> = Err(Outer(std::io::Error::other("secret path /var/x")));
        match r.or_internal() {
            Err(AppError::Internal { reference }) => assert!(reference.starts_with("err_")),
            other => panic!("expected an internal error, got {other:?}"),
        }
    }
}
