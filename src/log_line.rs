//! Text from scripts and clients on its way into the log: one line of it.
//! Control characters and Unicode's line and paragraph separators are
//! escaped (a script cannot forge a log line with a newline) and long text
//! is cut.

/// Longest text kept from one message.
const MAX: usize = 16 * 1024;

/// `text` as it may appear inside one log line.
pub fn escape(text: &str) -> String {
    let mut line = String::with_capacity(text.len().min(MAX) + 16);
    for (at, c) in text.char_indices() {
        if at >= MAX {
            line.push_str(&format!("… ({} more bytes)", text.len() - at));
            break;
        }
        match c {
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push('\t'),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                line.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => line.push(c),
        }
    }
    line
}

/// A multi-line text (a stack) below a log line: each of its lines escaped
/// and indented, so none can pass for a log line of its own.
pub fn indented(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {}", escape(line.trim_start())))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_line_breaks_or_controls_get_through() {
        assert_eq!(escape("a\nb\r\u{1b}[31mc\td"), "a\\nb\\r\\u{1b}[31mc\td");
        assert_eq!(escape("a\u{2028}b\u{85}c"), "a\\u{2028}b\\u{85}c");
        let long = "x".repeat(MAX + 10);
        assert!(escape(&long).ends_with("… (10 more bytes)"));
        assert_eq!(
            indented("Error: x\n  at f (a.js:1:2)\nforged 2026 INFO"),
            "    Error: x\n    at f (a.js:1:2)\n    forged 2026 INFO"
        );
    }
}
