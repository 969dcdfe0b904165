//! Python `str.format` templates for frame file names (`img_{:05}.jpg`,
//! `{}_{:05d}.jpg` for flow): positional fields with an optional zero-fill width.

/// One argument of a template.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// An integer (the frame number).
    Int(i64),
    /// A string (`x` / `y` for flow).
    Str(&'a str),
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Field { zero: bool, width: usize },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameTemplate {
    pieces: Vec<Piece>,
    fields: usize,
}

impl FrameTemplate {
    /// Parses `text`; supports `{}`, `{:N}`, `{:0N}`, `{:0Nd}`, `{:d}` and `{{`/`}}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut buf = String::new();
        let mut chars = text.chars().peekable();
        let mut fields = 0;
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    buf.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    buf.push('}');
                }
                '{' => {
                    let mut spec = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(ch) => spec.push(ch),
                            None => return Err(format!("template \"{text}\": unclosed `{{`")),
                        }
                    }
                    if !buf.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut buf)));
                    }
                    pieces.push(parse_spec(&spec).ok_or_else(|| {
                        format!(
                            "template \"{text}\": unsupported field `{{{spec}}}`; expected {{}}, {{:05}} or {{:05d}}"
                        )
                    })?);
                    fields += 1;
                }
                '}' => return Err(format!("template \"{text}\": single `}}`")),
                other => buf.push(other),
            }
        }
        if !buf.is_empty() {
            pieces.push(Piece::Text(buf));
        }
        Ok(FrameTemplate { pieces, fields })
    }

    /// Number of fields.
    pub fn fields(&self) -> usize {
        self.fields
    }

    /// Fills the fields with `args` in order; `None` when the count differs.
    pub fn format(&self, args: &[Arg<'_>]) -> Option<String> {
        if args.len() != self.fields {
            return None;
        }
        let mut out = String::new();
        let mut next = args.iter();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field { zero, width } => match next.next()? {
                    Arg::Int(v) if *zero => {
                        let digits = v.unsigned_abs().to_string();
                        let sign = if *v < 0 { "-" } else { "" };
                        let pad = width.saturating_sub(digits.len() + sign.len());
                        out.push_str(sign);
                        out.push_str(&"0".repeat(pad));
                        out.push_str(&digits);
                    }
                    Arg::Int(v) => out.push_str(&format!("{v:>width$}", width = *width)),
                    Arg::Str(s) => out.push_str(&format!("{s:<width$}", width = *width)),
                },
            }
        }
        Some(out)
    }
}

fn parse_spec(spec: &str) -> Option<Piece> {
    if spec.is_empty() {
        return Some(Piece::Field { zero: false, width: 0 });
    }
    let body = spec.strip_prefix(':')?;
    let body = body.strip_suffix('d').unwrap_or(body);
    if body.is_empty() {
        return Some(Piece::Field { zero: false, width: 0 });
    }
    if !body.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let zero = body.starts_with('0');
    let width = body.parse().ok()?;
    Some(Piece::Field { zero, width })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use super::*;

    #[test]
    fn formats_like_python() {
        let t = FrameTemplate::parse("img_{:05}.jpg").unwrap();
        assert_eq!(t.format(&[Arg::Int(7)]).unwrap(), "img_00007.jpg");
        assert_eq!(t.format(&[Arg::Int(123456)]).unwrap(), "img_123456.jpg");
        let f = FrameTemplate::parse("{}_{:05d}.jpg").unwrap();
        assert_eq!(f.format(&[Arg::Str("x"), Arg::Int(1)]).unwrap(), "x_00001.jpg");
        assert_eq!(FrameTemplate::parse("{:4}|{{}}").unwrap().format(&[Arg::Int(3)]).unwrap(), "   3|{}");
        assert!(f.format(&[Arg::Int(1)]).is_none());
        assert!(FrameTemplate::parse("img_{:x}.jpg").is_err());
        assert!(FrameTemplate::parse("img_{.jpg").is_err());
    }
}
