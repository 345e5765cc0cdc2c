//! grep's basic regular expressions (POSIX BRE with the GNU extensions), translated to
//! `regex_lite` syntax, so that patterns legacy callers hand to grep keep their meaning.

/// Translate a GNU grep BRE into an equivalent `regex_lite` pattern.
pub fn translate(bre: &str) -> String {
    let mut out = String::with_capacity(bre.len() + 8);
    let chars: Vec<char> = bre.chars().collect();
    let mut i = 0;
    // `*` is literal at the start of an expression (after `^` or `\(` too).
    let mut at_start = true;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                i += 2;
                match n {
                    '(' | ')' | '{' | '}' | '+' | '?' | '|' => out.push(n),
                    '<' | '>' => out.push_str("\\b"),
                    'w' | 'W' | 's' | 'S' | 'b' | 'B' => {
                        out.push('\\');
                        out.push(n);
                    }
                    _ => push_literal(&mut out, n),
                }
                at_start = n == '(' || n == '|';
                continue;
            }
            '\\' => push_literal(&mut out, '\\'),
            '[' => {
                // Copy a bracket expression through, escaping what regex_lite treats specially.
                let start = i;
                let mut j = i + 1;
                if j < chars.len() && chars[j] == '^' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    if chars[j] == '['
                        && j + 1 < chars.len()
                        && matches!(chars[j + 1], ':' | '.' | '=')
                    {
                        let close = chars[j + 1];
                        j += 2;
                        while j + 1 < chars.len() && !(chars[j] == close && chars[j + 1] == ']') {
                            j += 1;
                        }
                        j += 2;
                        continue;
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    // Unterminated: grep would fail; treat the bracket literally.
                    push_literal(&mut out, '[');
                    i += 1;
                    at_start = false;
                    continue;
                }
                out.push('[');
                let mut k = start + 1;
                if chars[k] == '^' {
                    out.push('^');
                    k += 1;
                }
                let mut first = true;
                while k < j {
                    let b = chars[k];
                    if b == '[' && k + 1 < j && chars[k + 1] == ':' {
                        // character class such as [:digit:]
                        let end =
                            (k + 2..j).find(|&x| chars[x] == ':' && chars.get(x + 1) == Some(&']'));
                        if let Some(e) = end {
                            out.extend(&chars[k..e + 2]);
                            k = e + 2;
                            first = false;
                            continue;
                        }
                    }
                    if b == '\\' || b == '[' || (b == ']' && first) || b == '&' || b == '~' {
                        out.push('\\');
                    }
                    out.push(b);
                    first = false;
                    k += 1;
                }
                out.push(']');
                i = j + 1;
                at_start = false;
                continue;
            }
            '*' if at_start => push_literal(&mut out, '*'),
            '^' if at_start => {
                out.push('^');
                i += 1;
                continue;
            }
            '^' => push_literal(&mut out, '^'),
            '$' if i + 1 == chars.len() => out.push('$'),
            '$' => push_literal(&mut out, '$'),
            '(' | ')' | '{' | '}' | '+' | '?' | '|' => push_literal(&mut out, c),
            _ => out.push(c),
        }
        at_start = false;
        i += 1;
    }
    out
}

fn push_literal(out: &mut String, c: char) {
    if "\\.+*?()|[]{}^$#&-~".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// A compiled grep pattern. A pattern that does not compile matches nothing (grep exits 2 and
/// prints nothing on stdout, which callers see as "absent").
pub struct Pattern(Option<regex_lite::Regex>);

impl Pattern {
    pub fn new(bre: &str) -> Pattern {
        Pattern(regex_lite::Regex::new(&translate(bre)).ok())
    }
    pub fn is_match(&self, line: &str) -> bool {
        self.0.as_ref().is_some_and(|r| r.is_match(line))
    }
    pub fn is_valid(&self) -> bool {
        self.0.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::new(p).is_match(s)
    }

    #[test]
    fn literal_and_anchors() {
        assert!(m("^WEBSITEURL:", "WEBSITEURL:www.example.com"));
        assert!(!m("^WEBSITEURL:", "XWEBSITEURL:www.example.com"));
        assert!(m("PRODUCTION:1", "PRODUCTION:1"));
        assert!(m("AUTOSCALE", "SNAPAUTOSCALE:0"));
        assert!(m("end$", "the end"));
        assert!(!m("end$", "the end."));
    }

    #[test]
    fn bre_specials_are_literal_unless_escaped() {
        assert!(m("a+b", "a+b"));
        assert!(!m("a+b", "aab"));
        assert!(m("a\\+b", "aab"));
        assert!(m("(x)", "(x)"));
        assert!(m("a|b", "a|b"));
        assert!(!m("a|b", "a"));
        assert!(m("*star", "*star"));
    }

    #[test]
    fn dot_star_and_brackets() {
        assert!(m("DB.*PORT", "DB_PORT:3306"));
        assert!(m("1\\.2", "1.2"));
        assert!(!m("1\\.2", "1x2"));
        assert!(m("[0-9][0-9]*", "x42"));
        assert!(!m("^[^A-Z]", "ABC"));
        assert!(m("[[:digit:]]", "a1"));
    }
}
