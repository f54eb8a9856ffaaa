//! Promises rejected with nothing to handle them. As a browser's console
//! and Node do, blimp says so: a warning per promise when the script ends,
//! with what it was rejected with. The request does not fail for it; a
//! script's own returned promise (or module's top level) does (`run.rs`).

use std::cell::{Cell, RefCell};

use boa_engine::builtins::promise::{OperationType, Promise, PromiseState};
use boa_engine::object::builtins::JsPromise;
use boa_engine::{Context, JsError, JsObject, JsValue};

use super::failure::Failure;

/// Rejections logged at most per request: a loop cannot flood the log.
const REPORTED: usize = 10;

/// The running script's rejected promises that nothing handled (yet).
#[derive(Default)]
struct Unhandled(RefCell<Vec<JsObject>>);

impl Drop for Unhandled {
    /// A context discarded with rejections still held (a limit ended its
    /// script) takes them out of the thread's count.
    fn drop(&mut self) {
        HELD.set(HELD.get().saturating_sub(self.0.get_mut().len()));
    }
}

thread_local! {
    /// How many such promises this thread's contexts hold: while none, a
    /// script's end does not look (a lookup in the context's data costs
    /// about as much as the rest of `take`).
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// The engine's promise rejection tracker.
pub fn track(promise: &JsObject<Promise>, operation: OperationType, context: &mut Context) {
    if context.get_data::<Unhandled>().is_none() {
        context.insert_data(Unhandled::default());
    }
    let Some(Unhandled(list)) = context.get_data::<Unhandled>() else {
        return;
    };
    let promise = promise.clone().upcast();
    let mut list = list.borrow_mut();
    let before = list.len();
    match operation {
        OperationType::Reject => list.push(promise),
        OperationType::Handle => list.retain(|p| p != &promise),
    }
    HELD.set((HELD.get() + list.len()).saturating_sub(before));
}

/// Logs what the promises still unhandled were rejected with, but for
/// `except` (the script's own result, which fails the request instead),
/// and forgets them all.
pub fn report(context: &mut Context, except: &JsValue, script: &str) {
    let unhandled = take(context, except);
    for reason in unhandled.iter().take(REPORTED) {
        let reason = Failure::from_js(JsError::from_opaque(reason.clone()), context).describe();
        let reason = crate::log_line::escape(&reason);
        tracing::warn!("{script}: a promise was rejected and nothing handled it: {reason}");
    }
    if unhandled.len() > REPORTED {
        let more = unhandled.len() - REPORTED;
        tracing::warn!("{script}: and {more} more such promises");
    }
}

fn take(context: &Context, except: &JsValue) -> Vec<JsValue> {
    if HELD.get() == 0 {
        return Vec::new();
    }
    let Some(Unhandled(list)) = context.get_data::<Unhandled>() else {
        return Vec::new();
    };
    let promises = std::mem::take(&mut *list.borrow_mut());
    HELD.set(HELD.get().saturating_sub(promises.len()));
    promises
        .into_iter()
        .filter(|p| except.as_object().is_none_or(|own| own != *p))
        .filter_map(|p| match JsPromise::from_object(p).ok()?.state() {
            PromiseState::Rejected(reason) => Some(reason),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_discarded_context_takes_its_rejections_out_of_the_count() {
        let mut context = Context::default();
        let (promise, _) = JsPromise::new_pending(&mut context);
        let promise = JsObject::from(promise).downcast::<Promise>().ok().unwrap();
        let before = HELD.get();
        track(&promise, OperationType::Reject, &mut context);
        assert_eq!(HELD.get(), before + 1);
        drop(context);
        assert_eq!(HELD.get(), before);
    }
}
