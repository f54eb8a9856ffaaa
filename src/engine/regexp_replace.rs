//! `string.replace(regexp, …)` without Boa's generic algorithm when nothing
//! could tell the difference.
//!
//! Boa follows the spec's steps literally: it reads `flags` through eight
//! getters, looks `exec` up and builds a result array for every match, and
//! reads each back by property. An `esc()` of a short string costs about
//! 40,000 instructions that way. When the RegExp is a plain one (the built-in
//! prototype, no own property but `lastIndex`) and the prototype's methods are
//! still the built-in ones, none of those steps can run user code, so the
//! outcome depends only on the pattern, its flags and the string: we match
//! with the same engine (regress, compiled as Boa compiles it) and call the
//! replacer directly. Every other case goes to Boa's own `replace`.

use std::cell::RefCell;
use std::rc::Rc;

use boa_engine::object::builtins::JsRegExp;
use boa_engine::object::FunctionObjectBuilder;
use boa_engine::property::{PropertyDescriptor, PropertyKey};
use boa_engine::{
    js_string, Context, JsNativeError, JsObject, JsResult, JsStr, JsString, JsSymbol, JsValue,
    NativeFunction,
};
use boa_gc::{Finalize, Trace};
use regress::{Flags, Regex};

/// Compiled patterns kept per worker; a script that builds patterns from
/// input cannot grow it beyond this.
const CACHE_LIMIT: usize = 256;

/// Installs the fast `String.prototype.replace` on a fresh Context.
pub fn install(context: &mut Context) -> JsResult<()> {
    let originals = Originals::new(context)?;
    let string_prototype = context.intrinsics().constructors().string().prototype();
    let replace = NativeFunction::from_copy_closure_with_captures(replace, originals);
    let function = FunctionObjectBuilder::new(context.realm(), replace)
        .name(js_string!("replace"))
        .length(2)
        .build();
    string_prototype.define_property_or_throw(
        js_string!("replace"),
        PropertyDescriptor::builder()
            .value(function)
            .writable(true)
            .enumerable(false)
            .configurable(true),
        context,
    )?;
    Ok(())
}

/// A pattern as compiled here, or `None` for one left to Boa.
type Compiled = Option<Rc<Regex>>;

#[derive(Trace, Finalize)]
struct Originals {
    /// Boa's `String.prototype.replace`, for everything not plain.
    replace: JsObject,
    regexp_prototype: JsObject,
    /// The prototype's properties the algorithm reads, as they were at start.
    guarded: Vec<Guarded>,
    unicode_sets: JsObject,
    #[unsafe_ignore_trace] // compiled patterns hold no JavaScript values
    compiled: RefCell<foldhash::HashMap<(String, PatternFlags), Compiled>>,
}

impl Originals {
    /// What a fresh Context holds.
    fn new(context: &mut Context) -> JsResult<Self> {
        let missing = |what: &str| JsNativeError::typ().with_message(format!("{what} missing"));
        let string_prototype = context.intrinsics().constructors().string().prototype();
        let regexp_prototype = context.intrinsics().constructors().regexp().prototype();
        let replace = string_prototype
            .get(js_string!("replace"), context)?
            .as_object()
            .ok_or_else(|| missing("String.prototype.replace"))?;
        let mut guarded = Vec::new();
        for key in guarded_keys() {
            let held = own_property(&regexp_prototype, &key)
                .ok_or_else(|| missing("a RegExp.prototype property"))?;
            guarded.push(Guarded { key, held });
        }
        let unicode_sets = guarded
            .iter()
            .find(|g| g.key == PropertyKey::from(js_string!("unicodeSets")))
            .map(|g| g.held.1.clone())
            .ok_or_else(|| missing("RegExp.prototype.unicodeSets"))?;
        Ok(Originals {
            replace,
            regexp_prototype,
            guarded,
            unicode_sets,
            compiled: RefCell::default(),
        })
    }
}

#[derive(Trace, Finalize)]
struct Guarded {
    #[unsafe_ignore_trace] // a name or a well-known symbol
    key: PropertyKey,
    /// Whether it is an accessor, and its function (value or getter).
    held: (bool, JsObject),
}

fn guarded_keys() -> Vec<PropertyKey> {
    let mut keys: Vec<PropertyKey> = [
        "exec",
        "flags",
        "hasIndices",
        "global",
        "ignoreCase",
        "multiline",
        "dotAll",
        "unicode",
        "unicodeSets",
        "sticky",
    ]
    .into_iter()
    .map(|name| JsString::from(name).into())
    .collect();
    keys.push(JsSymbol::replace().into());
    keys
}

/// An own property holding a function: whether it is an accessor, and the
/// function (its value or getter).
fn own_property(object: &JsObject, key: &PropertyKey) -> Option<(bool, JsObject)> {
    let descriptor = object.borrow().properties().get(key)?;
    let accessor = descriptor.is_accessor_descriptor();
    let function = if accessor {
        descriptor.get()
    } else {
        descriptor.value()
    };
    Some((accessor, function?.as_object()?))
}

fn replace(
    this: &JsValue,
    args: &[JsValue],
    originals: &Originals,
    context: &mut Context,
) -> JsResult<JsValue> {
    if let Some(result) = plain_replace(this, args, originals, context)? {
        return Ok(result);
    }
    originals.replace.call(this, args, context)
}

/// What the replacement is made of, when it is one we handle.
enum Replacer {
    Call(JsObject),
    /// A string without `$`: inserted as it is.
    Text(JsString),
}

/// The replaced string, or `None` when the call is not plain.
fn plain_replace(
    this: &JsValue,
    args: &[JsValue],
    originals: &Originals,
    context: &mut Context,
) -> JsResult<Option<JsValue>> {
    let (Some(subject), Some(regexp)) =
        (this.as_string(), args.first().and_then(JsValue::as_object))
    else {
        return Ok(None);
    };
    let replacer = match args.get(1) {
        Some(value) => match (value.as_callable(), value.as_string()) {
            (Some(function), _) => Replacer::Call(function),
            (None, Some(text)) if !text.contains(b'$') => Replacer::Text(text),
            _ => return Ok(None),
        },
        None => return Ok(None),
    };
    let Some(plain) = plain(&regexp, originals, context)? else {
        return Ok(None);
    };
    let Some(regex) = compiled(&plain, originals, context)? else {
        return Ok(None);
    };

    // A global replace starts by setting `lastIndex` to +0 (and its last
    // `exec` leaves it there): already so, the write would change nothing.
    let at_zero = plain.last_index == 0.0 && plain.last_index.is_sign_positive();
    if plain.global && !at_zero {
        regexp.set(js_string!("lastIndex"), 0, true, context)?;
    }
    let text = subject.to_vec();
    let Some(matches) = find(&regex, &text, plain.global, plain.flags.unicode) else {
        return Ok(None);
    };

    let mut replacements = Vec::with_capacity(matches.len());
    for found in &matches {
        replacements.push(match &replacer {
            Replacer::Text(text) => text.clone(),
            Replacer::Call(function) => {
                let mut arguments = Vec::with_capacity(found.captures.len() + 3);
                arguments.push(subject.get_expect(found.range.clone()).into());
                for capture in &found.captures {
                    arguments.push(match capture {
                        Some(range) => subject.get_expect(range.clone()).into(),
                        None => JsValue::undefined(),
                    });
                }
                arguments.push(found.range.start.into());
                arguments.push(subject.clone().into());
                function
                    .call(&JsValue::undefined(), &arguments, context)?
                    .to_string(context)?
            }
        });
    }

    let whole = subject.as_str();
    let mut pieces: Vec<JsStr<'_>> = Vec::with_capacity(2 * matches.len() + 1);
    let mut next = 0;
    for (found, replacement) in matches.iter().zip(&replacements) {
        pieces.push(whole.get_expect(next..found.range.start));
        pieces.push(replacement.as_str());
        next = found.range.end;
    }
    pieces.push(whole.get_expect(next..));
    Ok(Some(JsString::concat_array(&pieces).into()))
}

/// The flags that shape a compiled pattern.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PatternFlags {
    ignore_case: bool,
    multiline: bool,
    dot_all: bool,
    unicode: bool,
}

/// A RegExp this path handles, and what it reads of it.
struct Plain {
    regexp: JsRegExp,
    global: bool,
    flags: PatternFlags,
    last_index: f64,
}

/// `regexp` when it is plain and uses no flag this path leaves to Boa
/// (`y`, `d`, `v`).
fn plain(
    regexp: &JsObject,
    originals: &Originals,
    context: &mut Context,
) -> JsResult<Option<Plain>> {
    let Ok(plain) = JsRegExp::from_object(regexp.clone()) else {
        return Ok(None);
    };
    let Some(last_index) = plain_last_index(regexp, originals) else {
        return Ok(None);
    };
    if plain.sticky(context)? || plain.has_indices(context)? {
        return Ok(None);
    }
    let unicode_sets = originals
        .unicode_sets
        .call(&regexp.clone().into(), &[], context)?;
    if unicode_sets.to_boolean() {
        return Ok(None);
    }
    Ok(Some(Plain {
        global: plain.global(context)?,
        flags: PatternFlags {
            ignore_case: plain.ignore_case(context)?,
            multiline: plain.multiline(context)?,
            dot_all: plain.dot_all(context)?,
            unicode: plain.unicode(context)?,
        },
        last_index,
        regexp: plain,
    }))
}

/// The RegExp's `lastIndex` when the spec's algorithm would only meet
/// built-in behaviour: the RegExp inherits straight from the built-in
/// prototype, has no own property but a writable numeric `lastIndex`, and
/// the prototype still holds the built-in methods and getters.
fn plain_last_index(regexp: &JsObject, originals: &Originals) -> Option<f64> {
    if regexp.prototype().as_ref() != Some(&originals.regexp_prototype) {
        return None;
    }
    let last_index = {
        let object = regexp.borrow();
        if object.shape().keys().len() != 1 {
            return None;
        }
        let last_index = object.properties().get(&js_string!("lastIndex").into())?;
        if last_index.writable() != Some(true) {
            return None;
        }
        last_index.value()?.as_number()?
    };
    originals
        .guarded
        .iter()
        .all(|guarded| {
            own_property(&originals.regexp_prototype, &guarded.key).is_some_and(
                |(accessor, function)| {
                    accessor == guarded.held.0 && JsObject::equals(&function, &guarded.held.1)
                },
            )
        })
        .then_some(last_index)
}

/// The pattern compiled the way Boa compiles it, from the per-worker cache;
/// `None` for one left to Boa.
fn compiled(plain: &Plain, originals: &Originals, context: &mut Context) -> JsResult<Compiled> {
    // A pattern with a lone surrogate has no `source` as a Rust string.
    let Ok(source) = plain.regexp.source(context) else {
        return Ok(None);
    };
    let flags = plain.flags;
    let key = (source, flags);
    if let Some(regex) = originals.compiled.borrow().get(&key) {
        return Ok(regex.clone());
    }
    let regress_flags = Flags {
        icase: flags.ignore_case,
        multiline: flags.multiline,
        dot_all: flags.dot_all,
        unicode: flags.unicode,
        ..Flags::default()
    };
    let regex = original_pattern(&key.0).and_then(|pattern| {
        let regex = if flags.unicode {
            Regex::from_unicode(pattern.chars().map(u32::from), regress_flags)
        } else {
            Regex::from_unicode(pattern.encode_utf16().map(u32::from), regress_flags)
        };
        regex.ok().map(Rc::new)
    });
    let mut compiled = originals.compiled.borrow_mut();
    if compiled.len() >= CACHE_LIMIT {
        compiled.clear();
    }
    compiled.insert(key, regex.clone());
    Ok(regex)
}

/// The pattern behind Boa's `source`, which puts a `\` before every `/`
/// (even an escaped one: `\/` becomes `\\/`) and writes line ends as `\n`,
/// `\r`, `\u2028`, `\u2029`. Each `/` loses the `\` put before it. A written
/// line end means what the raw one did, unless a `\` precedes it (then the
/// pattern had either `\\n` or an escaped raw line end): `None`.
fn original_pattern(source: &str) -> Option<String> {
    let mut pattern = String::with_capacity(source.len());
    let mut backslashes = 0;
    for c in source.chars() {
        if c == '/' {
            pattern.pop();
        }
        if backslashes >= 2 && matches!(c, 'n' | 'r' | 'u') {
            return None;
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        pattern.push(c);
    }
    Some(pattern)
}

/// Every match `replace` would act on, in order, as the spec's repeated
/// `exec` finds them; `None` for a pattern with named groups, whose
/// `groups` argument is left to Boa.
fn find(regex: &Regex, text: &[u16], global: bool, unicode: bool) -> Option<Vec<regress::Match>> {
    let mut matches = Vec::new();
    let mut from = 0;
    while from <= text.len() {
        let found = if unicode {
            regex.find_from_utf16(text, from).next()
        } else {
            regex.find_from_ucs2(text, from).next()
        };
        let Some(found) = found else { break };
        if found.named_groups().next().is_some() {
            return None;
        }
        from = found.range.end;
        if found.range.is_empty() {
            from = advance(text, from, unicode);
        }
        matches.push(found);
        if !global {
            break;
        }
    }
    Some(matches)
}

/// AdvanceStringIndex: past one code unit, or one code point in unicode mode.
fn advance(text: &[u16], index: usize, unicode: bool) -> usize {
    let pair = unicode
        && index + 1 < text.len()
        && (0xD800..0xDC00).contains(&text[index])
        && (0xDC00..0xE000).contains(&text[index + 1]);
    index + if pair { 2 } else { 1 }
}

#[cfg(test)]
mod tests {
    //! Differential: every case runs in a Context with Boa's own `replace`
    //! and in one with this path installed, and must give the same text.
    use boa_engine::{Context, Source};

    fn run(code: &str, fast: bool) -> String {
        let mut context = Context::default();
        if fast {
            super::install(&mut context).unwrap();
        }
        match context.eval(Source::from_bytes(code)) {
            Ok(value) => value
                .to_string(&mut context)
                .unwrap()
                .to_std_string_escaped(),
            // The message, without the stack: this path has one native frame fewer.
            Err(error) => format!("throws {}", error.to_string().lines().next().unwrap()),
        }
    }

    fn same(code: &str) {
        let (boa, fast) = (run(code, false), run(code, true));
        assert_eq!(boa, fast, "differs for {code}");
    }

    /// Seeded random patterns, flags, subjects and replacers: empty matches,
    /// captures that do not take part, surrogate pairs and lone halves.
    const GENERATED: &str = r#"
        let seed = 7;
        const pick = (list) => { seed = (seed * 1103515245 + 12345) % 2147483648; return list[Math.floor(seed / 65536) % list.length]; };
        const atoms = ["a", "b", ".", "[ab]", "[^a]", "\\d", "\\w", "\\s", "\\b", "^", "$", "", "(a)",
            "(b|)", "(?:ab)", "(a)?", "\\u{1F600}", "\\uD83D", "[\\uD800-\\uDFFF]", "x*", "(?=a)",
            "(?!b)", "(?<=a)", "A", "\\n", "(.)\\1", "é", "/", "\\/", "\\\\", "\\\\/", "\n",
            "\\\n", "\\\\\n", "\\\\n", "[/]", "[\\/n]", "\\u2028", "\u2028"];
        const quantifiers = ["", "", "", "*", "+", "?", "{2}", "*?", "+?"];
        const flags = ["", "g", "i", "gi", "m", "gm", "s", "gs", "u", "gu", "giu", "gmsu", "y", "gy"];
        const pieces = ["a", "b", "A", "B", "\n", " ", "1", "😀", "\uD83D", "\uDE00", "é", "ab", "ba", "x", "/", "\\", "\\n", "\u2028"];
        const shown = (v) => v === undefined ? "U" : typeof v + ":" + v;
        const out = [];
        for (let i = 0; i < 4000; i++) {
            let source = "";
            for (let n = pick([1, 1, 2, 3]); n > 0; n--) source += pick(atoms) + pick(quantifiers);
            if (pick([0, 0, 0, 1])) source += "|" + pick(atoms);
            let subject = "";
            for (let n = pick([0, 1, 3, 5, 8]); n > 0; n--) subject += pick(pieces);
            const flag = pick(flags);
            let re;
            try { re = new RegExp(source, flag); } catch (e) { out.push("bad " + source); continue; }
            const calls = [];
            let result;
            try {
                switch (pick([0, 1, 2, 3])) {
                    case 0: result = subject.replace(re, function () { calls.push(Array.from(arguments, shown)); return "<" + arguments[0] + ">"; }); break;
                    case 1: result = subject.replace(re, "[x]"); break;
                    case 2: result = subject.replace(re, "$&|$1|$$|$`|$'"); break;
                    default: result = subject.replace(re, ""); break;
                }
            } catch (e) { result = "throws " + e.name; }
            out.push(JSON.stringify([source, flag, subject, result, calls, re.lastIndex]));
        }
        out.join("\n")
    "#;

    #[test]
    fn generated_cases_match_boa() {
        let (boa, fast) = (run(GENERATED, false), run(GENERATED, true));
        assert!(boa.lines().count() >= 4000, "{boa}");
        for (line, (expected, got)) in boa.lines().zip(fast.lines()).enumerate() {
            assert_eq!(expected, got, "case {line}");
        }
    }

    /// The differential tests pass whether or not this path runs at all;
    /// this one fails when plain calls stop taking it.
    #[test]
    fn plain_calls_take_this_path() {
        let mut context = Context::default();
        let originals = super::Originals::new(&mut context).unwrap();
        for (code, plain) in [
            (r#"["a&b<", /[&<]/g, (c) => "x"]"#, true),
            (r#"["a&b", /&/, "and"]"#, true),
            (r#"["a&b", /&/y, "and"]"#, false),
            (r#"["a&b", /&/, "$&"]"#, false),
            (r#"["a&b", /(?<amp>&)/, "and"]"#, false),
        ] {
            let list = context.eval(Source::from_bytes(code)).unwrap();
            let list = list.as_object().unwrap();
            let [this, search, replacement] = [0, 1, 2].map(|i| list.get(i, &mut context).unwrap());
            let result =
                super::plain_replace(&this, &[search, replacement], &originals, &mut context);
            assert_eq!(result.unwrap().is_some(), plain, "{code}");
        }
    }

    /// Cases where something the spec's algorithm reads was changed by the
    /// script: each must behave as Boa's own `replace` does.
    #[test]
    fn changed_regexps_and_prototypes_match_boa() {
        for code in [
            r#"RegExp.prototype.exec = function () { return null; }; "abc".replace(/b/, "x")"#,
            r#"const re = /b/g; re.exec = () => null; "abc".replace(re, "x")"#,
            r#"Object.defineProperty(RegExp.prototype, "flags", { get() { return ""; } }); "abab".replace(/a/g, "x")"#,
            r#"Object.defineProperty(RegExp.prototype, "global", { get() { return false; } }); "abab".replace(/a/g, "x")"#,
            r#"Object.defineProperty(RegExp.prototype, "unicode", { get() { return true; } }); "😀😀".replace(/(?:)/g, "-")"#,
            r#"RegExp.prototype[Symbol.replace] = () => "mine"; "abc".replace(/b/, "x")"#,
            r#"const exec = RegExp.prototype.exec; Object.defineProperty(RegExp.prototype, "exec", { get: exec }); "abc".replace(/b/, "x")"#,
            r#"const log = []; const re = /a/; re.lastIndex = { valueOf() { log.push("v"); return 0; } }; "aa".replace(re, "x") + log"#,
            r#"const re = /a/; re.lastIndex = 7; "aa".replace(re, "x") + re.lastIndex"#,
            r#"const re = /a/g; re.lastIndex = 3; "aaaa".replace(re, "x") + re.lastIndex"#,
            r#"const re = /a/g; re.lastIndex = -0; "b".replace(re, "x") + Object.is(re.lastIndex, 0)"#,
            r#"const re = /a/g; "aa".replace(re, () => { re.lastIndex = 5; return "x"; }) + re.lastIndex"#,
            r#""aa".replace(Object.freeze(/a/g), "x")"#,
            r#""aa".replace(Object.freeze(/a/), "x")"#,
            r#"const re = /a/g; Object.defineProperty(re, "lastIndex", { writable: false }); "aa".replace(re, "x")"#,
            r#"const re = /a/g; Object.setPrototypeOf(re, null); "aa".replace(re, "x")"#,
            r#"class R extends RegExp { exec(s) { return null; } } "aa".replace(new R("a", "g"), "x")"#,
            r#""aab".replace(/a/y, "x") + "|" + "baa".replace(/a/y, "x")"#,
            r#"const re = /a/gy; re.lastIndex = 1; "aaba".replace(re, "x") + re.lastIndex"#,
            r#""2020-01".replace(/(?<y>\d+)-(?<m>\d+)/, (...a) => JSON.stringify(a))"#,
            r#""2020-01".replace(/(?<y>\d+)-(?<m>\d+)/g, "$<m>/$<y>")"#,
            r#""abc".replace(/(b)(x)?/, (...a) => JSON.stringify(a.map(String)))"#,
            r#""abc".replace(/(b)/, "[$1$&$`$'$$$2]")"#,
            r#""aaa".replace(/a/g, 1)"#,
            r#""aaa".replace(/a/g, { toString() { return "o"; } })"#,
            r#""aaa".replace(/a/g, () => ({ toString() { return "p"; } }))"#,
            r#""abc".replace(/b/)"#,
            r#""abc".replace("b", "x")"#,
            r#"String.prototype.replace.call(1234, /2/, "x")"#,
            r#"String.prototype.replace.call(null, /2/, "x")"#,
            r#""abc".replace(/b/, () => { throw new RangeError("from the replacer"); })"#,
            r#"new RegExp("").flags + "abc".replace(new RegExp("", "g"), "-")"#,
            r#""😀😀".replace(/(?:)/gu, "-") + "|" + "😀😀".replace(/(?:)/g, "-")"#,
            r#""a\u{1F600}b".replace(/./gu, (c) => "[" + c + "]")"#,
            r#""a/b\nc".replace(new RegExp("/|\n", "g"), "_")"#,
            r#""AbA".replace(/a/gi, "x") + "a\nb".replace(/^b/m, "x") + "a\nb".replace(/a.b/s, "x")"#,
            r#"try { "ab".replace(new RegExp("[a]", "v"), "x") } catch (e) { e.name }"#,
            r#"String.prototype.replace.name + String.prototype.replace.length"#,
            r#"typeof Object.getOwnPropertyDescriptor(String.prototype, "replace").value"#,
        ] {
            same(code);
        }
    }
}
