//! Parsers of MMAction2's annotation lists. Blank lines are skipped; every other
//! malformed line is an error naming the file and line.

use std::path::Path;

use crate::error::DataError;

/// One line of an annotation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The video file or frame folder, as written in the list.
    pub path: String,
    /// Frame count (rawframe lists).
    pub total_frames: Option<usize>,
    /// Index of the clip's first frame (rawframe lists with `with_offset`).
    pub offset: i64,
    /// The labels (`[-1]` for lists without labels).
    pub labels: Vec<i64>,
    /// 1-based line number.
    pub line: usize,
}

fn read_lines(path: &Path) -> Result<Vec<(usize, String)>, DataError> {
    kinema_core::fs::check_regular_file(path, "annotation list")?;
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    Ok(text.lines().enumerate().map(|(i, l)| (i + 1, l.trim().to_string())).filter(|(_, l)| !l.is_empty()).collect())
}

fn parse_int<T: std::str::FromStr>(path: &Path, line: usize, field: &str, what: &str) -> Result<T, DataError> {
    field.parse().map_err(|_| DataError::Annotation {
        path: path.to_path_buf(),
        line,
        message: format!("{what} \"{field}\" is not an integer"),
    })
}

/// Parses a VideoDataset list: `path label`, `path` alone (label -1), or with
/// `multi_class` `path l1 l2 ...`. `delimiter` separates fields (a single space also
/// accepts runs of whitespace).
pub fn parse_video_list(path: &Path, delimiter: &str, multi_class: bool) -> Result<Vec<Record>, DataError> {
    let mut out = Vec::new();
    for (line, text) in read_lines(path)? {
        let fields: Vec<&str> = if delimiter == " " {
            text.split_whitespace().collect()
        } else {
            text.split(delimiter).map(str::trim).collect()
        };
        let bad = |message: String| DataError::Annotation { path: path.to_path_buf(), line, message };
        let labels = match (fields.len(), multi_class) {
            (1, false) => vec![-1],
            (2, false) => vec![parse_int(path, line, fields[1], "label")?],
            (n, false) => {
                return Err(bad(format!(
                    "expected `path{delimiter}label`, found {n} fields (set multi_class = true for several labels, or check the delimiter)"
                )))
            }
            (_, true) => fields[1..].iter().map(|f| parse_int(path, line, f, "label")).collect::<Result<_, _>>()?,
        };
        out.push(Record { path: fields[0].to_string(), total_frames: None, offset: 0, labels, line });
    }
    Ok(out)
}

/// Parses a RawframeDataset list: `frame_dir total_frames label...`, or with
/// `with_offset` `frame_dir offset total_frames label...`.
pub fn parse_rawframe_list(path: &Path, with_offset: bool, multi_class: bool) -> Result<Vec<Record>, DataError> {
    let mut out = Vec::new();
    for (line, text) in read_lines(path)? {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let bad = |message: String| DataError::Annotation { path: path.to_path_buf(), line, message };
        let head = if with_offset { 3 } else { 2 };
        if fields.len() < head {
            let form = if with_offset { "frame_dir offset total_frames label" } else { "frame_dir total_frames label" };
            return Err(bad(format!("expected `{form}`, found {} fields", fields.len())));
        }
        let (offset, total) = if with_offset {
            (parse_int(path, line, fields[1], "offset")?, parse_int(path, line, fields[2], "total_frames")?)
        } else {
            (0, parse_int(path, line, fields[1], "total_frames")?)
        };
        let mut labels: Vec<i64> =
            fields[head..].iter().map(|f| parse_int(path, line, f, "label")).collect::<Result<_, _>>()?;
        if labels.is_empty() {
            labels.push(-1);
        }
        if !multi_class && labels.len() != 1 {
            return Err(bad(format!("found {} labels; set multi_class = true for several labels", labels.len())));
        }
        out.push(Record { path: fields[0].to_string(), total_frames: Some(total), offset, labels, line });
    }
    Ok(out)
}

/// Reads a label map: one class name per line (MMAction2's `label_map_k400.txt`).
pub fn read_label_map(path: &Path) -> Result<Vec<String>, DataError> {
    kinema_core::fs::check_regular_file(path, "label map")?;
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    Ok(text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect())
}
