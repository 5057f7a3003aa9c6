//! Compile-fail snapshots of `#[alert_on_error]`'s diagnostics, and shapes
//! that must compile without a warning.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
