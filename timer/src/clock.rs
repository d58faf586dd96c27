//! The loop's clock: real (`Instant::now`) or virtual (advanced only by the loop).
//!
//! Both kinds speak `Instant`, so user code never needs to know which one it runs on: a
//! virtual clock starts at the real `Instant` it was created at and from then on moves only
//! when [`Clock::advance_to`] is called — which the loop does when it is idle and a timer is
//! pending, unless auto-advance is switched off ([`Clock::set_auto_advance`]); then only
//! [`advance`](crate::advance) moves it (see the `control` module for the rules). Time on a
//! virtual clock never goes backwards.
//!
//! Reading a real clock is a system call (a vDSO one, but still about a hundred
//! instructions with the conversions), so a real clock remembers its last reading:
//! [`Clock::last_read`] is a lower bound of the present that costs nothing, which is all a
//! timer needs to tell that it is due without asking the system again. On a virtual clock
//! the last reading *is* the present.
//!
//! Arithmetic saturates, and always late, never early: a deadline too far to represent
//! becomes the latest instant the platform can represent (hundreds of billions of years on
//! Linux), which no real clock reaches. A virtual clock can be moved there — by a
//! `sleep(Duration::MAX)` left alone on a virtual loop — and then stays there, since no
//! later instant exists.
//!
//! # Wall-clock time on a virtual clock
//!
//! [`Clock::system_time`] is the wall time at the clock's origin plus the time it has
//! moved since. For a real clock the origin's wall time is the real one. A virtual clock
//! carries on from where this thread's earlier virtual clocks got to: each records, per
//! thread, the latest wall time it reached, and a new one starts at that time or the real
//! one, whichever is later. So a program that runs several virtual loops one after
//! another (the tutorial's levels under `LOOPLET_CLOCK=virtual`) prints increasing times,
//! as it would on the real clock. The record is per thread, not per process, so tests —
//! each on its own thread — do not move each other's wall clocks.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

/// A clock for one event loop: the one `looplet::Runner::clock` returns, real or virtual.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let mut runner = looplet::Runner::builder().virtual_clock(true).build();
/// let clock: &looplet::Clock = runner.clock();
/// assert!(clock.is_virtual());
/// let start = clock.now();
/// runner.run(looplet::sleep(Duration::from_secs(3)));
/// assert_eq!(runner.clock().now() - start, Duration::from_secs(3)); // at once
/// ```
#[derive(Debug)]
pub struct Clock {
    kind: Kind,
    /// The instant the clock was made at, and the wall time that corresponds to it; used by
    /// [`Clock::system_time`] so a virtual run prints virtual wall-clock times.
    origin: Instant,
    origin_system: SystemTime,
}

#[derive(Debug)]
enum Kind {
    /// `last` is the latest `Instant::now()` this clock returned.
    Real { last: Cell<Instant> },
    /// `auto_advance`: whether an idle loop jumps this clock to its next timer.
    Virtual {
        now: Cell<Instant>,
        auto_advance: Cell<bool>,
    },
}

impl Clock {
    /// A clock that follows real time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet::Clock;
    ///
    /// let clock = Clock::new_real();
    /// let start = clock.now();
    /// clock.advance(Duration::from_secs(3600)); // only a virtual clock can be moved
    /// assert!(clock.now() - start < Duration::from_secs(3600));
    /// ```
    pub fn new_real() -> Clock {
        let origin = Instant::now();
        Clock {
            kind: Kind::Real {
                last: Cell::new(origin),
            },
            origin,
            origin_system: SystemTime::now(),
        }
    }

    /// A clock that stands still until [`advance_to`](Clock::advance_to) moves it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet::Clock;
    ///
    /// let clock = Clock::new_virtual();
    /// let start = clock.now();
    /// assert_eq!(clock.now(), start); // no time passes on its own
    /// clock.advance(Duration::from_millis(5));
    /// assert_eq!(clock.now() - start, Duration::from_millis(5));
    /// ```
    pub fn new_virtual() -> Clock {
        let origin = Instant::now();
        Clock {
            kind: Kind::Virtual {
                now: Cell::new(origin),
                auto_advance: Cell::new(true),
            },
            origin,
            origin_system: virtual_wall_origin(),
        }
    }

    /// Whether this clock is virtual.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Clock;
    ///
    /// assert!(Clock::new_virtual().is_virtual());
    /// assert!(!Clock::new_real().is_virtual());
    /// ```
    pub fn is_virtual(&self) -> bool {
        matches!(self.kind, Kind::Virtual { .. })
    }

    /// The current time on this clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet::Clock;
    ///
    /// let clock = Clock::new_virtual();
    /// let deadline = clock.now() + Duration::from_secs(1);
    /// assert!(clock.now() < deadline);
    /// clock.advance_to(deadline);
    /// assert_eq!(clock.now(), deadline);
    /// ```
    pub fn now(&self) -> Instant {
        match &self.kind {
            Kind::Real { last } => {
                let now = Instant::now();
                last.set(now);
                now
            }
            Kind::Virtual { now, .. } => now.get(),
        }
    }

    /// The time at the latest reading, without reading the clock: on a virtual clock the
    /// present, on a real one the last value [`now`](Clock::now) returned. Time never goes
    /// backwards, so whatever this shows as past is past.
    pub(crate) fn last_read(&self) -> Instant {
        match &self.kind {
            Kind::Real { last } => last.get(),
            Kind::Virtual { now, .. } => now.get(),
        }
    }

    /// The wall-clock time that corresponds to [`now`](Clock::now): on a virtual clock it
    /// advances with virtual time, so a program that prints timestamps reads the same on
    /// both clocks. A new virtual clock starts where this thread's earlier virtual clocks
    /// got to, if that is later than the real time (see the module docs).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut runner = looplet::Runner::builder().virtual_clock(true).build();
    /// let before = runner.clock().system_time();
    /// runner.run(looplet::sleep(Duration::from_secs(90)));
    /// let elapsed = runner.clock().system_time().duration_since(before).unwrap();
    /// assert_eq!(elapsed, Duration::from_secs(90));
    /// ```
    pub fn system_time(&self) -> SystemTime {
        self.system_time_at(self.now())
    }

    fn system_time_at(&self, instant: Instant) -> SystemTime {
        saturating(self.origin_system, instant - self.origin, |at, by| {
            at.checked_add(by)
        })
    }

    /// `instant` as nanoseconds since this clock was made (0 for anything earlier): the
    /// timer heap's key, 8 bytes that compare in one instruction instead of an `Instant`'s
    /// 16. `None` from [`HORIZON`] on, where 64 bits of nanoseconds run out: rounding such
    /// an instant down to the last tick would make its timer fire early.
    pub(crate) fn ticks(&self, instant: Instant) -> Option<u64> {
        let nanos = instant.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos).ok().filter(|&ticks| ticks < HORIZON)
    }

    /// The `Instant` that [`ticks`](Clock::ticks) turned into `ticks`.
    pub(crate) fn instant_at(&self, ticks: u64) -> Instant {
        self.origin + Duration::from_nanos(ticks)
    }

    /// Moves a virtual clock forward to `instant`. Does nothing on a real clock, or when
    /// `instant` is not later than the clock's present time (time never goes backwards).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet::Clock;
    ///
    /// let clock = Clock::new_virtual();
    /// let start = clock.now();
    /// clock.advance_to(start + Duration::from_secs(2));
    /// clock.advance_to(start + Duration::from_secs(1)); // earlier: ignored
    /// assert_eq!(clock.now() - start, Duration::from_secs(2));
    /// ```
    pub fn advance_to(&self, instant: Instant) {
        if let Kind::Virtual { now, .. } = &self.kind {
            if instant > now.get() {
                now.set(instant);
                record_virtual_wall(self.system_time_at(instant));
            }
        }
    }

    /// Moves a virtual clock forward by `duration`. Does nothing on a real clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet::Clock;
    ///
    /// let clock = Clock::new_virtual();
    /// let start = clock.now();
    /// clock.advance(Duration::from_secs(1));
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(clock.now() - start, Duration::from_secs(2));
    /// let millennium = Duration::from_secs(86_400 * 365 * 1_000);
    /// clock.advance(millennium); // exactly, however far
    /// assert_eq!(clock.now() - start, Duration::from_secs(2) + millennium);
    /// ```
    pub fn advance(&self, duration: Duration) {
        self.advance_to(saturating_add(self.now(), duration));
    }

    /// Whether an idle loop jumps this clock to its next timer: `true` for a new virtual
    /// clock, `false` for a real one (which moves by itself).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Clock;
    ///
    /// let clock = Clock::new_virtual();
    /// assert!(clock.auto_advance());
    /// clock.set_auto_advance(false);
    /// assert!(!clock.auto_advance());
    /// assert!(!Clock::new_real().auto_advance());
    /// ```
    pub fn auto_advance(&self) -> bool {
        match &self.kind {
            Kind::Real { .. } => false,
            Kind::Virtual { auto_advance, .. } => auto_advance.get(),
        }
    }

    /// Switches auto-advance off or on: with it off, an idle loop leaves the clock where it
    /// is, and only [`advance`](crate::advance) (or [`Clock::advance`]) moves it. See
    /// [`set_auto_advance`](crate::set_auto_advance) for what an idle loop does then.
    ///
    /// # Panics
    ///
    /// Panics on a real clock, which cannot be controlled: the message names the virtual
    /// clock's builder option.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut runner = looplet::Runner::builder().virtual_clock(true).build();
    /// runner.clock().set_auto_advance(false); // before the run: the loop starts stopped
    /// let start = runner.clock().now();
    /// runner.run(async {
    ///     assert!(!looplet::auto_advance());
    ///     looplet::advance(Duration::from_millis(400)).await; // the only way time moves
    /// });
    /// assert_eq!(runner.clock().now() - start, Duration::from_millis(400));
    /// ```
    #[track_caller]
    pub fn set_auto_advance(&self, on: bool) {
        match &self.kind {
            Kind::Real { .. } => needs_virtual("switching auto-advance"),
            Kind::Virtual { auto_advance, .. } => auto_advance.set(on),
        }
    }
}

thread_local! {
    /// The latest wall time a virtual clock on this thread has reached; see the module
    /// docs. No drop glue, so it is usable during thread exit too.
    static VIRTUAL_WALL: Cell<Option<SystemTime>> = const { Cell::new(None) };
}

/// The wall time a new virtual clock starts at: the real one, or where this thread's
/// earlier virtual clocks got to, whichever is later.
fn virtual_wall_origin() -> SystemTime {
    let real = SystemTime::now();
    let reached = VIRTUAL_WALL.try_with(Cell::get).ok().flatten();
    reached.map_or(real, |reached| reached.max(real))
}

fn record_virtual_wall(wall: SystemTime) {
    let _ = VIRTUAL_WALL.try_with(|reached| {
        if reached.get().is_none_or(|reached| wall > reached) {
            reached.set(Some(wall));
        }
    });
}

/// The panic of a clock control called on a real clock.
#[track_caller]
#[cold]
#[inline(never)]
pub(crate) fn needs_virtual(what: &str) -> ! {
    panic!(
        "{what} needs the virtual clock, and this loop runs on the real one: build the loop \
         with `Runner::builder().virtual_clock(true)` (or set LOOPLET_CLOCK=virtual, or use \
         #[looplet::test]); on the real clock, wait with looplet::sleep(d)"
    )
}

/// Ticks are nanoseconds in a `u64`; from this many on (about 584 years after a clock's
/// origin) an instant has none, and its timer is kept by its full `Instant` instead.
pub(crate) const HORIZON: u64 = u64::MAX;

/// `instant + duration`, or the latest instant the platform can represent when that
/// overflows: a deadline saturates late, never early.
#[inline]
pub(crate) fn saturating_add(instant: Instant, duration: Duration) -> Instant {
    match instant.checked_add(duration) {
        Some(sum) => sum,
        None => latest(instant, |at, by| at.checked_add(by)),
    }
}

/// `base + duration` by `checked_add`, or the largest sum it can make when that overflows.
fn saturating<T: Copy>(
    base: T,
    duration: Duration,
    checked_add: impl Fn(T, Duration) -> Option<T>,
) -> T {
    match checked_add(base, duration) {
        Some(sum) => sum,
        None => latest(base, checked_add),
    }
}

/// The largest sum `checked_add` can make from `base` when `base + duration` overflows,
/// found by bisection (whole seconds, then nanoseconds): about a hundred additions, on a
/// path only absurd deadlines take.
#[cold]
#[inline(never)]
fn latest<T: Copy>(base: T, checked_add: impl Fn(T, Duration) -> Option<T>) -> T {
    let fits = |secs: u64, nanos: u64| {
        let nanos = u32::try_from(nanos).unwrap_or(0);
        checked_add(base, Duration::new(secs, nanos)).is_some()
    };
    let secs = last_true(0, u64::MAX, |secs| fits(secs, 0));
    let nanos = last_true(0, 999_999_999, |nanos| fits(secs, nanos));
    let nanos = u32::try_from(nanos).unwrap_or(0);
    checked_add(base, Duration::new(secs, nanos)).unwrap_or(base)
}

/// The largest `n` in `low..=high` for which `holds(n)`, given that `holds(low)` and that
/// `holds` stays true up to some point and false after it.
fn last_true(mut low: u64, mut high: u64, holds: impl Fn(u64) -> bool) -> u64 {
    if holds(high) {
        return high;
    }
    // Invariant: holds(low) and not holds(high).
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if holds(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: u64 = 86_400 * 365;

    #[test]
    fn an_overflowing_deadline_saturates_at_the_latest_representable_instant() {
        let now = Instant::now();
        let latest = saturating_add(now, Duration::MAX);
        assert!(latest > now + Duration::from_secs(1_000_000 * YEAR));
        assert!(latest.checked_add(Duration::from_nanos(1)).is_none());
        assert_eq!(saturating_add(latest, Duration::from_secs(1)), latest);
        let soon = now + Duration::from_secs(5);
        assert_eq!(saturating_add(now, Duration::from_secs(5)), soon);
    }

    #[test]
    fn instants_from_the_horizon_on_have_no_ticks() {
        let clock = Clock::new_virtual();
        let origin = clock.now();
        let last = origin + Duration::from_nanos(HORIZON - 1);
        assert_eq!(clock.ticks(last), Some(HORIZON - 1));
        assert_eq!(clock.instant_at(HORIZON - 1), last);
        assert_eq!(clock.ticks(last + Duration::from_nanos(1)), None);
        assert_eq!(
            clock.ticks(origin + Duration::from_secs(1_000 * YEAR)),
            None
        );
        assert_eq!(clock.ticks(origin), Some(0));
    }

    #[test]
    fn system_time_saturates_on_a_virtual_clock_at_the_end_of_time() {
        let clock = Clock::new_virtual();
        clock.advance(Duration::MAX);
        let wall = clock.system_time(); // no overflow panic
        assert!(wall > SystemTime::now() + Duration::from_secs(1_000_000 * YEAR));
    }
}
