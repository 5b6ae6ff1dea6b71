//! Exec-form command lines (`--pre-start`): words split like a shell would split them, without a
//! shell — whitespace separates, '…' is literal, "…" and `\` escape one character.

/// Splits `s` into words; `None` for an unbalanced quote or a trailing backslash.
pub fn split_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(cur.take()),
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => w.push(ch),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        ch => w.push(ch),
                    }
                }
            }
            '\\' => cur.get_or_insert_with(String::new).push(chars.next()?),
            ch => cur.get_or_insert_with(String::new).push(ch),
        }
    }
    words.extend(cur);
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let w = |s: &str| split_words(s).map(|v| v.join("|"));
        assert_eq!(
            w("/bin/a  b 'c d' \"e \\\" f\" g\\ h ''"),
            Some("/bin/a|b|c d|e \" f|g h|".into())
        );
        assert_eq!(w(""), Some(String::new()));
        assert_eq!(w("a 'b"), None);
        assert_eq!(w("a \"b"), None);
        assert_eq!(w("a \\"), None);
    }
}
