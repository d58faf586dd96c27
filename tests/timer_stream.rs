//! `Interval` is a `futures_core::Stream`: the ecosystem's stream combinators take it as
//! it is, and yield the same instants as `tick`. On the virtual clock.

use std::time::Duration;

use futures_util::stream::{FusedStream, Stream, StreamExt};
use looplet::{interval, now, Runner};

#[test]
fn an_interval_streams_its_ticks_through_stream_combinators() {
    Runner::builder().virtual_clock(true).build().run(async {
        let start = now();
        let offsets: Vec<Duration> = interval(Duration::from_millis(250))
            .map(|due| due - start)
            .take(4)
            .collect()
            .await;
        let expected: Vec<_> = [0, 250, 500, 750].map(Duration::from_millis).into();
        assert_eq!(offsets, expected);
        assert_eq!(now() - start, Duration::from_millis(750));
    });
}

#[test]
fn an_interval_stream_never_ends() {
    let ticks = interval(Duration::from_secs(1));
    assert!(!ticks.is_terminated());
    assert_eq!(ticks.size_hint(), (usize::MAX, None));
}

#[test]
fn next_and_tick_take_turns_on_one_schedule() {
    Runner::builder().virtual_clock(true).build().run(async {
        let start = now();
        let mut ticks = interval(Duration::from_secs(1));
        assert_eq!(ticks.next().await, Some(start));
        assert_eq!(ticks.tick().await, start + Duration::from_secs(1));
        assert_eq!(ticks.next().await, Some(start + Duration::from_secs(2)));
    });
}
