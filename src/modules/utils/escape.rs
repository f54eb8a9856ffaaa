//! `utils/escape` (`Escape`): Commons Lang's `StringEscapeUtils`, which
//! Dirigible calls, translated: it works on UTF-16 units as Java strings
//! do, so surrogate pairs and lone surrogates come out as in Java. No
//! crate escapes the Java way (`\uXXXX` outside ASCII, `\/`, `\'`) or
//! knows exactly the HTML 4.0 entity set, so the tables are here.
//!
//! `null`/`undefined` give `null`, as the Java functions return for a null
//! string. `unescapeJava` (and the JavaScript and JSON variants, which are
//! the same) throw on `\u` without four hex digits, with Java's message.

use boa_engine::{Context, JsNativeError, JsResult, JsString, JsValue};

use crate::modules::registry::{Build, Native};
use crate::modules::Method;

pub const MODULE: Native = Native {
    namespace: "utils",
    name: "escape",
    aliases: &[],
    exports: &["escape", "Escape"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[
    ("escapeCsv", 1, |_, a, c| run(a, c, |s| Ok(escape_csv(s)))),
    ("escapeJavascript", 1, |_, a, c| {
        run(a, c, |s| Ok(escape_java_like(s, ECMASCRIPT, 0x7f)))
    }),
    ("escapeHtml3", 1, |_, a, c| {
        run(a, c, |s| Ok(escape_html(s, false)))
    }),
    ("escapeHtml4", 1, |_, a, c| {
        run(a, c, |s| Ok(escape_html(s, true)))
    }),
    ("escapeJava", 1, |_, a, c| {
        run(a, c, |s| Ok(escape_java_like(s, JAVA, 0x7f)))
    }),
    ("escapeJson", 1, |_, a, c| {
        run(a, c, |s| Ok(escape_java_like(s, JSON, 0x7f)))
    }),
    ("escapeXml", 1, |_, a, c| run(a, c, |s| Ok(escape_xml(s)))),
    ("unescapeCsv", 1, |_, a, c| {
        run(a, c, |s| Ok(unescape_csv(s)))
    }),
    ("unescapeJavascript", 1, |_, a, c| run(a, c, unescape_java)),
    ("unescapeHtml3", 1, |_, a, c| {
        run(a, c, |s| Ok(unescape_entities(s, Entities::Html3)))
    }),
    ("unescapeHtml4", 1, |_, a, c| {
        run(a, c, |s| Ok(unescape_entities(s, Entities::Html4)))
    }),
    ("unescapeJava", 1, |_, a, c| run(a, c, unescape_java)),
    ("unescapeJson", 1, |_, a, c| run(a, c, unescape_java)),
    ("unescapeXml", 1, |_, a, c| {
        run(a, c, |s| Ok(unescape_entities(s, Entities::Xml)))
    }),
];

/// What each escaping puts a backslash before (besides control characters).
const JAVA: &[u8] = b"\"\\";
const ECMASCRIPT: &[u8] = b"'\"\\/";
const JSON: &[u8] = b"\"\\/";

/// Applies `f` to the argument's UTF-16 units (`String(x)` of a non-string).
fn run(
    args: &[JsValue],
    context: &mut Context,
    f: fn(&[u16]) -> Result<Vec<u16>, String>,
) -> JsResult<JsValue> {
    let value = args.first().cloned().unwrap_or_default();
    if value.is_null_or_undefined() {
        return Ok(JsValue::null());
    }
    let units = value.to_string(context)?.to_vec();
    let out = f(&units).map_err(|e| JsNativeError::error().with_message(e))?;
    Ok(JsString::from(out.as_slice()).into())
}

fn push_str(out: &mut Vec<u16>, s: &str) {
    out.extend(s.encode_utf16());
}

fn push_unicode_escape(out: &mut Vec<u16>, unit: u16) {
    push_str(out, &format!("\\u{unit:04X}"));
}

/// Java's, JavaScript's and JSON's escaping: a backslash before each of
/// `quoted`, `\b \n \t \f \r`, and `\uXXXX` (upper-case, UTF-16 units)
/// for the rest below 32 or above `max`.
fn escape_java_like(input: &[u16], quoted: &[u8], max: u16) -> Vec<u16> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 8);
    for &unit in input {
        if unit < 0x80 && quoted.contains(&(unit as u8)) {
            out.push(u16::from(b'\\'));
            out.push(unit);
            continue;
        }
        match unit {
            0x08 => push_str(&mut out, "\\b"),
            0x0A => push_str(&mut out, "\\n"),
            0x09 => push_str(&mut out, "\\t"),
            0x0C => push_str(&mut out, "\\f"),
            0x0D => push_str(&mut out, "\\r"),
            // A surrogate pair is two escapes, as JavaUnicodeEscaper writes.
            u if u < 32 || u > max => push_unicode_escape(&mut out, u),
            u => out.push(u),
        }
    }
    out
}

const CSV_SPECIAL: [u16; 4] = [b',' as u16, b'"' as u16, b'\r' as u16, b'\n' as u16];
const QUOTE: u16 = b'"' as u16;

/// Quoted (inner quotes doubled) when it holds a comma, quote, CR or LF.
fn escape_csv(input: &[u16]) -> Vec<u16> {
    if !input.iter().any(|u| CSV_SPECIAL.contains(u)) {
        return input.to_vec();
    }
    let mut out = vec![QUOTE];
    for &unit in input {
        out.push(unit);
        if unit == QUOTE {
            out.push(QUOTE);
        }
    }
    out.push(QUOTE);
    out
}

/// The quotes removed (and doubled quotes halved) only when the inside
/// needed them; anything else unchanged.
fn unescape_csv(input: &[u16]) -> Vec<u16> {
    let quoted = input.len() >= 2 && input[0] == QUOTE && input[input.len() - 1] == QUOTE;
    let inner = if quoted {
        &input[1..input.len() - 1]
    } else {
        input
    };
    if !quoted || !inner.iter().any(|u| CSV_SPECIAL.contains(u)) {
        return input.to_vec();
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        out.push(inner[i]);
        i += if inner[i] == QUOTE && inner.get(i + 1) == Some(&QUOTE) {
            2
        } else {
            1
        };
    }
    out
}

/// `escapeXml`: the five XML entities, nothing else.
fn escape_xml(input: &[u16]) -> Vec<u16> {
    let mut out = Vec::with_capacity(input.len());
    for &unit in input {
        match basic_entity(unit) {
            Some(name) => push_str(&mut out, name),
            None if unit == u16::from(b'\'') => push_str(&mut out, "&apos;"),
            None => out.push(unit),
        }
    }
    out
}

fn basic_entity(unit: u16) -> Option<&'static str> {
    Some(match unit {
        0x22 => "&quot;",
        0x26 => "&amp;",
        0x3C => "&lt;",
        0x3E => "&gt;",
        _ => return None,
    })
}

/// `escapeHtml3`: the basic entities and Latin-1's; `escapeHtml4` also
/// the rest of HTML 4.0's.
fn escape_html(input: &[u16], html4: bool) -> Vec<u16> {
    let mut out = Vec::with_capacity(input.len());
    for &unit in input {
        if let Some(name) = basic_entity(unit) {
            push_str(&mut out, name);
        } else if (0xA0..=0xFF).contains(&unit) {
            out.push(u16::from(b'&'));
            push_str(&mut out, LATIN1[usize::from(unit - 0xA0)]);
            out.push(u16::from(b';'));
        } else if let Some(&(_, name)) = html4
            .then(|| HTML40.iter().find(|(code, _)| *code == unit))
            .flatten()
        {
            out.push(u16::from(b'&'));
            push_str(&mut out, name);
            out.push(u16::from(b';'));
        } else {
            out.push(unit);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Entities {
    Xml,
    Html3,
    Html4,
}

/// Named entities of the set, then numeric ones (`&#65;`, `&#x41;`, the
/// `;` required); anything else stays as it is.
fn unescape_entities(input: &[u16], set: Entities) -> Vec<u16> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == u16::from(b'&') {
            if let Some((value, used)) =
                named_entity(&input[i..], set).or_else(|| numeric_entity(&input[i..]))
            {
                out.extend_from_slice(&value);
                i += used;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// `&name;` at the start of `at`: its character and the units it spans.
fn named_entity(at: &[u16], set: Entities) -> Option<(Vec<u16>, usize)> {
    let end = at.iter().take(12).position(|&u| u == u16::from(b';'))?;
    let name = String::from_utf16(&at[1..end]).ok()?;
    let unit = match name.as_str() {
        "quot" => 0x22,
        "amp" => 0x26,
        "lt" => 0x3C,
        "gt" => 0x3E,
        "apos" if set == Entities::Xml => 0x27,
        _ if set == Entities::Xml => return None,
        name => match LATIN1.iter().position(|n| *n == name) {
            Some(offset) => 0xA0 + offset as u16,
            None if set == Entities::Html4 => HTML40.iter().find(|(_, n)| *n == name)?.0,
            None => return None,
        },
    };
    Some((vec![unit], end + 1))
}

/// `&#…;` as Commons Lang's NumericEntityUnescaper reads it.
fn numeric_entity(at: &[u16]) -> Option<(Vec<u16>, usize)> {
    if at.len() < 3 || at[1] != u16::from(b'#') {
        return None;
    }
    let hex = at[2] == u16::from(b'x') || at[2] == u16::from(b'X');
    let start = if hex { 3 } else { 2 };
    let digits = at[start..]
        .iter()
        .take_while(|&&u| u < 0x80 && (u as u8).is_ascii_hexdigit())
        .count();
    let end = start + digits;
    if at.get(end) != Some(&u16::from(b';')) {
        return None;
    }
    let text = String::from_utf16(&at[start..end]).ok()?;
    let value = i32::from_str_radix(&text, if hex { 16 } else { 10 }).ok()?;
    let units = match u16::try_from(value) {
        Ok(unit) => vec![unit],
        Err(_) => {
            let c = char::from_u32(u32::try_from(value).ok()?)?;
            let mut pair = [0; 2];
            c.encode_utf16(&mut pair).to_vec()
        }
    };
    Some((units, end + 1))
}

/// `unescapeJava`: octal escapes (`\0`–`\377`), `\uXXXX` (also `\uuXXXX`
/// and `\u+XXXX`), `\b \n \t \f \r \\ \" \'`; a backslash before anything
/// else is dropped.
fn unescape_java(input: &[u16]) -> Result<Vec<u16>, String> {
    let backslash = u16::from(b'\\');
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != backslash || i + 1 == input.len() {
            if input[i] != backslash {
                out.push(input[i]);
            }
            i += 1;
            continue;
        }
        let next = input[i + 1];
        let is_octal = |u: u16| (u16::from(b'0')..=u16::from(b'7')).contains(&u);
        if is_octal(next) {
            let mut len = 1;
            if input.get(i + 2).copied().is_some_and(is_octal) {
                len = 2;
                if next <= u16::from(b'3') && input.get(i + 3).copied().is_some_and(is_octal) {
                    len = 3;
                }
            }
            let value = input[i + 1..i + 1 + len]
                .iter()
                .fold(0u16, |n, &d| n * 8 + (d - u16::from(b'0')));
            out.push(value);
            i += 1 + len;
            continue;
        }
        if next == u16::from(b'u') {
            let mut j = i + 2;
            while input.get(j) == Some(&u16::from(b'u')) {
                j += 1;
            }
            if input.get(j) == Some(&u16::from(b'+')) {
                j += 1;
            }
            let Some(digits) = input.get(j..j + 4) else {
                return Err(format!(
                    "Less than 4 hex digits in unicode value: '{}' due to end of CharSequence",
                    String::from_utf16_lossy(&input[i..])
                ));
            };
            let text = String::from_utf16_lossy(digits);
            let value = u16::from_str_radix(&text, 16)
                .ok()
                .filter(|_| text.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| format!("Unable to parse unicode value: {text}"))?;
            out.push(value);
            i = j + 4;
            continue;
        }
        let replacement = match next as u8 {
            _ if next >= 0x80 => None,
            b'b' => Some(0x08),
            b'n' => Some(0x0A),
            b't' => Some(0x09),
            b'f' => Some(0x0C),
            b'r' => Some(0x0D),
            b'\\' | b'"' | b'\'' => Some(next),
            _ => None,
        };
        match replacement {
            Some(unit) => {
                out.push(unit);
                i += 2;
            }
            // A backslash before anything else is dropped.
            None => i += 1,
        }
    }
    Ok(out)
}

/// HTML 3.2's Latin-1 entities, for U+00A0 to U+00FF in order.
const LATIN1: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

/// The rest of HTML 4.0's character entities (W3C's HTMLsymbol and
/// HTMLspecial sets).
const HTML40: [(u16, &str); 152] = [
    (0x0192, "fnof"),
    (0x0391, "Alpha"),
    (0x0392, "Beta"),
    (0x0393, "Gamma"),
    (0x0394, "Delta"),
    (0x0395, "Epsilon"),
    (0x0396, "Zeta"),
    (0x0397, "Eta"),
    (0x0398, "Theta"),
    (0x0399, "Iota"),
    (0x039A, "Kappa"),
    (0x039B, "Lambda"),
    (0x039C, "Mu"),
    (0x039D, "Nu"),
    (0x039E, "Xi"),
    (0x039F, "Omicron"),
    (0x03A0, "Pi"),
    (0x03A1, "Rho"),
    (0x03A3, "Sigma"),
    (0x03A4, "Tau"),
    (0x03A5, "Upsilon"),
    (0x03A6, "Phi"),
    (0x03A7, "Chi"),
    (0x03A8, "Psi"),
    (0x03A9, "Omega"),
    (0x03B1, "alpha"),
    (0x03B2, "beta"),
    (0x03B3, "gamma"),
    (0x03B4, "delta"),
    (0x03B5, "epsilon"),
    (0x03B6, "zeta"),
    (0x03B7, "eta"),
    (0x03B8, "theta"),
    (0x03B9, "iota"),
    (0x03BA, "kappa"),
    (0x03BB, "lambda"),
    (0x03BC, "mu"),
    (0x03BD, "nu"),
    (0x03BE, "xi"),
    (0x03BF, "omicron"),
    (0x03C0, "pi"),
    (0x03C1, "rho"),
    (0x03C2, "sigmaf"),
    (0x03C3, "sigma"),
    (0x03C4, "tau"),
    (0x03C5, "upsilon"),
    (0x03C6, "phi"),
    (0x03C7, "chi"),
    (0x03C8, "psi"),
    (0x03C9, "omega"),
    (0x03D1, "thetasym"),
    (0x03D2, "upsih"),
    (0x03D6, "piv"),
    (0x2022, "bull"),
    (0x2026, "hellip"),
    (0x2032, "prime"),
    (0x2033, "Prime"),
    (0x203E, "oline"),
    (0x2044, "frasl"),
    (0x2118, "weierp"),
    (0x2111, "image"),
    (0x211C, "real"),
    (0x2122, "trade"),
    (0x2135, "alefsym"),
    (0x2190, "larr"),
    (0x2191, "uarr"),
    (0x2192, "rarr"),
    (0x2193, "darr"),
    (0x2194, "harr"),
    (0x21B5, "crarr"),
    (0x21D0, "lArr"),
    (0x21D1, "uArr"),
    (0x21D2, "rArr"),
    (0x21D3, "dArr"),
    (0x21D4, "hArr"),
    (0x2200, "forall"),
    (0x2202, "part"),
    (0x2203, "exist"),
    (0x2205, "empty"),
    (0x2207, "nabla"),
    (0x2208, "isin"),
    (0x2209, "notin"),
    (0x220B, "ni"),
    (0x220F, "prod"),
    (0x2211, "sum"),
    (0x2212, "minus"),
    (0x2217, "lowast"),
    (0x221A, "radic"),
    (0x221D, "prop"),
    (0x221E, "infin"),
    (0x2220, "ang"),
    (0x2227, "and"),
    (0x2228, "or"),
    (0x2229, "cap"),
    (0x222A, "cup"),
    (0x222B, "int"),
    (0x2234, "there4"),
    (0x223C, "sim"),
    (0x2245, "cong"),
    (0x2248, "asymp"),
    (0x2260, "ne"),
    (0x2261, "equiv"),
    (0x2264, "le"),
    (0x2265, "ge"),
    (0x2282, "sub"),
    (0x2283, "sup"),
    (0x2284, "nsub"),
    (0x2286, "sube"),
    (0x2287, "supe"),
    (0x2295, "oplus"),
    (0x2297, "otimes"),
    (0x22A5, "perp"),
    (0x22C5, "sdot"),
    (0x2308, "lceil"),
    (0x2309, "rceil"),
    (0x230A, "lfloor"),
    (0x230B, "rfloor"),
    (0x2329, "lang"),
    (0x232A, "rang"),
    (0x25CA, "loz"),
    (0x2660, "spades"),
    (0x2663, "clubs"),
    (0x2665, "hearts"),
    (0x2666, "diams"),
    (0x0152, "OElig"),
    (0x0153, "oelig"),
    (0x0160, "Scaron"),
    (0x0161, "scaron"),
    (0x0178, "Yuml"),
    (0x02C6, "circ"),
    (0x02DC, "tilde"),
    (0x2002, "ensp"),
    (0x2003, "emsp"),
    (0x2009, "thinsp"),
    (0x200C, "zwnj"),
    (0x200D, "zwj"),
    (0x200E, "lrm"),
    (0x200F, "rlm"),
    (0x2013, "ndash"),
    (0x2014, "mdash"),
    (0x2018, "lsquo"),
    (0x2019, "rsquo"),
    (0x201A, "sbquo"),
    (0x201C, "ldquo"),
    (0x201D, "rdquo"),
    (0x201E, "bdquo"),
    (0x2020, "dagger"),
    (0x2021, "Dagger"),
    (0x2030, "permil"),
    (0x2039, "lsaquo"),
    (0x203A, "rsaquo"),
    (0x20AC, "euro"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn s(units: Vec<u16>) -> String {
        String::from_utf16(&units).unwrap()
    }

    #[test]
    fn javascript_escaping_matches_the_documentation() {
        let input = u("<script type='text/javascript'>alert('evil script')</script>");
        assert_eq!(
            s(escape_java_like(&input, ECMASCRIPT, 0x7f)),
            r"<script type=\'text\/javascript\'>alert(\'evil script\')<\/script>"
        );
    }

    #[test]
    fn java_escaping_uses_upper_case_utf16_escapes() {
        let java = |t: &str| s(escape_java_like(&u(t), JAVA, 0x7f));
        assert_eq!(
            java("He didn't say, \"Stop!\""),
            r#"He didn't say, \"Stop!\""#
        );
        assert_eq!(
            java("tab\there\n\u{1}é😀/"),
            r"tab\there\n\u0001\u00E9\uD83D\uDE00/"
        );
        assert_eq!(java("\u{7f}"), "\u{7f}");
        let json = |t: &str| s(escape_java_like(&u(t), JSON, 0x7f));
        assert_eq!(json("a/b\"c'"), r#"a\/b\"c'"#);
    }

    #[test]
    fn java_unescaping() {
        let un = |t: &str| s(unescape_java(&u(t)).unwrap());
        assert_eq!(
            un(r"tab\there\n\u0001\u00E9\uD83D\uDE00\/"),
            "tab\there\n\u{1}é😀/"
        );
        assert_eq!(un(r"\101\0\377\400"), "A\0\u{ff}\u{20}0");
        assert_eq!(un(r"\uu0041\u+0042\q\\"), "ABq\\");
        assert_eq!(un(r"end\"), "end", "a last lone backslash is dropped");
        assert!(unescape_java(&u(r"\u12"))
            .unwrap_err()
            .contains("Less than 4 hex digits"));
        assert!(unescape_java(&u(r"\uZZZZ"))
            .unwrap_err()
            .contains("Unable to parse"));
    }

    #[test]
    fn html_escaping_round_trips_the_documented_example() {
        let html = "<script>alert('XSS');</script>";
        let escaped = s(escape_html(&u(html), true));
        assert_eq!(escaped, "&lt;script&gt;alert('XSS');&lt;/script&gt;");
        assert_eq!(s(unescape_entities(&u(&escaped), Entities::Html4)), html);
        assert_eq!(
            s(escape_html(&u("é € \"&"), false)),
            "&eacute; € &quot;&amp;"
        );
        assert_eq!(
            s(escape_html(&u("é € \u{3A9}"), true)),
            "&eacute; &euro; &Omega;"
        );
        assert_eq!(
            s(unescape_entities(
                &u("&lt;Fran&ccedil;ais&gt; &euro; &#65;&#x42;&#X1F600; &zzzz; &#12 &"),
                Entities::Html4
            )),
            "<Français> € AB😀 &zzzz; &#12 &"
        );
        assert_eq!(
            s(unescape_entities(&u("&euro;&eacute;"), Entities::Html3)),
            "&euro;é"
        );
        assert_eq!(
            s(unescape_entities(&u("&apos;&eacute;&#39;"), Entities::Xml)),
            "'&eacute;'"
        );
    }

    #[test]
    fn xml_and_csv() {
        assert_eq!(
            s(escape_xml(&u("<a href=\"x\">'&'</a> é"))),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt; é"
        );
        assert_eq!(s(escape_csv(&u("plain"))), "plain");
        assert_eq!(s(escape_csv(&u("a,\"b\""))), "\"a,\"\"b\"\"\"");
        assert_eq!(s(unescape_csv(&u("\"a,\"\"b\"\"\""))), "a,\"b\"");
        assert_eq!(s(unescape_csv(&u("\"plain\""))), "\"plain\"");
        assert_eq!(s(unescape_csv(&u("\""))), "\"");
    }

    #[test]
    fn the_entity_tables_are_whole() {
        let mut names: Vec<&str> = LATIN1
            .iter()
            .chain(HTML40.iter().map(|(_, n)| n))
            .copied()
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            96 + 152,
            "HTML 4.0 has 252 entities, 4 of them basic"
        );
    }
}
