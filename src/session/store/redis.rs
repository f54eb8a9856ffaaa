//! Sessions in Redis, shared by every blimp instance that points at it.
//!
//! Key layout (`{P}` = `--session-prefix`, default `blimp:s:`; `{id}` = the
//! session id, a UUID):
//!
//! * `{P}{id}`, e.g. `blimp:s:0b5c…`: one hash per session, with
//!   - `m:created`, `m:accessed` (Unix ms), `m:idle` (seconds): the metadata;
//!   - `m:seq`: the last first-set sequence number handed out;
//!   - `a:<name>`: the JSON text of attribute `<name>`;
//!   - `o:<name>`: its first-set sequence number (attributes load in that order).
//!
//!   Every write sets `PEXPIREAT` to the session's deadline, so Redis drops
//!   dead sessions by itself (`sweep` has nothing to do).
//! * `{P}lock:{id}`: the lock of a session, a random token with a `PX`
//!   lease; session ids are UUIDs, so `lock:` never clashes with one.
//!
//! Writes of one request run as one Lua script: only the changed fields are
//! written (`HSET`/`HDEL`), a create is insert-if-absent (so ids never
//! collide), an update of a session that is gone does nothing (an
//! invalidated or expired session never comes back), a rename is `RENAMENX`,
//! a delete is `DEL`.
//!
//! Locking (`locked` has the protocol): the lock is taken by the `LOCK`
//! script (set if absent, with a `PX` lease) in the same round trip as the
//! read; the `APPLY` script writes only while the lock still carries the
//! writer's token, and renews or releases it in the same round trip. Each
//! worker thread has its own connection.
//!
//! Minimum Redis version: 2.8 (the newest command used is `SCAN`; `EVAL`,
//! `EVALSHA`, `SCRIPT LOAD`, `PEXPIREAT`, `SET … NX PX` need 2.6.12; the
//! others are older). Tested with Redis 7.0. A standalone server (or a
//! primary); Redis Cluster is not supported.
//!
//! When Redis cannot be reached, every operation fails within about two
//! seconds with `StoreError::Unavailable("redis at HOST:PORT: …")` (the request gets
//! 503), and the store reconnects by itself once Redis is back; blimp may
//! even start while Redis is down.
//!
//! `count` is approximate: it `SCAN`s the keys under the prefix (skipping
//! lock keys), so it costs one round trip per 1000 keys of the database.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};
use tokio::runtime::RuntimeFlavor;

use super::locked::{Backend, LockedStore, Then};
use super::{Expiry, Meta, StoreError, StoreResult, Stored, Write};
use crate::session::id::SessionId;

/// Longest wait for a connection to be established.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait for an answer on an established connection.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest any one operation may take before it counts as unavailable.
const OP_TIMEOUT: Duration = Duration::from_millis(2500);
/// Keys per SCAN step in `count`.
const SCAN_COUNT: u32 = 1000;

/// Applies a batch of writes atomically; with a lock, only while it still
/// carries the token, and then renews or releases it.
///
/// `ARGV[1]` is the absolute lifetime in ms; `ARGV[2]` the index in `KEYS`
/// of the lock (`0`: none), `ARGV[3]` its token, `ARGV[4]` what to do with
/// it: `release`, or `renew` (its lease to `ARGV[5]` ms). Then the writes,
/// each a code followed by its fields (`k` is an index into `KEYS`):
///
/// * `C k created accessed idle n (name value)*n`
/// * `U k accessed idle ns (name value)*ns nr (name)*nr` (empty accessed/idle: unchanged)
/// * `D k`
/// * `R kfrom kto`
///
/// Returns 1 when applied; 0 when a create or rename would hit an existing
/// id, -1 when the lock is not the token's (nothing is written then).
const APPLY: &str = r#"
local max_age = tonumber(ARGV[1])
local lock, token, renew = tonumber(ARGV[2]), ARGV[3], ARGV[4] == 'renew'
if lock > 0 and redis.call('GET', KEYS[lock]) ~= token then return -1 end
local ops = {}
local i = 6
while i <= #ARGV do
  local code = ARGV[i]
  local op = { code = code, key = KEYS[tonumber(ARGV[i + 1])] }
  if code == 'C' then
    op.created, op.accessed, op.idle = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
    op.set_at, op.nset = i + 6, tonumber(ARGV[i + 5])
    i = i + 6 + 2 * op.nset
  elseif code == 'U' then
    op.accessed, op.idle = ARGV[i + 2], ARGV[i + 3]
    op.set_at, op.nset = i + 5, tonumber(ARGV[i + 4])
    i = i + 5 + 2 * op.nset
    op.remove_at, op.nremove = i + 1, tonumber(ARGV[i])
    i = i + 1 + op.nremove
  elseif code == 'D' then
    i = i + 2
  elseif code == 'R' then
    op.to = KEYS[tonumber(ARGV[i + 2])]
    i = i + 3
  else
    return redis.error_reply('blimp: unknown write ' .. tostring(code))
  end
  ops[#ops + 1] = op
end

local function expire(key)
  local m = redis.call('HMGET', key, 'm:created', 'm:accessed', 'm:idle')
  local deadline = tonumber(m[1]) + max_age
  local idle = tonumber(m[3])
  if idle > 0 then
    local by_idle = tonumber(m[2]) + idle * 1000
    if by_idle < deadline then deadline = by_idle end
  end
  redis.call('PEXPIREAT', key, string.format('%.0f', deadline))
end

local function apply()
  for _, op in ipairs(ops) do
    if op.code == 'C' and redis.call('EXISTS', op.key) == 1 then return 0 end
    if op.code == 'R' and redis.call('EXISTS', op.key) == 1 and redis.call('EXISTS', op.to) == 1 then return 0 end
  end
  for _, op in ipairs(ops) do
    local key = op.key
    if op.code == 'C' then
      redis.call('HSET', key, 'm:created', op.created)
      redis.call('HSET', key, 'm:accessed', op.accessed)
      redis.call('HSET', key, 'm:idle', op.idle)
      for j = 0, op.nset - 1 do
        local name = ARGV[op.set_at + 2 * j]
        redis.call('HSET', key, 'a:' .. name, ARGV[op.set_at + 2 * j + 1])
        redis.call('HSET', key, 'o:' .. name, j + 1)
      end
      redis.call('HSET', key, 'm:seq', op.nset)
      expire(key)
    elseif op.code == 'U' then
      if redis.call('EXISTS', key) == 1 then
        if op.accessed ~= '' then redis.call('HSET', key, 'm:accessed', op.accessed) end
        if op.idle ~= '' then redis.call('HSET', key, 'm:idle', op.idle) end
        for j = 0, op.nremove - 1 do
          local name = ARGV[op.remove_at + j]
          redis.call('HDEL', key, 'a:' .. name, 'o:' .. name)
        end
        for j = 0, op.nset - 1 do
          local name = ARGV[op.set_at + 2 * j]
          redis.call('HSET', key, 'a:' .. name, ARGV[op.set_at + 2 * j + 1])
          if redis.call('HEXISTS', key, 'o:' .. name) == 0 then
            redis.call('HSET', key, 'o:' .. name, redis.call('HINCRBY', key, 'm:seq', 1))
          end
        end
        expire(key)
      end
    elseif op.code == 'D' then
      redis.call('DEL', key)
    elseif op.code == 'R' then
      if redis.call('EXISTS', key) == 1 then
        redis.call('RENAMENX', key, op.to)
      end
    end
  end
  return 1
end

if apply() == 0 then return 0 end
if lock > 0 then
  if renew then
    redis.call('PEXPIRE', KEYS[lock], ARGV[5])
  else
    redis.call('DEL', KEYS[lock])
  end
end
return 1
"#;

/// Takes the lock `KEYS[1]` for token `ARGV[1]` with a lease of `ARGV[2]`
/// ms (renewing it when the token already holds it), and reads the session
/// `KEYS[2]`: `{1, fields}`, or `{0, {}}` when another token holds the lock.
const LOCK: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif holder then
  return {0, {}}
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return {1, redis.call('HGETALL', KEYS[2])}
"#;

/// Starts the lease of the lock `KEYS[1]` anew (`ARGV[2]` ms) while token
/// `ARGV[1]` holds it: 1, or 0 when it does not.
const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

pub type RedisStore = LockedStore<Redis>;

pub struct Redis {
    client: redis::Client,
    /// Where Redis is, for messages (never the password).
    addr: String,
    config: ConnectionManagerConfig,
    /// One connection per runtime, made when Redis is first reached there
    /// (it reconnects by itself afterwards). Each worker thread has its own,
    /// so a round trip never hops to another thread; the session runtime's
    /// is under `None`.
    managers: Mutex<HashMap<Option<ThreadId>, ConnectionManager>>,
    /// Serialises first connection attempts; remembers when the last one
    /// failed, and why.
    connecting: tokio::sync::Mutex<Option<(Instant, String)>>,
    /// False from a failed operation to the next good one (for the log).
    healthy: AtomicBool,
    prefix: String,
    expiry: Expiry,
    lock_ttl_ms: u64,
    lock: Script,
    renew: Script,
    apply: Script,
}

/// A store on `url` (`redis://[:PASSWORD@]HOST:PORT[/DB]`) with keys under
/// `prefix`. Fails only for a malformed URL: when Redis is down the error is
/// logged and operations fail (503) until it is reachable.
///
/// `runtime` is the session runtime: the first connection is made there.
pub fn open(
    url: &str,
    prefix: &str,
    expiry: Expiry,
    lock_ttl: Duration,
    runtime: &tokio::runtime::Runtime,
) -> Result<RedisStore, String> {
    let client =
        redis::Client::open(url).map_err(|err| format!("session store {}: {err}", redact(url)))?;
    if prefix.is_empty() {
        return Err("--session-prefix must not be empty".into());
    }
    let addr = client.get_connection_info().addr.to_string();
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
        .set_number_of_retries(0);
    let redis = Redis {
        client,
        addr,
        config,
        managers: Mutex::default(),
        connecting: tokio::sync::Mutex::new(None),
        healthy: AtomicBool::new(true),
        prefix: prefix.to_string(),
        // Far beyond any real lifetime, and exact in a Lua number.
        expiry: Expiry {
            max_age_ms: expiry.max_age_ms.clamp(0, 1 << 50),
        },
        lock_ttl_ms: u64::try_from(lock_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1),
        lock: Script::new(LOCK),
        renew: Script::new(RENEW),
        apply: Script::new(APPLY),
    };
    match runtime.block_on(redis.manager()) {
        Ok(_) => tracing::info!("session store: connected to redis at {}", redis.addr),
        Err(err) => {
            redis.healthy.store(false, Ordering::Relaxed);
            let reason = match err {
                StoreError::Unavailable(reason) => reason,
                other => other.to_string(),
            };
            tracing::error!(
                "session store: {reason}; redis is unreachable: requests that use the session get 503 until it is, the others are served"
            );
        }
    }
    Ok(LockedStore::new(redis, runtime.handle().clone()))
}

impl Redis {
    fn key(&self, id: SessionId) -> String {
        format!("{}{id}", self.prefix)
    }

    fn lock_key(&self, id: SessionId) -> String {
        format!("{}lock:{id}", self.prefix)
    }

    async fn manager(&self) -> StoreResult<ConnectionManager> {
        let runtime = match tokio::runtime::Handle::current().runtime_flavor() {
            RuntimeFlavor::CurrentThread => Some(std::thread::current().id()),
            _ => None,
        };
        if let Some(manager) = self.managers.lock().unwrap().get(&runtime) {
            return Ok(manager.clone());
        }
        let arrived = Instant::now();
        let mut last = self.connecting.lock().await;
        if let Some(manager) = self.managers.lock().unwrap().get(&runtime) {
            return Ok(manager.clone());
        }
        // An attempt that failed while this caller waited answers for it too
        // (a down Redis costs one attempt at a time, not one per request);
        // an older failure does not: Redis may be back since.
        if let Some((at, message)) = &*last {
            if *at >= arrived {
                return Err(StoreError::Unavailable(message.clone()));
            }
        }
        let connect = ConnectionManager::new_with_config(self.client.clone(), self.config.clone());
        let message = match tokio::time::timeout(OP_TIMEOUT, connect).await {
            Ok(Ok(manager)) => {
                *last = None;
                self.managers
                    .lock()
                    .unwrap()
                    .insert(runtime, manager.clone());
                return Ok(manager);
            }
            Ok(Err(err)) => format!("redis at {}: {err}", self.addr),
            Err(_) => format!(
                "redis at {}: no connection within {:?}",
                self.addr, OP_TIMEOUT
            ),
        };
        *last = Some((Instant::now(), message.clone()));
        Err(StoreError::Unavailable(message))
    }

    /// Runs one Redis operation with a deadline, and logs when Redis stops
    /// or starts working.
    async fn call<T, F, Fut>(&self, op: F) -> StoreResult<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let result = self.attempt(op).await;
        match &result {
            Ok(_)
                if !self.healthy.load(Ordering::Relaxed)
                    && !self.healthy.swap(true, Ordering::Relaxed) =>
            {
                tracing::info!("session store: redis at {} works again", self.addr);
            }
            Err(StoreError::Unavailable(reason)) if self.healthy.swap(false, Ordering::Relaxed) => {
                tracing::error!("session store: {reason}; requests that use the session get 503 until redis works again");
            }
            _ => {}
        }
        result
    }

    /// An operation that met a refused or dropped connection is tried once
    /// more: that failure made the client reconnect, so a Redis that came
    /// back is used at once. Every operation is safe to repeat: reads, the
    /// token-checked lock calls, and `APPLY`, whose writes are idempotent
    /// (a repeated create would report a collision, and only if the first
    /// one ran but its answer was lost).
    async fn attempt<T, F, Fut>(&self, op: F) -> StoreResult<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let mut retried = false;
        loop {
            let manager = self.manager().await?;
            match tokio::time::timeout(OP_TIMEOUT, op(manager)).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err))
                    if !retried && (err.is_connection_refusal() || err.is_connection_dropped()) =>
                {
                    retried = true
                }
                Ok(Err(err)) => {
                    return Err(StoreError::Unavailable(format!(
                        "redis at {}: {err}",
                        self.addr
                    )))
                }
                Err(_) => {
                    return Err(StoreError::Unavailable(format!(
                        "redis at {}: no answer within {:?}",
                        self.addr, OP_TIMEOUT
                    )))
                }
            }
        }
    }

    /// Takes (or renews) the lock and reads the session in one round trip.
    async fn try_lock_and_load(
        &self,
        id: SessionId,
        token: &str,
    ) -> StoreResult<Option<Option<Stored>>> {
        let (lock_key, key) = (self.lock_key(id), self.key(id));
        let (taken, fields): (i64, Vec<String>) = self
            .call(|mut con| {
                let mut invocation = self.lock.key(&lock_key);
                invocation.key(&key).arg(token).arg(self.lock_ttl_ms);
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        Ok((taken == 1).then(|| decode(&pairs(fields))))
    }

    async fn load_unlocked(&self, id: SessionId) -> StoreResult<Option<Stored>> {
        let key = self.key(id);
        let fields: HashMap<String, String> = self
            .call(|mut con| {
                let key = key.clone();
                async move { redis::cmd("HGETALL").arg(key).query_async(&mut con).await }
            })
            .await?;
        Ok(decode(&fields))
    }

    /// Applies `writes` in one round trip: with `lock`, only while its
    /// token holds the lock, which is then renewed or released.
    async fn apply(
        &self,
        writes: Vec<Write>,
        lock: Option<(SessionId, &str, Then)>,
    ) -> StoreResult<()> {
        if writes.is_empty() && lock.is_none() {
            return Ok(());
        }
        let (keys, args) = self.encode(&writes, lock);
        let applied: i64 = self
            .call(|mut con| {
                let mut invocation = self.apply.prepare_invoke();
                for key in &keys {
                    invocation.key(key);
                }
                for arg in &args {
                    invocation.arg(arg);
                }
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        match applied {
            1 => Ok(()),
            -1 => Err(StoreError::LockLost),
            _ => Err(StoreError::Collision),
        }
    }

    /// The keys and arguments of the `APPLY` script.
    fn encode(
        &self,
        writes: &[Write],
        lock: Option<(SessionId, &str, Then)>,
    ) -> (Vec<String>, Vec<String>) {
        let mut keys: Vec<String> = Vec::new();
        // A key's position in KEYS (from 1), added on first use.
        let mut index = |key: String| {
            let at = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                keys.push(key);
                keys.len() - 1
            });
            (at + 1).to_string()
        };
        let (lock, token, then) = match lock {
            None => ("0".into(), "", "release"),
            Some((id, token, then)) => {
                let then = if then == Then::Renew {
                    "renew"
                } else {
                    "release"
                };
                (index(self.lock_key(id)), token, then)
            }
        };
        let mut index = |id: SessionId| index(self.key(id));
        let mut args = vec![
            self.expiry.max_age_ms.to_string(),
            lock,
            token.to_string(),
            then.to_string(),
            self.lock_ttl_ms.to_string(),
        ];
        for write in writes {
            match write {
                Write::Create { id, stored } => {
                    args.push("C".into());
                    args.push(index(*id));
                    args.push(stored.meta.created.to_string());
                    args.push(stored.meta.accessed.to_string());
                    args.push(stored.meta.idle.to_string());
                    args.push(stored.attrs.len().to_string());
                    for (name, value) in &stored.attrs {
                        args.push(name.clone());
                        args.push(value.clone());
                    }
                }
                Write::Update {
                    id,
                    accessed,
                    idle,
                    set,
                    remove,
                } => {
                    args.push("U".into());
                    args.push(index(*id));
                    args.push(accessed.map(|a| a.to_string()).unwrap_or_default());
                    args.push(idle.map(|i| i.to_string()).unwrap_or_default());
                    args.push(set.len().to_string());
                    for (name, value) in set {
                        args.push(name.clone());
                        args.push(value.clone());
                    }
                    args.push(remove.len().to_string());
                    args.extend(remove.iter().cloned());
                }
                Write::Delete { id } => {
                    args.push("D".into());
                    args.push(index(*id));
                }
                Write::Rename { from, to } => {
                    args.push("R".into());
                    args.push(index(*from));
                    args.push(index(*to));
                }
            }
        }
        (keys, args)
    }

    /// Session keys under the prefix, lock keys excluded.
    async fn count_keys(&self) -> StoreResult<u64> {
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let locks = format!("{}lock:", self.prefix).into_bytes();
        let mut cursor: u64 = 0;
        let mut total = 0u64;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = self
                .call(|mut con| {
                    let pattern = pattern.clone();
                    async move {
                        redis::cmd("SCAN")
                            .arg(cursor)
                            .arg("MATCH")
                            .arg(pattern)
                            .arg("COUNT")
                            .arg(SCAN_COUNT)
                            .query_async(&mut con)
                            .await
                    }
                })
                .await?;
            total += keys.iter().filter(|k| !k.starts_with(&locks)).count() as u64;
            if next == 0 {
                return Ok(total);
            }
            cursor = next;
        }
    }
}

/// A hash as `HGETALL` in a script returns it: field, value, field, value…
fn pairs(flat: Vec<String>) -> HashMap<String, String> {
    let mut flat = flat.into_iter();
    std::iter::from_fn(|| Some((flat.next()?, flat.next()?))).collect()
}

/// A session from its hash; `None` for a missing (or foreign) key.
fn decode(fields: &HashMap<String, String>) -> Option<Stored> {
    let number = |name: &str| fields.get(name).and_then(|v| v.parse::<i64>().ok());
    let meta = Meta {
        created: number("m:created")?,
        accessed: number("m:accessed")?,
        idle: number("m:idle")?,
    };
    let mut attrs: Vec<(i64, &str, &str)> = fields
        .iter()
        .filter_map(|(field, value)| {
            let name = field.strip_prefix("a:")?;
            let seq = fields
                .get(&format!("o:{name}"))
                .and_then(|s| s.parse().ok())
                .unwrap_or(i64::MAX);
            Some((seq, name, value.as_str()))
        })
        .collect();
    attrs.sort_unstable();
    Some(Stored {
        meta,
        attrs: attrs
            .into_iter()
            .map(|(_, n, v)| (n.to_string(), v.to_string()))
            .collect(),
    })
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// `prefix` as a literal SCAN pattern.
fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Backend for Redis {
    fn renew<'a>(&'a self, id: SessionId, token: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let key = self.lock_key(id);
        async move {
            let renewed: i64 = self
                .call(|mut con| {
                    let mut invocation = self.renew.key(&key);
                    invocation.arg(token).arg(self.lock_ttl_ms);
                    async move { invocation.invoke_async(&mut con).await }
                })
                .await?;
            Ok(renewed == 1)
        }
        .boxed()
    }

    fn lock_and_load<'a>(
        &'a self,
        id: SessionId,
        token: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Option<Stored>>>> {
        self.try_lock_and_load(id, token).boxed()
    }

    fn load(&self, id: SessionId) -> BoxFuture<'_, StoreResult<Option<Stored>>> {
        self.load_unlocked(id).boxed()
    }

    fn commit<'a>(
        &'a self,
        writes: Vec<Write>,
        lock: Option<(SessionId, &'a str, Then)>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        self.apply(writes, lock).boxed()
    }

    fn count(&self) -> BoxFuture<'_, StoreResult<u64>> {
        self.count_keys().boxed()
    }

    /// Redis expires sessions by itself (`PEXPIREAT` on every write).
    fn sweep(&self, _now: i64) -> BoxFuture<'_, StoreResult<u64>> {
        async { Ok(0) }.boxed()
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_in_first_set_order() {
        let fields: HashMap<String, String> = [
            ("m:created", "1"),
            ("m:accessed", "2"),
            ("m:idle", "30"),
            ("m:seq", "3"),
            ("a:b", "\"B\""),
            ("o:b", "1"),
            ("a:a", "1"),
            ("o:a", "3"),
            ("a:o:x", "true"),
            ("o:o:x", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let stored = decode(&fields).unwrap();
        assert_eq!(
            stored.meta,
            Meta {
                created: 1,
                accessed: 2,
                idle: 30
            }
        );
        let names: Vec<&str> = stored.attrs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["b", "o:x", "a"]);
        assert!(decode(&HashMap::new()).is_none());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("redis://:secret@host:6379/2"),
            "redis://***@host:6379/2"
        );
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
    }

    #[test]
    fn escapes_glob_characters() {
        assert_eq!(glob_escape("blimp:s:"), "blimp:s:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
