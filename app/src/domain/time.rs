//! The little time arithmetic the pages need, without a date library in the
//! wasm: our timestamps are always `YYYY-MM-DDTHH:MM:SS(.fff)Z` in UTC.

/// Milliseconds since the Unix epoch of a UTC timestamp as the server writes them.
pub fn parse_utc_millis(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let (y, m, day): (i64, i64, i64) =
        (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    let mut t = time.splitn(3, ':');
    let (hh, mm): (i64, i64) = (t.next()?.parse().ok()?, t.next()?.parse().ok()?);
    let secs = t.next()?;
    let (whole, frac) = secs.split_once('.').unwrap_or((secs, "0"));
    let ss: i64 = whole.parse().ok()?;
    let frac = format!("{frac:0<3}");
    let ms: i64 = frac.get(..3)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some((days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60 + ss) * 1000 + ms)
}

/// Milliseconds since 1970 as RFC 3339 UTC with milliseconds, as stored.
pub fn format_utc_millis(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss, milli) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{milli:03}Z")
}

/// The proleptic Gregorian date `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// "12 s", "3 min", "2 h": a short, rounded duration.
pub fn short_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as i64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h", (s + 1800) / 3600),
    }
}

/// The clock time part of a timestamp, `HH:MM:SS`, for timelines.
pub fn clock(s: &str) -> &str {
    s.split_once('T').and_then(|(_, t)| t.get(..8)).unwrap_or(s)
}

/// How long ago `then_ms` was at `now_ms`: "just now", "40 s ago",
/// "3 min ago", "2 h ago", "5 days ago". A time slightly ahead (clocks
/// differ) reads "just now".
pub fn relative(now_ms: f64, then_ms: i64) -> String {
    let s = ((now_ms - then_ms as f64) / 1000.0).floor() as i64;
    match s {
        ..=9 => "just now".to_owned(),
        10..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        86_400..=172_799 => "yesterday".to_owned(),
        _ => format!("{} days ago", s / 86_400),
    }
}

/// A timestamp written out in full for a tooltip: `2026-11-27 18:42:12 UTC`.
pub fn exact(s: &str) -> String {
    match s.split_once('T') {
        Some((date, time)) => format!("{date} {} UTC", time.get(..8).unwrap_or(time)),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_our_timestamps() {
        assert_eq!(parse_utc_millis("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(parse_utc_millis("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_utc_millis("2000-03-01T00:00:00.5Z"), Some(951_868_800_500));
        assert_eq!(parse_utc_millis("2026-11-27T18:42:12.188Z"), Some(1_795_804_932_188));
        assert_eq!(parse_utc_millis("2026-11-27 18:42:12Z"), None);
        assert_eq!(parse_utc_millis("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_utc_millis("garbage"), None);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(short_duration(-3.0), "0 s");
        assert_eq!(short_duration(4.4), "4 s");
        assert_eq!(short_duration(89.0), "1 min");
        assert_eq!(short_duration(150.0), "3 min");
        assert_eq!(short_duration(7200.0), "2 h");
        assert_eq!(clock("2026-11-27T18:42:12.188Z"), "18:42:12");
    }

    #[test]
    fn relative_times_read_well() {
        let then = parse_utc_millis("2026-11-27T18:00:00Z").unwrap();
        let at = |secs: i64| (then + secs * 1000) as f64;
        assert_eq!(relative(at(-30), then), "just now");
        assert_eq!(relative(at(3), then), "just now");
        assert_eq!(relative(at(42), then), "42 s ago");
        assert_eq!(relative(at(150), then), "2 min ago");
        assert_eq!(relative(at(7300), then), "2 h ago");
        assert_eq!(relative(at(90_000), then), "yesterday");
        assert_eq!(relative(at(5 * 86_400 + 10), then), "5 days ago");
        assert_eq!(exact("2026-11-27T18:42:12.188Z"), "2026-11-27 18:42:12 UTC");
        assert_eq!(exact("garbage"), "garbage");
    }
}
