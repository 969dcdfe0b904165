//! A prompt template: text with one `{}` that Python's `str.format` fills with a class name.

use crate::error::{Result, TextError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Label,
}

/// A parsed template such as `"a photo of action {}"`.
///
/// Follows Python's `template.format(label)`, which MMAction2's zero-shot prompts use: `{}` (or `{0}`, any number
/// of times) is replaced by the raw class name, `{{` and `}}` are literal braces. Anything
/// `format` would reject with a single argument is an error here too, and so is a template
/// without a placeholder (every class would get the same prompt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`; `index` and `origin` only serve the error message.
    pub fn parse(text: &str, index: usize, origin: &str) -> Result<Self> {
        let fail = |reason: String| TextError::Template {
            index,
            template: text.to_owned(),
            origin: origin.to_owned(),
            reason,
        };
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let (mut automatic, mut manual) = (0usize, 0usize);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(fail("single '}' (write '}}' for a literal brace)".to_owned())),
                '{' => {
                    let mut field = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => field.push(c),
                            None => {
                                return Err(fail("'{' is never closed (write '{{' for a literal brace)".to_owned()))
                            }
                        }
                    }
                    match field.as_str() {
                        "" => automatic += 1,
                        "0" => manual += 1,
                        _ => {
                            return Err(fail(format!(
                                "unsupported field '{{{field}}}': only '{{}}' (the class name) \
                                 is allowed"
                            )))
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Label);
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        match (automatic, manual) {
            (0, 0) => Err(fail("no '{}' placeholder for the class name".to_owned())),
            (a, 0) if a > 1 => Err(fail(format!(
                "{a} '{{}}' placeholders but only one class name to fill in \
                 (use '{{0}}' to repeat it)"
            ))),
            (a, m) if a > 0 && m > 0 => Err(fail("mixes '{}' and '{0}' (Python cannot switch numbering)".to_owned())),
            _ => Ok(Self { text: text.to_owned(), pieces }),
        }
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The prompt for one class: `template.format(label)`.
    pub fn fill(&self, label: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + label.len());
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Label => out.push_str(label),
            }
        }
        out
    }
}

impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(template: &str, label: &str) -> Result<String> {
        Ok(Template::parse(template, 0, "test")?.fill(label))
    }

    #[test]
    fn fills_like_python_format() {
        // Expected values are what Python's str.format returns.
        assert_eq!(fill("a photo of action {}", "abseiling").ok().as_deref(), Some("a photo of action abseiling"));
        assert_eq!(fill("{}", "x").ok().as_deref(), Some("x"));
        assert_eq!(fill("{0} and {0}", "y").ok().as_deref(), Some("y and y"));
        assert_eq!(fill("{{literal}} {}", "z").ok().as_deref(), Some("{literal} z"));
        assert_eq!(
            fill("Can you recognize the action of {}?", "{}").ok().as_deref(),
            Some("Can you recognize the action of {}?")
        );
    }

    #[test]
    fn rejects_what_format_rejects_or_ignores_the_label() {
        let cases = [
            ("a photo", "no '{}' placeholder"),
            ("", "no '{}' placeholder"),
            ("{} and {}", "2 '{}' placeholders"),
            ("{} and {0}", "mixes"),
            ("{name}", "unsupported field '{name}'"),
            ("{:>10}", "unsupported field '{:>10}'"),
            ("oops {", "never closed"),
            ("oops }", "single '}'"),
        ];
        for (template, expected) in cases {
            let err = Template::parse(template, 3, "templates.txt").expect_err(template);
            let msg = err.to_string();
            assert!(msg.contains(expected), "{template:?}: {msg}");
            assert!(msg.contains("templates.txt") && msg.contains("#3"), "{msg}");
        }
    }
}
