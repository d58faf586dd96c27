//! The loop's clock: real (`Instant::now`) or virtual (advanced only by the loop).
//!
//! Both kinds speak `Instant`, so user code never needs to know which one it runs on: a
//! virtual clock starts at the real `Instant` it was created at and from then on moves only
//! when [`Clock::advance_to`] is called — which the loop does when it is idle and a timer is
//! pending. Time on a virtual clock never goes backwards.
//!
//! Reading a real clock is a system call (a vDSO one, but still about a hundred
//! instructions with the conversions), so a real clock remembers its last reading:
//! [`Clock::last_read`] is a lower bound of the present that costs nothing, which is all a
//! timer needs to tell that it is due without asking the system again. On a virtual clock
//! the last reading *is* the present.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

/// A clock for one event loop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use looplet_timer::Clock;
///
/// let clock = Clock::new_virtual();
/// let start = clock.now();
/// clock.advance_to(start + Duration::from_secs(3));
/// assert_eq!(clock.now() - start, Duration::from_secs(3));
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
    Real {
        last: Cell<Instant>,
    },
    Virtual {
        now: Cell<Instant>,
    },
}

impl Clock {
    /// A clock that follows real time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet_timer::Clock;
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
    /// use looplet_timer::Clock;
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
            },
            origin,
            origin_system: SystemTime::now(),
        }
    }

    /// Whether this clock is virtual.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet_timer::Clock;
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
    /// use looplet_timer::Clock;
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
            Kind::Virtual { now } => now.get(),
        }
    }

    /// The time at the latest reading, without reading the clock: on a virtual clock the
    /// present, on a real one the last value [`now`](Clock::now) returned. Time never goes
    /// backwards, so whatever this shows as past is past.
    pub(crate) fn last_read(&self) -> Instant {
        match &self.kind {
            Kind::Real { last } => last.get(),
            Kind::Virtual { now } => now.get(),
        }
    }

    /// The wall-clock time that corresponds to [`now`](Clock::now): on a virtual clock it
    /// advances with virtual time, so a program that prints timestamps reads the same on
    /// both clocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet_timer::Clock;
    ///
    /// let clock = Clock::new_virtual();
    /// let before = clock.system_time();
    /// clock.advance(Duration::from_secs(90));
    /// let elapsed = clock.system_time().duration_since(before).unwrap();
    /// assert_eq!(elapsed, Duration::from_secs(90));
    /// ```
    pub fn system_time(&self) -> SystemTime {
        self.origin_system + (self.now() - self.origin)
    }

    /// `instant` as nanoseconds since this clock was made (0 for anything earlier): the
    /// timer heap's key, 8 bytes that compare in one instruction instead of an `Instant`'s
    /// 16. Exact for about 584 years, well past the 30 years deadlines saturate at.
    pub(crate) fn ticks(&self, instant: Instant) -> u64 {
        let nanos = instant.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
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
    /// use looplet_timer::Clock;
    ///
    /// let clock = Clock::new_virtual();
    /// let start = clock.now();
    /// clock.advance_to(start + Duration::from_secs(2));
    /// clock.advance_to(start + Duration::from_secs(1)); // earlier: ignored
    /// assert_eq!(clock.now() - start, Duration::from_secs(2));
    /// ```
    pub fn advance_to(&self, instant: Instant) {
        if let Kind::Virtual { now } = &self.kind {
            if instant > now.get() {
                now.set(instant);
            }
        }
    }

    /// Moves a virtual clock forward by `duration`. Does nothing on a real clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet_timer::Clock;
    ///
    /// let clock = Clock::new_virtual();
    /// let start = clock.now();
    /// clock.advance(Duration::from_secs(1));
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(clock.now() - start, Duration::from_secs(2));
    /// clock.advance(Duration::MAX); // saturates (about 30 years on) instead of overflowing
    /// assert!(clock.now() - start > Duration::from_secs(86_400 * 365));
    /// ```
    pub fn advance(&self, duration: Duration) {
        self.advance_to(saturating_add(self.now(), duration));
    }
}

/// About thirty years: what a deadline saturates to when `now + duration` would overflow.
/// Far enough to mean "never", near enough that `Instant` arithmetic stays valid.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `instant + duration`, saturating at [`FAR_FUTURE`] from `instant` instead of panicking.
pub(crate) fn saturating_add(instant: Instant, duration: Duration) -> Instant {
    instant
        .checked_add(duration.min(FAR_FUTURE))
        .unwrap_or(instant)
}
