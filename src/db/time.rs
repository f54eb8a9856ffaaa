//! Dates as text: JavaScript's ISO form out, ISO and SQL forms in.

/// Days from 1970-01-01 to `y-m-d` (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of day `z` after 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2024-01-02T03:04:05.678Z`, as `Date.prototype.toISOString` writes it.
pub fn iso(ms: f64) -> String {
    let ms = ms.floor();
    let (y, m, d) = civil_from_days((ms as i64).div_euclid(86_400_000));
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:06}", -y)
    } else {
        format!("+{y:06}")
    };
    format!("{year}-{m:02}-{d:02}T{}Z", clock_text(ms))
}

/// The time of day of `ms` (UTC) as `HH:MM:SS.fff`.
pub fn clock_text(ms: f64) -> String {
    let rest = ms.rem_euclid(86_400_000.0) as i64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// Microseconds since midnight of a time of day, `HH:MM[:SS[.ffffff]]`
/// (SQL's TIME).
pub fn time_of_day(text: &str) -> Option<i64> {
    let t = text.trim().as_bytes();
    let (micros, used) = clock(t)?;
    (used == t.len()).then_some(micros)
}

/// `HH:MM[:SS[.f…]]` at the start of `t`: microseconds since midnight (the
/// fraction's digits past six ignored), and how many bytes it took.
fn clock(t: &[u8]) -> Option<(i64, usize)> {
    let num = |from: usize| -> Option<i64> {
        let part = t.get(from..from + 2)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| i64::from(part[0] - b'0') * 10 + i64::from(part[1] - b'0'))
    };
    let (h, min) = (num(0)?, num(3)?);
    if t.get(2) != Some(&b':') || h > 24 || min > 59 {
        return None;
    }
    let mut micros = (h * 60 + min) * 60_000_000;
    let mut i = 5;
    if t.get(i) == Some(&b':') {
        let s = num(i + 1)?;
        if s > 60 {
            return None;
        }
        micros += s * 1_000_000;
        i += 3;
        if t.get(i) == Some(&b'.') {
            let digits = t[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            let mut frac = 0;
            for k in 0..6 {
                let digit = if k < digits { t[i + 1 + k] - b'0' } else { 0 };
                frac = frac * 10 + i64::from(digit);
            }
            micros += frac;
            i += 1 + digits;
        }
    }
    Some((micros, i))
}

/// Milliseconds since the epoch of `YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|±HH[:MM]]`
/// (no zone: UTC).
pub fn parse(text: &str) -> Option<f64> {
    let t = text.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = t.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(part).ok()?.parse().ok())?
    };
    let (y, m, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if t.get(4) != Some(&b'-') || t.get(7) != Some(&b'-') || !(1..=12).contains(&m) {
        return None;
    }
    if !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m as u32, d as u32) * 86_400_000;
    let mut i = 10;
    if matches!(t.get(i), Some(b'T' | b't' | b' ')) && t.len() > i + 1 {
        let (micros, used) = clock(&t[i + 1..])?;
        ms += micros / 1000;
        i += 1 + used;
    }
    match t.get(i) {
        None => {}
        Some(b'Z' | b'z') if i + 1 == t.len() => {}
        Some(&sign @ (b'+' | b'-')) => {
            let h = num(i + 1, 2)?;
            let min = match t.get(i + 3) {
                None => 0,
                Some(b':') => num(i + 4, 2)?,
                Some(_) => num(i + 3, 2)?,
            };
            let offset = (h * 60 + min) * 60_000;
            ms += if sign == b'+' { -offset } else { offset };
        }
        Some(_) => return None,
    }
    Some(ms as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_text_both_ways() {
        assert_eq!(iso(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_704_164_645_678.0), "2024-01-02T03:04:05.678Z");
        assert_eq!(iso(-1.0), "1969-12-31T23:59:59.999Z");
        assert_eq!(parse("2024-01-02T03:04:05.678Z"), Some(1_704_164_645_678.0));
        assert_eq!(parse("2024-01-02 03:04:05"), Some(1_704_164_645_000.0));
        assert_eq!(parse("2024-01-02"), Some(1_704_153_600_000.0));
        assert_eq!(
            parse("2024-01-02T05:04:05.678+02:00"),
            Some(1_704_164_645_678.0)
        );
        assert_eq!(
            parse("2024-01-02 03:04:05.678123+00"),
            Some(1_704_164_645_678.0)
        );
        assert_eq!(parse("2024-01-02T03:04"), Some(1_704_164_640_000.0));
        assert_eq!(time_of_day("10:11:12.5"), Some(36_672_500_000));
        assert_eq!(clock_text(86_400_000.0 + 36_672_500.0), "10:11:12.500");
        assert_eq!(clock_text(-1.0), "23:59:59.999");
        assert_eq!(time_of_day("10:11:12.1234567"), Some(36_672_123_456));
        assert_eq!(time_of_day(" 23:59 "), Some(86_340_000_000));
        assert_eq!(time_of_day("10:11:12Z"), None);
        assert_eq!(time_of_day("1:11"), None);
        assert_eq!(parse("not a date"), None);
        assert_eq!(parse("2024-13-01"), None);
        for day in [-800_000, -1, 0, 59, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }
}
