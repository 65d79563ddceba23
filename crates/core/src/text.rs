//! Numbers written for people, as messages and reports print them: grouped counts,
//! bounds that name the integer limit they are, three significant figures, SI suffixes.

/// Seconds with a unit that fits: µs, ms, s, min, h, d.
pub fn duration(s: f64) -> String {
    let (per, unit, decimals) = duration_unit(s);
    format!("{:.*} {unit}", decimals, s / per)
}

/// The unit a duration of `s` seconds is shown in: seconds per unit, its symbol, and
/// the decimals shown.
pub fn duration_unit(s: f64) -> (f64, &'static str, usize) {
    let a = s.abs();
    if a < 1e-3 {
        (1e-6, "µs", 1)
    } else if a < 1.0 {
        (1e-3, "ms", 1)
    } else if a < 120.0 {
        (1.0, "s", 2)
    } else if a < 7200.0 {
        (60.0, "min", 1)
    } else if a < 172_800.0 {
        (3600.0, "h", 1)
    } else {
        (86400.0, "d", 1)
    }
}

/// A name read from a file as a report can print it: [`escape_controls`], its newlines
/// too, so that a name cannot draw lines or colours of its own.
pub fn printable(name: &str) -> String {
    escape_controls(name, false)
}

/// Escapes what a terminal would act on: control characters (C0, DEL, C1: newlines and
/// the ESC of escape sequences) and the bidirectional controls that reorder text, as
/// `\n`, `\r`, `\t` or `\u{1b}`; newlines kept where `keep_newlines` (a report's lines).
pub fn escape_controls(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A count with thousands separators: `12,288`.
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A bound a message states, grouped; an integer type's limit also as the power of two
/// it is, which says where the twenty digits come from: `9,223,372,036,854,775,807
/// (2^63 - 1)`.
pub fn bound(n: u64) -> String {
    match n.checked_add(1).map_or(64, u64::trailing_zeros) {
        bits if bits >= 32 && (bits == 64 || n + 1 == 1 << bits) => {
            format!("{} (2^{bits} - 1)", grouped(n))
        }
        _ => grouped(n),
    }
}

/// A rate to three significant figures, whole from 100 up: 0.0493, 0.327, 40.9, 391;
/// 0 as 0. For frequencies and small figures beside a limit they are compared with.
pub fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = |v: f64| (2 - v.abs().log10().floor() as i32).max(0) as usize;
    // Decimals for the figure as rounded: 0.9996 is 1.00, not 1.000.
    let d = digits(x);
    let scale = 10f64.powi(d as i32);
    let d = d.min(digits((x * scale).round() / scale));
    format!("{x:.d$}")
}

/// Items said as a list in prose: "a", "a and b", "a, b and c".
pub fn and_list(items: &[&str]) -> String {
    joined(items, "and")
}

/// Choices said as a list in prose: "a", "a or b", "a, b or c".
pub fn or_list(items: &[&str]) -> String {
    joined(items, "or")
}

fn joined(items: &[&str], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

/// A large number with an SI suffix: 15.0T, 405B, 2.1M.
pub fn si(x: f64) -> String {
    let a = x.abs();
    let (v, suffix) = if a >= 1e12 {
        (x / 1e12, "T")
    } else if a >= 1e9 {
        (x / 1e9, "B")
    } else if a >= 1e6 {
        (x / 1e6, "M")
    } else if a >= 1e3 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    if a >= 1e15 {
        // Past a thousand T: the exponent, not 1000000T.
        format!("{x:.1e}")
    } else if v.abs() >= 100.0 || (suffix.is_empty() && v.fract() == 0.0) {
        format!("{v:.0}{suffix}")
    } else {
        format!("{v:.1}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_prose() {
        assert_eq!(and_list(&[]), "");
        assert_eq!(and_list(&["tp"]), "tp");
        assert_eq!(and_list(&["tp", "pp"]), "tp and pp");
        assert_eq!(and_list(&["tp", "pp", "cp"]), "tp, pp and cp");
    }

    #[test]
    fn counts_are_grouped_and_type_limits_name_their_power_of_two() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(12_288), "12,288");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(bound(u64::from(u32::MAX)), "4,294,967,295 (2^32 - 1)");
        assert_eq!(bound(u64::MAX), "18,446,744,073,709,551,615 (2^64 - 1)");
        assert_eq!(
            bound(i64::MAX as u64),
            "9,223,372,036,854,775,807 (2^63 - 1)"
        );
        assert_eq!(bound(36_500), "36,500");
        assert_eq!(bound(1 << 40), "1,099,511,627,776");
        assert_eq!(sig3(1.0 / 14.0), "0.0714");
        assert_eq!(sig3(0.327_4), "0.327");
        assert_eq!(sig3(391.2), "391");
        // Rounding up a power of ten keeps three figures.
        assert_eq!(sig3(0.9996), "1.00");
        assert_eq!(sig3(0.9994), "0.999");
        assert_eq!(sig3(99.96), "100");
        assert_eq!(sig3(-0.09996), "-0.100");
    }
}
