use notify_core::alert_on_error;

struct Connection;

#[alert_on_error(context(connection))]
fn export(connection: &Connection) -> Result<(), std::io::Error> {
    let _ = connection;
    Ok(())
}

fn main() {
    let _ = export(&Connection);
}
