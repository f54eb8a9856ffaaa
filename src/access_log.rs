//! The access log's lines, in the log's own format, gathered per worker
//! thread and handed to the log writer a batch at a time: through the
//! usual event path each line cost about a fifth of a `hello` request's
//! time. A batch goes when it reaches `BATCH` bytes and at every `flush`
//! (the worker calls it every `FLUSH_EVERY`, and when it stops). Lines
//! for a terminal, or before `init`, take the usual path (with colours).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use tracing_appender::non_blocking::NonBlocking;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

/// Bytes of lines gathered before they are handed over.
const BATCH: usize = 16 * 1024;
/// How often a worker hands over what it has gathered.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

static WRITER: OnceLock<NonBlocking> = OnceLock::new();

thread_local! {
    static GATHERED: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Batches go to `writer` from now on, unless it writes to a terminal.
pub fn init(writer: NonBlocking, terminal: bool) {
    if !terminal {
        let _ = WRITER.set(writer);
    }
}

/// Logs one access line (`message` has no line break).
pub fn line(message: std::fmt::Arguments<'_>) {
    if WRITER.get().is_none() {
        tracing::info!(target: "access", "{message}");
        return;
    }
    let full = GATHERED.with_borrow_mut(|lines| {
        append(lines, message);
        lines.len() >= BATCH
    });
    if full {
        flush();
    }
}

/// Hands over the lines this thread has gathered.
pub fn flush() {
    let lines = GATHERED.with_borrow_mut(std::mem::take);
    if let (false, Some(writer)) = (lines.is_empty(), WRITER.get()) {
        let _ = writer.clone().write_all(lines.as_bytes());
    }
}

/// One line as the log writes its events: its own timestamp, the level
/// and the target.
fn append(lines: &mut String, message: std::fmt::Arguments<'_>) {
    let _ = SystemTime.format_time(&mut Writer::new(lines));
    let _ = writeln!(lines, "  INFO access: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_look_like_the_other_log_lines() {
        let mut lines = String::new();
        append(&mut lines, format_args!("GET /a 200 2 0.100ms"));
        append(&mut lines, format_args!("GET /b 404 9 0.200ms"));
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(lines.len(), 2);
        // 2026-12-02T04:05:06.123456Z  INFO access: GET /a 200 2 0.100ms
        let (stamp, rest) = lines[0].split_at(27);
        assert_eq!(rest, "  INFO access: GET /a 200 2 0.100ms");
        assert_eq!(
            (&stamp[4..5], &stamp[10..11], &stamp[26..]),
            ("-", "T", "Z")
        );
        assert!(lines[1].ends_with("  INFO access: GET /b 404 9 0.200ms"));
    }
}
