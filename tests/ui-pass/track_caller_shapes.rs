//! `#[track_caller]` functions of many shapes compile without a warning
//! (their bodies run in a nested `#[track_caller]` fn).
#![deny(warnings)]

use notify_core::alert_on_error;

#[track_caller]
#[alert_on_error]
fn generic<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| String::from("not a number"))
}

#[track_caller]
#[alert_on_error]
fn only_in_the_body<T: Default + std::fmt::Debug>() -> Result<String, String> {
    Ok(format!("{:?}", T::default()))
}

#[track_caller]
#[alert_on_error(context(n))]
fn with_impl_trait(n: u32, items: impl IntoIterator<Item = u32>) -> Result<u32, String> {
    Ok(items.into_iter().sum::<u32>() + n)
}

/// A type parameter only the body uses, beside an `impl Trait` argument:
/// the nested body is called with it written out.
#[track_caller]
#[alert_on_error]
fn only_in_the_body_beside_impl_trait<T: Default + std::fmt::Debug>(
    label: impl std::fmt::Display,
) -> Result<String, String> {
    Ok(format!("{label}: {:?}", T::default()))
}

#[track_caller]
#[alert_on_error]
fn with_const<const N: usize>(values: [u8; N]) -> Result<usize, String> {
    Ok(values.len())
}

#[track_caller]
#[alert_on_error]
fn with_patterns((a, b): (u32, u32), mut c: Vec<u32>, _: u8) -> Result<u32, String> {
    c.push(a + b);
    Ok(c.iter().sum())
}

#[track_caller]
#[alert_on_error]
fn borrowing<'a>(items: &'a mut Vec<String>) -> Result<&'a mut String, String> {
    items.first_mut().ok_or_else(|| String::from("empty"))
}

#[track_caller]
#[alert_on_error]
fn opaque(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[track_caller]
#[alert_on_error]
unsafe fn raw(p: *const u32) -> Result<u32, String> {
    Ok(unsafe { *p })
}

#[track_caller]
#[alert_on_error]
fn never() -> ! {
    panic!("never returns")
}

#[track_caller]
#[alert_on_error]
fn question_mark(text: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = text.parse()?;
    if n == 0 {
        return Ok(1);
    }
    Ok(n)
}

/// A local type with its own `impl` (and `Self`) inside the body.
#[track_caller]
#[alert_on_error]
fn with_local_impl() -> Result<u32, String> {
    struct Local(u32);
    impl Local {
        fn new() -> Self {
            Local(3)
        }
    }
    Ok(Local::new().0)
}

fn main() {
    let _ = with_local_impl();
    let _: Result<u32, String> = generic("1");
    let _ = only_in_the_body::<u8>();
    let _ = with_impl_trait(1, vec![1, 2]);
    let _ = only_in_the_body_beside_impl_trait::<u8>("zero");
    let _ = with_const([1, 2, 3]);
    let _ = with_patterns((1, 2), vec![], 0);
    let mut items = vec![String::from("a")];
    let _ = borrowing(&mut items);
    let _ = opaque(3).count();
    let x = 5;
    let _ = unsafe { raw(&x) };
    let _ = question_mark("2");
    if x == 6 {
        never();
    }
}
