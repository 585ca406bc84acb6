//! Positions in TOML text: line and column of a byte offset, and the dotted name of the field
//! written there, so that errors in rule and scenario files say where and what.

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

/// The dotted field name for an error: serde's path when it names every segment, otherwise
/// the table header above `span` and the key written on its line.
pub fn field_name(
    text: &str,
    span: Option<std::ops::Range<usize>>,
    serde_path: &str,
) -> Option<String> {
    let clean: Vec<&str> = serde_path
        .split('.')
        .filter(|s| !s.is_empty() && !s.starts_with("$__"))
        .collect();
    if !clean.is_empty() && !clean.contains(&"?") {
        return Some(clean.join("."));
    }
    let span = span?;
    let start = span.start.min(text.len());
    let line_start = text
        .get(..start)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line_end = text
        .get(start..)
        .and_then(|a| a.find('\n'))
        .map_or(text.len(), |i| start + i);
    let line = text.get(line_start..line_end).unwrap_or("").trim();
    let header_of = |l: &str| -> Option<String> {
        let l = l.trim();
        let inner = l
            .strip_prefix("[[")
            .and_then(|r| r.split("]]").next())
            .or_else(|| l.strip_prefix('[').and_then(|r| r.split(']').next()))?;
        Some(inner.trim().replace(['"', ' '], ""))
    };
    if let Some(h) = header_of(line) {
        return Some(h);
    }
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned());
    let header = text
        .get(..line_start)
        .unwrap_or("")
        .lines()
        .rev()
        .find_map(|l| {
            if l.trim_start().starts_with('[') {
                header_of(l)
            } else {
                None
            }
        });
    match (header, key) {
        (Some(h), Some(k)) if !k.is_empty() => Some(format!("{h}.{k}")),
        (None, Some(k)) if !k.is_empty() => Some(k),
        (h, _) => h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 9), (2, 4));
        assert_eq!(line_col(t, 999), (3, 1));
    }

    #[test]
    fn field_names_come_from_the_text_when_serde_cannot_name_keys() {
        let t = "x = 1\n[kind.mla]\nscop = 2\n[[kind.mla.duties]]\nwhen = { a = 1 }\n";
        let at = |needle: &str| t.find(needle).map(|i| i..i + 1);
        assert_eq!(
            field_name(t, at("scop"), "kind.?.scop").as_deref(),
            Some("kind.mla.scop")
        );
        assert_eq!(
            field_name(t, at("when"), "?").as_deref(),
            Some("kind.mla.duties.when")
        );
        assert_eq!(field_name(t, at("x ="), "?").as_deref(), Some("x"));
        assert_eq!(
            field_name(t, None, "request.kind").as_deref(),
            Some("request.kind")
        );
        assert_eq!(field_name(t, None, ".").as_deref(), None);
    }
}
