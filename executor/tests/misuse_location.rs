//! Misuse panics point at the caller's line, not into the loop's own source: a nested
//! `run`, a nested `Runner::run` and a run on a closed runner all report this file.
//!
//! One test in this file on purpose: it installs a panic hook, which is process-wide.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use looplet_executor::{run, Runner};

#[test]
fn misuse_panics_name_the_callers_file_and_line() {
    let locations: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = locations.clone();
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(location) = info.location() {
            seen.lock().unwrap().push(location.file().to_owned());
        }
    }));
    run(async {
        let _ = catch_unwind(|| run(async {}));
        let _ = catch_unwind(|| Runner::new().run(async {}));
    });
    let mut closed = Runner::new();
    closed.close();
    let _ = catch_unwind(AssertUnwindSafe(|| closed.run(async {})));
    std::panic::set_hook(default);
    let locations = locations.lock().unwrap();
    assert_eq!(locations.len(), 3, "{locations:?}");
    for file in locations.iter() {
        assert!(file.ends_with("misuse_location.rs"), "{file}");
    }
}
