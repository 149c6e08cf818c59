//! Text for a terminal: anything another user can name (process names,
//! file names, cgroup and device names) must not reach a terminal as
//! control characters, which move the cursor, retitle the window or hide
//! what follows.

use std::borrow::Cow;
use std::io::{self, Write};

/// Whether `c` must not reach a terminal as itself: C0 and C1 controls and
/// DEL (Unicode's `Cc`), and the invisible format characters that reorder
/// or hide text (bidirectional overrides and isolates, zero-width marks).
#[must_use]
pub fn is_unsafe_for_terminal(c: char) -> bool {
    crate::model::is_hidden_or_control(c)
}

/// What a headless command says of a source's event on stderr: the
/// Hello's notices, warnings and errors, terminal-safe; nothing of samples
/// and facts.
pub fn report_on_stderr(event: &crate::model::SourceEvent) {
    use crate::model::SourceEvent;
    match event {
        SourceEvent::Hello(info) => {
            for notice in &info.notices {
                eprintln!("bpfscope: {}", terminal_safe(notice));
            }
        }
        SourceEvent::Warning(message) => {
            eprintln!("bpfscope: warning: {}", terminal_safe(message));
        }
        SourceEvent::Error(message) => eprintln!("bpfscope: {}", terminal_safe(message)),
        SourceEvent::Sample(_) | SourceEvent::Facts(_) => {}
    }
}

/// `text` with every character [`is_unsafe_for_terminal`] escaped as
/// `\u{…}`.
#[must_use]
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_for_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe_for_terminal(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A writer that escapes, in everything written through it, what
/// [`terminal_safe`] escapes, except the newlines and tabs that lay the
/// output out. Bytes that are not UTF-8 are written as `\x..`. A character
/// split across two writes is held until its end arrives.
#[derive(Debug)]
pub struct TerminalSafeWriter<W: Write> {
    inner: W,
    /// The start of a character whose remaining bytes have not come yet.
    partial: Vec<u8>,
}

impl<W: Write> TerminalSafeWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            partial: Vec::with_capacity(4),
        }
    }

    fn write_text(&mut self, text: &str) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in text.char_indices() {
            if c != '\n' && c != '\t' && is_unsafe_for_terminal(c) {
                self.inner.write_all(&text.as_bytes()[start..at])?;
                write!(self.inner, "{}", c.escape_unicode())?;
                start = at + c.len_utf8();
            }
        }
        self.inner.write_all(&text.as_bytes()[start..])
    }
}

impl<W: Write> Write for TerminalSafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = std::mem::take(&mut self.partial);
        bytes.extend_from_slice(buf);
        let mut rest = &bytes[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.write_text(text)?;
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    // The first `valid_up_to` bytes are UTF-8 by definition.
                    self.write_text(std::str::from_utf8(valid).unwrap_or_default())?;
                    let Some(bad) = err.error_len() else {
                        // An unfinished character: wait for the rest.
                        self.partial.extend_from_slice(after);
                        break;
                    };
                    for b in &after[..bad] {
                        write!(self.inner, "\\x{b:02x}")?;
                    }
                    rest = &after[bad..];
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for TerminalSafeWriter<W> {
    /// A character whose end never came is shown as its bytes.
    fn drop(&mut self) {
        for b in std::mem::take(&mut self.partial) {
            let _ = write!(self.inner, "\\x{b:02x}");
        }
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(chunks: &[&[u8]]) -> String {
        let mut out = Vec::new();
        let mut w = TerminalSafeWriter::new(&mut out);
        for chunk in chunks {
            w.write_all(chunk).unwrap();
        }
        drop(w);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_unfinished_character_is_shown_as_its_bytes_at_the_end() {
        assert_eq!(through(&[b"ab\xE2\x80"]), "ab\\xe2\\x80");
    }

    #[test]
    fn line_and_paragraph_separators_and_the_arabic_letter_mark_are_escaped() {
        assert_eq!(terminal_safe("a\u{2028}b\u{061C}"), "a\\u{2028}b\\u{61c}");
    }

    #[test]
    fn escapes_c0_c1_and_bidi_but_keeps_the_layout() {
        let out = through(&["a\x1b]0;pwned\x07b\u{85}c\u{202E}d\te\n".as_bytes()]);
        assert_eq!(out, "a\\u{1b}]0;pwned\\u{7}b\\u{85}c\\u{202e}d\te\n");
    }

    #[test]
    fn a_character_split_across_writes_is_checked_whole() {
        // U+0085 (NEL, a C1 control) is C2 85 in UTF-8.
        assert_eq!(through(&[b"x\xC2", b"\x85y"]), "x\\u{85}y");
        assert_eq!(
            through(&["é".as_bytes()[..1].as_ref(), &"é".as_bytes()[1..]]),
            "é"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_as_hex() {
        assert_eq!(through(&[b"a\x9bb"]), "a\\x9bb");
    }

    #[test]
    fn terminal_safe_escapes_bidi_overrides() {
        assert_eq!(terminal_safe("a\u{202E}b"), "a\\u{202e}b");
        assert_eq!(terminal_safe("plain"), "plain");
    }
}
