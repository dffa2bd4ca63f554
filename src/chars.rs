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

/// Unicode names of the printable Latin-1 characters, which SBCL gives as
/// CHAR-NAME and prints under *PRINT-READABLY*.
const UNICODE_NAMES: &[(u32, &str)] = &[
    (33, "EXCLAMATION_MARK"),
    (34, "QUOTATION_MARK"),
    (35, "NUMBER_SIGN"),
    (36, "DOLLAR_SIGN"),
    (37, "PERCENT_SIGN"),
    (38, "AMPERSAND"),
    (39, "APOSTROPHE"),
    (40, "LEFT_PARENTHESIS"),
    (41, "RIGHT_PARENTHESIS"),
    (42, "ASTERISK"),
    (43, "PLUS_SIGN"),
    (44, "COMMA"),
    (45, "HYPHEN-MINUS"),
    (46, "FULL_STOP"),
    (47, "SOLIDUS"),
    (48, "DIGIT_ZERO"),
    (49, "DIGIT_ONE"),
    (50, "DIGIT_TWO"),
    (51, "DIGIT_THREE"),
    (52, "DIGIT_FOUR"),
    (53, "DIGIT_FIVE"),
    (54, "DIGIT_SIX"),
    (55, "DIGIT_SEVEN"),
    (56, "DIGIT_EIGHT"),
    (57, "DIGIT_NINE"),
    (58, "COLON"),
    (59, "SEMICOLON"),
    (60, "LESS-THAN_SIGN"),
    (61, "EQUALS_SIGN"),
    (62, "GREATER-THAN_SIGN"),
    (63, "QUESTION_MARK"),
    (64, "COMMERCIAL_AT"),
    (65, "LATIN_CAPITAL_LETTER_A"),
    (66, "LATIN_CAPITAL_LETTER_B"),
    (67, "LATIN_CAPITAL_LETTER_C"),
    (68, "LATIN_CAPITAL_LETTER_D"),
    (69, "LATIN_CAPITAL_LETTER_E"),
    (70, "LATIN_CAPITAL_LETTER_F"),
    (71, "LATIN_CAPITAL_LETTER_G"),
    (72, "LATIN_CAPITAL_LETTER_H"),
    (73, "LATIN_CAPITAL_LETTER_I"),
    (74, "LATIN_CAPITAL_LETTER_J"),
    (75, "LATIN_CAPITAL_LETTER_K"),
    (76, "LATIN_CAPITAL_LETTER_L"),
    (77, "LATIN_CAPITAL_LETTER_M"),
    (78, "LATIN_CAPITAL_LETTER_N"),
    (79, "LATIN_CAPITAL_LETTER_O"),
    (80, "LATIN_CAPITAL_LETTER_P"),
    (81, "LATIN_CAPITAL_LETTER_Q"),
    (82, "LATIN_CAPITAL_LETTER_R"),
    (83, "LATIN_CAPITAL_LETTER_S"),
    (84, "LATIN_CAPITAL_LETTER_T"),
    (85, "LATIN_CAPITAL_LETTER_U"),
    (86, "LATIN_CAPITAL_LETTER_V"),
    (87, "LATIN_CAPITAL_LETTER_W"),
    (88, "LATIN_CAPITAL_LETTER_X"),
    (89, "LATIN_CAPITAL_LETTER_Y"),
    (90, "LATIN_CAPITAL_LETTER_Z"),
    (91, "LEFT_SQUARE_BRACKET"),
    (92, "REVERSE_SOLIDUS"),
    (93, "RIGHT_SQUARE_BRACKET"),
    (94, "CIRCUMFLEX_ACCENT"),
    (95, "LOW_LINE"),
    (96, "GRAVE_ACCENT"),
    (97, "LATIN_SMALL_LETTER_A"),
    (98, "LATIN_SMALL_LETTER_B"),
    (99, "LATIN_SMALL_LETTER_C"),
    (100, "LATIN_SMALL_LETTER_D"),
    (101, "LATIN_SMALL_LETTER_E"),
    (102, "LATIN_SMALL_LETTER_F"),
    (103, "LATIN_SMALL_LETTER_G"),
    (104, "LATIN_SMALL_LETTER_H"),
    (105, "LATIN_SMALL_LETTER_I"),
    (106, "LATIN_SMALL_LETTER_J"),
    (107, "LATIN_SMALL_LETTER_K"),
    (108, "LATIN_SMALL_LETTER_L"),
    (109, "LATIN_SMALL_LETTER_M"),
    (110, "LATIN_SMALL_LETTER_N"),
    (111, "LATIN_SMALL_LETTER_O"),
    (112, "LATIN_SMALL_LETTER_P"),
    (113, "LATIN_SMALL_LETTER_Q"),
    (114, "LATIN_SMALL_LETTER_R"),
    (115, "LATIN_SMALL_LETTER_S"),
    (116, "LATIN_SMALL_LETTER_T"),
    (117, "LATIN_SMALL_LETTER_U"),
    (118, "LATIN_SMALL_LETTER_V"),
    (119, "LATIN_SMALL_LETTER_W"),
    (120, "LATIN_SMALL_LETTER_X"),
    (121, "LATIN_SMALL_LETTER_Y"),
    (122, "LATIN_SMALL_LETTER_Z"),
    (123, "LEFT_CURLY_BRACKET"),
    (124, "VERTICAL_LINE"),
    (125, "RIGHT_CURLY_BRACKET"),
    (126, "TILDE"),
    (161, "INVERTED_EXCLAMATION_MARK"),
    (162, "CENT_SIGN"),
    (163, "POUND_SIGN"),
    (164, "CURRENCY_SIGN"),
    (165, "YEN_SIGN"),
    (166, "BROKEN_BAR"),
    (167, "SECTION_SIGN"),
    (168, "DIAERESIS"),
    (169, "COPYRIGHT_SIGN"),
    (170, "FEMININE_ORDINAL_INDICATOR"),
    (171, "LEFT-POINTING_DOUBLE_ANGLE_QUOTATION_MARK"),
    (172, "NOT_SIGN"),
    (173, "SOFT_HYPHEN"),
    (174, "REGISTERED_SIGN"),
    (175, "MACRON"),
    (176, "DEGREE_SIGN"),
    (177, "PLUS-MINUS_SIGN"),
    (178, "SUPERSCRIPT_TWO"),
    (179, "SUPERSCRIPT_THREE"),
    (180, "ACUTE_ACCENT"),
    (181, "MICRO_SIGN"),
    (182, "PILCROW_SIGN"),
    (183, "MIDDLE_DOT"),
    (184, "CEDILLA"),
    (185, "SUPERSCRIPT_ONE"),
    (186, "MASCULINE_ORDINAL_INDICATOR"),
    (187, "RIGHT-POINTING_DOUBLE_ANGLE_QUOTATION_MARK"),
    (188, "VULGAR_FRACTION_ONE_QUARTER"),
    (189, "VULGAR_FRACTION_ONE_HALF"),
    (190, "VULGAR_FRACTION_THREE_QUARTERS"),
    (191, "INVERTED_QUESTION_MARK"),
    (192, "LATIN_CAPITAL_LETTER_A_WITH_GRAVE"),
    (193, "LATIN_CAPITAL_LETTER_A_WITH_ACUTE"),
    (194, "LATIN_CAPITAL_LETTER_A_WITH_CIRCUMFLEX"),
    (195, "LATIN_CAPITAL_LETTER_A_WITH_TILDE"),
    (196, "LATIN_CAPITAL_LETTER_A_WITH_DIAERESIS"),
    (197, "LATIN_CAPITAL_LETTER_A_WITH_RING_ABOVE"),
    (198, "LATIN_CAPITAL_LETTER_AE"),
    (199, "LATIN_CAPITAL_LETTER_C_WITH_CEDILLA"),
    (200, "LATIN_CAPITAL_LETTER_E_WITH_GRAVE"),
    (201, "LATIN_CAPITAL_LETTER_E_WITH_ACUTE"),
    (202, "LATIN_CAPITAL_LETTER_E_WITH_CIRCUMFLEX"),
    (203, "LATIN_CAPITAL_LETTER_E_WITH_DIAERESIS"),
    (204, "LATIN_CAPITAL_LETTER_I_WITH_GRAVE"),
    (205, "LATIN_CAPITAL_LETTER_I_WITH_ACUTE"),
    (206, "LATIN_CAPITAL_LETTER_I_WITH_CIRCUMFLEX"),
    (207, "LATIN_CAPITAL_LETTER_I_WITH_DIAERESIS"),
    (208, "LATIN_CAPITAL_LETTER_ETH"),
    (209, "LATIN_CAPITAL_LETTER_N_WITH_TILDE"),
    (210, "LATIN_CAPITAL_LETTER_O_WITH_GRAVE"),
    (211, "LATIN_CAPITAL_LETTER_O_WITH_ACUTE"),
    (212, "LATIN_CAPITAL_LETTER_O_WITH_CIRCUMFLEX"),
    (213, "LATIN_CAPITAL_LETTER_O_WITH_TILDE"),
    (214, "LATIN_CAPITAL_LETTER_O_WITH_DIAERESIS"),
    (215, "MULTIPLICATION_SIGN"),
    (216, "LATIN_CAPITAL_LETTER_O_WITH_STROKE"),
    (217, "LATIN_CAPITAL_LETTER_U_WITH_GRAVE"),
    (218, "LATIN_CAPITAL_LETTER_U_WITH_ACUTE"),
    (219, "LATIN_CAPITAL_LETTER_U_WITH_CIRCUMFLEX"),
    (220, "LATIN_CAPITAL_LETTER_U_WITH_DIAERESIS"),
    (221, "LATIN_CAPITAL_LETTER_Y_WITH_ACUTE"),
    (222, "LATIN_CAPITAL_LETTER_THORN"),
    (223, "LATIN_SMALL_LETTER_SHARP_S"),
    (224, "LATIN_SMALL_LETTER_A_WITH_GRAVE"),
    (225, "LATIN_SMALL_LETTER_A_WITH_ACUTE"),
    (226, "LATIN_SMALL_LETTER_A_WITH_CIRCUMFLEX"),
    (227, "LATIN_SMALL_LETTER_A_WITH_TILDE"),
    (228, "LATIN_SMALL_LETTER_A_WITH_DIAERESIS"),
    (229, "LATIN_SMALL_LETTER_A_WITH_RING_ABOVE"),
    (230, "LATIN_SMALL_LETTER_AE"),
    (231, "LATIN_SMALL_LETTER_C_WITH_CEDILLA"),
    (232, "LATIN_SMALL_LETTER_E_WITH_GRAVE"),
    (233, "LATIN_SMALL_LETTER_E_WITH_ACUTE"),
    (234, "LATIN_SMALL_LETTER_E_WITH_CIRCUMFLEX"),
    (235, "LATIN_SMALL_LETTER_E_WITH_DIAERESIS"),
    (236, "LATIN_SMALL_LETTER_I_WITH_GRAVE"),
    (237, "LATIN_SMALL_LETTER_I_WITH_ACUTE"),
    (238, "LATIN_SMALL_LETTER_I_WITH_CIRCUMFLEX"),
    (239, "LATIN_SMALL_LETTER_I_WITH_DIAERESIS"),
    (240, "LATIN_SMALL_LETTER_ETH"),
    (241, "LATIN_SMALL_LETTER_N_WITH_TILDE"),
    (242, "LATIN_SMALL_LETTER_O_WITH_GRAVE"),
    (243, "LATIN_SMALL_LETTER_O_WITH_ACUTE"),
    (244, "LATIN_SMALL_LETTER_O_WITH_CIRCUMFLEX"),
    (245, "LATIN_SMALL_LETTER_O_WITH_TILDE"),
    (246, "LATIN_SMALL_LETTER_O_WITH_DIAERESIS"),
    (247, "DIVISION_SIGN"),
    (248, "LATIN_SMALL_LETTER_O_WITH_STROKE"),
    (249, "LATIN_SMALL_LETTER_U_WITH_GRAVE"),
    (250, "LATIN_SMALL_LETTER_U_WITH_ACUTE"),
    (251, "LATIN_SMALL_LETTER_U_WITH_CIRCUMFLEX"),
    (252, "LATIN_SMALL_LETTER_U_WITH_DIAERESIS"),
    (253, "LATIN_SMALL_LETTER_Y_WITH_ACUTE"),
    (254, "LATIN_SMALL_LETTER_THORN"),
    (255, "LATIN_SMALL_LETTER_Y_WITH_DIAERESIS"),
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
    if let Some((_, n)) = UNICODE_NAMES.iter().find(|(k, _)| *k == code) {
        return Some((*n).to_string());
    }
    if (128..160).contains(&code) || (!is_graphic(c) && code > 127) {
        return Some(format!("U{:04X}", code));
    }
    None
}

/// The Unicode name of a printable Latin-1 character, if known.
pub fn unicode_name(c: char) -> Option<&'static str> {
    let code = c as u32;
    UNICODE_NAMES
        .iter()
        .find(|(k, _)| *k == code)
        .map(|(_, n)| *n)
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
    if let Some((k, _)) = UNICODE_NAMES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(&up))
    {
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
