//! Fitting an alert into a platform's limits: every sink cuts the same way.
//!
//! Costs are measured by a per-character cost function (what the platform
//! counts of the escaped character, see [`super::escape`]), so plain text can
//! be cut before escaping and never in the middle of an entity or a
//! character. The header lines are kept whole; the parts that may be cut
//! are cut in a fixed order — backtrace first, then context, then the error
//! text — and a cut part ends with a visible "… truncated" marker.

use super::escape::cost_of;
use super::TRUNCATED;

/// The marker a cut part of several lines ends with, on a line of its own.
pub(crate) const MARKER: &str = "\n… truncated";
/// The marker a cut single line ends with (a title, a summary): the same
/// length as [`MARKER`], on the same line.
pub(crate) const INLINE_MARKER: &str = " … truncated";

/// What [`cut`] counts when a limit is in Unicode code points.
pub(crate) fn code_point(_: char) -> usize {
    1
}

/// The one way every sink cuts text: so that its cost, marker included, is
/// at most `budget`. Returns it whole if it fits. Cuts at a character
/// boundary; with `whole_lines`, at the end of the last line that fits
/// (when one does), so a backtrace keeps whole frames. Text of several
/// lines ends with [`MARKER`], a single line with [`INLINE_MARKER`].
pub(crate) fn cut(
    text: &str,
    budget: usize,
    cost: impl Fn(char) -> usize,
    whole_lines: bool,
) -> String {
    if cost_of(text, &cost) <= budget {
        return text.to_owned();
    }
    let marker = if text.contains('\n') {
        MARKER
    } else {
        INLINE_MARKER
    };
    let marker_cost = cost_of(marker, &cost);
    if budget < marker_cost {
        // No room for the marker: the bare word if it fits, else nothing.
        let word = TRUNCATED;
        return if cost_of(word, &cost) <= budget {
            word.to_owned()
        } else {
            String::new()
        };
    }
    let room = budget - marker_cost;
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let c_cost = cost(c);
        if used + c_cost > room {
            break;
        }
        used += c_cost;
        end = i + c.len_utf8();
    }
    let mut prefix = &text[..end];
    if whole_lines {
        if let Some(newline) = prefix.rfind('\n') {
            prefix = &prefix[..newline];
        }
    }
    let mut out = String::with_capacity(prefix.len() + marker.len());
    out.push_str(prefix.trim_end());
    if out.is_empty() {
        out.push_str(TRUNCATED);
    } else {
        out.push_str(marker);
    }
    out
}

/// Shares `budget` among parts whose full costs are `costs`. Parts not in
/// `cut_order` (the header) keep their cost; the others give up what is
/// needed, in `cut_order`, first down to `keep` (room for the marker), then,
/// if the header leaves no room at all, to nothing. Returns each part's
/// budget; a budget of 0 means "leave the part out".
pub(crate) fn share(
    costs: &[usize],
    budget: usize,
    cut_order: &[usize],
    keep: usize,
) -> Vec<usize> {
    let mut budgets = costs.to_vec();
    let mut total: usize = costs.iter().sum();
    for floor_pass in [true, false] {
        for &i in cut_order {
            if total <= budget {
                return budgets;
            }
            let floor = if floor_pass { keep.min(budgets[i]) } else { 0 };
            let give = (total - budget).min(budgets[i] - floor);
            budgets[i] -= give;
            total -= give;
        }
    }
    budgets
}

/// What [`fenced`] adds around the text: "```\n" and "\n```".
pub(crate) const FENCE_COST: usize = 8;

/// A ```` ``` ```` code block (Slack mrkdwn, Discord markdown) of `text`,
/// escaped by `escape`, that costs at most `budget` under `cost`, or `None`
/// when not even a cut of it fits. Backtick runs inside are broken up so the
/// text cannot close the block.
pub(crate) fn fenced(
    text: &str,
    budget: usize,
    cost: impl Fn(char) -> usize,
    escape: impl Fn(&str) -> String,
    whole_lines: bool,
) -> Option<String> {
    let inner = cut(
        &super::escape::unfence(text),
        budget.checked_sub(FENCE_COST)?,
        cost,
        whole_lines,
    );
    if inner.trim().is_empty() {
        return None;
    }
    Some(format!("```\n{}\n```", escape(&inner)))
}

#[cfg(test)]
mod tests {
    use super::super::escape::{html_cost, slack_cost};
    use super::*;

    #[test]
    fn cut_fits_the_budget_with_the_marker() {
        let text = "가나다라마바사".repeat(50);
        let out = cut(&text, 100, html_cost, false);
        assert!(cost_of(&out, html_cost) <= 100);
        assert!(out.ends_with(TRUNCATED));
        assert_eq!(cut("short", 100, html_cost, false), "short");
    }

    #[test]
    fn a_single_line_keeps_its_marker_on_the_line() {
        let out = cut(&"🙂".repeat(500), 200, code_point, false);
        assert_eq!(out.chars().count(), 200);
        assert!(out.ends_with(INLINE_MARKER), "{out}");
        assert!(!out.contains('\n'));
        let out = cut(&"에러\n".repeat(500), 200, code_point, false);
        assert!(out.ends_with(MARKER), "{out}");
        assert_eq!(
            cost_of(MARKER, code_point),
            cost_of(INLINE_MARKER, code_point)
        );
    }

    #[test]
    fn cut_counts_escaped_length() {
        let text = "<".repeat(100);
        let out = cut(&text, 50, slack_cost, false);
        assert!(cost_of(&out, slack_cost) <= 50, "{out}");
    }

    #[test]
    fn cut_keeps_whole_lines_when_asked() {
        let text = "frame one\nframe two\nframe three";
        let out = cut(text, 24, html_cost, true);
        assert_eq!(out, "frame one\n… truncated");
    }

    #[test]
    fn cut_of_tiny_budget_is_empty_or_marker() {
        assert_eq!(cut("abcdefghijklmnop", 3, html_cost, false), "");
        assert_eq!(
            cut("abcdefghijklmnopqrstuvw", 11, html_cost, false),
            TRUNCATED
        );
    }

    #[test]
    fn fenced_blocks_fit_and_stay_closed() {
        let text = "```<@U1>```".repeat(100);
        let block = fenced(&text, 300, slack_cost, super::super::escape::slack, false).unwrap();
        assert!(cost_of(&block, |c| c.len_utf16()) <= 300, "{block}");
        assert_eq!(block.matches("```").count(), 2, "{block}");
        assert!(fenced("x", 8, slack_cost, super::super::escape::slack, false).is_none());
    }

    #[test]
    fn share_cuts_in_order_and_keeps_the_header() {
        // header 10, error 50, backtrace 100; budget 100.
        let b = share(&[10, 50, 100], 100, &[2, 1], 12);
        assert_eq!(b, vec![10, 50, 40]);
        let b = share(&[10, 50, 100], 40, &[2, 1], 12);
        assert_eq!(b, vec![10, 18, 12]);
        let b = share(&[10, 50, 100], 10, &[2, 1], 12);
        assert_eq!(b, vec![10, 0, 0]);
    }
}
