//! The UI's static files, embedded in the binary (see `assets/README.md` for their origin).

/// The htmx file's name, with its exact version.
pub const HTMX: &str = "htmx-2.0.11.min.js";

/// The content type and bytes of asset `name`.
pub fn get(name: &str) -> Option<(&'static str, &'static [u8])> {
    match name {
        HTMX => Some((
            "text/javascript; charset=utf-8",
            include_bytes!("../assets/htmx-2.0.11.min.js"),
        )),
        "htmx-LICENSE.txt" => Some((
            "text/plain; charset=utf-8",
            include_bytes!("../assets/htmx-LICENSE.txt"),
        )),
        "style.css" => Some((
            "text/css; charset=utf-8",
            include_bytes!("../assets/style.css"),
        )),
        _ => None,
    }
}
