//! The `api_calls` example's comparison: concurrent calls finish in about one latency,
//! sequential ones in one latency per call.

#[allow(dead_code)]
#[path = "../examples/api_calls.rs"]
mod api_calls;

use std::time::Duration;

use looplet::Runner;

#[test]
fn concurrent_calls_take_one_latency_and_sequential_ones_one_per_call_on_the_virtual_clock() {
    let mut runner = Runner::builder().virtual_clock(true).build();
    let latency = Duration::from_millis(200);
    let timing = runner.run(api_calls::compare(10, latency, false)).unwrap();
    assert_eq!(timing.sequential, 10 * latency);
    assert_eq!(timing.concurrent, latency);
    assert_eq!(
        timing.to_string(),
        "sequential 2.0 s, concurrent 0.2 s (10.0x faster)"
    );
}

#[test]
fn concurrent_calls_beat_sequential_ones_more_than_twice_over_on_the_real_clock() {
    let mut runner = Runner::builder().virtual_clock(false).build();
    let timing = runner
        .run(api_calls::compare(8, Duration::from_millis(25), false))
        .unwrap();
    assert!(timing.speedup() > 2.0, "{timing}");
}
