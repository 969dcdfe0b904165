//! Dotted key paths such as `model.backbone.depth` or `train_pipeline.1.num_clips`.

use std::fmt;

/// One step of a [`KeyPath`]: a table key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A key of a table.
    Key(String),
    /// A position in a list.
    Index(usize),
}

/// A location inside a config, printed MMEngine-style with dots (`a.b.0.c`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The empty path: the root of the config.
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// Parses `a.b.0.c`; all-digit parts become list indices.
    pub fn parse(dotted: &str) -> Self {
        if dotted.is_empty() {
            return Self::root();
        }
        KeyPath(
            dotted
                .split('.')
                .map(|part| match part.parse::<usize>() {
                    Ok(i) if part.bytes().all(|b| b.is_ascii_digit()) => Segment::Index(i),
                    _ => Segment::Key(part.to_string()),
                })
                .collect(),
        )
    }

    /// This path extended by a table key.
    pub fn key(&self, key: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Key(key.to_string()));
        KeyPath(v)
    }

    /// This path extended by a list index.
    pub fn index(&self, index: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Index(index));
        KeyPath(v)
    }

    /// Appends the path of a serde error (`serde_path_to_error::Path`) printed as text.
    pub fn join_dotted(&self, dotted: &str) -> Self {
        let mut v = self.0.clone();
        v.extend(KeyPath::parse(dotted).0);
        KeyPath(v)
    }

    /// A path made of these steps.
    pub fn from_segments(segments: Vec<Segment>) -> Self {
        KeyPath(segments)
    }

    /// The steps of the path, root first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// True for the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path without its last step (the root stays the root).
    pub fn parent(&self) -> Self {
        let mut v = self.0.clone();
        v.pop();
        KeyPath(v)
    }

    /// The last step's text, if any.
    pub fn last(&self) -> Option<String> {
        self.0.last().map(|s| match s {
            Segment::Key(k) => k.clone(),
            Segment::Index(i) => i.to_string(),
        })
    }

    /// True when `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &KeyPath) -> bool {
        self.0.starts_with(&other.0)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("<root>");
        }
        for (i, seg) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match seg {
                Segment::Key(k) => f.write_str(k)?,
                Segment::Index(n) => write!(f, "{n}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_indices() {
        let p = KeyPath::parse("train_pipeline.1.num_clips");
        assert_eq!(p.segments()[1], Segment::Index(1));
        assert_eq!(p.to_string(), "train_pipeline.1.num_clips");
        assert_eq!(KeyPath::root().key("a").index(3).to_string(), "a.3");
        assert_eq!(KeyPath::root().to_string(), "<root>");
    }
}
