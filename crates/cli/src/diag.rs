//! Diagnostics for the terminal: file, line, field and a source snippet, via miette.

use comity_scenario::ScenarioError;
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};
use std::io::IsTerminal;

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
struct Located {
    message: String,
    #[source_code]
    src: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
}

/// Whether stderr should get colour.
fn stderr_colour() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Prints a scenario error: a first line that tools can parse (`file:line:col: field `x`:
/// message`) and, where the span is known, the source around it.
pub fn scenario_error(e: &ScenarioError, text: &str) {
    eprintln!("error: {e}");
    let Some(span) = &e.span else { return };
    let diag = Located {
        message: e.message.clone(),
        src: NamedSource::new(&e.file, text.to_owned()),
        span: (span.start, span.end.saturating_sub(span.start).max(1)).into(),
        label: e
            .field
            .clone()
            .map_or_else(|| "here".to_owned(), |f| format!("field `{f}`")),
    };
    let theme = if stderr_colour() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    if GraphicalReportHandler::new_themed(theme)
        .render_report(&mut out, &diag)
        .is_ok()
    {
        eprintln!("{out}");
    }
}
