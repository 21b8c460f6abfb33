//! Glob-style patterns as KEYS, SCAN MATCH and friends use them: `*`, `?`, `[abc]`, `[^a-z]`, `\x`.

/// True when `text` matches `pattern`. Linear backtracking to the last `*` only, so no pattern can
/// make it take more than O(pattern × text) steps.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if pattern.get(p) == Some(&b'*') {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            star = Some((p, t));
            continue;
        }
        if let Some((true, next)) = token(pattern, p, text[t]) {
            p = next;
            t += 1;
            continue;
        }
        match star {
            Some((after_star, from)) => {
                p = after_star;
                t = from + 1;
                star = Some((after_star, from + 1));
            }
            None => return false,
        }
    }
    while pattern.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pattern.len()
}

/// Matches one text byte against the pattern token at `p` (not `*`); `None` at the pattern's end.
fn token(pattern: &[u8], p: usize, byte: u8) -> Option<(bool, usize)> {
    match *pattern.get(p)? {
        b'?' => Some((true, p + 1)),
        b'[' => {
            let (matched, rest) = class(&pattern[p + 1..], byte);
            Some((matched, pattern.len() - rest.len()))
        }
        b'\\' if p + 1 < pattern.len() => Some((pattern[p + 1] == byte, p + 2)),
        literal => Some((literal == byte, p + 1)),
    }
}

/// Matches `byte` against a class body (after `[`); returns the outcome and the pattern after `]`.
fn class(mut body: &[u8], byte: u8) -> (bool, &[u8]) {
    let negate = body.first() == Some(&b'^');
    if negate {
        body = &body[1..];
    }
    let mut matched = false;
    loop {
        match body {
            [] => break,
            [b']', rest @ ..] => {
                body = rest;
                break;
            }
            [b'\\', escaped, rest @ ..] => {
                matched |= *escaped == byte;
                body = rest;
            }
            [low, b'-', high, rest @ ..] if *high != b']' => {
                let (low, high) = if low <= high { (*low, *high) } else { (*high, *low) };
                matched |= (low..=high).contains(&byte);
                body = rest;
            }
            [single, rest @ ..] => {
                matched |= *single == byte;
                body = rest;
            }
        }
    }
    (matched != negate, body)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs_match_like_redis() {
        assert!(matches(b"*", b"anything"));
        assert!(matches(b"h?llo", b"hello"));
        assert!(matches(b"h*llo", b"heeeello"));
        assert!(matches(b"h[ae]llo", b"hallo"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(matches(b"key:\\*", b"key:*"));
        assert!(!matches(b"key:\\*", b"key:x"));
        assert!(!matches(b"a*b", b"acd"));
        assert!(matches(b"user:*:name", b"user:42:name"));
    }

    #[test]
    fn pathological_patterns_finish() {
        let pattern = b"*a*a*a*a*a*a*a*a*a*a*a*a*b".to_vec();
        let text = vec![b'a'; 40];
        assert!(!matches(&pattern, &text));
    }
}
