//! SVG bar charts from plain series of labelled counts, drawn with plotters.
//!
//! Reports (the transparency report, the policy lab) embed these in self-contained HTML pages
//! that need no JavaScript. The output is deterministic: the same series gives the same bytes,
//! so a report page can be compared byte for byte. Text is emitted as SVG `<text>` in a
//! generic font family, so no font files are needed here; the viewer draws the glyphs.
//!
//! This crate knows series and SVG, nothing of what is counted.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the chart `{title}`: {message}")]
pub struct ChartError {
    title: String,
    message: String,
}

/// Width of every chart, in SVG user units (pixels at 100 %).
const WIDTH: u32 = 640;
/// Height of one bar's band in a horizontal chart.
const BAND: u32 = 26;
/// Space for the caption and the axis.
const MARGIN: u32 = 70;
/// Longest label drawn; longer ones are cut with an ellipsis so the chart keeps its shape.
const MAX_LABEL: usize = 28;

/// A horizontal bar chart: one bar per `(label, count)`, in the order given, with the count
/// axis starting at zero. An empty series gives a chart that says so.
pub fn horizontal_bars(title: &str, series: &[(String, u64)]) -> Result<String, ChartError> {
    let err = |e: &dyn std::fmt::Display| ChartError {
        title: title.to_owned(),
        message: e.to_string(),
    };
    let n = u32::try_from(series.len()).map_err(|e| err(&e))?;
    let height = MARGIN + BAND * n.max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        if series.is_empty() {
            root.draw(&Text::new(
                format!("{title}: nothing to count"),
                (10, 30),
                ("sans-serif", 16).into_font(),
            ))
            .map_err(|e| err(&e))?;
            root.present().map_err(|e| err(&e))?;
            drop(root);
            return Ok(svg);
        }
        let max = series.iter().map(|(_, v)| *v).max().unwrap_or(0);
        // Room beyond the longest bar for its value label. The axis is f64 so that no count,
        // however large, overflows plotters' integer key-point arithmetic.
        let top = max as f64 * 1.15 + 1.0;
        // Bar i (from the top) occupies the middle half of band [4j, 4j + 4) with j = n - 1 - i,
        // on a plain integer axis: plotters' own histogram collects bars in a hash map, which
        // would make the output's element order vary from run to run.
        let bands = n * 4;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..top, 0u32..bands)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            // Labels are drawn beside each bar below; one key point (plotters cannot take zero).
            .y_labels(1)
            .y_label_formatter(&|_| String::new())
            .x_labels(6)
            .x_label_formatter(&|v| {
                if v.fract() == 0.0 {
                    format!("{v:.0}")
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| err(&e))?;
        let fill = RGBColor(0x1f, 0x5a, 0x96).filled();
        let band = |i: u32| 4 * (n - 1 - i);
        chart
            .draw_series((0u32..).zip(series.iter()).map(|(i, (_, v))| {
                Rectangle::new([(0.0, band(i) + 1), (*v as f64, band(i) + 3)], fill)
            }))
            .map_err(|e| err(&e))?;
        chart
            .draw_series((0u32..).zip(series.iter()).map(|(i, (_, v))| {
                Text::new(
                    format!(" {v}"),
                    (*v as f64, band(i) + 2),
                    ("sans-serif", 12)
                        .into_text_style(&root)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(|e| err(&e))?;
        let label_style = ("sans-serif", 13)
            .into_text_style(&root)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (i, (label, _)) in (0u32..).zip(series.iter()) {
            let (x, y) = chart.backend_coord(&(0.0, band(i) + 2));
            root.draw(&Text::new(shorten(label), (x - 6, y), label_style.clone()))
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        return label.to_owned();
    }
    let mut s: String = label.chars().take(MAX_LABEL - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn series() -> Vec<(String, u64)> {
        vec![
            ("AR".to_owned(), 12),
            ("BO".to_owned(), 3),
            ("a very long label that goes on and on".to_owned(), 0),
        ]
    }

    #[test]
    fn the_same_series_gives_the_same_bytes() {
        let a = horizontal_bars("Requests by requesting Party", &series()).unwrap();
        let b = horizontal_bars("Requests by requesting Party", &series()).unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("<svg"));
        assert!(a.contains("\nAR\n"), "labels are drawn: {a}");
        assert!(a.contains("\n 12\n"), "values are drawn: {a}");
        assert!(a.contains("a very long label that goes…"));
    }

    #[test]
    fn huge_counts_draw() {
        let svg =
            horizontal_bars("big", &[("x".to_owned(), u64::MAX), ("y".to_owned(), 1)]).unwrap();
        assert!(svg.contains(&u64::MAX.to_string()));
    }

    #[test]
    fn an_empty_series_says_so() {
        let svg = horizontal_bars("Refusals by ground", &[]).unwrap();
        assert!(svg.contains("nothing to count"));
    }

    #[test]
    fn markup_in_labels_is_escaped() {
        let svg = horizontal_bars("<b>&", &[("<script>".to_owned(), 1)]).unwrap();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
    }
}
