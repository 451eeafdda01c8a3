//! A bounded queue that takes turns between clients: each client has its own first-in,
//! first-out line, and the worker takes one request from each client with work in turn, so a
//! client with a hundred requests waiting delays another client's one request by at most one
//! request per client, not by a hundred.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Why an item was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The queue holds its capacity.
    Full,
    /// The queue was closed (the worker is gone or going).
    Closed,
}

/// What a timed wait for an item gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Popped<T> {
    /// The next item.
    Item(T),
    /// Nothing came within the time.
    Timeout,
    /// The queue is closed and empty.
    Closed,
}

struct State<T> {
    lines: HashMap<u64, VecDeque<T>>,
    /// Clients with waiting items, in turn order.
    turns: VecDeque<u64>,
    len: usize,
    closed: bool,
}

/// A bounded multi-client queue; see the module docs.
pub(crate) struct FairQueue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
    capacity: usize,
}

impl<T> FairQueue<T> {
    /// A queue holding at most `capacity` items in all (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let state = State { lines: HashMap::new(), turns: VecDeque::new(), len: 0, closed: false };
        Self { state: Mutex::new(state), ready: Condvar::new(), capacity: capacity.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `item` at the end of `client`'s line.
    pub(crate) fn push(&self, client: u64, item: T) -> Result<(), (PushError, T)> {
        let mut s = self.lock();
        if s.closed {
            return Err((PushError::Closed, item));
        }
        if s.len >= self.capacity {
            return Err((PushError::Full, item));
        }
        let line = s.lines.entry(client).or_default();
        line.push_back(item);
        if line.len() == 1 {
            s.turns.push_back(client);
        }
        s.len += 1;
        drop(s);
        self.ready.notify_one();
        Ok(())
    }

    /// The next item in turn, if any is waiting.
    pub(crate) fn try_pop(&self) -> Option<T> {
        Self::take(&mut self.lock())
    }

    /// Waits for the next item; `None` once the queue is closed and empty.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut s = self.lock();
        loop {
            if let Some(item) = Self::take(&mut s) {
                return Some(item);
            }
            if s.closed {
                return None;
            }
            s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Waits at most `timeout` for the next item.
    pub(crate) fn pop_timeout(&self, timeout: Duration) -> Popped<T> {
        let deadline = std::time::Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            if let Some(item) = Self::take(&mut s) {
                return Popped::Item(item);
            }
            if s.closed {
                return Popped::Closed;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Popped::Timeout;
            }
            s = self.ready.wait_timeout(s, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Closes the queue: pushes fail, pops drain what is left and then end.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    fn take(s: &mut State<T>) -> Option<T> {
        let client = s.turns.pop_front()?;
        let line = s.lines.get_mut(&client).expect("a client in turn has a line");
        let item = line.pop_front().expect("a client in turn has an item");
        if line.is_empty() {
            s.lines.remove(&client);
        } else {
            s.turns.push_back(client);
        }
        s.len -= 1;
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_take_turns_and_each_line_keeps_its_order() {
        let q = FairQueue::new(100);
        for i in 0..5 {
            q.push(1, format!("flood-{i}")).unwrap();
        }
        q.push(2, "query".to_string()).unwrap();
        q.push(3, "other".to_string()).unwrap();
        let order: Vec<String> = std::iter::from_fn(|| q.try_pop()).collect();
        assert_eq!(order, ["flood-0", "query", "other", "flood-1", "flood-2", "flood-3", "flood-4"]);
    }

    #[test]
    fn capacity_and_close() {
        let q = FairQueue::new(2);
        q.push(1, 1).unwrap();
        q.push(2, 2).unwrap();
        assert_eq!(q.push(3, 3).unwrap_err().0, PushError::Full);
        assert_eq!(q.pop_timeout(Duration::from_millis(1)), Popped::Item(1));
        q.close();
        assert_eq!(q.push(3, 3).unwrap_err().0, PushError::Closed);
        assert_eq!(q.pop(), Some(2), "what was queued is still served");
        assert_eq!(q.pop(), None);
        assert_eq!(q.pop_timeout(Duration::from_millis(1)), Popped::Closed);
    }

    #[test]
    fn a_waiting_worker_wakes_for_a_push() {
        let q = std::sync::Arc::new(FairQueue::new(4));
        let q2 = std::sync::Arc::clone(&q);
        let worker = std::thread::spawn(move || q2.pop());
        std::thread::sleep(Duration::from_millis(20));
        q.push(9, "x").unwrap();
        assert_eq!(worker.join().unwrap(), Some("x"));
        assert_eq!(q.pop_timeout(Duration::from_millis(5)), Popped::Timeout);
    }
}
