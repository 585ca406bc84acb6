//! The HTML of Comity. Today: the transparency report page, self-contained (inline CSS and
//! SVG charts, no script), served by a node and written by `comity report --format html`.
//!
//! Pages are plain strings built here, with every piece of text escaped on the way in; this
//! crate knows HTML, not HTTP.

mod escape;
mod report;

pub use escape::escape;
pub use report::{LogAbout, report_page};
