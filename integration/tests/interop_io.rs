//! `async-io` runs on looplet: its `Timer` and its socket readiness are driven by async-io's
//! own reactor thread, which wakes the looplet loop through the remote queue. These tests
//! use the real clock (async-io keeps its own time); they wait, but never judge by time.

mod support;

use std::os::unix::net::UnixStream;
use std::time::Duration;

use async_io::{Async, Timer};
use futures::future::{self, Either};
use futures::{AsyncReadExt, AsyncWriteExt};
use looplet::{create_task, sleep, Runner};
use support::{within, LIMIT};

#[test]
fn an_async_io_timer_fires_on_its_reactor_thread_and_wakes_the_looplet_loop() {
    let stats = within(LIMIT, || {
        let mut runner = Runner::new();
        runner.run(async {
            let fired = Timer::after(Duration::from_millis(20)).await;
            assert!(fired <= std::time::Instant::now());
        });
        runner.stats()
    });
    assert!(
        stats.remote_wakes >= 1,
        "the wake came from async-io's thread"
    );
}

#[test]
fn an_async_io_timer_and_a_looplet_sleep_race_in_select() {
    within(LIMIT, || {
        let winners = looplet::run(async {
            let looplet_wins = future::select(
                Box::pin(sleep(Duration::from_millis(1))),
                Timer::after(Duration::from_secs(3600)),
            )
            .await;
            let async_io_wins = future::select(
                Box::pin(sleep(Duration::from_secs(3600))),
                Timer::after(Duration::from_millis(1)),
            )
            .await;
            (
                matches!(looplet_wins, Either::Left(_)),
                matches!(async_io_wins, Either::Right(_)),
            )
        });
        assert_eq!(winners, (true, true));
    });
}

#[test]
fn an_async_io_socket_pair_streams_a_megabyte_between_two_looplet_tasks() {
    const LEN: usize = 1 << 20; // far more than a socket buffer: both sides must wait
    within(LIMIT, || {
        let (received, stats) = {
            let mut runner = Runner::new();
            let received = runner.run(async {
                let (mut writer, mut reader) = Async::<UnixStream>::pair().unwrap();
                let sender = create_task(async move {
                    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
                    writer.write_all(&data).await.unwrap();
                    writer.close().await.unwrap();
                });
                let mut received = Vec::with_capacity(LEN);
                reader.read_to_end(&mut received).await.unwrap();
                sender.await.unwrap();
                received
            });
            (received, runner.stats())
        };
        assert_eq!(received.len(), LEN);
        assert!(
            received
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8),
            "bytes arrived in order and intact"
        );
        assert!(
            stats.remote_wakes >= 1,
            "socket readiness came from async-io's thread"
        );
    });
}
