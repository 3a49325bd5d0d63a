// `sqlx::migrate!` embeds migrations/ at compile time, and cargo does not see a
// new file there on its own: without this, a new migration leaves `data` "Fresh"
// and the binary applies the old set (sqlx's documented fix).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
