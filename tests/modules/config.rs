//! `core/configurations` and `core/env`: values from the process
//! environment and from `--env-file`, `set` seen by every worker, the
//! documentation's examples, and a bad `--env-file` stopping the start.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

const R: &str = "const response = require('http/v4/response');\n";

const ENV_FILE: &str = "# values for the scripts\n\
    FROM_FILE=\"file value\"\n\
    QUOTED=\"a quoted # value\"\n\
    export EXPORTED=yes\n\
    BOTH=\"from the file\"\n";

#[test]
fn configurations_and_env_from_the_environment_and_the_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("blimp.env");
    std::fs::write(&env_file, ENV_FILE).unwrap();
    let env_file = env_file.display().to_string();
    let blimp = Blimp::start_with_env(
        &[
            (
                "read.js",
                &format!(
                    "{R}const configurations = require('core/v4/configurations');\nconst env = require('core/v4/env');\n\
                     if (require('core/configurations') !== configurations || require('core/v3/configurations') !== configurations) throw new Error('names');\n\
                     if (require('core/env') !== env || require('core/v3/env') !== env) throw new Error('env names');\n\
                     const list = env.list();\n\
                     response.json({{ fromEnv: configurations.get('BLIMP_TEST_ONLY_ENV'), fromFile: configurations.get('FROM_FILE'),\n\
                       quoted: configurations.get('QUOTED'), exported: configurations.get('EXPORTED'), both: configurations.get('BOTH'),\n\
                       missing: configurations.get('BLIMP_TEST_MISSING'), fallback: configurations.get('BLIMP_TEST_MISSING', 'the default'),\n\
                       present: configurations.get('FROM_FILE', 'unused'),\n\
                       keys: configurations.getKeys().filter(k => k.startsWith('BLIMP_TEST_') || k === 'FROM_FILE'),\n\
                       envGet: env.get('BLIMP_TEST_ONLY_ENV'), envFile: env.get('FROM_FILE'), envMissing: typeof env.get('BLIMP_TEST_MISSING'),\n\
                       listed: list.BLIMP_TEST_ONLY_ENV, listedJson: JSON.parse(list).FROM_FILE, printed: String(list).startsWith('{{'),\n\
                       noSupervisorVars: !('BLIMP_LISTEN_FDS' in list),\n\
                       os: configurations.getOS(), unix: configurations.isOSUNIX(), windows: configurations.isOSWindows() }});"
                ),
            ),
            (
                "set.mjs",
                "import { Configurations } from '@aerokit/sdk/core';\nimport { configurations, env, Env } from 'sdk/core';\nimport { response } from 'sdk/http';\n\
                 Configurations.set('BLIMP_TEST_SET', 'set by a script');\n\
                 configurations.set('BOTH', 42);\n\
                 configurations.remove('FROM_FILE');\n\
                 response.json({ same: Configurations === configurations && Env === env, env: env.get('BOTH') });",
            ),
            (
                "after.js",
                &format!(
                    "{R}const configurations = require('core/configurations'), env = require('core/env');\n\
                     response.json({{ set: configurations.get('BLIMP_TEST_SET'), both: configurations.get('BOTH'), removed: configurations.get('FROM_FILE', 'gone'),\n\
                       envKeeps: env.get('FROM_FILE'), keys: configurations.getKeys().includes('BLIMP_TEST_SET') }});"
                ),
            ),
            // core-configurations.md and core-env.md, as written.
            (
                "doc.mjs",
                "import { response } from 'sdk/http';\nimport { configurations } from 'sdk/core';\n\
                 configurations.set('ENV_VAR_1', 'ENV_VAR_1');\n\
                 configurations.set('ENV_VAR_2', 'ENV_VAR_2');\n\
                 let credentials = { envVar1: configurations.get('ENV_VAR_1'), envVar2: configurations.get('ENV_VAR_2') };\n\
                 response.println(JSON.stringify(credentials));",
            ),
            (
                "docenv.mjs",
                "import { env } from 'sdk/core';\nimport { response } from 'sdk/http';\n\
                 let os = env.get('os.name');\n\
                 response.println('[OS]: ' + os);\n\
                 response.flush();\n\
                 response.close();",
            ),
        ],
        &["--env-file", &env_file],
        &[
            ("BLIMP_TEST_ONLY_ENV", "env value"),
            ("BOTH", "from the environment"),
        ],
    );
    let (status, body) = get(&plain(), &blimp.url("/read"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({
            "fromEnv": "env value", "fromFile": "file value", "quoted": "a quoted # value", "exported": "yes",
            "both": "from the environment", "fallback": "the default", "present": "file value",
            "keys": ["BLIMP_TEST_ONLY_ENV", "FROM_FILE"],
            "envGet": "env value", "envFile": "file value", "envMissing": "undefined",
            "listed": "env value", "listedJson": "file value", "printed": true, "noSupervisorVars": true,
            "os": "Linux", "unix": true, "windows": false
        }),
        "the process environment wins over the file; a missing key is undefined"
    );

    let (status, body) = get(&plain(), &blimp.url("/set"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({"same": true, "env": "from the environment"})
    );
    // Every worker (two here) sees the change: new connections spread
    // over both.
    for _ in 0..12 {
        let (status, body) = get(&plain(), &blimp.url("/after"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            json(&body),
            serde_json::json!({"set": "set by a script", "both": "42", "removed": "gone",
                "envKeeps": "file value", "keys": true})
        );
    }
    assert_eq!(
        get(&plain(), &blimp.url("/doc")),
        (
            200,
            "{\"envVar1\":\"ENV_VAR_1\",\"envVar2\":\"ENV_VAR_2\"}\n".to_string()
        )
    );
    assert_eq!(
        get(&plain(), &blimp.url("/docenv")),
        (200, "[OS]: undefined\n".to_string()),
        "os.name is a Java property, not an environment variable"
    );
}

/// Runs blimp with `args` and waits for it to exit (it must, by itself).
fn exits(args: &[&str]) -> (std::process::ExitStatus, String) {
    let scripts = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_blimp"))
        .args(["--port", "0", "--session-store", "memory", "--scripts"])
        .arg(scripts.path())
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("blimp kept running with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    (status, log)
}

#[test]
fn a_missing_or_broken_env_file_stops_the_start() {
    let (status, log) = exits(&["--env-file", "/nonexistent/blimp.env"]);
    assert!(!status.success());
    assert!(
        log.contains("--env-file /nonexistent/blimp.env: cannot read it"),
        "{log}"
    );
    assert!(!log.contains("listening on"), "{log}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.env");
    std::fs::write(&broken, "GOOD=1\nBAD='never closed\n").unwrap();
    let (status, log) = exits(&["--env-file", &broken.display().to_string()]);
    assert!(!status.success());
    assert!(log.contains("--env-file"), "{log}");
    assert!(log.contains("broken.env"), "{log}");

    let (status, log) = exits(&["--env-file", &dir.path().display().to_string()]);
    assert!(!status.success(), "a folder is not a file: {log}");
    assert!(log.contains("--env-file"), "{log}");
}
