//! Small SQL expressions. Kept here because sea-query's `ExprTrait` adds `max`/`min` to
//! every type and would clash with `Ord` wherever it is imported.
use sea_orm::sea_query::{Expr, ExprTrait, Func, IntoColumnRef, SimpleExpr};

/// `col + 1`
pub fn incr(col: impl IntoColumnRef) -> SimpleExpr {
    Expr::col(col).add(1)
}

/// `LOWER(col) LIKE pattern` (case-insensitive on SQLite and PostgreSQL alike).
pub fn lower_like(col: impl IntoColumnRef, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(col))).like(pattern)
}
