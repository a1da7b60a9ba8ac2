//! Small SQL helpers. The expressions are kept here because sea-query's `ExprTrait` adds `max`/`min` to
//! every type and would clash with `Ord` wherever it is imported.
use sea_orm::sea_query::{Expr, ExprTrait, Func, IntoColumnRef, SimpleExpr};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

/// `col + 1`
pub fn incr(col: impl IntoColumnRef) -> SimpleExpr {
    Expr::col(col).add(1)
}

/// `a < b` for two columns.
pub fn col_lt(a: impl IntoColumnRef, b: impl IntoColumnRef) -> SimpleExpr {
    Expr::col(a).lt(Expr::col(b))
}

/// `LOWER(col) LIKE pattern` (case-insensitive on SQLite and PostgreSQL alike).
pub fn lower_like(col: impl IntoColumnRef, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(col))).like(pattern)
}

/// A statement written with PostgreSQL's `$n` placeholders; SQLite gets `?n`, its
/// numbered form, so one text serves both.
pub fn stmt(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Sqlite {
        sql.replace('$', "?")
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `$1, $2, ...` for a list of `n` values starting at `from`.
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
