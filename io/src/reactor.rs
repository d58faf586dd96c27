//! The reactor: one OS poller per loop, the sources registered with it, and the park step.
//!
//! The loop parks by calling [`Reactor::park`](Driver::park) (through the executor's
//! [`Driver`] seam): the thread waits in `Poller::wait` until a registered fd is ready, a
//! remote wake calls `Poller::notify`, or the next timer's deadline passes. Then, for each
//! event, the reactor wakes exactly the tasks waiting on that source in that direction, and
//! returns. There is no other thread: the loop's own thread does the waiting.
//!
//! ```text
//!   loop thread                                   other threads
//!   ───────────                                   ─────────────
//!   park(timeout) ──► Poller::wait(events, timeout) ◄── Poller::notify()  (Unpark)
//!                          │ returns: events, a notify, or the timeout
//!                          ▼
//!                     for each event: sources[key] ─► its waiters in that direction
//!                          │ (wakers collected, every borrow released)
//!                          ▼
//!                     wake them: their tasks join the ready queue; return the count
//! ```
//!
//! # Ground rules
//!
//! * **Edge-triggered where the poller supports it** (epoll, kqueue), one-shot elsewhere.
//!   An fd is registered once, for both directions, when its [`Async`](crate::Async) is
//!   made, and deleted when it is dropped. Edge mode costs no system call per wait: an
//!   operation is always tried first, and only a `WouldBlock` makes a task wait, for the
//!   next edge. That is sound because events are only delivered here, in the park step, on
//!   the loop's thread: between the `WouldBlock` and the waiter's registration (one poll)
//!   no event can slip by. One-shot mode disarms the fd after each event, so every wait
//!   re-arms it with the directions that still have waiters.
//! * **`readable()` and `writable()` re-arm** even in edge mode (`Poller::modify`, which
//!   re-reports the fd's current state). They are level checks: they return once the fd is
//!   ready, whether or not it already was when they were called and whether or not an
//!   operation saw `WouldBlock` first.
//! * **A waiter is a slot in its direction's slab**, owned by the future that made it: the
//!   future removes it when it completes or is dropped, so dropping an I/O future removes
//!   its interest at once, and a slot key is never stale. An event marks each waiter fired
//!   and takes its waker; the poll-based path (`AsyncRead`, `AsyncWrite`) keeps one more
//!   waker per direction, the most recent poller's, as those traits specify.
//! * **Wakers are woken after every borrow is released** (a waker may run arbitrary code,
//!   a foreign one even drop a socket).
//! * **The poller must outlive its fds' registrations.** Each `Async` holds an
//!   `Rc<Reactor>`, so a reactor lives until its last socket is gone, even past its loop.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use looplet_executor::{install_driver, Driver, Unpark};
use polling::{Event, Events, PollMode, Poller};
use slab::Slab;

/// One loop's reactor: its poller and the sources registered with it.
pub(crate) struct Reactor {
    poller: Arc<Poller>,
    /// `Edge` where the poller supports it, else `Oneshot` (see the module docs).
    mode: PollMode,
    /// Registered fds, keyed by the key their events carry.
    sources: RefCell<Slab<Rc<Source>>>,
    /// Reused by every park, so parking does not allocate.
    events: RefCell<Events>,
    /// Wakers collected during a park, woken once the borrows above are released.
    woken: RefCell<Vec<Waker>>,
}

/// Read or write: the two directions a task can wait on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    Read = 0,
    Write = 1,
}

/// One registered fd and the tasks waiting on it, per direction.
///
/// `fd` is open from [`Reactor::register`] to [`Reactor::deregister`], and the methods
/// that use it run only in between: called by the `Async` that owns the fd (it
/// deregisters in its `Drop`, and the futures that wait borrow it), or by the park step for
/// a source still in the reactor's table.
pub(crate) struct Source {
    fd: RawFd,
    key: usize,
    waiting: RefCell<[Waiters; 2]>,
}

/// The tasks waiting on one direction of one source.
#[derive(Default)]
struct Waiters {
    /// The waker of the last `poll_read`/`poll_write` that saw `WouldBlock`.
    poll: Option<Waker>,
    /// The futures waiting (`readable()`, `read_with`, ...), one slot each.
    futures: Slab<Waiter>,
}

/// One waiting future's slot.
struct Waiter {
    /// `None` once an event took it.
    waker: Option<Waker>,
    /// An event came for this direction since the slot was made.
    fired: bool,
}

impl Waiters {
    /// Whether a task still waits here for an event.
    fn wants_event(&self) -> bool {
        self.poll.is_some() || self.futures.iter().any(|(_, waiter)| !waiter.fired)
    }

    /// An event for this direction: every waiter is fired, its waker moved to `woken`.
    fn fire(&mut self, woken: &mut Vec<Waker>) {
        woken.extend(self.poll.take());
        for (_, waiter) in self.futures.iter_mut() {
            waiter.fired = true;
            woken.extend(waiter.waker.take());
        }
    }
}

impl Reactor {
    /// The running loop's reactor, installed as its driver if it has none yet.
    ///
    /// # Panics
    ///
    /// Panics when no looplet loop runs on this thread, when the loop's driver is not this
    /// crate's, and when the OS refuses a new poller (the process is out of fds).
    #[track_caller]
    pub(crate) fn current() -> Rc<Reactor> {
        install_driver(|| match Reactor::new() {
            Ok(reactor) => reactor,
            Err(error) => panic!(
                "looplet I/O could not create the OS poller: {error} (out of file \
                 descriptors? raise the limit, e.g. `ulimit -n`)"
            ),
        })
    }

    fn new() -> io::Result<Reactor> {
        let poller = Poller::new()?;
        let mode = if poller.supports_edge() {
            PollMode::Edge
        } else {
            PollMode::Oneshot
        };
        Ok(Reactor::with_mode(poller, mode))
    }

    /// A reactor in a given mode; tests use it to run the one-shot path on Linux too.
    pub(crate) fn with_mode(poller: Poller, mode: PollMode) -> Reactor {
        Reactor {
            poller: Arc::new(poller),
            mode,
            sources: RefCell::new(Slab::new()),
            events: RefCell::new(Events::new()),
            woken: RefCell::new(Vec::new()),
        }
    }

    /// Registers `fd` (already non-blocking) for both directions.
    ///
    /// # Safety
    ///
    /// `fd` must stay open until it is passed to [`deregister`](Reactor::deregister)
    /// (`Poller::add`'s contract, and [`Source`]'s).
    pub(crate) unsafe fn register(&self, fd: BorrowedFd<'_>) -> io::Result<Rc<Source>> {
        let mut sources = self.sources.borrow_mut();
        let entry = sources.vacant_entry();
        let key = entry.key();
        let interest = match self.mode {
            PollMode::Edge => Event::all(key),
            _ => Event::none(key),
        };
        // SAFETY: our caller keeps `fd` open until it deregisters it, which deletes it.
        unsafe { self.poller.add_with_mode(&fd, interest, self.mode)? };
        let source = Rc::new(Source {
            fd: fd.as_raw_fd(),
            key,
            waiting: RefCell::new(Default::default()),
        });
        entry.insert(source.clone());
        Ok(source)
    }

    /// Removes `source` from the poller; its fd may be closed afterwards.
    pub(crate) fn deregister(&self, source: &Source) {
        // Deleting a registered, open fd fails only if the kernel lost it: nothing to undo.
        let _ = self.poller.delete(source.fd());
        self.sources.borrow_mut().try_remove(source.key);
    }

    /// Has the poller report `source`'s current readiness: in edge mode for both directions,
    /// in one-shot mode for the directions that have waiters.
    fn arm(&self, source: &Source) -> io::Result<()> {
        let mut interest = Event::all(source.key);
        if self.mode != PollMode::Edge {
            let waiting = source.waiting.borrow();
            interest.readable = waiting[Direction::Read as usize].wants_event();
            interest.writable = waiting[Direction::Write as usize].wants_event();
        }
        self.poller
            .modify_with_mode(source.fd(), interest, self.mode)
    }

    /// Whether `self` is the reactor of the loop running now; a socket made on one loop and
    /// used on another would wait on a poller that nobody waits on.
    fn check_current(self: &Rc<Self>) -> io::Result<()> {
        if Rc::ptr_eq(self, &Reactor::current()) {
            Ok(())
        } else {
            Err(io::Error::other(
                "this looplet socket belongs to another event loop: make it inside the \
                 run (or Runner) that uses it",
            ))
        }
    }

    /// Stores `waker` as the poll-based waiter of `dir`, after an operation saw
    /// `WouldBlock`; the next event in `dir` wakes it.
    pub(crate) fn wait_poll(
        self: &Rc<Self>,
        source: &Source,
        dir: Direction,
        waker: &Waker,
    ) -> io::Result<()> {
        let first = {
            let mut waiting = source.waiting.borrow_mut();
            let slot = &mut waiting[dir as usize].poll;
            match slot {
                Some(old) if old.will_wake(waker) => return Ok(()),
                Some(old) => {
                    old.clone_from(waker);
                    false
                }
                None => {
                    *slot = Some(waker.clone());
                    true
                }
            }
        };
        if !first {
            return Ok(()); // armed when the slot was filled; an event empties it
        }
        let armed = self.check_current().and_then(|()| match self.mode {
            PollMode::Edge => Ok(()),
            _ => self.arm(source),
        });
        if armed.is_err() {
            source.waiting.borrow_mut()[dir as usize].poll = None;
        }
        armed
    }

    /// A new future waiting on `dir`; returns its slot. `level` asks for a level check.
    pub(crate) fn add_waiter(
        self: &Rc<Self>,
        source: &Source,
        dir: Direction,
        waker: &Waker,
        level: bool,
    ) -> io::Result<usize> {
        self.check_current()?;
        let slot = source.waiting.borrow_mut()[dir as usize]
            .futures
            .insert(Waiter {
                waker: Some(waker.clone()),
                fired: false,
            });
        if level || self.mode != PollMode::Edge {
            if let Err(error) = self.arm(source) {
                source.remove_waiter(dir, slot);
                return Err(error);
            }
        }
        Ok(slot)
    }
}

impl Source {
    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `fd` is open while the source is registered, and this is called only
        // then (see the type's docs); the borrow lives no longer than `self`'s.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }

    /// Whether the waiter in `slot` has been fired; if not, `waker` is the one to wake.
    pub(crate) fn poll_waiter(&self, dir: Direction, slot: usize, waker: &Waker) -> bool {
        let mut waiting = self.waiting.borrow_mut();
        let waiter = &mut waiting[dir as usize].futures[slot];
        if waiter.fired {
            return true;
        }
        match &mut waiter.waker {
            Some(old) if old.will_wake(waker) => {}
            Some(old) => old.clone_from(waker),
            None => waiter.waker = Some(waker.clone()),
        }
        false
    }

    /// Removes a future's waiter: it completed or was dropped.
    pub(crate) fn remove_waiter(&self, dir: Direction, slot: usize) {
        self.waiting.borrow_mut()[dir as usize]
            .futures
            .try_remove(slot);
    }

    /// How many wakers are held for `dir` (futures' plus the poll-based one).
    pub(crate) fn waker_count(&self, dir: Direction) -> usize {
        let waiting = self.waiting.borrow();
        let waiters = &waiting[dir as usize];
        let futures = waiters.futures.iter();
        futures.filter(|(_, waiter)| waiter.waker.is_some()).count()
            + usize::from(waiters.poll.is_some())
    }

    /// An event for this source: fires the waiters of each direction it names; returns
    /// whether some task still waits for an event (one-shot mode then re-arms).
    fn deliver(&self, event: &Event, woken: &mut Vec<Waker>) -> bool {
        let mut waiting = self.waiting.borrow_mut();
        if event.readable {
            waiting[Direction::Read as usize].fire(woken);
        }
        if event.writable {
            waiting[Direction::Write as usize].fire(woken);
        }
        waiting[0].wants_event() || waiting[1].wants_event()
    }
}

impl Driver for Reactor {
    fn park(&self, timeout: Option<Duration>) -> usize {
        let mut events = self.events.borrow_mut();
        events.clear();
        if let Err(error) = self.poller.wait(&mut events, timeout) {
            // `wait` retries interrupted waits itself; anything else means the poller's
            // own fd is broken, and the loop cannot wait for I/O any more.
            panic!("looplet I/O: waiting on the OS poller failed: {error}");
        }
        let mut woken = std::mem::take(&mut *self.woken.borrow_mut());
        let sources = self.sources.borrow();
        for event in events.iter() {
            // An fd deleted before this wait delivers nothing, so the key is current.
            let Some(source) = sources.get(event.key) else {
                continue;
            };
            if source.deliver(&event, &mut woken) && self.mode != PollMode::Edge {
                // One-shot mode disarmed the fd; a failed re-arm is retried by the next
                // wait on it.
                let _ = self.arm(source);
            }
        }
        drop(sources);
        let count = events.len();
        drop(events);
        for waker in woken.drain(..) {
            waker.wake();
        }
        *self.woken.borrow_mut() = woken;
        count
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        Arc::new(Notify(self.poller.clone()))
    }
}

/// Ends a park from another thread: `Poller::notify`.
struct Notify(Arc<Poller>);

impl Unpark for Notify {
    fn unpark(&self) {
        // `notify` fails only if the poller's wake-up fd cannot be written (it is full,
        // so a wake-up is already pending): nothing is lost.
        let _ = self.0.notify();
    }
}

#[cfg(test)]
mod tests {
    //! The one-shot path, which Linux would not take on its own (epoll supports edges):
    //! a loop gets a one-shot reactor installed before its first socket.

    use super::*;
    use crate::net::UnixStream;
    use futures_util::{AsyncReadExt, AsyncWriteExt};
    use looplet_executor::create_task;

    fn install_oneshot() -> Rc<Reactor> {
        let reactor = install_driver(|| {
            Reactor::with_mode(Poller::new().expect("a poller"), PollMode::Oneshot)
        });
        assert_eq!(reactor.mode, PollMode::Oneshot);
        reactor
    }

    #[test]
    fn a_oneshot_reactor_echoes_and_rearms_after_every_event() {
        looplet_executor::run(async {
            install_oneshot();
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let echo = create_task(async move {
                let mut buf = [0; 16];
                loop {
                    let n = b.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    b.write_all(&buf[..n]).await.unwrap();
                }
            });
            for round in 0..100u32 {
                a.write_all(&round.to_le_bytes()).await.unwrap();
                let mut back = [0; 4];
                a.read_exact(&mut back).await.unwrap();
                assert_eq!(u32::from_le_bytes(back), round);
            }
            a.close().await.unwrap();
            echo.await.unwrap();
        });
    }

    #[test]
    fn a_oneshot_reactor_keeps_the_other_direction_armed_after_an_event() {
        looplet_executor::run(async {
            install_oneshot();
            let (a, b) = UnixStream::pair().unwrap();
            let a = Rc::new(a);
            // Fill `a` so a writer waits, then wait for reading too; a read event must not
            // disarm the waiting writer.
            while std::io::Write::write(&mut a.get_ref(), &[0; 4096]).is_ok() {}
            let writer = {
                let a = a.clone();
                create_task(async move { a.as_async().writable().await.unwrap() })
            };
            let reader = {
                let a = a.clone();
                create_task(async move { a.as_async().readable().await.unwrap() })
            };
            looplet_executor::yield_now().await;
            std::io::Write::write_all(&mut b.get_ref(), b"x").unwrap();
            reader.await.unwrap();
            let mut sink = vec![0; 1 << 20];
            while std::io::Read::read(&mut b.get_ref(), &mut sink).is_ok() {}
            writer.await.unwrap();
        });
    }
}
