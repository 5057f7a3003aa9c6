//! Compile-fail snapshots of `#[alert_on_error]`'s diagnostics.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
