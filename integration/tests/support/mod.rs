//! The facade's test helpers (`tests/support`), shared rather than copied: these tests are
//! the facade's too, kept in their own package only for their dependencies.

#![allow(dead_code, unused_imports)]

#[path = "../../../tests/support/mod.rs"]
mod facade_support;

pub use facade_support::*;
