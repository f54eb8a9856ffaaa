//! Dirigible's modules beyond request, response and session, each in a
//! file of its own, in one test binary (each binary costs a link).

#[path = "../common/mod.rs"]
mod common;

mod config;
mod db;
mod extensions;
mod io;
mod project;
mod rs;
mod upload;
mod user;
mod utils;

/// A script that runs each call and answers the JSON array of what each
/// threw (`"no error"` when it did not), after `head`.
fn error_messages_script(head: &str, cases: &[(&str, &str)]) -> String {
    let mut script = format!("{head}const out = [];\n");
    for (call, _) in cases {
        script.push_str(&format!(
            "try {{ {call}; out.push('no error'); }} catch (e) {{ out.push(e.message); }}\n"
        ));
    }
    script + "response.json(out);"
}

/// Each case's message holds its expected text.
fn assert_messages(cases: &[(&str, &str)], messages: &serde_json::Value) {
    for (i, (call, expected)) in cases.iter().enumerate() {
        let message = messages[i].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{call}: {message:?} lacks {expected:?}"
        );
    }
}
