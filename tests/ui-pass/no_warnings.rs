//! Common shapes expand without a single warning in the user's crate.
#![deny(warnings)]

use notify_core::alert_on_error;

#[derive(Debug)]
struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

impl std::error::Error for Failed {}

#[alert_on_error]
fn one_expression(x: u32) -> Result<u32, Failed> {
    Ok(x)
}

#[alert_on_error]
async fn one_expression_later(x: u32) -> Result<u32, Failed> {
    Ok(x)
}

#[alert_on_error]
async fn nothing_later() {}

#[alert_on_error(context(x))]
async fn with_context(x: u32) -> Result<u32, Failed> {
    if x == 0 {
        return Err(Failed);
    }
    Ok(x)
}

struct Buffer(Vec<u8>);

impl Buffer {
    #[alert_on_error]
    fn head(&mut self, n: usize) -> Result<&mut [u8], Failed> {
        self.0.get_mut(..n).ok_or(Failed)
    }

    #[alert_on_error]
    async fn len_later(&self) -> Result<usize, Failed> {
        Ok(self.0.len())
    }
}

#[alert_on_error]
fn iter(n: u32) -> Result<impl Iterator<Item = u32>, Failed> {
    Ok(0..n)
}

fn main() {
    let _ = one_expression(1);
    let _ = one_expression_later(1);
    let _ = nothing_later();
    let _ = with_context(1);
    let mut buffer = Buffer(vec![1, 2, 3]);
    let _ = buffer.head(2);
    let _ = buffer.len_later();
    let _ = iter(3);
}
