//! `db/query`, `db/update`, `db/database`, `db/sequence`: each test body
//! runs twice, on an embedded SQLite file and on a PostgreSQL server the
//! tests start (`Postgres::shared`, a database per test).

use std::time::{Duration, Instant};

use crate::common::*;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Engine {
    Sqlite,
    Postgres,
}

/// A fresh database of `engine` and a server whose default datasource it is.
struct Served {
    blimp: Blimp,
    _dir: tempfile::TempDir,
}

fn fresh_url(engine: Engine, dir: &tempfile::TempDir) -> String {
    match engine {
        Engine::Sqlite => format!("sqlite:{}", dir.path().join("data.db").display()),
        Engine::Postgres => Postgres::shared().database(),
    }
}

fn serve(engine: Engine, files: &[(&str, &str)], extra: &[&str]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_url(engine, &dir);
    let mut args = vec!["--db", url.as_str()];
    args.extend_from_slice(extra);
    Served {
        blimp: Blimp::start(files, &args),
        _dir: dir,
    }
}

impl Served {
    fn get(&self, path: &str) -> (u16, String) {
        get(&plain(), &self.blimp.url(path))
    }

    /// GET that must answer 200; its body.
    fn ok(&self, path: &str) -> String {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {body}\n{}", self.blimp.log());
        body
    }

    fn json(&self, path: &str) -> serde_json::Value {
        json(&self.ok(path))
    }
}

/// One test body, two databases.
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                ($body)(Engine::Sqlite)
            }
            #[test]
            fn postgres() {
                ($body)(Engine::Postgres)
            }
        }
    };
}

const HEAD: &str = "const response = require('http/v4/response');
const request = require('http/v4/request');
const query = require('db/v4/query');
const update = require('db/v4/update');
const database = require('db/v4/database');
const sequence = require('db/v4/sequence');
";

fn script(body: &str) -> String {
    format!("{HEAD}{body}")
}

on_both!(
    rows_come_back_as_objects_under_every_module_name,
    |engine| {
        let served = serve(
        engine,
        &[
            ("setup.js", &script("update.execute('CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)');
response.print(update.execute('INSERT INTO people (id, name, age) VALUES (?, ?, ?), (?, ?, ?)', [1, 'Ann', 34, 2, 'Bob', null]));")),
            ("list.js", &script("response.json(query.execute('SELECT id, name, age FROM people ORDER BY id', []));")),
            ("names.js", &script("const same = (a, b) => require(a) === require(b);
response.json({
  v3: same('db/v3/query', 'db/query') && same('db/v4/update', 'db/update') && same('db/v3/database', 'db/database') && same('db/sequence', 'db/v4/sequence'),
  sdk: require('sdk/db').query === query && require('@dirigible/db').update === update && require('@aerokit/sdk/db').Database === database && require('sdk/db/sequence') === sequence,
  classes: typeof require('sdk/db').ResultSet === 'function' && require('@aerokit/sdk/db').SQLTypes.VARCHAR === 'VARCHAR',
  updated: update.execute('UPDATE people SET age = age + 1 WHERE age IS NOT NULL'),
  none: update.execute('DELETE FROM people WHERE id = ?', [99]),
});")),
            ("esm.mjs", "import { query, Query, update, database, Database, ResultSet, SQLTypes, DatabaseSystem, sequence, Sequence } from 'sdk/db';
import { response } from 'sdk/http';
import { execute } from 'sdk/db/query';
const rows = Query.execute('SELECT name FROM people WHERE id = ?', [1]);
response.json({ rows, same: query === Query && execute === query.execute,
  kinds: [typeof Database.getConnection, typeof ResultSet, SQLTypes.INTEGER, typeof DatabaseSystem.POSTGRESQL, typeof sequence.nextval, Sequence === sequence, database === Database] });"),
        ],
        &[],
    );
        assert_eq!(served.ok("/setup"), "2");
        assert_eq!(
            served.json("/list"),
            serde_json::json!([{"id": 1, "name": "Ann", "age": 34}, {"id": 2, "name": "Bob", "age": null}])
        );
        assert_eq!(
            served.json("/names"),
            serde_json::json!({"v3": true, "sdk": true, "classes": true, "updated": 1, "none": 0}),
            "{engine:?}"
        );
        assert_eq!(
            served.json("/esm"),
            serde_json::json!({"rows": [{"name": "Ann"}], "same": true,
            "kinds": ["function", "function", "INTEGER", "string", "function", true, true]})
        );
    }
);

on_both!(parameters_are_bound_never_spliced, |engine| {
    let served = serve(
        engine,
        &[(
            "t.js",
            &script("update.execute('CREATE TABLE x (id INTEGER, note TEXT)');
const evil = \"'; DROP TABLE x; --\";
update.execute('INSERT INTO x (id, note) VALUES (?, ?)', [1, evil]);
update.execute(\"INSERT INTO x (id, note) VALUES (2, 'it''s ?')\");
const found = query.execute('SELECT id FROM x WHERE note = ?', [evil]);
const quoted = query.execute(\"SELECT '?' AS q, CAST(? AS TEXT) AS v /* ? */ -- ?\\n\", ['x']);
const count = query.execute('SELECT count(*) AS n FROM x')[0].n;
response.json({ found, quoted, count, note: query.execute('SELECT note FROM x WHERE id = 2')[0].note });"),
        )],
        &[],
    );
    assert_eq!(
        served.json("/t"),
        serde_json::json!({"found": [{"id": 1}], "quoted": [{"q": "?", "v": "x"}], "count": 2, "note": "it's ?"}),
        "{engine:?}"
    );
});

on_both!(values_keep_their_types_both_ways, |engine| {
    let served = serve(
        engine,
        &[
            (
                "t.js",
                &script("update.execute('CREATE TABLE t (i BIGINT, r DOUBLE PRECISION, s TEXT, b BOOLEAN, f BOOLEAN, n TEXT, bin BYTEA, at TIMESTAMP, big BIGINT, neg BIGINT, re REAL)');
const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
update.execute('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  [42, 1.5, 'héllo ✓ 😀', true, false, null, new Uint8Array([0, 1, 255]), at, 9007199254740993n, -9223372036854775808n, 94.4]);
const row = query.execute('SELECT * FROM t')[0];
const d = query.execute('SELECT CAST(99.99 AS NUMERIC(10, 2)) AS d, CAST(? AS BIGINT) AS p', [{ type: 'BIGINT', value: '9223372036854775807' }])[0];
const huge = query.execute('SELECT CAST(? AS TEXT) AS h', [123456789012345678901234567890n])[0].h;
response.json({ huge,
  i: row.i, r: row.r, s: row.s, b: row.b, f: row.f, n: row.n,
  bin: row.bin instanceof Uint8Array ? Array.from(row.bin) : String(row.bin),
  at: row.at instanceof Date && row.at.getTime() === at.getTime(),
  big: typeof row.big + ' ' + String(row.big), bigExact: row.big === 9007199254740993n,
  neg: String(row.neg), re: row.re,
  d: d.d, p: String(d.p),
});"),
            ),
            (
                "json.js",
                &script("response.json(query.execute('SELECT big, i FROM t'));"),
            ),
            (
                "rs.js",
                &script("const c = database.getConnection();
const rs = c.prepareStatement('SELECT big, i, at, b, n FROM t').executeQuery();
rs.next();
response.json({ long: String(rs.getLong('big')), text: rs.getString('BIG'), int: rs.getInt(2), ts: rs.getTimestamp('at').toISOString(),
  bool: rs.getBoolean('b'), nul: rs.getInt('n'), wasNull: rs.wasNull(), str: rs.getString('n'), json: String(rs.toJson ? 'ok' : '') });"),
            ),
        ],
        &[],
    );
    assert_eq!(
        served.json("/t"),
        serde_json::json!({
            "i": 42, "r": 1.5, "s": "héllo ✓ 😀", "b": true, "f": false, "n": null,
            "bin": [0, 1, 255], "at": true,
            "big": "bigint 9007199254740993", "bigExact": true,
            "neg": "-9223372036854775808", "re": 94.4,
            "d": 99.99, "p": "9223372036854775807",
            "huge": "123456789012345678901234567890",
        }),
        "{engine:?}"
    );
    // response.json writes a BigInt as a JSON number with every digit.
    assert_eq!(served.ok("/json"), r#"[{"big":9007199254740993,"i":42}]"#);
    assert_eq!(
        served.json("/rs"),
        serde_json::json!({"long": "9007199254740993", "text": "9007199254740993", "int": 42,
            "ts": "2024-01-02T03:04:05.678Z", "bool": true, "nul": 0, "wasNull": true, "str": null, "json": "ok"})
    );
});

on_both!(times_of_day_and_long_whole_parts, |engine| {
    let served = serve(
        engine,
        &[("t.js", &script("update.execute('CREATE TABLE tt (tm TIME, n NUMERIC(40, 2))');
const c = database.getConnection();
const insert = (time, n) => { const st = c.prepareStatement('INSERT INTO tt VALUES (?, ?)'); st.setTime(1, time); st.setString(2, n); st.executeUpdate(); };
insert(new Date('1970-01-02T10:11:12.500Z'), '9007199254740993.25');
insert('23:59:58', '-12.5');
const rs = c.prepareStatement('SELECT tm, n FROM tt ORDER BY n').executeQuery();
const out = [];
while (rs.next()) out.push([rs.getTime('tm').toISOString(), rs.getString('tm'), typeof rs.getLong(2) + ' ' + rs.getLong(2)]);
c.close();
response.json(out);"))],
        &[],
    );
    let got = served.json("/t");
    assert_eq!(got[0][0], "1970-01-01T23:59:58.000Z", "{got}");
    assert_eq!(got[1][0], "1970-01-01T10:11:12.500Z", "{got}");
    assert_eq!(got[0][2], "number -12", "{got}");
    if engine == Engine::Postgres {
        // SQLite keeps a NUMERIC this long as a REAL (docs/api.md).
        assert_eq!(got[1][2], "bigint 9007199254740993", "{got}");
        assert_eq!(got[1][1], "10:11:12.5", "{got}");
    } else {
        assert_eq!(got[1][1], "10:11:12.500", "{got}");
    }
    assert_eq!(got[0][1], "23:59:58", "{got}");
});

on_both!(typed_and_named_parameters, |engine| {
    let served = serve(
        engine,
        &[(
            "t.js",
            &script("update.execute('CREATE TABLE o (id INTEGER, code TEXT, total NUMERIC(10, 2))');
update.executeNamed('INSERT INTO o (id, code, total) VALUES (:id, :code, :total)',
  [{ name: 'code', type: 'CHAR', value: 'ISBN1' }, { name: 'total', type: 'DECIMAL', value: 99.99 }, { name: 'id', type: 'INTEGER', value: '7' }]);
const typed = query.execute('SELECT CAST(? AS TEXT) AS a, CAST(? AS INTEGER) AS b', [{ type: 'VARCHAR', value: 5 }, { type: 'INTEGER', value: '7' }]);
const named = query.execute('SELECT id, code FROM o WHERE code = :code AND id = :id', { code: 'ISBN1', id: 7 });
const total = query.execute('SELECT total FROM o')[0].total;
let missing; try { query.execute('SELECT :a AS a, :b AS b', { a: 1 }) } catch (e) { missing = e.message }
let count; try { query.execute('SELECT ? AS a', [1, 2]) } catch (e) { count = e.message }
response.json({ typed, named, total, missing, count });"),
        )],
        &[],
    );
    let body = served.json("/t");
    assert_eq!(
        body["typed"],
        serde_json::json!([{"a": "5", "b": 7}]),
        "{engine:?}"
    );
    assert_eq!(
        body["named"],
        serde_json::json!([{"id": 7, "code": "ISBN1"}])
    );
    assert_eq!(body["total"], serde_json::json!(99.99));
    assert!(body["missing"].as_str().unwrap().contains(":b"), "{body}");
    assert!(
        body["count"]
            .as_str()
            .unwrap()
            .contains("has 1 parameter, 2 given"),
        "{body}"
    );
});

on_both!(connections_statements_and_result_sets, |engine| {
    let served = serve(
        engine,
        &[(
            "t.js",
            &script("const c = database.getConnection();
c.prepareStatement('CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT)').executeUpdate();
const st = c.prepareStatement('INSERT INTO p (id, name) VALUES (?, ?)');
st.setInt(1, 1); st.setString(2, 'Ann');
const n1 = st.executeUpdate();
st.setInt(1, 2); st.setString(2, 'Bob'); st.addBatch();
st.setLong(1, 3); st.setNull(2, 12); st.addBatch();
const counts = st.executeBatch();
const q = c.prepareStatement('SELECT id, name FROM p WHERE id >= ? ORDER BY id');
q.setInt(1, 2);
const rs = q.executeQuery();
const seen = [];
const before = rs.isBeforeFirst();
while (rs.next()) seen.push(rs.getInt('ID') + ':' + rs.getString(2) + ':' + rs.isLast());
const all = c.prepareStatement('SELECT id, name FROM p ORDER BY id');
const isQuery = all.execute();
const text = all.getResultSet().toJson();
const limited = c.prepareStatement('SELECT id FROM p ORDER BY id').executeQuery().toJson(true, true);
const meta = c.prepareStatement('SELECT id, name FROM p').executeQuery().getMetaData();
const system = c.getDatabaseSystem();
const result = { n1, counts, seen, before, isQuery, parsed: JSON.parse(text), length: text.length, limited,
  columns: [meta.getColumnCount(), meta.getColumnName(2)],
  classes: [rs instanceof database.ResultSet, c instanceof database.Connection, st instanceof require('sdk/db').PreparedStatement],
  autoCommit: c.getAutoCommit(), valid: c.isValid(), isSystem: c.isOfType(system), sources: database.getDataSources(), product: database.getProductName(),
  system };
c.close();
result.closed = c.isClosed();
try { c.prepareStatement('SELECT 1') } catch (e) { result.afterClose = e.message }
try { database.getConnection('Nope') } catch (e) { result.unknown = e.message }
response.json(result);"),
        )],
        &[],
    );
    let body = served.json("/t");
    let system = match engine {
        Engine::Sqlite => "SQLITE",
        Engine::Postgres => "POSTGRESQL",
    };
    assert_eq!(body["n1"], 1, "{body}");
    assert_eq!(body["counts"], serde_json::json!([1, 1]));
    assert_eq!(
        body["seen"],
        serde_json::json!(["2:Bob:false", "3:null:true"])
    );
    assert_eq!(body["before"], true);
    assert_eq!(body["isQuery"], true);
    assert_eq!(
        body["parsed"],
        serde_json::json!([{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": null}])
    );
    assert_eq!(body["limited"], r#"[{"id":1},{"id":2},{"id":3}]"#);
    assert_eq!(body["columns"], serde_json::json!([2, "name"]));
    assert_eq!(body["classes"], serde_json::json!([true, true, true]));
    assert_eq!(body["autoCommit"], true);
    assert_eq!(body["valid"], true);
    assert_eq!(body["isSystem"], true);
    assert_eq!(body["sources"], serde_json::json!(["DefaultDB"]));
    assert_eq!(body["system"], system);
    assert_eq!(body["closed"], true);
    assert_eq!(body["afterClose"], "the connection is closed");
    assert!(
        body["unknown"]
            .as_str()
            .unwrap()
            .contains("no datasource named \"Nope\""),
        "{body}"
    );
});

on_both!(
    transactions_commit_roll_back_and_end_with_the_request,
    |engine| {
        let served = serve(
        engine,
        &[
            ("setup.js", &script("update.execute('CREATE TABLE t (id INTEGER PRIMARY KEY)'); response.print('ok');")),
            ("tx.js", &script("const mode = request.getParameter('mode');
const id = Number(request.getParameter('id'));
const c = database.getConnection();
c.setAutoCommit(false);
const st = c.prepareStatement('INSERT INTO t (id) VALUES (?)');
st.setInt(1, id);
st.executeUpdate();
const inside = c.prepareStatement('SELECT count(*) AS n FROM t WHERE id = ' + id).executeQuery();
inside.next();
if (mode === 'rollback') c.rollback();
if (mode === 'commit') c.commit();
if (mode === 'auto') c.setAutoCommit(true);
if (mode === 'throw') throw new Error('boom');
response.print('seen ' + inside.getInt('n'));")),
            ("ids.js", &script("response.json(query.execute('SELECT id FROM t ORDER BY id').map(r => r.id));")),
        ],
        &[],
    );
        served.ok("/setup");
        assert_eq!(served.ok("/tx?mode=commit&id=1"), "seen 1");
        assert_eq!(served.ok("/tx?mode=rollback&id=2"), "seen 1");
        assert_eq!(served.ok("/tx?mode=forget&id=3"), "seen 1");
        assert_eq!(served.ok("/tx?mode=auto&id=4"), "seen 1");
        let (status, body) = served.get("/tx?mode=throw&id=5");
        assert_eq!(status, 500, "{body}");
        assert!(
            json(&body)["message"]
                .as_str()
                .unwrap()
                .starts_with("Error: boom (at tx.js:"),
            "{body}"
        );
        assert_eq!(
            served.json("/ids"),
            serde_json::json!([1, 4]),
            "committed ones stay; rolled back, forgotten and failed ones do not"
        );
    }
);

on_both!(
    a_table_made_again_with_other_types_is_seen_at_once,
    |engine| {
        // One connection, so that its cached statements meet the new table.
        let served = serve(
            engine,
            &[(
                "remake.js",
                &script(
                    "const type = request.getParameter('type');
update.execute('DROP TABLE IF EXISTS remade');
update.execute('CREATE TABLE remade (v ' + type + ')');
update.execute('INSERT INTO remade (v) VALUES (?)', [request.getParameter('v')]);
response.json(query.execute('SELECT v FROM remade'));",
                ),
            )],
            &["--workers", "1", "--db-pool", "1"],
        );
        assert_eq!(
            served.json("/remake?type=INTEGER&v=5"),
            serde_json::json!([{"v": 5}])
        );
        assert_eq!(
            served.json("/remake?type=TEXT&v=hello"),
            serde_json::json!([{"v": "hello"}])
        );
        assert_eq!(
            served.json("/remake?type=INTEGER&v=6"),
            serde_json::json!([{"v": 6}])
        );
    }
);

on_both!(failing_statements_throw_the_database_error, |engine| {
    let served = serve(
        engine,
        &[
            ("caught.js", &script("const out = {};
try { query.execute('SELEC nonsense') } catch (e) { out.syntax = { isError: e instanceof Error, code: e.code, message: e.message } }
update.execute('CREATE TABLE u (id INTEGER, k TEXT UNIQUE)');
update.execute('INSERT INTO u VALUES (1, ?)', ['a']);
try { update.execute('INSERT INTO u VALUES (2, ?)', ['a']) } catch (e) { out.unique = { code: e.code, message: e.message } }
out.after = query.execute('SELECT count(*) AS n FROM u')[0].n;
update.execute('CREATE TABLE v (n SMALLINT)');
try { update.execute('INSERT INTO v VALUES (?)', ['abc']) } catch (e) { out.text = e.code }
try { update.execute('INSERT INTO v VALUES (?)', [70000]) } catch (e) { out.range = e.code }
response.json(out);")),
            ("uncaught.js", &script("query.execute('SELECT * FROM missing_table');")),
        ],
        &[],
    );
    let body = served.json("/caught");
    let (syntax, unique) = match engine {
        Engine::Sqlite => ("SQLITE_ERROR", "SQLITE_CONSTRAINT_UNIQUE"),
        Engine::Postgres => ("42601", "23505"),
    };
    assert_eq!(body["syntax"]["isError"], true, "{body}");
    assert_eq!(body["syntax"]["code"], syntax, "{body}");
    assert!(
        body["syntax"]["message"]
            .as_str()
            .unwrap()
            .contains("SELEC"),
        "{body}"
    );
    assert_eq!(body["unique"]["code"], unique, "{body}");
    assert!(
        body["unique"]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("unique"),
        "{body}"
    );
    assert_eq!(body["after"], 1);
    // A value that does not fit its parameter's type: PostgreSQL's codes,
    // also when the driver finds it before sending. SQLite takes it.
    let (text, range) = match engine {
        Engine::Sqlite => (serde_json::Value::Null, serde_json::Value::Null),
        Engine::Postgres => ("22P02".into(), "22003".into()),
    };
    assert_eq!((&body["text"], &body["range"]), (&text, &range), "{body}");
    let (status, text) = served.get("/uncaught");
    assert_eq!(status, 500, "{text}");
    let message = json(&text)["message"].as_str().unwrap().to_string();
    assert!(message.contains("missing_table"), "{message}");
    assert!(message.contains("(at uncaught.js:7:"), "{message}");
});

on_both!(sequences_count_from_one_under_both_signatures, |engine| {
    let served = serve(
        engine,
        &[(
            "t.js",
            &script("const out = {};
out.first = [sequence.nextval('orders'), sequence.nextval('ORDERS'), sequence.nextval('orders', 'ORDERS_TABLE'), sequence.nextval('orders', 'POSTGRES', 'DefaultDB')];
sequence.create('invoices', 100);
out.started = sequence.nextval('invoices');
try { sequence.create('invoices') } catch (e) { out.twice = e instanceof Error }
sequence.drop('invoices', 'DefaultDB');
out.again = sequence.nextval('invoices');
sequence.create('v4seq', 'POSTGRES', 'DefaultDB');
out.v4 = sequence.nextval('v4seq');
sequence.drop('v4seq', 'POSTGRES', 'DefaultDB');
try { sequence.drop('v4seq') } catch (e) { out.gone = e instanceof Error }
try { sequence.nextval('x; DROP TABLE y') } catch (e) { out.bad = e.message }
response.json(out);"),
        )],
        &[],
    );
    let body = served.json("/t");
    assert_eq!(
        body["first"],
        serde_json::json!([1, 2, 3, 4]),
        "{engine:?}: {body}"
    );
    assert_eq!(body["started"], 100);
    assert_eq!(body["twice"], true);
    assert_eq!(body["again"], 1);
    assert_eq!(body["v4"], 1);
    assert_eq!(body["gone"], true);
    assert!(body["bad"]
        .as_str()
        .unwrap()
        .contains("not a sequence name"));
});

on_both!(rows_in_memory_are_bounded, |engine| {
    let served = serve(
        engine,
        &[(
            "t.js",
            &script("const numbers = (n) => 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ' + n + ') SELECT i FROM n';
const five = query.execute(numbers(5)).length;
let error;
try { query.execute(numbers(6)) } catch (e) { error = [e instanceof RangeError, e.message] }
const rs = () => database.getConnection().prepareStatement(numbers(6)).executeQuery();
let again; try { rs() } catch (e) { again = e.message }
// Bytes too: one value, and many rows, past --max-script-memory.
const big = request.getParameter('pg') ? \"SELECT repeat('x', 20000000) AS s\" : \"SELECT zeroblob(20000000) AS s\";
let huge; try { query.execute(big) } catch (e) { huge = e.message }
const wide = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT i, ' + (request.getParameter('pg') ? \"repeat('y', 4000000)\" : \"printf('%.*c', 4000000, 'y')\") + ' AS s FROM n';
let many; try { query.execute(wide) } catch (e) { many = e.message }
response.json({ five, error, again, huge, many });"),
        )],
        &["--db-max-rows", "5", "--max-script-memory", "16M"],
    );
    let body = served.json(if engine == Engine::Postgres {
        "/t?pg=1"
    } else {
        "/t"
    });
    // SQLite does not make the value at all; PostgreSQL's is not handed on.
    let huge = body["huge"].as_str().unwrap_or_default();
    assert!(
        huge.contains("string or blob too big")
            || huge.contains("more than 16 MiB (--max-script-memory)"),
        "{body}"
    );
    assert!(
        body["many"]
            .as_str()
            .unwrap_or_default()
            .contains("rows hold more than 16 MiB (--max-script-memory)"),
        "{body}"
    );
    assert_eq!(body["five"], 5);
    assert_eq!(body["error"][0], true, "{body}");
    assert!(body["error"][1]
        .as_str()
        .unwrap()
        .contains("more than 5 rows (--db-max-rows)"));
    assert!(body["again"].as_str().unwrap().contains("--db-max-rows"));
});

on_both!(
    a_commit_after_a_failed_statement_says_what_it_did,
    |engine| {
        let served = serve(
        engine,
        &[
            ("setup.js", &script("update.execute('CREATE TABLE t (id INTEGER PRIMARY KEY)'); response.print('ok');")),
            ("tx.js", &script("const c = database.getConnection();
c.setAutoCommit(false);
const insert = (id) => { const st = c.prepareStatement('INSERT INTO t (id) VALUES (?)'); st.setInt(1, id); st.executeUpdate(); };
insert(1);
let failed = null;
try { insert(1); } catch (e) { failed = e.code; }
let committed = 'committed';
try { c.commit(); } catch (e) { committed = [e.code, e.message]; }
c.close();
response.json({ failed, committed, ids: query.execute('SELECT id FROM t ORDER BY id').map(r => r.id) });")),
            ("after.js", &script("update.execute('INSERT INTO t (id) VALUES (7)');
response.json(query.execute('SELECT id FROM t ORDER BY id').map(r => r.id));")),
        ],
        &["--workers", "1", "--db-pool", "1"],
    );
        served.ok("/setup");
        let got = served.json("/tx");
        match engine {
            // SQLite's transaction goes on after a failed statement.
            Engine::Sqlite => {
                assert_eq!(got["failed"], "SQLITE_CONSTRAINT_PRIMARYKEY", "{got}");
                assert_eq!(got["committed"], "committed", "{got}");
                assert_eq!(got["ids"], serde_json::json!([1]), "{got}");
            }
            // PostgreSQL's ends at its first error: the commit says so.
            Engine::Postgres => {
                assert_eq!(got["failed"], "23505", "{got}");
                assert_eq!(got["committed"][0], "25P02", "{got}");
                assert!(
                    got["committed"][1]
                        .as_str()
                        .unwrap()
                        .contains("rolled back, not committed"),
                    "{got}"
                );
                assert_eq!(got["ids"], serde_json::json!([]), "{got}");
            }
        }
        // The connection went back to its pool in working order.
        let after = served.json("/after");
        match engine {
            Engine::Sqlite => assert_eq!(after, serde_json::json!([1, 7])),
            Engine::Postgres => assert_eq!(after, serde_json::json!([7])),
        }
    }
);

on_both!(
    create_if_not_exists_at_the_same_moment_succeeds_for_all,
    |engine| {
        let served = serve(
        engine,
        &[("make.js", &script("update.execute('CREATE TABLE IF NOT EXISTS t_' + request.getParameter('name') + ' (id INTEGER)');
response.print('made');"))],
        &[],
    );
        // PostgreSQL's own `IF NOT EXISTS` lets all but one of these fail.
        for name in ["a", "b", "c", "d"] {
            let answers: Vec<(u16, String)> = std::thread::scope(|threads| {
                let makers: Vec<_> = (0..12)
                    .map(|_| threads.spawn(|| served.get(&format!("/make?name={name}"))))
                    .collect();
                makers.into_iter().map(|m| m.join().unwrap()).collect()
            });
            for answer in answers {
                assert_eq!(answer, (200, "made".to_string()), "{engine:?} t_{name}");
            }
        }
    }
);

on_both!(a_long_statement_stops_at_the_timeout, |engine| {
    let forever = match engine {
        Engine::Sqlite => "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) AS c FROM n",
        Engine::Postgres => "SELECT pg_sleep(30) AS c",
    };
    let served = serve(
        engine,
        &[
            (
                "setup.js",
                &script("update.execute('CREATE TABLE t (id INTEGER)'); response.print('ok');"),
            ),
            (
                "long.js",
                &script(&format!(
                    "const c = database.getConnection();
c.setAutoCommit(false);
c.prepareStatement('INSERT INTO t (id) VALUES (1)').executeUpdate();
c.prepareStatement('{forever}').executeQuery();"
                )),
            ),
            (
                "quick.js",
                &script("response.print(query.execute('SELECT count(*) AS n FROM t')[0].n);"),
            ),
        ],
        &["--timeout", "1s", "--workers", "1"],
    );
    served.ok("/setup");
    let started = Instant::now();
    let (status, body) = served.get("/long");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("--timeout"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        served.ok("/quick"),
        "0",
        "the worker and the database serve on; the stopped script's transaction was rolled back"
    );
});

on_both!(named_datasources_sit_beside_the_default, |engine| {
    let other = tempfile::tempdir().unwrap();
    let spec = format!("other=sqlite:{}", other.path().join("other.db").display());
    let served = serve(
        engine,
        &[(
            "t.js",
            &script("update.execute('CREATE TABLE w (v TEXT)', [], 'other');
update.execute('INSERT INTO w VALUES (?)', ['there'], 'other');
let missing; try { query.execute('SELECT v FROM w') } catch (e) { missing = true }
response.json({ there: query.execute('SELECT v FROM w', [], 'other'), missing, sources: database.getDataSources(),
  product: database.getProductName('other'), conn: database.getConnection('other').getDatabaseSystem() });"),
        )],
        &["--db", &spec],
    );
    assert_eq!(
        served.json("/t"),
        serde_json::json!({"there": [{"v": "there"}], "missing": true, "sources": ["DefaultDB", "other"],
            "product": "SQLite", "conn": "SQLITE"})
    );
});

/// The SQLite write lock: a request that holds a write transaction while
/// it waits (a timer, or a synchronous HTTP call to a slow path) and a
/// second request on the same worker that writes: the second waits in its
/// fiber, the worker serves others meanwhile, and both succeed.
#[test]
fn sqlite_writers_wait_for_each_other_without_blocking_the_worker() {
    let served = serve(
        Engine::Sqlite,
        &[
            ("setup.js", &script("update.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)'); response.print('ok');")),
            ("hold.js", &script("const c = database.getConnection();
c.setAutoCommit(false);
c.prepareStatement(\"INSERT INTO t (id, who) VALUES (1, 'timer')\").executeUpdate();
setTimeout(() => { c.commit(); response.print('held'); }, 800);")),
            ("call.js", &script("const c = database.getConnection();
c.setAutoCommit(false);
c.prepareStatement(\"INSERT INTO t (id, who) VALUES (3, 'call')\").executeUpdate();
const reply = require('http/v4/client').get('http://' + request.getHeader('host') + '/slow');
c.commit();
response.print('called ' + reply.text);")),
            ("slow.js", "setTimeout(() => require('http/v4/response').print('slowly'), 800);"),
            ("write.js", &script("const t0 = Date.now();
update.execute('INSERT INTO t (id, who) VALUES (?, ?)', [Number(request.getParameter('id')), 'writer']);
response.print(String(Date.now() - t0));")),
            ("hello.js", "require('http/v4/response').print('hello');"),
            ("ids.js", &script("response.json(query.execute('SELECT id FROM t ORDER BY id').map(r => r.id));")),
        ],
        &["--workers", "1"],
    );
    served.ok("/setup");
    for (holder, id) in [("/hold", 2), ("/call", 4)] {
        let url = served.blimp.url(holder);
        let holding = std::thread::spawn(move || get(&plain(), &url));
        std::thread::sleep(Duration::from_millis(250));
        let url = served.blimp.url(&format!("/write?id={id}"));
        let writing = std::thread::spawn(move || get(&plain(), &url));
        std::thread::sleep(Duration::from_millis(100));
        let asked = Instant::now();
        assert_eq!(served.ok("/hello"), "hello");
        assert!(
            asked.elapsed() < Duration::from_millis(300),
            "the worker answered others while both waited: {:?}",
            asked.elapsed()
        );
        let (status, held) = holding.join().unwrap();
        assert_eq!(status, 200, "{held}");
        let (status, waited) = writing.join().unwrap();
        assert_eq!(status, 200, "{waited}\n{}", served.blimp.log());
        let waited: u64 = waited.parse().unwrap();
        assert!(
            waited >= 300,
            "{holder}: the writer waited for the holder's commit ({waited} ms)"
        );
    }
    assert_eq!(served.json("/ids"), serde_json::json!([1, 2, 3, 4]));
}

/// A PostgreSQL query waits in its fiber: the worker serves others meanwhile.
#[test]
fn postgres_queries_leave_the_worker_to_others() {
    let served = serve(
        Engine::Postgres,
        &[
            (
                "sleep.js",
                &script("response.print(query.execute('SELECT pg_sleep(1) AS s, 7 AS n')[0].n);"),
            ),
            ("hello.js", "require('http/v4/response').print('hello');"),
        ],
        &["--workers", "1"],
    );
    let url = served.blimp.url("/sleep");
    let sleeping = std::thread::spawn(move || get(&plain(), &url));
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    assert_eq!(served.ok("/hello"), "hello");
    assert!(
        asked.elapsed() < Duration::from_millis(400),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(sleeping.join().unwrap(), (200, "7".to_string()));
}

/// `sslmode=require` in the URL: TLS, the server's certificate verified
/// (`--ca-file` for one of its own); a certificate not trusted stops the
/// start with the reason.
#[test]
fn postgres_over_tls_when_the_url_asks_for_it() {
    let postgres = Postgres::shared();
    let url = format!("{}?sslmode=require", postgres.database());
    let ca = postgres.ca_file();
    let ca = ca.to_str().unwrap();
    let served = Blimp::start(
        &[(
            "t.js",
            &script("response.json(query.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')[0]);"),
        )],
        &["--db", url.as_str(), "--ca-file", ca],
    );
    let (status, body) = get(&plain(), &served.url("/t"));
    assert_eq!((status, body.as_str()), (200, r#"{"ssl":true}"#));
    // Without the URL asking, plain TCP as before.
    let plain_url = postgres.database();
    let served = Blimp::start(
        &[(
            "t.js",
            &script("response.json(query.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')[0]);"),
        )],
        &["--db", plain_url.as_str()],
    );
    assert_eq!(get(&plain(), &served.url("/t")).1, r#"{"ssl":false}"#);

    let dir = scripts(&[("t.js", "require('http/v4/response').print('x');")]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_blimp"))
        .args([
            "--port",
            "0",
            "--session-store",
            "memory",
            "--no-supervisor",
            "--db",
            &url,
        ])
        .arg("--scripts")
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("datasource DefaultDB") && log.contains("certificate"),
        "{log}"
    );
}

#[test]
fn a_datasource_that_cannot_be_opened_stops_the_start() {
    let dir = scripts(&[("t.js", "require('http/v4/response').print('x');")]);
    let default = format!("sqlite:{}", dir.path().join("_default.db").display());
    let nowhere = format!("postgres://postgres@127.0.0.1:{}/nowhere", free_port());
    for (specs, says) in [
        (vec![nowhere.as_str()], "datasource DefaultDB"),
        (
            vec![default.as_str(), "other=sqlite:/nonexistent/folder/x.db"],
            "datasource other",
        ),
        (vec!["mysql://x"], "unknown kind of datasource"),
        (
            vec![default.as_str(), default.as_str()],
            "--db: the default datasource is given twice",
        ),
    ] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_blimp"));
        command.args([
            "--port",
            "0",
            "--session-store",
            "memory",
            "--no-supervisor",
        ]);
        for spec in &specs {
            command.args(["--db", spec]);
        }
        let output = command
            .arg("--scripts")
            .arg(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{specs:?}: {log}");
        assert!(log.contains(says), "{specs:?}: {log}");
    }
}

/// A database that goes away later: 503 for the requests that use it,
/// every other request served as before.
#[test]
fn a_database_that_goes_down_gives_503_to_its_requests_only() {
    let server = Postgres::start_on(free_port());
    let other = tempfile::tempdir().unwrap();
    let spec = format!("other=sqlite:{}", other.path().join("o.db").display());
    let url = server.url();
    let blimp = Blimp::start(
        &[
            ("db.js", &script("response.print(query.execute('SELECT 1 AS one')[0].one);")),
            ("caught.js", &script("try { query.execute('SELECT 1') } catch (e) { response.print('caught: ' + e.message) }")),
            ("other.js", &script("response.print(query.execute('SELECT 2 AS two', [], 'other')[0].two);")),
            ("hello.js", "require('http/v4/response').print('hello');"),
        ],
        &["--db", &url, "--db", &spec],
    );
    let client = plain();
    assert_eq!(get(&client, &blimp.url("/db")), (200, "1".to_string()));
    server.stop_now();
    let (status, body) = get(&client, &blimp.url("/db"));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("database unavailable"), "{body}");
    let (status, body) = get(&client, &blimp.url("/caught"));
    assert_eq!(
        status, 200,
        "a script that catches the error answers itself: {body}"
    );
    assert!(body.starts_with("caught: "), "{body}");
    assert_eq!(get(&client, &blimp.url("/other")), (200, "2".to_string()));
    assert_eq!(
        get(&client, &blimp.url("/hello")),
        (200, "hello".to_string())
    );
}

#[test]
fn the_default_datasource_is_a_file_beside_the_sqlite_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let scripts = scripts(&[("t.js", &script("update.execute('CREATE TABLE IF NOT EXISTS k (v INTEGER)'); response.print(database.getDataSources().join());"))]);
    let store = format!("sqlite:{}", dir.path().join("sessions.db").display());
    let args: Vec<String> = [
        "--port",
        "0",
        "--workers",
        "1",
        "--session-store",
        &store,
        "--scripts",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([scripts.path().display().to_string()])
    .collect();
    let blimp = Blimp::spawn(&args, scripts.path());
    let data = dir.path().join("blimp-data.db");
    assert!(data.exists(), "made at start");
    assert_eq!(
        get(&plain(), &blimp.url("/t")),
        (200, "DefaultDB".to_string())
    );
    let conn = rusqlite::Connection::open(&data).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.query_row("SELECT count(*) FROM k", [], |r| r.get::<_, i64>(0))
        .unwrap();
}
