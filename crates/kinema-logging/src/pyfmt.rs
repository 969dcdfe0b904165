//! Number and duration formatting that reproduces Python's, so log lines and JSON files read
//! exactly like MMEngine's (`f'{v:.4f}'`, `f'{v:.4e}'`, `repr(float)`, `str(timedelta)`).

/// `f'{value:.{digits}f}'`: fixed notation; `nan`, `inf` and `-inf` spelled like Python.
pub fn fixed(value: f64, digits: usize) -> String {
    match non_finite(value) {
        Some(text) => text.to_string(),
        None => format!("{value:.digits$}"),
    }
}

/// `f'{value:.{digits}e}'`: scientific notation with a signed, at least two-digit exponent
/// (`5.0000e-08`), as Python prints learning rates.
pub fn scientific(value: f64, digits: usize) -> String {
    if let Some(text) = non_finite(value) {
        return text.to_string();
    }
    let rust = format!("{value:.digits$e}");
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((rust.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    format!("{mantissa}e{}", python_exponent(exponent))
}

/// `repr(value)`: the shortest text that reads back to the same `f64`, laid out like Python
/// (`0.0001`, `1e-05`, `1.0`, `1e+16`); non-finite values as Python's `json` writes them
/// (`NaN`, `Infinity`, `-Infinity`).
pub fn repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let rust = format!("{value:e}");
    let (sign, unsigned) = match rust.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", rust.as_str()),
    };
    let (mantissa, exponent) = unsigned.split_once('e').unwrap_or((unsigned, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // Python's `decpt`: the value is 0.<digits> x 10^decpt.
    let decpt = exponent + 1;
    let body = if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        format!("{first}{fraction}e{}", python_exponent(exponent))
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else {
        let point = decpt as usize;
        if point < digits.len() {
            format!("{}.{}", &digits[..point], &digits[point..])
        } else {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        }
    };
    format!("{sign}{body}")
}

/// `str(datetime.timedelta(seconds=int(seconds)))`: `H:MM:SS`, or `N day(s), H:MM:SS`.
/// Negative and non-finite inputs count as zero (an ETA is never negative).
pub fn timedelta(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 { seconds.trunc() as u64 } else { 0 };
    let days = total / 86_400;
    let rest = total % 86_400;
    let clock = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        n => format!("{n} days, {clock}"),
    }
}

fn non_finite(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("nan")
    } else if value.is_infinite() {
        Some(if value > 0.0 { "inf" } else { "-inf" })
    } else {
        None
    }
}

fn python_exponent(exponent: i32) -> String {
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{sign}{:02}", exponent.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_matches_python() {
        assert_eq!(fixed(1.23456, 4), "1.2346");
        assert_eq!(fixed(0.125, 2), "0.12");
        assert_eq!(fixed(0.00005, 4), "0.0001");
        assert_eq!(fixed(-2.0, 4), "-2.0000");
        assert_eq!(fixed(f64::NAN, 4), "nan");
        assert_eq!(fixed(f64::NEG_INFINITY, 4), "-inf");
    }

    #[test]
    fn scientific_matches_python() {
        assert_eq!(scientific(5e-8, 4), "5.0000e-08");
        assert_eq!(scientific(0.001, 4), "1.0000e-03");
        assert_eq!(scientific(123456.0, 4), "1.2346e+05");
        assert_eq!(scientific(0.0, 4), "0.0000e+00");
        assert_eq!(scientific(2.5e-123, 2), "2.50e-123");
        assert_eq!(scientific(f64::INFINITY, 4), "inf");
    }

    #[test]
    fn repr_matches_python() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (5e-8, "5e-08"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e17, "1.2345e+17"),
            (-3.25, "-3.25"),
            (1e100, "1e+100"),
            (0.30000000000000004, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (value, expected) in cases {
            assert_eq!(repr(value), expected, "repr({value:e})");
        }
    }

    #[test]
    fn timedelta_matches_python() {
        assert_eq!(timedelta(0.0), "0:00:00");
        assert_eq!(timedelta(59.9), "0:00:59");
        assert_eq!(timedelta(3725.0), "1:02:05");
        assert_eq!(timedelta(86_400.0 + 5.0), "1 day, 0:00:05");
        assert_eq!(timedelta(2.0 * 86_400.0 + 11_045.0), "2 days, 3:04:05");
        assert_eq!(timedelta(-4.0), "0:00:00");
        assert_eq!(timedelta(f64::NAN), "0:00:00");
    }
}
