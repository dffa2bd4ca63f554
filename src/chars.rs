//! Characters: case, names and classification as CL defines them.

/// Names of control and special characters, as SBCL prints them.
const NAMES: &[(u32, &str)] = &[
    (0, "Nul"),
    (1, "Soh"),
    (2, "Stx"),
    (3, "Etx"),
    (4, "Eot"),
    (5, "Enq"),
    (6, "Ack"),
    (7, "Bel"),
    (8, "Backspace"),
    (9, "Tab"),
    (10, "Newline"),
    (11, "Vt"),
    (12, "Page"),
    (13, "Return"),
    (14, "So"),
    (15, "Si"),
    (16, "Dle"),
    (17, "Dc1"),
    (18, "Dc2"),
    (19, "Dc3"),
    (20, "Dc4"),
    (21, "Nak"),
    (22, "Syn"),
    (23, "Etb"),
    (24, "Can"),
    (25, "Em"),
    (26, "Sub"),
    (27, "Esc"),
    (28, "Fs"),
    (29, "Gs"),
    (30, "Rs"),
    (31, "Us"),
    (32, "Space"),
    (127, "Rubout"),
];

/// Extra names accepted when reading.
const ALIASES: &[(&str, u32)] = &[
    ("NULL", 0),
    ("BELL", 7),
    ("LINEFEED", 10),
    ("ESCAPE", 27),
    ("ALTMODE", 27),
    ("DELETE", 127),
    ("DEL", 127),
];

/// The name of a character, if it has one (CHAR-NAME).
pub fn char_name(c: char) -> Option<String> {
    let code = c as u32;
    if let Some((_, n)) = NAMES.iter().find(|(k, _)| *k == code) {
        return Some((*n).to_string());
    }
    if (128..160).contains(&code) || (!is_graphic(c) && code > 127) {
        return Some(format!("U{:04X}", code));
    }
    None
}

/// The character with a name (NAME-CHAR), case-insensitive.
pub fn name_char(name: &str) -> Option<char> {
    let up = name.to_ascii_uppercase();
    if let Some((k, _)) = NAMES.iter().find(|(_, n)| n.eq_ignore_ascii_case(&up)) {
        return char::from_u32(*k);
    }
    if let Some((_, k)) = ALIASES.iter().find(|(n, _)| *n == up) {
        return char::from_u32(*k);
    }
    let hex = up.strip_prefix("U+").or_else(|| up.strip_prefix('U'));
    if let Some(h) = hex {
        if !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()) {
            return u32::from_str_radix(h, 16).ok().and_then(char::from_u32);
        }
    }
    None
}

/// GRAPHIC-CHAR-P.
pub fn is_graphic(c: char) -> bool {
    let code = c as u32;
    (32..127).contains(&code) || (code >= 160 && !c.is_control())
}

/// CHAR-UPCASE (characters with a one-to-one case mapping only).
pub fn char_upcase(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) if u.to_lowercase().eq(std::iter::once(c)) => u,
        _ => c,
    }
}

/// CHAR-DOWNCASE.
pub fn char_downcase(c: char) -> char {
    let mut lo = c.to_lowercase();
    match (lo.next(), lo.next()) {
        (Some(l), None) if l.to_uppercase().eq(std::iter::once(c)) => l,
        _ => c,
    }
}

/// UPPER-CASE-P.
pub fn is_upper(c: char) -> bool {
    char_downcase(c) != c
}

/// LOWER-CASE-P.
pub fn is_lower(c: char) -> bool {
    char_upcase(c) != c
}

/// BOTH-CASE-P.
pub fn both_case(c: char) -> bool {
    is_upper(c) || is_lower(c)
}

/// CHAR-EQUAL: equal ignoring case.
pub fn char_equal(a: char, b: char) -> bool {
    a == b || char_downcase(a) == char_downcase(b)
}

/// ALPHA-CHAR-P.
pub fn is_alpha(c: char) -> bool {
    c.is_alphabetic()
}

/// Whether a character is a standard character.
pub fn is_standard(c: char) -> bool {
    let code = c as u32;
    (32..127).contains(&code) || c == '\n'
}
