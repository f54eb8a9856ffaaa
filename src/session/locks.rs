//! In-process per-session locks: one async mutex per session that is in use,
//! created on demand and forgotten when nobody holds or waits for it, so idle
//! sessions cost nothing here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::id::SessionId;
use super::store::StoreError;

#[derive(Default)]
pub struct LocalLocks {
    table: Arc<Mutex<HashMap<SessionId, Arc<AsyncMutex<()>>>>>,
}

/// Held while a request uses a session; releases (and forgets an unused
/// entry) on drop.
pub struct LocalGuard {
    id: SessionId,
    guard: Option<OwnedMutexGuard<()>>,
    table: Arc<Mutex<HashMap<SessionId, Arc<AsyncMutex<()>>>>>,
}

impl std::fmt::Debug for LocalGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalGuard({:?})", self.id)
    }
}

impl LocalLocks {
    pub async fn lock(&self, id: SessionId, wait: Duration) -> Result<LocalGuard, StoreError> {
        let mutex = {
            let mut table = self.table.lock().unwrap();
            table.entry(id).or_default().clone()
        };
        // Uncontended: no timer, no allocation beyond the entry.
        let guard = match mutex.clone().try_lock_owned() {
            Ok(guard) => Ok(guard),
            Err(_) => tokio::time::timeout(wait, mutex.lock_owned())
                .await
                .map_err(|_| StoreError::LockTimeout),
        };
        let guard = LocalGuard {
            id,
            guard: guard.ok(),
            table: self.table.clone(),
        };
        if guard.guard.is_none() {
            return Err(StoreError::LockTimeout); // drop forgets the entry if unused
        }
        Ok(guard)
    }
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap();
        drop(self.guard.take());
        // Only the table still refers to it: nobody holds or waits.
        if let Some(mutex) = table.get(&self.id) {
            if Arc::strong_count(mutex) == 1 {
                table.remove(&self.id);
            }
        }
    }
}
