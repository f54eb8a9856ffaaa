#!/usr/bin/env python3
"""Helpers for bench/run: parse wrk reports, keep results as JSON lines, talk
to redis-server, and render the final Markdown table + JSON file.

Every measurement bench/run takes becomes one JSON object on one line of a
results file (kind = row | start | leak | sessions | note); `render` turns
that file into the Markdown on stdout and bench/results/*.json.
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time

MARK = "BENCH_WRK "


# ---------------------------------------------------------------- wrk output

def parse_wrk(path):
    """The BENCH_WRK line that bench/lib/report.lua printed, as a dict."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith(MARK):
            run = json.loads(line[len(MARK):])
            secs = run["duration_us"] / 1e6
            run["rps"] = run["requests"] / secs if secs > 0 else 0.0
            run["error_count"] = sum(run["errors"].values())
            return run
    raise SystemExit(f"no wrk report in {path}:\n{text[-2000:]}")


def log_problems(path):
    """Warnings and errors a server logged (tracing's ` WARN ` / ` ERROR `)."""
    if not path or not os.path.exists(path):
        return {"warn": 0, "error": 0, "first": None}
    warn = error = 0
    first = None
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = ansi.sub("", raw).rstrip("\n")
            if re.search(r"\bERROR\b", line):
                error += 1
            elif re.search(r"\bWARN\b", line):
                warn += 1
            else:
                continue
            if first is None:
                first = line[:300]
    return {"warn": warn, "error": error, "first": first}


def cmd_row(a):
    row = {"kind": "row", "server": a.server, "store": a.store, "scenario": a.scenario}
    if a.db:
        row["db"] = a.db
    if a.na:
        row["na"] = a.na
    else:
        runs = [parse_wrk(p) for p in a.wrk]
        row["runs"] = [
            {"rps": r["rps"], "p50_us": r["latency_us"]["p50"], "p99_us": r["latency_us"]["p99"],
             "max_us": r["latency_us"]["max"], "requests": r["requests"], "errors": r["errors"]}
            for r in runs
        ]
        row["rps"] = statistics.median(r["rps"] for r in runs)
        row["p50_us"] = statistics.median(r["latency_us"]["p50"] for r in runs)
        row["p99_us"] = statistics.median(r["latency_us"]["p99"] for r in runs)
        row["errors"] = sum(r["error_count"] for r in runs)
        row["requests"] = sum(r["requests"] for r in runs)
        rps = [r["rps"] for r in runs]
        row["spread"] = (max(rps) - min(rps)) / row["rps"] if row["rps"] else 0.0
        if a.reference_wrk:
            reference = [parse_wrk(p)["rps"] for p in a.reference_wrk]
            row["reference_rps"] = reference
            row["vs_hyper"] = statistics.median(
                r / h for r, h in zip(rps, reference) if h > 0
            )
    if a.peak_rss_kb:
        row["peak_rss_kb"] = int(a.peak_rss_kb)
    if a.extra_rss_kb:
        row["extra_rss_kb"] = int(a.extra_rss_kb)
        row["extra_rss_of"] = a.extra_rss_of
    if a.log:
        row["log"] = log_problems(a.log)
    if a.note:
        row["note"] = a.note
    print(json.dumps(row))


def cmd_probe(a):
    """GETs a URL every --every-ms for --seconds on one keep-alive
    connection; prints the latencies' median, p99 and max."""
    import http.client
    import urllib.parse
    url = urllib.parse.urlparse(a.url)
    times, errors = [], 0
    connection = None
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            connection.request("GET", url.path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
            times.append((time.monotonic() - started) * 1e6)
        except (OSError, http.client.HTTPException):
            errors += 1
            connection = None
        time.sleep(max(0.0, a.every_ms / 1000 - (time.monotonic() - started)))
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] if times else None
    print(json.dumps({"count": len(times), "errors": errors, "p50_us": pick(0.5),
                      "p99_us": pick(0.99), "max_us": times[-1] if times else None}))


def cmd_waiting(a):
    runs = [parse_wrk(p) for p in a.wrk]
    probes = []
    for path in a.probe:
        with open(path) as f:
            probes.append(json.loads(f.read()))
    rps = statistics.median(r["rps"] for r in runs)
    print(json.dumps({
        "kind": "waiting", "server": a.server, "store": "memory", "scenario": a.scenario,
        "rps": rps, "ideal_rps": float(a.ideal), "of_ideal": rps / float(a.ideal),
        "delay_ms": int(a.delay_ms),
        "p50_us": statistics.median(r["latency_us"]["p50"] for r in runs),
        "p99_us": statistics.median(r["latency_us"]["p99"] for r in runs),
        "errors": sum(r["error_count"] for r in runs),
        "hello_p50_us": statistics.median(p["p50_us"] for p in probes if p["p50_us"] is not None),
        "hello_p99_us": statistics.median(p["p99_us"] for p in probes if p["p99_us"] is not None),
        "hello_max_us": max(p["max_us"] for p in probes if p["max_us"] is not None),
        "hello_errors": sum(p["errors"] for p in probes),
        "runs": [{"rps": r["rps"], "p99_us": r["latency_us"]["p99"]} for r in runs],
        "log": log_problems(a.log),
    }))


def cmd_leak(a):
    runs = [parse_wrk(p) for p in a.wrk]
    rss = [int(x) for x in a.rss_kb]
    first = rss[0]
    worst = max(abs(x - first) / first for x in rss) if first else 0.0
    print(json.dumps({
        "kind": "leak", "server": a.server, "store": a.store,
        "rss_before_kb": int(a.rss_before_kb), "rss_kb": rss,
        "rps": [r["rps"] for r in runs], "errors": [r["error_count"] for r in runs],
        "max_change_vs_run1": worst, "flat": worst <= 0.10,
        "log": log_problems(a.log),
    }))


def cmd_sessions(a):
    before, after = int(a.rss_before_kb), int(a.rss_after_kb)
    count0, count1 = int(a.count_before), int(a.count_after)
    created = count1 - count0
    wrk_requests = sum(parse_wrk(p)["requests"] for p in a.wrk)
    print(json.dumps({
        "kind": "sessions", "server": a.server, "store": a.store, "target": int(a.target),
        "sessions_created": created, "wrk_requests": int(a.wrk_before) + wrk_requests,
        "count_after": count1, "rss_before_kb": before, "rss_after_kb": after,
        "bytes_per_session": (after - before) * 1024 / created if created > 0 else None,
        "seconds": float(a.seconds),
    }))


# ---------------------------------------------------------------- small tools

def resp(*words):
    out = f"*{len(words)}\r\n"
    for w in words:
        out += f"${len(w.encode())}\r\n{w}\r\n"
    return out.encode()


def cmd_redis(a):
    """Send one command to redis-server; --wait retries until it answers."""
    deadline = time.time() + (a.wait or 0)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", a.port), timeout=5) as s:
                s.sendall(resp(*a.command))
                reply = s.recv(65536).decode(errors="replace")
                print(reply.strip())
                return 0 if not reply.startswith("-") else 1
        except OSError as e:
            if time.time() >= deadline:
                print(f"redis: {e}", file=sys.stderr)
                return 1
            time.sleep(0.05)


def cmd_free_port(_):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


# ---------------------------------------------------------------- rendering

def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:  # noqa: BLE001 - optional facts
        return ""


def machine(root):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    express = ""
    try:
        with open(os.path.join(root, "bench/express/node_modules/express/package.json")) as f:
            express = json.load(f)["version"]
        with open(os.path.join(root, "bench/express/node_modules/express-session/package.json")) as f:
            express += " / express-session " + json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        pass
    for module in ("better-sqlite3", "pg"):
        try:
            with open(os.path.join(root, f"bench/express/node_modules/{module}/package.json")) as f:
                express += f" / {module} " + json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            pass
    postgres = ""
    try:
        versions = sorted((d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()), key=int)
        if versions:
            postgres = sh(f"/usr/lib/postgresql/{versions[-1]}/bin/postgres", "--version")
    except OSError:
        pass
    dirty = sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no")
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_total_mb": mem_kb // 1024,
        "kernel": platform.release(),
        "rustc": sh("rustc", "--version"),
        "wrk": sh("sh", "-c", "wrk --version 2>&1 | head -n 1"),
        "node": sh("node", "--version"),
        "express": express,
        "redis": sh("redis-server", "--version"),
        "postgres": postgres,
        "nginx": sh("sh", "-c", "nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1"),
        "commit": sh("git", "-C", root, "rev-parse", "HEAD"),
        "dirty": bool(dirty),
    }


def fmt_us(us):
    if us is None:
        return "–"
    if us >= 1_000_000:
        return f"{us / 1e6:.2f} s"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.0f} µs"


def fmt_mb(kb):
    return "–" if kb is None else f"{kb / 1024:.1f} MB"


def label(r):
    # A db row is named by its database (its session store plays no part).
    if r.get("db"):
        return f'{r["server"]} (db: {r["db"]})'
    return r["server"] if r.get("store") in (None, "", "-") else f'{r["server"]} ({r["store"]})'


def db_lines(rows):
    """Each db row next to blimp's own hello of the same run, and the goals."""
    hello = next((r for r in rows if r["server"] == "blimp" and r["scenario"] == "hello"
                  and r.get("store") == "memory" and "rps" in r), None)
    db = [r for r in rows if r["scenario"] == "db" and "rps" in r]
    if not db:
        return []
    out = [""]
    if hello:
        # Both ratios are paired with their own hyper runs: their quotient
        # is freer of the machine's drift than req/s ÷ req/s.
        def of_hello(r):
            if "vs_hyper" in r and hello.get("vs_hyper"):
                return r["vs_hyper"] / hello["vs_hyper"]
            return r["rps"] / hello["rps"]
        out.append("db next to blimp (memory) hello of this run (vs hyper ÷ vs hyper): " +
                   "; ".join(f"{label(r)} {of_hello(r):.2f}" for r in db) + ".")
    by = {(r["server"], r["db"]): r for r in db if r.get("db")}
    goals = []
    sqlite = by.get(("blimp", "sqlite"))
    if sqlite and hello:
        goals.append(f"blimp db on SQLite ≥ 0.5 × blimp hello: {'yes' if of_hello(sqlite) >= 0.5 else 'no'} "
                     f"({of_hello(sqlite):.2f})")
    for mine, theirs in ((("blimp", "sqlite"), ("express", "better-sqlite3")), (("blimp", "postgres"), ("express", "pg"))):
        a, b = by.get(mine), by.get(theirs)
        if a and b:
            goals.append(f"{label(a)} ahead of {label(b)}: {'yes' if a['rps'] > b['rps'] else 'no'} "
                         f"({a['rps'] / b['rps']:.2f}×)")
    if goals:
        out.append("Goals: " + "; ".join(goals) + ".")
    return out


def render(a):
    events = []
    with open(a.results) as f:
        for line in f:
            line = line.strip()
            if line:
                events.append(json.loads(line))
    settings = json.loads(a.settings)
    rows = [e for e in events if e["kind"] == "row"]
    base = next((r for r in rows if r["server"] == "hyper" and r["scenario"] == "hello" and "rps" in r), None)
    base_rps = base["rps"] if base else None
    for r in rows:
        if "rps" in r and base_rps and "vs_hyper" not in r:
            r["vs_hyper"] = r["rps"] / base_rps

    out = []
    m = machine(a.root)
    # The commit the binaries were built from (taken when the run began).
    m["commit"] = settings.pop("commit", m["commit"])
    m["dirty"] = settings.pop("dirty", m["dirty"])
    out.append(f"## blimp benchmark — {a.stamp}")
    out.append("")
    out.append(f"Machine: {m['nproc']} cores, {m['cpu']}, {m['mem_total_mb']} MB, Linux {m['kernel']}; "
               f"commit {m['commit'][:12]}{' (dirty)' if m['dirty'] else ''}.  ")
    out.append(f"wrk: {settings['duration']} s × {settings['runs']} runs (medians), {settings['connections']} connections, "
               f"{settings['threads']} threads, {settings['warmup']} s warm-up, loopback; servers with {settings['workers']} workers "
               f"(Express: one node process; nginx: {settings['workers']} worker processes).  Absolute numbers vary between machines: compare ratios within one run.")
    load = settings.get("loadavg_start", "")
    if load:
        out.append(f"Load average (1, 5, 15 min) before the run: {load}; after: {settings.get('loadavg_end', '?')}"
                   + (" — the machine was busy with other work: expect noise." if float(load.split()[0]) > 0.5 * (m["nproc"] or 1) else "."))
    out.append("")
    out.append("| server | scenario | req/s | p50 | p99 | peak RSS | vs hyper | errors | spread |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    for r in rows:
        if "na" in r:
            out.append(f"| {label(r)} | {r['scenario']} | n/a: {r['na']} | | | | | | |")
            continue
        rss = fmt_mb(r.get("peak_rss_kb"))
        if r.get("extra_rss_kb"):
            rss += f" (+{fmt_mb(r['extra_rss_kb'])} {r['extra_rss_of']})"
        vs = f"{r['vs_hyper']:.2f}" if "vs_hyper" in r else "–"
        errors = f"{r['errors']:,}" if r["errors"] else "0"
        out.append(f"| {label(r)} | {r['scenario']} | {r['rps']:,.0f} | {fmt_us(r['p50_us'])} | {fmt_us(r['p99_us'])} "
                   f"| {rss} | {vs} | {errors} | {r['spread'] * 100:.0f}% |")
        problems = r.get("log") or {}
        if problems.get("warn") or problems.get("error"):
            notes.append(f"{label(r)} {r['scenario']}: server logged {problems['error']} errors, "
                         f"{problems['warn']} warnings; first: `{problems['first']}`")
        if r["errors"]:
            kinds = {}
            for run in r["runs"]:
                for k, v in run["errors"].items():
                    kinds[k] = kinds.get(k, 0) + v
            notes.append(f"{label(r)} {r['scenario']}: wrk errors " +
                         ", ".join(f"{k} {v:,}" for k, v in kinds.items() if v))
        if r.get("note"):
            notes.append(f"{label(r)} {r['scenario']}: {r['note']}")
    out.extend(db_lines(rows))
    for e in events:
        if e["kind"] == "note":
            notes.append(e["text"])

    starts = {}
    for e in events:
        if e["kind"] == "start":
            starts.setdefault((e["server"], e["store"], e.get("db") or ""), []).append(e["ms"])
    if starts:
        out.append("")
        out.append("### Startup: from spawning the server until its first request is answered")
        out.append("")
        out.append("| server | median | min | max | starts |")
        out.append("|---|---:|---:|---:|---:|")
        for (server, store, db), ms in starts.items():
            out.append(f"| {label({'server': server, 'store': store, 'db': db})} | {statistics.median(ms):.1f} ms "
                       f"| {min(ms):.1f} ms | {max(ms):.1f} ms | {len(ms)} |")

    sess = [e for e in events if e["kind"] == "sessions"]
    if sess:
        out.append("")
        out.append("### Resident memory per live session (`counter-new`, no cookie: one new session per request)")
        out.append("")
        out.append("| server | target | sessions created | RSS before | RSS after | bytes / session | time |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for e in sess:
            per = "–" if e["bytes_per_session"] is None else f"{e['bytes_per_session']:,.0f}"
            out.append(f"| {label(e)} | {e['target']:,} | {e['sessions_created']:,} | {fmt_mb(e['rss_before_kb'])} "
                       f"| {fmt_mb(e['rss_after_kb'])} | {per} | {e['seconds']:.0f} s |")
        out.append("")
        out.append("Sessions created = the store's own count (`sessions.count()` / `MemoryStore.length`) after minus before; "
                   "wrk's response count is in the JSON as a cross-check.")

    waiting = [e for e in events if e["kind"] == "waiting"]
    if waiting:
        delay = waiting[0]["delay_ms"]
        out.append("")
        out.append(f"### Scripts that wait: each request waits {delay} ms on a local upstream")
        out.append("")
        out.append(f"{settings['connections']} connections; the ideal is connections ÷ {delay} ms. "
                   "Meanwhile `/hello` on the same server is requested ten times a second: its latency shows "
                   "whether the waiting scripts hold anyone up.")
        out.append("")
        out.append("| server | scenario | req/s | of ideal | p50 | p99 | /hello p50 | /hello p99 | /hello max | errors |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for e in waiting:
            out.append(f"| {e['server']} | {e['scenario']} | {e['rps']:,.0f} | {e['of_ideal'] * 100:.0f}% "
                       f"| {fmt_us(e['p50_us'])} | {fmt_us(e['p99_us'])} | {fmt_us(e['hello_p50_us'])} "
                       f"| {fmt_us(e['hello_p99_us'])} | {fmt_us(e['hello_max_us'])} | {e['errors'] + e['hello_errors']} |")
            problems = e.get("log") or {}
            if problems.get("warn") or problems.get("error"):
                notes.append(f"{e['server']} {e['scenario']}: server logged {problems['error']} errors, "
                             f"{problems['warn']} warnings; first: `{problems['first']}`")

    for e in (e for e in events if e["kind"] == "leak"):
        out.append("")
        out.append(f"### Leak check: RSS across {len(e['rss_kb'])} back-to-back `counter` runs, one fixed cookie — {label(e)}")
        out.append("")
        out.append("| run | req/s | RSS after run | vs run 1 | errors |")
        out.append("|---:|---:|---:|---:|---:|")
        out.append(f"| before | | {fmt_mb(e['rss_before_kb'])} | | |")
        for i, (rss, rps, err) in enumerate(zip(e["rss_kb"], e["rps"], e["errors"]), 1):
            out.append(f"| {i} | {rps:,.0f} | {fmt_mb(rss)} | {(rss - e['rss_kb'][0]) / e['rss_kb'][0] * 100:+.1f}% | {err} |")
        out.append("")
        verdict = "flat (within ±10% of run 1): no leak seen" if e["flat"] else "NOT flat: RSS moved more than 10% from run 1"
        out.append(f"Verdict: {verdict} (largest change {e['max_change_vs_run1'] * 100:.1f}%).")
        if e["log"]["warn"] or e["log"]["error"]:
            notes.append(f"leak check: server logged {e['log']['error']} errors, {e['log']['warn']} warnings; "
                         f"first: `{e['log']['first']}`")

    out.append("")
    out.append("Columns: req/s = median over the runs; p50/p99 = medians of each run's latency percentiles; "
               "peak RSS = VmHWM of the server process (started fresh for each scenario) after its runs; "
               "vs hyper = the median over the runs of req/s ÷ the req/s of a bare hyper server measured right before that run "
               "(the machine's speed drifts, so each ratio compares two measurements taken side by side); errors = wrk socket errors + non-2xx responses, "
               "all runs; spread = (max − min) / median req/s across the runs.")
    if notes:
        out.append("")
        out.append("Notes:")
        for n in notes:
            out.append(f"- {n}")
    markdown = "\n".join(out) + "\n"
    sys.stdout.write(markdown)

    doc = {"timestamp": a.stamp, "machine": m, "settings": settings, "baseline_rps": base_rps,
           "rows": rows, "startup": [{"server": s, "store": st, "db": db, "ms": ms} for (s, st, db), ms in starts.items()],
           "sessions_memory": sess, "leak": [e for e in events if e["kind"] == "leak"],
           "waiting": waiting,
           "notes": notes, "markdown": markdown}
    os.makedirs(a.out_dir, exist_ok=True)
    path = os.path.join(a.out_dir, f"{a.stamp}.json")
    for p in (path, os.path.join(a.out_dir, "latest.json")):
        with open(p, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    print(f"\nJSON: {os.path.relpath(path, a.root)} (and bench/results/latest.json)", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("row")
    r.add_argument("--server", required=True)
    r.add_argument("--store", default="-")
    r.add_argument("--scenario", required=True)
    r.add_argument("--db", help="the database of a db row (sqlite, postgres, better-sqlite3, pg)")
    r.add_argument("--wrk", action="append", default=[])
    r.add_argument("--reference-wrk", action="append", default=[])
    r.add_argument("--na")
    r.add_argument("--note")
    r.add_argument("--peak-rss-kb")
    r.add_argument("--extra-rss-kb")
    r.add_argument("--extra-rss-of", default="")
    r.add_argument("--log")
    r.set_defaults(fn=cmd_row)

    l = sub.add_parser("leak")
    l.add_argument("--server", required=True)
    l.add_argument("--store", default="-")
    l.add_argument("--wrk", action="append", required=True)
    l.add_argument("--rss-kb", action="append", required=True)
    l.add_argument("--rss-before-kb", required=True)
    l.add_argument("--log")
    l.set_defaults(fn=cmd_leak)

    s = sub.add_parser("sessions")
    for name in ("server", "store", "target", "rss-before-kb", "rss-after-kb", "count-before", "count-after", "seconds"):
        s.add_argument("--" + name, required=True)
    s.add_argument("--wrk", action="append", default=[])
    s.add_argument("--wrk-before", default="0")
    s.set_defaults(fn=cmd_sessions)

    pr = sub.add_parser("probe")
    pr.add_argument("--url", required=True)
    pr.add_argument("--seconds", type=float, required=True)
    pr.add_argument("--every-ms", type=float, default=100)
    pr.set_defaults(fn=cmd_probe)

    wt = sub.add_parser("waiting")
    wt.add_argument("--server", required=True)
    wt.add_argument("--scenario", required=True)
    wt.add_argument("--ideal", required=True)
    wt.add_argument("--delay-ms", required=True)
    wt.add_argument("--wrk", action="append", required=True)
    wt.add_argument("--probe", action="append", required=True)
    wt.add_argument("--log")
    wt.set_defaults(fn=cmd_waiting)

    rd = sub.add_parser("redis")
    rd.add_argument("port", type=int)
    rd.add_argument("command", nargs="+")
    rd.add_argument("--wait", type=float)
    rd.set_defaults(fn=cmd_redis)

    fp = sub.add_parser("free-port")
    fp.set_defaults(fn=cmd_free_port)

    w = sub.add_parser("wrk-requests")
    w.add_argument("file")
    w.set_defaults(fn=lambda a: print(parse_wrk(a.file)["requests"]))

    g = sub.add_parser("render")
    g.add_argument("--results", required=True)
    g.add_argument("--settings", required=True)
    g.add_argument("--stamp", required=True)
    g.add_argument("--root", required=True)
    g.add_argument("--out-dir", required=True)
    g.set_defaults(fn=render)

    a = p.parse_args()
    sys.exit(a.fn(a) or 0)


if __name__ == "__main__":
    main()
