//! Log lines into the server log, tagged with the component's name.

fn write(level: i32, message: &str) {
    unsafe { crate::host::log(level, message.as_ptr(), message.len() as i32) }
}

pub fn trace(message: &str) {
    write(0, message)
}
pub fn debug(message: &str) {
    write(1, message)
}
pub fn info(message: &str) {
    write(2, message)
}
pub fn warn(message: &str) {
    write(3, message)
}
pub fn error(message: &str) {
    write(4, message)
}
