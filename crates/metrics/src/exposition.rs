//! Reading the text exposition back: for tests, `smppguard` tooling and the checks
//! that dashboards and alert rules only name metrics a real scrape contains.

/// One sample line: `name{label="value",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Series name (for histograms, with its `_bucket`/`_sum`/`_count` suffix).
    pub name: String,
    /// Label pairs, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether every pair of `labels` is present with that value.
    pub fn has_labels(&self, labels: &[(&str, &str)]) -> bool {
        labels.iter().all(|(k, v)| self.label(k) == Some(v))
    }
}

/// Parses the sample lines of a text exposition; comment lines and lines that do not
/// parse are skipped. Label values are unescaped (`\\`, `\"`, `\n`).
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

/// The value of the sample named `name` whose labels include `labels` (the first one,
/// when several match).
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    parse(text)
        .into_iter()
        .find(|s| s.name == name && s.has_labels(labels))
        .map(|s| s.value)
}

/// The sum over every sample named `name` whose labels include `labels`.
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    parse(text)
        .into_iter()
        .filter(|s| s.name == name && s.has_labels(labels))
        .map(|s| s.value)
        .sum()
}

fn parse_line(line: &str) -> Option<Sample> {
    let (series, value) = line.trim_end().rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match series.split_once('{') {
        None => (series, Vec::new()),
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

fn parse_labels(mut s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let (key, rest) = s.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        out.push((key.trim_start_matches(',').to_string(), value));
        s = rest.get(end + 1..)?;
        s = s.strip_prefix(',').unwrap_or(s);
    }
    out.sort();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_labels_and_values() {
        let text = "# HELP x y\n# TYPE x counter\nx 3\n\
                    a_bucket{le=\"0.5\",upstream=\"s \\\"1\\\"\"} 2\n\
                    a_bucket{upstream=\"s\",le=\"+Inf\"} +Inf\nbroken line here\n";
        let samples = parse(text);
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].value, 3.0);
        assert_eq!(samples[1].label("upstream"), Some("s \"1\""));
        assert_eq!(samples[1].labels[0].0, "le");
        assert_eq!(
            value(text, "a_bucket", &[("le", "+Inf")]),
            Some(f64::INFINITY)
        );
        assert_eq!(value(text, "x", &[]), Some(3.0));
        assert_eq!(value(text, "x", &[("a", "b")]), None);
        assert_eq!(sum(text, "a_bucket", &[("upstream", "s \"1\"")]), 2.0);
    }
}
