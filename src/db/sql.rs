//! SQL text: placeholders rewritten for each database, skipping what is
//! quoted or commented out.
//!
//! - Positional `?` is SQLite's own; for PostgreSQL each becomes `$1`,
//!   `$2`, ... (`??` stands for a literal `?`, PostgreSQL's JSON operator).
//! - Named `:name` (only when the parameters are named) becomes `?N` on
//!   SQLite and `$N` on PostgreSQL, in order of first appearance; `::`
//!   casts are left alone.

use super::{DbError, DbResult, Params, System, Value};

/// The statement `sql` as the database takes it, and its parameters in order.
pub fn prepare<'a>(
    sql: &'a str,
    params: &'a Params,
    system: System,
) -> DbResult<(std::borrow::Cow<'a, str>, Vec<&'a Value>)> {
    match params {
        Params::Positional(values) => {
            let sql = match system {
                System::Sqlite => std::borrow::Cow::Borrowed(sql),
                System::Postgres if sql.contains('?') => {
                    std::borrow::Cow::Owned(rewrite(sql, system, &mut Mode::Positional(0))?)
                }
                System::Postgres => std::borrow::Cow::Borrowed(sql),
            };
            Ok((sql, values.iter().collect()))
        }
        Params::Named(pairs) => {
            let mut names = Vec::new();
            let text = rewrite(sql, system, &mut Mode::Named(&mut names))?;
            let mut ordered = Vec::with_capacity(names.len());
            for name in &names {
                let value = pairs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v)
                    .ok_or_else(|| {
                        DbError::usage(format!("no value for the named parameter :{name}"))
                    })?;
                ordered.push(value);
            }
            if let Some((unused, _)) = pairs.iter().find(|(n, _)| !names.contains(n)) {
                return Err(DbError::usage(format!(
                    "the statement has no parameter :{unused}"
                )));
            }
            Ok((std::borrow::Cow::Owned(text), ordered))
        }
    }
}

enum Mode<'a> {
    /// `?` placeholders seen so far.
    Positional(usize),
    /// Names in order of first appearance.
    Named(&'a mut Vec<String>),
}

fn rewrite(sql: &str, system: System, mode: &mut Mode<'_>) -> DbResult<String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut i = 0;
    let mut copied = 0;
    let mark = |n: usize| match system {
        System::Sqlite => format!("?{n}"),
        System::Postgres => format!("${n}"),
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' => {
                // E'...' strings (PostgreSQL) take backslash escapes.
                let escapes = system == System::Postgres
                    && i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !is_word(bytes[i - 2]));
                i = skip_quoted(bytes, i, b'\'', escapes);
            }
            b'"' => i = skip_quoted(bytes, i, b'"', false),
            b'`' if system == System::Sqlite => i = skip_quoted(bytes, i, b'`', false),
            b'[' if system == System::Sqlite => {
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b']')
                    .map_or(bytes.len(), |p| i + p + 1)
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |p| i + p + 1)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |p| i + 2 + p + 2)
            }
            b'$' if system == System::Postgres => i = skip_dollar_quoted(sql, i),
            b'?' => match mode {
                Mode::Positional(count) if system == System::Postgres => {
                    out.push_str(&sql[copied..i]);
                    if bytes.get(i + 1) == Some(&b'?') {
                        out.push('?');
                        i += 2;
                    } else {
                        *count += 1;
                        out.push_str(&mark(*count));
                        i += 1;
                    }
                    copied = i;
                }
                _ => i += 1,
            },
            b':' if bytes.get(i + 1) == Some(&b':') => i += 2,
            b':' if matches!(mode, Mode::Named(_))
                && bytes
                    .get(i + 1)
                    .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
                && (i == 0 || !is_word(bytes[i - 1])) =>
            {
                let start = i + 1;
                let end = start
                    + bytes[start..]
                        .iter()
                        .position(|&b| !is_word(b))
                        .unwrap_or(bytes.len() - start);
                let name = &sql[start..end];
                if let Mode::Named(names) = mode {
                    let n = match names.iter().position(|n| n == name) {
                        Some(at) => at + 1,
                        None => {
                            names.push(name.to_string());
                            names.len()
                        }
                    };
                    out.push_str(&sql[copied..i]);
                    out.push_str(&mark(n));
                }
                i = end;
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    Ok(out)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The index after the quoted text that starts at `start` (a doubled
/// quote stands for itself).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8, escapes: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if escapes && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// PostgreSQL's `$tag$ ... $tag$` strings; a `$1` placeholder is left alone.
fn skip_dollar_quoted(sql: &str, start: usize) -> usize {
    let rest = &sql[start + 1..];
    let tag_len = rest
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(rest.len());
    let tag = &rest[..tag_len];
    if rest.as_bytes().get(tag_len) != Some(&b'$') || tag.starts_with(|c: char| c.is_ascii_digit())
    {
        return start + 1;
    }
    let delimiter = &sql[start..start + tag_len + 2];
    let body = start + tag_len + 2;
    sql[body..]
        .find(delimiter)
        .map_or(sql.len(), |p| body + p + delimiter.len())
}

/// `CREATE … IF NOT EXISTS …`.
pub fn creates_if_not_exists(sql: &str) -> bool {
    leading_keyword(sql).as_deref() == Some("CREATE")
        && sql.to_ascii_uppercase().contains("IF NOT EXISTS")
}

/// The first keyword of a statement, upper-cased (comments skipped).
pub fn leading_keyword(sql: &str) -> Option<String> {
    let mut rest = sql.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    (!word.is_empty()).then(|| word.to_ascii_uppercase())
}

/// `ROLLBACK TO [SAVEPOINT] x` ends no transaction.
pub fn is_rollback_to(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    upper
        .split_whitespace()
        .nth(1)
        .is_some_and(|w| w == "TO" || w.starts_with("TO"))
}

/// A sequence's name as both databases take it: a plain identifier (or
/// `schema.name`), lower-cased the way PostgreSQL folds unquoted names.
pub fn sequence_name(name: &str) -> DbResult<String> {
    let plain = |part: &str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = name.split('.').collect();
    if name.len() > 63 * 2 || parts.len() > 2 || !parts.iter().all(|p| plain(p)) {
        return Err(DbError::usage(format!(
            "{name:?} is not a sequence name: use letters, digits and _ (schema.name allowed)"
        )));
    }
    Ok(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> String {
        let params = Params::Positional(vec![]);
        prepare(sql, &params, System::Postgres)
            .unwrap()
            .0
            .into_owned()
    }

    #[test]
    fn question_marks_become_numbered_outside_quotes_and_comments() {
        assert_eq!(
            pg("SELECT * FROM t WHERE a = ? AND b = ?"),
            "SELECT * FROM t WHERE a = $1 AND b = $2"
        );
        assert_eq!(
            pg("SELECT '?', \"a?\", ? -- ?\n, /* ? */ ?"),
            "SELECT '?', \"a?\", $1 -- ?\n, /* ? */ $2"
        );
        assert_eq!(pg("SELECT 'it''s ?', ?"), "SELECT 'it''s ?', $1");
        assert_eq!(pg("SELECT E'\\' ?', ?"), "SELECT E'\\' ?', $1");
        assert_eq!(pg("SELECT $x$ ? $x$, ?"), "SELECT $x$ ? $x$, $1");
        assert_eq!(pg("SELECT $$ ? $$, ?::int"), "SELECT $$ ? $$, $1::int");
        assert_eq!(pg("SELECT j ?? 'k', ?"), "SELECT j ? 'k', $1");
        assert_eq!(pg("SELECT $1"), "SELECT $1");
    }

    #[test]
    fn named_parameters_are_numbered_in_order_of_appearance() {
        let params = Params::Named(vec![
            ("b".into(), Value::Int(2)),
            ("a".into(), Value::Int(1)),
        ]);
        let (sql, values) = prepare(
            "SELECT :a, :b, :a, ':c', x::text",
            &params,
            System::Postgres,
        )
        .unwrap();
        assert_eq!(sql, "SELECT $1, $2, $1, ':c', x::text");
        assert_eq!(values, vec![&Value::Int(1), &Value::Int(2)]);
        let (sql, _) = prepare("SELECT :a, :b", &params, System::Sqlite).unwrap();
        assert_eq!(sql, "SELECT ?1, ?2");
        let missing = Params::Named(vec![("a".into(), Value::Null)]);
        assert!(prepare("SELECT :a, :b", &missing, System::Sqlite).is_err());
    }

    #[test]
    fn keywords_and_sequence_names() {
        assert_eq!(leading_keyword("  -- x\n begin;").as_deref(), Some("BEGIN"));
        assert_eq!(leading_keyword("/* x */COMMIT").as_deref(), Some("COMMIT"));
        assert!(is_rollback_to("ROLLBACK TO SAVEPOINT a"));
        assert!(!is_rollback_to("ROLLBACK"));
        assert_eq!(sequence_name("MySeq").unwrap(), "myseq");
        assert_eq!(sequence_name("s.q_1").unwrap(), "s.q_1");
        assert!(sequence_name("x; DROP TABLE t").is_err());
        assert!(sequence_name("1x").is_err());
    }
}
