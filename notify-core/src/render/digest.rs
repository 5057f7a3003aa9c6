//! Digests: alerts that wait for the same chat sink at the same time — it
//! is rate-limited or slow, or the process is flushing — go out together,
//! as few messages as the platform's limits allow: a line for every alert
//! and, in the first message, the most severe one in full. No alert's line
//! is cut or left out to make room; lines that do not fit one message go in
//! the next. Used by every sink that declares a
//! [`digest_room`](crate::Sink::digest_room): the dispatcher's backlog of
//! such a sink batches what waits (`dispatch/backlog.rs`); how the batch is
//! cut into messages is rendering, here.

use std::sync::Arc;

use crate::alert::Alert;
use crate::render::digest_line;

/// In a digest's lead alert, each fact is cut to this many characters:
/// the lines are what the message is for.
pub(crate) const FACT_LIMIT: usize = 100;

/// The heading over a digest's lines: `12 alerts:`.
pub(crate) fn heading(alert: &Alert) -> String {
    format!("{} alerts:", alert.digest.len())
}

/// The messages that carry `waiting` (two or more alerts, oldest first) to
/// a sink whose digest lines may cost `room` per message, as `cost` counts.
///
/// The first message is the most severe alert (the oldest of those) in
/// full, titled `… (+N more)`, with as many lines as fit; each further
/// message is that alert's headline with the lines that did not fit, and
/// no detail. Lines are ordered most severe first, then oldest first.
pub(crate) fn messages(
    waiting: &[Arc<Alert>],
    room: usize,
    cost: &dyn Fn(&str) -> usize,
) -> Vec<Alert> {
    let Some(lead) = waiting
        .iter()
        .enumerate()
        .max_by_key(|(i, a)| (a.severity, std::cmp::Reverse(*i)))
        .map(|(_, a)| a)
    else {
        return Vec::new();
    };
    let mut ordered: Vec<&Arc<Alert>> = waiting.iter().collect();
    ordered.sort_by_key(|a| std::cmp::Reverse(a.severity));
    let lines: Vec<String> = ordered.iter().map(|a| digest_line(a)).collect();

    // Greedy: as many whole lines as fit each message (one at least).
    let mut chunks: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut used = 0;
    for line in lines {
        let c = cost(&line);
        if !current.is_empty() && used + c > room {
            chunks.push(std::mem::take(&mut current));
            used = 0;
        }
        used += c;
        current.push(line);
    }
    if !current.is_empty() {
        chunks.push(current);
    }

    let more = waiting.len() - 1;
    let parts = chunks.len();
    let dropped: u64 = waiting.iter().map(|a| a.dropped).sum();
    chunks
        .into_iter()
        .enumerate()
        .map(|(index, chunk)| {
            let mut message = Alert::clone(lead);
            message.dropped = if index == 0 { dropped } else { 0 };
            message.title = if parts == 1 {
                format!("{} (+{more} more)", lead.title)
            } else {
                format!("{} (+{more} more, part {} of {parts})", lead.title, index + 1)
            };
            if index > 0 {
                message.message = format!(
                    "{} more alerts of this digest of {}; the first part has the most severe in full",
                    chunk.len(),
                    waiting.len()
                );
                message.causes.clear();
                message.context.clear();
                message.backtrace.clear();
                message.panic_location = None;
                message.repeats = None;
            }
            message.digest = chunk;
            message
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;
    use crate::render::checks::sample_alert;

    fn alert(title: &str, severity: Severity) -> Arc<Alert> {
        let mut a = sample_alert();
        a.title = title.to_owned();
        a.severity = severity;
        Arc::new(a)
    }

    #[test]
    fn every_alert_has_one_whole_line_and_the_most_severe_leads() {
        let waiting: Vec<Arc<Alert>> = (0..100)
            .map(|i| {
                let severity = if i == 37 {
                    Severity::Critical
                } else {
                    Severity::Error
                };
                alert(&format!("failure number {i} {}", "x".repeat(i)), severity)
            })
            .collect();
        let cost = |line: &str| line.chars().count() + 1;
        let messages = messages(&waiting, 2000, &cost);
        assert!(messages.len() > 1);
        for m in &messages {
            let used: usize = m.digest.iter().map(|l| cost(l)).sum();
            assert!(used <= 2000, "{used}");
            assert_eq!(m.severity, Severity::Critical);
        }
        assert!(messages[0].title.starts_with("failure number 37 "));
        assert!(messages[0]
            .title
            .ends_with(&format!("(+99 more, part 1 of {})", messages.len())));
        assert!(messages[0].digest[0].starts_with("[CRITICAL] failure number 37 "));
        let lines: Vec<&String> = messages.iter().flat_map(|m| &m.digest).collect();
        assert_eq!(lines.len(), 100);
        for i in 0..100 {
            let title = format!("failure number {i} {}", "x".repeat(i));
            assert_eq!(
                lines
                    .iter()
                    .filter(|l| l.contains(&format!("] {title} — ")))
                    .count(),
                1,
                "{title}"
            );
        }
        assert!(messages[1].backtrace.is_empty());
    }

    #[test]
    fn a_line_is_one_line_and_bounded() {
        let mut a = sample_alert();
        a.title = "t\nwith\rbreaks".into();
        a.message = format!("{}\nsecond line", "é".repeat(1000));
        let line = digest_line(&a);
        assert!(!line.contains('\n'));
        assert!(line.chars().count() <= crate::render::DIGEST_LINE_CHARS);
        assert!(line.ends_with('…'));
    }
}
