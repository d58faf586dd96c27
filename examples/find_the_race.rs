//! Find the bug FIFO hides: a check-then-act race across an `.await`, found by running the
//! same program under many seeded schedules, replayed from its seed, then fixed.
//!
//! A service warms its config cache at startup while the first request comes in. Both go
//! through `get_config`, which checks the cache, and on a miss fetches the config from the
//! backend — an `.await` — and fills the cache. In FIFO order the warmer always fills the
//! cache before the request looks, so every FIFO run calls the backend once. Under other
//! orders the request can look first, miss, and fetch again: the backend is called twice.
//!
//! ```text
//! cargo run --example find_the_race
//! ```

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use looplet::{create_task, yield_now, Runner};

/// The backend, counting how often it is asked.
#[derive(Default)]
pub struct Backend {
    calls: Cell<u32>,
}

impl Backend {
    async fn fetch_config(&self) -> String {
        self.calls.set(self.calls.get() + 1);
        yield_now().await; // the network round trip
        "config v1".to_owned()
    }
}

/// The cache as first written: check, then act after an `.await`. Racy.
#[derive(Default)]
pub struct RacyCache {
    config: RefCell<Option<String>>,
}

impl RacyCache {
    async fn get_config(&self, backend: &Backend) -> String {
        if let Some(config) = self.config.borrow().clone() {
            return config;
        }
        let config = backend.fetch_config().await;
        *self.config.borrow_mut() = Some(config.clone());
        config
    }
}

/// The fix: whoever misses first marks the fetch as under way, and the others wait for it
/// instead of fetching again ("single flight").
#[derive(Default)]
pub struct SingleFlightCache {
    state: RefCell<Slot>,
}

#[derive(Default, Clone)]
enum Slot {
    #[default]
    Empty,
    Loading,
    Ready(String),
}

impl SingleFlightCache {
    async fn get_config(&self, backend: &Backend) -> String {
        loop {
            let slot = self.state.borrow().clone();
            match slot {
                Slot::Ready(config) => return config,
                Slot::Loading => yield_now().await,
                Slot::Empty => {
                    *self.state.borrow_mut() = Slot::Loading;
                    let config = backend.fetch_config().await;
                    *self.state.borrow_mut() = Slot::Ready(config.clone());
                    return config;
                }
            }
        }
    }
}

/// The service's startup, inside a running loop: a warmer and the first request both get
/// the config. Returns how often the backend was called.
pub async fn warm_and_serve(single_flight: bool) -> u32 {
    let backend = Rc::new(Backend::default());
    let racy = Rc::new(RacyCache::default());
    let fixed = Rc::new(SingleFlightCache::default());
    let get = move |backend: Rc<Backend>| {
        let (racy, fixed) = (racy.clone(), fixed.clone());
        async move {
            if single_flight {
                fixed.get_config(&backend).await
            } else {
                racy.get_config(&backend).await
            }
        }
    };
    let warmer = create_task(get(backend.clone()));
    let request = create_task({
        let (get, backend) = (get.clone(), backend.clone());
        async move {
            yield_now().await; // reading the request off the wire
            get(backend).await
        }
    });
    warmer.await.unwrap();
    request.await.unwrap();
    backend.calls.get()
}

/// [`warm_and_serve`] on a new virtual-clock runner with `seed` (FIFO when `None`):
/// the backend calls, and the schedule's fingerprint.
pub fn startup(seed: Option<u64>, single_flight: bool) -> (u32, u64) {
    let mut builder = Runner::builder().virtual_clock(true);
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let mut runner = builder.build();
    let calls = runner.run(warm_and_serve(single_flight));
    (calls, runner.stats().schedule_fingerprint)
}

#[allow(dead_code)] // also compiled into the tests, which have their own main
fn main() {
    let (fifo_calls, _) = startup(None, false);
    println!("FIFO order: the backend is called {fifo_calls} time(s), every run");
    let Some(seed) = (0..100).find(|&seed| startup(Some(seed), false).0 > 1) else {
        println!("no seed out of 100 found the race");
        return;
    };
    let (calls, fingerprint) = startup(Some(seed), false);
    println!("seed {seed}: the backend is called {calls} times (schedule {fingerprint:016x})");
    let (again, replayed) = startup(Some(seed), false);
    println!(
        "replayed seed {seed}: {again} calls, the same schedule: {}",
        replayed == fingerprint
    );
    let fixed = (0..100).all(|seed| startup(Some(seed), true).0 == 1);
    println!("single-flight cache: one backend call under all 100 seeds: {fixed}");
}
