//! Slurm's compressed host-list syntax (`gpu[01-04,07],login1`), for finding the master
//! address when `scontrol` is not installed.

/// A malformed host list.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("SLURM_NODELIST \"{list}\": {reason}")]
pub struct HostlistError {
    /// The list as given.
    pub list: String,
    /// What is wrong.
    pub reason: String,
}

/// Expands a Slurm host list into host names, in order: `gpu[01-03,07],cpu1` ->
/// `gpu01 gpu02 gpu03 gpu07 cpu1`. Zero padding of ranges is kept; several bracket
/// groups in one name (`r[1-2]n[1-2]`) expand as a product.
pub fn expand_hostlist(list: &str) -> Result<Vec<String>, HostlistError> {
    let err = |reason: &str| HostlistError { list: list.to_string(), reason: reason.to_string() };
    let mut hosts = Vec::new();
    for item in split_top_level(list).map_err(|r| err(&r))? {
        if item.is_empty() {
            continue;
        }
        let mut names = vec![String::new()];
        let mut rest = item.as_str();
        while !rest.is_empty() {
            match rest.find('[') {
                None => {
                    names.iter_mut().for_each(|n| n.push_str(rest));
                    rest = "";
                }
                Some(open) => {
                    let close = rest[open..].find(']').map(|c| open + c).ok_or_else(|| err("unclosed '['"))?;
                    let prefix = &rest[..open];
                    let parts = expand_ranges(&rest[open + 1..close]).map_err(|r| err(&r))?;
                    names = names.iter().flat_map(|n| parts.iter().map(move |p| format!("{n}{prefix}{p}"))).collect();
                    rest = &rest[close + 1..];
                }
            }
        }
        hosts.extend(names);
    }
    if hosts.is_empty() {
        return Err(err("no host names"));
    }
    Ok(hosts)
}

/// Splits on commas that are not inside brackets.
fn split_top_level(list: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in list.trim().chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err("unbalanced brackets".into());
        }
        if c == ',' && depth == 0 {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    if depth != 0 {
        return Err("unclosed '['".into());
    }
    items.push(current);
    Ok(items)
}

/// `01-04,07` -> `01 02 03 04 07`.
fn expand_ranges(spec: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            None => {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("bad range item \"{part}\""));
                }
                out.push(part.to_string());
            }
            Some((a, b)) => {
                let (start, end) = match (a.parse::<u64>(), b.parse::<u64>()) {
                    (Ok(s), Ok(e)) if s <= e => (s, e),
                    _ => return Err(format!("bad range \"{part}\"")),
                };
                if end - start > 100_000 {
                    return Err(format!("range \"{part}\" is too large"));
                }
                let width = a.len();
                out.extend((start..=end).map(|n| format!("{n:0width$}")));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_ranges_padding_and_products() {
        assert_eq!(expand_hostlist("gpu[01-04,07]").unwrap(), ["gpu01", "gpu02", "gpu03", "gpu04", "gpu07"]);
        assert_eq!(expand_hostlist("a1,b[8-10],c").unwrap(), ["a1", "b8", "b9", "b10", "c"]);
        assert_eq!(expand_hostlist("r[1-2]n[3,5]").unwrap(), ["r1n3", "r1n5", "r2n3", "r2n5"]);
        assert_eq!(expand_hostlist("node-001").unwrap(), ["node-001"]);
    }

    #[test]
    fn rejects_malformed_lists() {
        assert_eq!(expand_hostlist("gpu[01-").unwrap_err().reason, "unclosed '['");
        assert_eq!(expand_hostlist("gpu[4-2]").unwrap_err().reason, "bad range \"4-2\"");
        assert_eq!(expand_hostlist("").unwrap_err().reason, "no host names");
    }
}
