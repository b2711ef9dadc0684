//! Tokens of PostgreSQL SQL text, with exact byte positions.
//!
//! One lexer serves the statement splitter ([`super::statement`]), the transaction
//! classifier ([`super::transaction`]) and any later rule that must find a keyword without
//! being fooled by the same word in a string, a quoted identifier or a comment.
//!
//! It follows the server's own scanner (`scan.l`) where that decides what is code and what
//! is not: nested block comments, `''` inside strings, backslash escapes only in `E'…'`,
//! dollar quotes whose tag may not start with a digit (`$1` is a parameter), and `$` as an
//! identifier character (`a$$b` is one identifier, not the start of a dollar quote). It does
//! not try to be a full SQL lexer: numbers, operators and casts come out as coarse tokens
//! because nothing here needs their values.
//!
//! Standard strings are read with `standard_conforming_strings = on`, the default since
//! PostgreSQL 9.1 and what `pg_dump` writes; a file that turns it off and relies on `\'`
//! inside `'…'` is not supported.
//!
//! Every token starts and ends next to an ASCII byte or at an end of the input, so every
//! token boundary is a `char` boundary and slicing the input with it cannot panic.

use std::fmt;
use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Spaces, tabs, line breaks, form feeds and vertical tabs.
    Whitespace,
    /// `-- …` up to, not including, the line break.
    LineComment,
    /// `/* … */`, nested as PostgreSQL nests them.
    BlockComment,
    /// An unquoted identifier or keyword. Non-ASCII characters are identifier characters,
    /// as in PostgreSQL.
    Word,
    /// `"…"` or `U&"…"`.
    QuotedIdent,
    /// `'…'` and its prefixed forms `E'…'`, `U&'…'`, `B'…'`, `X'…'`, `N'…'`.
    String,
    /// `$$…$$` or `$tag$…$tag$`.
    DollarString,
    /// A run of ASCII digits. A decimal point or exponent lexes as separate tokens.
    Number,
    /// `$1`, `$2`, …: a parameter placeholder.
    Parameter,
    /// `;`
    Semicolon,
    /// `(`
    OpenParen,
    /// `)`
    CloseParen,
    /// A backslash outside any string or comment. Never SQL: psql reads it as the start of
    /// a meta-command such as `\i` or `\gexec`.
    Backslash,
    /// Any other single character: operators, commas, dots, brackets.
    Punct,
}

impl TokenKind {
    /// Whitespace and comments: text the server skips between tokens.
    pub fn is_trivia(self) -> bool {
        matches!(
            self,
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment
        )
    }
}

/// One token: its kind and where it is in the lexed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset just past the last byte.
    pub end: usize,
}

impl Token {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The token's text in `src`, the text it was lexed from (empty for any other text that
    /// is too short or not split at the same places).
    pub fn text<'s>(&self, src: &'s str) -> &'s str {
        src.get(self.range()).unwrap_or_default()
    }

    /// Whether this is the unquoted keyword `keyword`, compared as PostgreSQL folds
    /// unquoted identifiers (ASCII case-insensitively). `"begin"` is an identifier, never
    /// the keyword.
    pub fn is_keyword(&self, src: &str, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text(src).eq_ignore_ascii_case(keyword)
    }
}

/// A construct that opens and must be closed. Named in errors about unterminated input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Construct {
    /// `'…'`, and the prefixed forms that read like it (`U&'…'`, `B'…'`, `X'…'`, `N'…'`).
    String,
    /// `E'…'`, where a backslash escapes the next character.
    EscapeString,
    /// `"…"`
    QuotedIdentifier,
    /// `$tag$…$tag$`; `tag` holds the whole delimiter, dollars included.
    DollarQuote { tag: String },
    /// `/* … */`
    BlockComment,
    /// A `BEGIN ATOMIC … END` function body.
    AtomicBody,
    /// The data lines after `COPY … FROM stdin;`, which end at a line `\.`.
    CopyData,
}

impl fmt::Display for Construct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Construct::String => f.write_str("string literal"),
            Construct::EscapeString => f.write_str("escape string literal (E'…')"),
            Construct::QuotedIdentifier => f.write_str("quoted identifier"),
            Construct::DollarQuote { tag } => write!(f, "dollar-quoted string {tag}"),
            Construct::BlockComment => f.write_str("block comment"),
            Construct::AtomicBody => f.write_str("BEGIN ATOMIC function body"),
            Construct::CopyData => f.write_str("data of COPY … FROM stdin"),
        }
    }
}

/// Input ended inside `construct`, which opened at byte offset `start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub construct: Construct,
    pub start: usize,
}

/// Iterator over the tokens of some SQL text, trivia included, so that the tokens tile the
/// text exactly. After the first error it yields nothing more.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    /// Continue lexing at `pos`. For the splitter, which reads `COPY` data itself: the data
    /// is not SQL and must not be tokenized. `pos` must be a token boundary.
    pub(super) fn resume_at(&mut self, pos: usize) {
        debug_assert!(self.src.is_char_boundary(pos));
        self.pos = pos;
    }

    /// Scan one token starting at `start`: its kind and end, or the construct left open.
    fn scan_token(&self, start: usize) -> Result<(TokenKind, usize), Construct> {
        let bytes = self.src.as_bytes();
        let at = |i: usize| bytes.get(i).copied();
        let Some(first) = at(start) else {
            // Callers only scan inside the text; an empty token is the safe answer anyway.
            return Ok((TokenKind::Whitespace, start));
        };
        let next = at(start + 1);
        let single = |kind| Ok((kind, start + 1));
        match first {
            b if is_space(b) => Ok((TokenKind::Whitespace, run_end(bytes, start, is_space))),
            b'-' if next == Some(b'-') => {
                // PostgreSQL ends a line comment at either line-break character.
                let end = bytes[start..]
                    .iter()
                    .position(|&b| b == b'\n' || b == b'\r')
                    .map_or(bytes.len(), |i| start + i);
                Ok((TokenKind::LineComment, end))
            }
            b'/' if next == Some(b'*') => block_comment_end(bytes, start + 2)
                .map(|end| (TokenKind::BlockComment, end))
                .ok_or(Construct::BlockComment),
            b'\'' => quoted_end(bytes, start + 1, b'\'')
                .map(|end| (TokenKind::String, end))
                .ok_or(Construct::String),
            b'"' => quoted_end(bytes, start + 1, b'"')
                .map(|end| (TokenKind::QuotedIdent, end))
                .ok_or(Construct::QuotedIdentifier),
            b'$' => self.scan_dollar(start),
            b if is_ident_start(b) => scan_word(bytes, start),
            b if b.is_ascii_digit() => Ok((
                TokenKind::Number,
                run_end(bytes, start, |b| b.is_ascii_digit()),
            )),
            b';' => single(TokenKind::Semicolon),
            b'(' => single(TokenKind::OpenParen),
            b')' => single(TokenKind::CloseParen),
            b'\\' => single(TokenKind::Backslash),
            // Every byte >= 0x80 is an identifier start, so this is one ASCII character.
            _ => single(TokenKind::Punct),
        }
    }

    /// `$1`, a dollar quote, or a lone `$` (as in the server, `$tag` without its closing
    /// dollar is a `$` followed by an identifier).
    fn scan_dollar(&self, start: usize) -> Result<(TokenKind, usize), Construct> {
        let bytes = self.src.as_bytes();
        if bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
            let end = run_end(bytes, start + 1, |b| b.is_ascii_digit());
            return Ok((TokenKind::Parameter, end));
        }
        let Some(delimiter_end) = dollar_delimiter_end(bytes, start) else {
            return Ok((TokenKind::Punct, start + 1));
        };
        // Both ends sit next to a `$`, so this slice is on char boundaries.
        let delimiter = &self.src[start..delimiter_end];
        match self.src[delimiter_end..].find(delimiter) {
            Some(i) => Ok((TokenKind::DollarString, delimiter_end + i + delimiter.len())),
            None => Err(Construct::DollarQuote {
                tag: delimiter.to_string(),
            }),
        }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Result<Token, LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        if start >= self.src.len() {
            return None;
        }
        match self.scan_token(start) {
            Ok((kind, end)) => {
                self.pos = end;
                Some(Ok(Token { kind, start, end }))
            }
            Err(construct) => {
                self.pos = self.src.len();
                Some(Err(LexError { construct, start }))
            }
        }
    }
}

/// PostgreSQL's whitespace: space, tab, LF, CR, vertical tab, form feed.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// First character of an identifier or dollar-quote tag. Bytes of non-ASCII characters
/// count, as in the server, which is also what keeps multi-byte characters whole.
fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

/// Later characters of a dollar-quote tag.
fn is_tag_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// Later characters of an identifier: a tag character or `$`.
fn is_ident_char(b: u8) -> bool {
    is_tag_char(b) || b == b'$'
}

/// End of the run of bytes matching `pred` that starts at `from`.
fn run_end(bytes: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| !pred(b)))
        .map_or(bytes.len(), |i| from + i)
}

/// An identifier or keyword, or a string whose one-letter prefix starts here. The prefix
/// only counts when it is the whole word: in `be'x'` the word is `be` and `'x'` is a plain
/// string, which is what the server's longest-match rule does.
fn scan_word(bytes: &[u8], start: usize) -> Result<(TokenKind, usize), Construct> {
    let at = |i: usize| bytes.get(i).copied();
    match (at(start).map(|b| b.to_ascii_lowercase()), at(start + 1)) {
        (Some(b'e'), Some(b'\'')) => escape_string_end(bytes, start + 2)
            .map(|end| (TokenKind::String, end))
            .ok_or(Construct::EscapeString),
        // Bit strings, hex strings and national strings: no escapes, nothing special inside.
        (Some(b'b' | b'x' | b'n'), Some(b'\'')) => quoted_end(bytes, start + 2, b'\'')
            .map(|end| (TokenKind::String, end))
            .ok_or(Construct::String),
        (Some(b'u'), Some(b'&')) if at(start + 2) == Some(b'\'') => {
            // Unicode escapes are `\XXXX`, but a backslash cannot end the string: read it
            // like a standard string.
            quoted_end(bytes, start + 3, b'\'')
                .map(|end| (TokenKind::String, end))
                .ok_or(Construct::String)
        }
        (Some(b'u'), Some(b'&')) if at(start + 2) == Some(b'"') => {
            quoted_end(bytes, start + 3, b'"')
                .map(|end| (TokenKind::QuotedIdent, end))
                .ok_or(Construct::QuotedIdentifier)
        }
        _ => Ok((TokenKind::Word, run_end(bytes, start + 1, is_ident_char))),
    }
}

/// End of a string or quoted identifier whose body starts at `from`, where a doubled
/// `quote` stands for itself. `None` if it never closes.
fn quoted_end(bytes: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut i = from;
    loop {
        let close = i + bytes.get(i..)?.iter().position(|&b| b == quote)?;
        if bytes.get(close + 1) == Some(&quote) {
            i = close + 2;
        } else {
            return Some(close + 1);
        }
    }
}

/// End of an `E'…'` string whose body starts at `from`: a backslash escapes the next byte
/// (so `\'` does not close it) and `''` is a quote.
fn escape_string_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            // Skipping one byte of a multi-byte character is harmless: the bytes after it
            // are >= 0x80 and cannot be mistaken for a quote or a backslash.
            b'\\' => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// End of a block comment whose body starts at `from`. Comments nest: each `/*` needs its
/// own `*/`. Scanning left to right matches the server on overlaps such as `/*/` (an opener
/// followed by `/`) and `**/` (a `*` followed by a closer).
fn block_comment_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        if b == b'/' && next == Some(b'*') {
            depth += 1;
            i += 2;
        } else if b == b'*' && next == Some(b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// If a dollar-quote delimiter (`$$` or `$tag$`) starts at `start`, its end.
fn dollar_delimiter_end(bytes: &[u8], start: usize) -> Option<usize> {
    let tag_start = start + 1;
    let tag_end = match bytes.get(tag_start) {
        Some(&b) if is_ident_start(b) => run_end(bytes, tag_start + 1, is_tag_char),
        _ => tag_start,
    };
    (bytes.get(tag_end) == Some(&b'$')).then_some(tag_end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenKind::*;

    /// Kinds and texts of all tokens of `src`, trivia included; panics on a lex error.
    fn lex(src: &str) -> Vec<(TokenKind, &str)> {
        Lexer::new(src)
            .map(|t| {
                let t = t.expect("lexes");
                (t.kind, t.text(src))
            })
            .collect()
    }

    fn significant(src: &str) -> Vec<(TokenKind, &str)> {
        lex(src)
            .into_iter()
            .filter(|(k, _)| !k.is_trivia())
            .collect()
    }

    fn error(src: &str) -> LexError {
        Lexer::new(src).find_map(Result::err).expect("a lex error")
    }

    #[test]
    fn basic_tokens_tile_the_input() {
        let src = "SELECT a.b, 42 FROM t; -- done\n";
        assert_eq!(
            lex(src),
            vec![
                (Word, "SELECT"),
                (Whitespace, " "),
                (Word, "a"),
                (Punct, "."),
                (Word, "b"),
                (Punct, ","),
                (Whitespace, " "),
                (Number, "42"),
                (Whitespace, " "),
                (Word, "FROM"),
                (Whitespace, " "),
                (Word, "t"),
                (Semicolon, ";"),
                (Whitespace, " "),
                (LineComment, "-- done"),
                (Whitespace, "\n"),
            ]
        );
    }

    #[test]
    fn standard_string_backslash_is_not_an_escape() {
        assert_eq!(
            significant(r"'a\' 'it''s'"),
            vec![(String, r"'a\'"), (String, "'it''s'")]
        );
    }

    #[test]
    fn escape_string_backslash_quote_stays_inside() {
        assert_eq!(
            significant(r"E'\'' x"),
            vec![(String, r"E'\''"), (Word, "x")]
        );
        assert_eq!(
            significant(r"e'a\\' x"),
            vec![(String, r"e'a\\'"), (Word, "x")]
        );
        assert_eq!(significant(r"E'it''s'"), vec![(String, r"E'it''s'")]);
    }

    #[test]
    fn string_prefix_only_when_it_is_the_whole_word() {
        assert_eq!(significant(r"be'\'"), vec![(Word, "be"), (String, r"'\'")]);
        assert_eq!(significant("B'101' X'ff' N'n'").len(), 3);
    }

    #[test]
    fn unicode_strings_and_identifiers() {
        assert_eq!(
            significant(r#"U&'d\0061t' u&"d!0061t""#),
            vec![(String, r"U&'d\0061t'"), (QuotedIdent, r#"u&"d!0061t""#)]
        );
        // Without a quote after `&` it is the identifier `U` and an operator.
        assert_eq!(
            significant("U&x"),
            vec![(Word, "U"), (Punct, "&"), (Word, "x")]
        );
    }

    #[test]
    fn quoted_identifier_with_doubled_quote() {
        assert_eq!(
            significant(r#""a""b" c"#),
            vec![(QuotedIdent, r#""a""b""#), (Word, "c")]
        );
    }

    #[test]
    fn block_comments_nest() {
        assert_eq!(
            lex("/* a /* b */ c */x"),
            vec![(BlockComment, "/* a /* b */ c */"), (Word, "x")]
        );
        // `/*/` opens a nested comment; `**/` closes one.
        assert_eq!(
            lex("/* /*/ **/ */x"),
            vec![(BlockComment, "/* /*/ **/ */"), (Word, "x")]
        );
    }

    #[test]
    fn line_comment_ends_at_either_line_break() {
        assert_eq!(
            lex("-- a\r\nx"),
            vec![(LineComment, "-- a"), (Whitespace, "\r\n"), (Word, "x")]
        );
    }

    #[test]
    fn dollar_quotes_match_their_own_tag() {
        assert_eq!(
            significant("$a$ $b$ ; $$ $a$ x"),
            vec![(DollarString, "$a$ $b$ ; $$ $a$"), (Word, "x")]
        );
        assert_eq!(significant("$$;$$"), vec![(DollarString, "$$;$$")]);
        assert_eq!(
            significant("$_x1$ $_x1$"),
            vec![(DollarString, "$_x1$ $_x1$")]
        );
        // A non-ASCII tag, as the server allows.
        assert_eq!(significant("$ü$ ; $ü$"), vec![(DollarString, "$ü$ ; $ü$")]);
    }

    #[test]
    fn parameters_and_lone_dollars_are_not_quotes() {
        assert_eq!(
            significant("$1 + $23"),
            vec![(Parameter, "$1"), (Punct, "+"), (Parameter, "$23")]
        );
        assert_eq!(
            significant("$a b"),
            vec![(Punct, "$"), (Word, "a"), (Word, "b")]
        );
    }

    #[test]
    fn dollar_inside_an_identifier_does_not_open_a_quote() {
        assert_eq!(
            significant("a$$b ;"),
            vec![(Word, "a$$b"), (Semicolon, ";")]
        );
    }

    #[test]
    fn non_ascii_identifiers() {
        assert_eq!(
            significant("größe=ñ"),
            vec![(Word, "größe"), (Punct, "="), (Word, "ñ")]
        );
    }

    #[test]
    fn backslash_outside_strings_is_its_own_token() {
        assert_eq!(
            significant(r"\i x"),
            vec![(Backslash, r"\"), (Word, "i"), (Word, "x")]
        );
    }

    #[test]
    fn keywords_compare_case_insensitively_and_only_unquoted() {
        let src = r#"Begin "begin" begins"#;
        let tokens: Vec<Token> = Lexer::new(src)
            .map(Result::unwrap)
            .filter(|t| !t.kind.is_trivia())
            .collect();
        assert!(tokens[0].is_keyword(src, "BEGIN"));
        assert!(!tokens[1].is_keyword(src, "BEGIN"));
        assert!(!tokens[2].is_keyword(src, "BEGIN"));
    }

    #[test]
    fn unterminated_constructs_report_where_they_opened() {
        let cases = [
            ("x 'abc", Construct::String, 2),
            (r"x E'\'", Construct::EscapeString, 2),
            (r"x U&'a", Construct::String, 2),
            ("x \"abc", Construct::QuotedIdentifier, 2),
            ("x /* /* */", Construct::BlockComment, 2),
            (
                "x $f$ body $g$",
                Construct::DollarQuote {
                    tag: "$f$".to_string(),
                },
                2,
            ),
        ];
        for (src, construct, start) in cases {
            assert_eq!(error(src), LexError { construct, start }, "{src}");
        }
    }

    #[test]
    fn nothing_after_an_error() {
        let mut lexer = Lexer::new("a 'b");
        assert!(lexer.by_ref().any(|t| t.is_err()));
        assert_eq!(lexer.next(), None);
    }

    #[test]
    fn construct_names_read_well_in_messages() {
        let tag = Construct::DollarQuote {
            tag: "$fn$".to_string(),
        };
        assert_eq!(tag.to_string(), "dollar-quoted string $fn$");
        assert_eq!(Construct::CopyData.to_string(), "data of COPY … FROM stdin");
    }
}
