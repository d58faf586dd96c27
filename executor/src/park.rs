//! The park seam: the one place where the loop waits, and how an I/O reactor plugs in there.
//!
//! With nothing ready, the loop parks until its next timer's deadline. Without I/O, parking
//! is `std::thread::park_timeout`, and other threads end it with `Thread::unpark`. With
//! I/O, parking must wait on the OS poller instead, so that a readable socket ends it too.
//! A reactor is therefore a [`Driver`]: the loop calls [`Driver::park`] where it would
//! have parked the thread, and other threads call its [`Unpark`] where they would have
//! unparked it. The executor knows I/O through these two traits only; the reactor knows
//! the executor through [`install_driver`] only.
//!
//! # Ground rules
//!
//! * A loop has at most one driver, installed by the first I/O object made on it, on the
//!   loop's own thread, while it runs. From then on every park goes through it, for the
//!   rest of the loop's life; the driver is dropped with the loop.
//! * Installing cannot lose a remote wake. A pusher unparks only when it flips the remote
//!   queue's `notified` flag from `false` to `true`, and reads which unparker to use after
//!   that flip. The loop installs while running, before it next clears `notified` to park,
//!   so a pusher that sees the flag cleared for that park sees the driver too. A pusher
//!   that flipped it for an earlier park, without the driver, unparks the thread instead:
//!   the loop is awake by then (it installs only while running), and a spare thread token
//!   does no harm.
//! * [`Driver::park`] may return early, for any reason: the loop looks at its timers and
//!   queues again and parks again if there is nothing to do.
//! * On a virtual clock the loop never blocks while a timer is pending: it calls
//!   [`Driver::park`] with a zero timeout (I/O that is ready now is delivered) and then
//!   jumps the clock.

use std::any::Any;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::context;

/// What the loop waits on when it parks: an I/O reactor, typically.
///
/// # Examples
///
/// A driver that parks the thread, as the loop does without one (a reactor waits on its
/// poller instead):
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use looplet_executor::{install_driver, Driver, Unpark};
///
/// struct ThreadDriver(std::thread::Thread);
///
/// impl Unpark for ThreadDriver {
///     fn unpark(&self) {
///         self.0.unpark();
///     }
/// }
///
/// impl Driver for ThreadDriver {
///     fn park(&self, timeout: Option<Duration>) -> usize {
///         match timeout {
///             Some(timeout) => std::thread::park_timeout(timeout),
///             None => std::thread::park(),
///         }
///         0 // no I/O events delivered
///     }
///
///     fn unparker(&self) -> Arc<dyn Unpark> {
///         Arc::new(ThreadDriver(self.0.clone()))
///     }
/// }
///
/// looplet_executor::run(async {
///     let driver = install_driver(|| ThreadDriver(std::thread::current()));
///     // Installed once per loop: the second call gets the same driver back.
///     assert!(std::rc::Rc::ptr_eq(&driver, &install_driver(|| unreachable!())));
///     looplet_timer::sleep(Duration::from_millis(1)).await; // parks through the driver
/// });
/// ```
pub trait Driver: 'static {
    /// Waits until an event, an [`Unpark`], or `timeout` (`None`: no limit), delivering
    /// whatever events came (waking the tasks that wait on them); returns how many it
    /// delivered. May return early. A zero timeout must not block.
    fn park(&self, timeout: Option<Duration>) -> usize;

    /// The handle other threads use to end a [`park`](Driver::park) under way, or make the
    /// next one return at once.
    fn unparker(&self) -> Arc<dyn Unpark>;
}

/// Ends a [`Driver::park`] from any thread.
///
/// # Examples
///
/// The unparker of a driver that parks its thread ([`Driver`] shows the whole driver):
///
/// ```
/// use looplet_executor::Unpark;
///
/// struct ThreadUnparker(std::thread::Thread);
///
/// impl Unpark for ThreadUnparker {
///     fn unpark(&self) {
///         self.0.unpark();
///     }
/// }
///
/// let unparker = ThreadUnparker(std::thread::current());
/// std::thread::spawn(move || unparker.unpark()).join().unwrap();
/// std::thread::park(); // returns at once: the unpark left its token
/// ```
pub trait Unpark: Send + Sync + 'static {
    /// Makes the driver's current `park` return, or its next one return at once.
    fn unpark(&self);
}

/// A loop's installed driver, typed for the loop and for its installer.
pub(crate) struct Installed {
    pub(crate) driver: Rc<dyn Driver>,
    any: Rc<dyn Any>,
}

/// The running loop's driver of type `D`, installing the one `make` returns if the loop has
/// none yet (see the module docs).
///
/// # Panics
///
/// Panics when no looplet loop is running on this thread, and when the loop's driver is of
/// another type (two reactors cannot share one loop).
///
/// # Examples
///
/// ```
/// use std::{rc::Rc, sync::Arc, time::Duration};
/// use looplet_executor::{install_driver, Driver, Unpark};
///
/// /// A driver with no events, which never blocks (enough for this example).
/// struct Idle;
///
/// impl Unpark for Idle {
///     fn unpark(&self) {}
/// }
///
/// impl Driver for Idle {
///     fn park(&self, _timeout: Option<Duration>) -> usize {
///         0
///     }
///     fn unparker(&self) -> Arc<dyn Unpark> {
///         Arc::new(Idle)
///     }
/// }
///
/// looplet::run(async {
///     let first = install_driver(|| Idle);
///     let again = install_driver(|| unreachable!("the loop has its driver"));
///     assert!(Rc::ptr_eq(&first, &again));
/// });
/// ```
#[track_caller]
pub fn install_driver<D: Driver>(make: impl FnOnce() -> D) -> Rc<D> {
    let core = context::expect_current("looplet I/O");
    let installed = core.driver_or_install(|| {
        let driver = Rc::new(make());
        let unpark = driver.unparker();
        let installed = Installed {
            driver: driver.clone(),
            any: driver,
        };
        (installed, unpark)
    });
    match installed.any.clone().downcast::<D>() {
        Ok(driver) => driver,
        Err(_) => panic!(
            "this looplet loop already has an I/O driver of another type; a loop has one \
             reactor: make every I/O object of one loop with the same I/O crate"
        ),
    }
}
