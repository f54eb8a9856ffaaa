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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing_appender::non_blocking::NonBlocking;

/// Bytes of lines gathered before they are handed over.
const BATCH: usize = 16 * 1024;
/// How often a worker hands over what it has gathered.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

static WRITER: OnceLock<NonBlocking> = OnceLock::new();

thread_local! {
    static GATHERED: RefCell<Gathered> = RefCell::default();
}

#[derive(Default)]
struct Gathered {
    lines: String,
    /// The second the cached timestamp prefix is for, and the prefix.
    second: u64,
    prefix: String,
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
    let full = GATHERED.with_borrow_mut(|gathered| {
        gathered.stamp();
        let _ = writeln!(gathered.lines, "  INFO access: {message}");
        gathered.lines.len() >= BATCH
    });
    if full {
        flush();
    }
}

/// Hands over the lines this thread has gathered.
pub fn flush() {
    let lines = GATHERED.with_borrow_mut(|gathered| std::mem::take(&mut gathered.lines));
    if let (false, Some(writer)) = (lines.is_empty(), WRITER.get()) {
        let _ = writer.clone().write_all(lines.as_bytes());
    }
}

impl Gathered {
    /// Appends the time as the log writes it: `2026-12-02T04:05:06.123456Z`.
    fn stamp(&mut self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if now.as_secs() != self.second || self.prefix.is_empty() {
            let at = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            self.second = now.as_secs();
            self.prefix.clear();
            let _ = write!(
                self.prefix,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            );
        }
        self.lines.push_str(&self.prefix);
        let _ = write!(self.lines, ".{:06}Z", now.subsec_micros());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_as_the_log_writer_does() {
        let mut gathered = Gathered::default();
        gathered.stamp();
        let stamp = gathered.lines.clone();
        // 2026-12-02T04:05:06.123456Z
        assert_eq!(stamp.len(), 27, "{stamp}");
        assert_eq!(
            (&stamp[4..5], &stamp[10..11], &stamp[19..20]),
            ("-", "T", ".")
        );
        assert!(stamp.ends_with('Z'));
        let year: i32 = stamp[..4].parse().unwrap();
        assert!(year >= 2024, "{stamp}");
    }
}
