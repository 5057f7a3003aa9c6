//! Escaping for each platform's markup, and the cleaning every sink applies
//! first. Each escape comes with the cost function that measures what the
//! platform counts, so [`super::fit`] can cut the *plain* text and still
//! land within a limit that applies to the *escaped* text.

/// Replaces control characters other than newline and tab (NUL, ESC, CR,
/// U+2028 line separators and the like) with a visible `\u{..}` escape:
/// platforms reject or mangle them, and they must not steer a terminal or a
/// client's rendering.
pub(crate) fn clean(text: &str) -> String {
    if !text.chars().any(is_hidden_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden_control(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_hidden_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

/// Telegram HTML (and any HTML): `&`, `<` and `>` become entities, so no
/// text from an error can open a tag.
pub(crate) fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// What Telegram counts of [`html`]`(c)`: its length *after* entity parsing,
/// which is the character itself. Counted in UTF-16 code units, which is
/// never less than code points, so the limit holds whichever Telegram uses.
pub(crate) fn html_cost(c: char) -> usize {
    c.len_utf16()
}

/// Slack mrkdwn (and plain_text): `&`, `<` and `>` are control characters;
/// escaped, `<!channel>`, `<!here>` or `<@U123>` in an error stay text.
pub(crate) fn slack(text: &str) -> String {
    // Slack asks for exactly the same three entities as HTML.
    html(text)
}

/// The length Slack counts of [`slack`]`(c)`: the escaped text, in UTF-16
/// code units (never less than code points).
pub(crate) fn slack_cost(c: char) -> usize {
    match c {
        '&' => 5,
        '<' | '>' => 4,
        c => c.len_utf16(),
    }
}

/// The length Discord counts of `c` (sent as is; mentions are disarmed by
/// `allowed_mentions`), in UTF-16 code units (never less than code points).
pub(crate) fn plain_cost(c: char) -> usize {
    c.len_utf16()
}

/// Text for inside a ```` ``` ```` code block (Slack, Discord): a run of
/// backticks in the text would close the block early, so a zero-width space
/// separates every two adjacent backticks.
pub(crate) fn unfence(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous_backtick = false;
    for c in text.chars() {
        if c == '`' && previous_backtick {
            out.push('\u{200b}');
        }
        previous_backtick = c == '`';
        out.push(c);
    }
    out
}

/// The total cost of `text` under `cost`.
pub(crate) fn cost_of(text: &str, cost: impl Fn(char) -> usize) -> usize {
    text.chars().map(cost).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_every_markup_character() {
        assert_eq!(html("<b>&amp;</b>"), "&lt;b&gt;&amp;amp;&lt;/b&gt;");
    }

    #[test]
    fn slack_mentions_stay_inert() {
        assert_eq!(
            slack("<!channel> <@U123>"),
            "&lt;!channel&gt; &lt;@U123&gt;"
        );
        assert_eq!(
            cost_of("<!here>", slack_cost),
            slack("<!here>").chars().count()
        );
    }

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(clean("a\0b\x1b\r\n\tc"), "a\\u{0}b\\u{1b}\\u{d}\n\tc");
        assert_eq!(
            clean("a\u{2028}b\u{2029}c\u{85}"),
            "a\\u{2028}b\\u{2029}c\\u{85}"
        );
        assert_eq!(clean("안녕 🙂"), "안녕 🙂");
    }

    #[test]
    fn backtick_runs_cannot_close_a_code_block() {
        let text = unfence("a```b``");
        assert!(!text.contains("``"));
        assert_eq!(text.replace('\u{200b}', ""), "a```b``");
    }
}
