//! Splitting a migration file into statements, with exact byte ranges and line numbers.
//!
//! Every migration format hands its SQL files to [`split`]; the applier runs the statements
//! one by one so that a failure names the file and line, and so that statements which cannot
//! run in a transaction (see [`super::transaction`]) can run alone.
//!
//! The rules are psql's, because psql is what these files were written and tested with:
//!
//! - A statement ends at a `;` outside strings, quoted identifiers, comments and dollar
//!   quotes, and outside parentheses (`CREATE RULE … DO (stmt; stmt)` is one statement).
//! - In `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, a `BEGIN ATOMIC … END` body keeps its `;`s;
//!   `CASE … END` inside it is counted so its `END` does not close the body.
//! - `COPY … FROM stdin;` reads the lines after it, up to a line `\.`, as data. The data belongs
//!   to the statement ([`Statement::copy_data`]).
//! - psql meta-commands (`\i`, `\set`, `\gexec`, …) are refused: pgkeel sends SQL to the
//!   server, it does not run psql.
//!
//! [`pieces`] returns the statements together with the text between them (whitespace,
//! comments, empty statements, a byte-order mark), so that the pieces concatenated are the
//! input, byte for byte. Line numbers count `\n`, so CRLF files number lines as editors do.

use std::ops::Range;

use super::lexer::{Construct, LexError, Lexer, Token, TokenKind};

/// One statement of a migration file: a slice of the file with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    text: &'a str,
    start: usize,
    sql_len: usize,
    copy_data: Option<&'a str>,
    start_line: usize,
    end_line: usize,
}

impl<'a> Statement<'a> {
    /// The whole statement as written: from its first token through its `;` (if it has one)
    /// and, for `COPY … FROM stdin`, through the closing `\.` of its data. Comments before
    /// the statement are not part of it; comments inside it are.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The SQL to send to the server: [`text`](Self::text) without `COPY` data.
    pub fn sql(&self) -> &'a str {
        // `sql_len` ends at the statement's own `;` token: a char boundary.
        &self.text[..self.sql_len]
    }

    /// For `COPY … FROM stdin`, the data lines to stream to the server, each with its line
    /// break, without the closing `\.` line.
    pub fn copy_data(&self) -> Option<&'a str> {
        self.copy_data
    }

    /// Byte range of [`text`](Self::text) in the file.
    pub fn range(&self) -> Range<usize> {
        self.start..self.start + self.text.len()
    }

    /// 1-based line of the statement's first token.
    pub fn start_line(&self) -> usize {
        self.start_line
    }

    /// 1-based line of the statement's last byte.
    pub fn end_line(&self) -> usize {
        self.end_line
    }
}

/// A piece of a migration file: a statement, or the text between two statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Statement(Statement<'a>),
    /// Whitespace, comments, empty statements (`;`) and a byte-order mark: everything that is
    /// not part of a statement. Never empty, and never next to another gap.
    Gap {
        text: &'a str,
        range: Range<usize>,
    },
}

impl<'a> Piece<'a> {
    pub fn text(&self) -> &'a str {
        match self {
            Piece::Statement(statement) => statement.text(),
            Piece::Gap { text, .. } => text,
        }
    }

    pub fn range(&self) -> Range<usize> {
        match self {
            Piece::Statement(statement) => statement.range(),
            Piece::Gap { range, .. } => range.clone(),
        }
    }

    pub fn into_statement(self) -> Option<Statement<'a>> {
        match self {
            Piece::Statement(statement) => Some(statement),
            Piece::Gap { .. } => None,
        }
    }
}

/// Why a file cannot be split. The caller adds the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("unterminated {construct} starting at line {line}, column {column}")]
    Unterminated {
        construct: Construct,
        line: usize,
        column: usize,
    },
    #[error("`(` at line {line}, column {column} has no matching `)`")]
    UnclosedParenthesis { line: usize, column: usize },
    #[error("psql meta-command `{command}` at line {line}, column {column}")]
    MetaCommand {
        command: String,
        line: usize,
        column: usize,
    },
    #[error("text after `COPY … FROM stdin;` at line {line}, column {column}: the data must start on the next line")]
    TextAfterCopy { line: usize, column: usize },
}

impl SplitError {
    /// 1-based line of the problem.
    pub fn line(&self) -> usize {
        match self {
            SplitError::Unterminated { line, .. }
            | SplitError::UnclosedParenthesis { line, .. }
            | SplitError::MetaCommand { line, .. }
            | SplitError::TextAfterCopy { line, .. } => *line,
        }
    }

    /// 1-based column, in characters, of the problem.
    pub fn column(&self) -> usize {
        match self {
            SplitError::Unterminated { column, .. }
            | SplitError::UnclosedParenthesis { column, .. }
            | SplitError::MetaCommand { column, .. }
            | SplitError::TextAfterCopy { column, .. } => *column,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            SplitError::Unterminated { construct, .. } => match construct {
                Construct::String => "close the string with `'`; inside it, write a quote as `''`",
                Construct::EscapeString => {
                    "close the string with `'`; in E'…' a backslash escapes the next character, so `\\'` does not end it"
                }
                Construct::QuotedIdentifier => {
                    "close the identifier with `\"`; inside it, write a double quote as `\"\"`"
                }
                Construct::DollarQuote { .. } => {
                    "close the string with the same tag it opened with, as in `$fn$ … $fn$`"
                }
                Construct::BlockComment => {
                    "close the comment with `*/`; comments nest, so each `/*` inside it needs its own `*/`"
                }
                Construct::AtomicBody => {
                    "end the body with `END`; each CASE inside it needs its own `END`"
                }
                Construct::CopyData => "end the data with a line that holds only `\\.`",
            },
            SplitError::UnclosedParenthesis { .. } => {
                "close the parenthesis; like psql, pgkeel does not end a statement at a `;` inside parentheses"
            }
            SplitError::MetaCommand { .. } => {
                "pgkeel runs SQL, not psql scripts: inline the included file or remove the meta-command"
            }
            SplitError::TextAfterCopy { .. } => {
                "end the line after `FROM stdin;` and put further statements after the data's closing `\\.` line"
            }
        }
    }
}

/// The statements of `sql`, in order. Empty statements and comment-only text are skipped.
///
/// # Errors
///
/// When a construct is never closed, a `(` has no `)`, the file holds a psql meta-command,
/// or text follows `COPY … FROM stdin;` on its line. See [`SplitError`].
pub fn split(sql: &str) -> Result<Vec<Statement<'_>>, SplitError> {
    Ok(pieces(sql)?
        .into_iter()
        .filter_map(Piece::into_statement)
        .collect())
}

/// All of `sql` as statements and the gaps between them; concatenated, the pieces' texts are
/// `sql` exactly.
///
/// # Errors
///
/// As [`split`].
pub fn pieces(sql: &str) -> Result<Vec<Piece<'_>>, SplitError> {
    Splitter::new(sql).run()
}

/// Drives the lexer over one file and cuts it into pieces.
struct Splitter<'a> {
    src: &'a str,
    lines: LineIndex<'a>,
    lexer: Lexer<'a>,
    pieces: Vec<Piece<'a>>,
    /// Start of the text not yet in a piece.
    unassigned: usize,
}

impl<'a> Splitter<'a> {
    fn new(src: &'a str) -> Self {
        let bom = if src.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let mut lexer = Lexer::new(src);
        // The byte-order mark is no token: it stays in the first gap.
        lexer.resume_at(bom);
        Splitter {
            src,
            lines: LineIndex::new(src, bom),
            lexer,
            pieces: Vec::new(),
            unassigned: 0,
        }
    }

    fn run(mut self) -> Result<Vec<Piece<'a>>, SplitError> {
        let mut open: Option<OpenStatement> = None;
        while let Some(token) = self.lexer.next() {
            let token = token.map_err(|e| self.lex_error(e))?;
            match token.kind {
                kind if kind.is_trivia() => {}
                TokenKind::Backslash => return Err(self.meta_command(token.start)),
                // `;;`: an empty statement, which stays in the gap.
                TokenKind::Semicolon if open.is_none() => {}
                _ => {
                    let statement = open.get_or_insert_with(|| OpenStatement::new(token.start));
                    match statement.feed(&token, self.src) {
                        Feed::Continue => {}
                        Feed::End => {
                            self.push_statement(statement.start, token.end, token.end, None);
                            open = None;
                        }
                        Feed::EndBeforeCopyData => {
                            let start = statement.start;
                            let data = self.copy_data(start)?;
                            // The statement runs through the closing `\.`.
                            self.push_statement(start, token.end, data.end + 2, Some(data));
                            open = None;
                        }
                    }
                }
            }
        }
        if let Some(statement) = open {
            self.finish_at_end_of_input(&statement)?;
        }
        self.push_gap(self.src.len());
        Ok(self.pieces)
    }

    /// A statement with no `;` at the end of the file is still a statement, unless the input
    /// ended inside one of its constructs.
    fn finish_at_end_of_input(&mut self, statement: &OpenStatement) -> Result<(), SplitError> {
        match statement.shape {
            Shape::Routine(Body::Inside { begin, .. }) => {
                Err(self.unterminated(Construct::AtomicBody, begin))
            }
            _ if statement.parens.depth > 0 => {
                let (line, column) = self.lines.locate(statement.parens.outermost);
                Err(SplitError::UnclosedParenthesis { line, column })
            }
            Shape::Copy(CopySource::Stdin) => {
                Err(self.unterminated(Construct::CopyData, statement.start))
            }
            _ => {
                self.push_statement(statement.start, statement.end, statement.end, None);
                Ok(())
            }
        }
    }

    /// Reads the data of the `COPY … FROM stdin` starting at `copy_start`, whose `;` the lexer
    /// has just passed, and leaves the lexer after the closing `\.`. Returns the data's range.
    ///
    /// psql sends the statement at its `;` and then reads data from the next line of the
    /// file, so the rest of the `;` line may only hold whitespace and comments: anything else
    /// would run after the data, out of file order.
    fn copy_data(&mut self, copy_start: usize) -> Result<Range<usize>, SplitError> {
        let data_start = self.end_of_copy_line(copy_start)?;
        let Some(terminator) = find_copy_terminator(self.src, data_start) else {
            return Err(self.unterminated(Construct::CopyData, copy_start));
        };
        self.lexer.resume_at(terminator + 2);
        Ok(data_start..terminator)
    }

    /// Start of the line after the `COPY` statement's `;`.
    fn end_of_copy_line(&mut self, copy_start: usize) -> Result<usize, SplitError> {
        while let Some(token) = self.lexer.next() {
            let token = token.map_err(|e| self.lex_error(e))?;
            let text = token.text(self.src);
            match token.kind {
                TokenKind::Whitespace => {
                    if let Some(i) = text.find('\n') {
                        return Ok(token.start + i + 1);
                    }
                }
                TokenKind::LineComment => {}
                TokenKind::BlockComment if !text.contains('\n') => {}
                _ => {
                    let (line, column) = self.lines.locate(token.start);
                    return Err(SplitError::TextAfterCopy { line, column });
                }
            }
        }
        Err(self.unterminated(Construct::CopyData, copy_start))
    }

    fn push_statement(
        &mut self,
        start: usize,
        sql_end: usize,
        end: usize,
        copy_data: Option<Range<usize>>,
    ) {
        self.push_gap(start);
        // All offsets here are token boundaries or follow the ASCII `\.`: char boundaries.
        let statement = Statement {
            text: &self.src[start..end],
            start,
            sql_len: sql_end - start,
            copy_data: copy_data.map(|range| &self.src[range]),
            start_line: self.lines.line_of(start),
            // A statement holds at least one token, so `end > start`.
            end_line: self.lines.line_of(end - 1),
        };
        self.pieces.push(Piece::Statement(statement));
        self.unassigned = end;
    }

    fn push_gap(&mut self, until: usize) {
        if self.unassigned < until {
            let range = self.unassigned..until;
            self.pieces.push(Piece::Gap {
                text: &self.src[range.clone()],
                range,
            });
            self.unassigned = until;
        }
    }

    fn lex_error(&self, error: LexError) -> SplitError {
        self.unterminated(error.construct, error.start)
    }

    fn unterminated(&self, construct: Construct, start: usize) -> SplitError {
        let (line, column) = self.lines.locate(start);
        SplitError::Unterminated {
            construct,
            line,
            column,
        }
    }

    /// The backslash at `at` starts a psql meta-command: name it as psql would read it, a
    /// backslash and a word (`\gexec`) or a backslash and one other character (`\!`).
    fn meta_command(&self, at: usize) -> SplitError {
        let rest = &self.src[at + 1..];
        let name_len = match rest.chars().next() {
            Some(c) if c.is_ascii_alphabetic() => rest
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap_or(rest.len()),
            Some(c) if !c.is_whitespace() => c.len_utf8(),
            _ => 0,
        };
        let (line, column) = self.lines.locate(at);
        SplitError::MetaCommand {
            command: format!("\\{}", &rest[..name_len]),
            line,
            column,
        }
    }
}

/// What one token did to the statement being read.
enum Feed {
    Continue,
    End,
    /// The `;` of `COPY … FROM stdin`: the data follows.
    EndBeforeCopyData,
}

/// A statement whose first token has been read and whose end has not.
struct OpenStatement {
    start: usize,
    /// End of the last token so far: the statement's end if the file ends without a `;`.
    end: usize,
    parens: Parens,
    shape: Shape,
}

#[derive(Default)]
struct Parens {
    depth: usize,
    /// Where the outermost parenthesis still open was opened.
    outermost: usize,
}

/// What the statement's leading keywords say about where it may end. Only two kinds of
/// statement need more than "the first `;` outside parentheses".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Before the first token.
    Start,
    /// `CREATE`, maybe `OR REPLACE`: could still be a routine.
    Create,
    /// `CREATE [OR REPLACE] FUNCTION | PROCEDURE`.
    Routine(Body),
    /// `COPY`.
    Copy(CopySource),
    /// Anything else.
    Plain,
}

/// Where a routine is relative to a `BEGIN ATOMIC … END` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Before,
    /// Just after `BEGIN` at `begin`, outside parentheses (where `begin` could be a parameter
    /// name).
    AfterBegin {
        begin: usize,
    },
    /// Inside the body; `depth` counts the `END`s still due (the body's and open `CASE`s').
    Inside {
        depth: usize,
        begin: usize,
    },
    After,
}

/// What a `COPY` reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CopySource {
    Unknown,
    /// Just after `FROM`, outside parentheses (`COPY (SELECT … FROM t) TO …` does not count).
    AfterFrom,
    Stdin,
}

impl OpenStatement {
    fn new(start: usize) -> Self {
        OpenStatement {
            start,
            end: start,
            parens: Parens::default(),
            shape: Shape::Start,
        }
    }

    fn feed(&mut self, token: &Token, src: &str) -> Feed {
        self.end = token.end;
        match token.kind {
            TokenKind::OpenParen => {
                if self.parens.depth == 0 {
                    self.parens.outermost = token.start;
                }
                self.parens.depth += 1;
            }
            // An unbalanced `)` is the server's error to report; psql ignores it too.
            TokenKind::CloseParen => self.parens.depth = self.parens.depth.saturating_sub(1),
            _ => {}
        }
        self.shape = self.shape.next(token, src, self.parens.depth);
        let in_body = matches!(self.shape, Shape::Routine(Body::Inside { .. }));
        if token.kind != TokenKind::Semicolon || self.parens.depth > 0 || in_body {
            Feed::Continue
        } else if self.shape == Shape::Copy(CopySource::Stdin) {
            Feed::EndBeforeCopyData
        } else {
            Feed::End
        }
    }
}

impl Shape {
    fn next(self, token: &Token, src: &str, paren_depth: usize) -> Shape {
        let is = |keyword| token.is_keyword(src, keyword);
        match self {
            Shape::Start if is("CREATE") => Shape::Create,
            Shape::Start if is("COPY") => Shape::Copy(CopySource::Unknown),
            Shape::Start => Shape::Plain,
            Shape::Create if is("OR") || is("REPLACE") => Shape::Create,
            Shape::Create if is("FUNCTION") || is("PROCEDURE") => Shape::Routine(Body::Before),
            Shape::Create => Shape::Plain,
            Shape::Routine(body) => Shape::Routine(body.next(token, src, paren_depth)),
            Shape::Copy(source) => Shape::Copy(source.next(token, src, paren_depth)),
            Shape::Plain => Shape::Plain,
        }
    }
}

impl Body {
    fn next(self, token: &Token, src: &str, paren_depth: usize) -> Body {
        let is = |keyword| token.is_keyword(src, keyword);
        match self {
            Body::AfterBegin { begin } if is("ATOMIC") => Body::Inside { depth: 1, begin },
            Body::Before | Body::AfterBegin { .. } if paren_depth == 0 && is("BEGIN") => {
                Body::AfterBegin { begin: token.start }
            }
            Body::Before | Body::AfterBegin { .. } => Body::Before,
            // `CASE … END` nests inside the body; nothing else in SQL ends with `END`.
            Body::Inside { depth, begin } if is("CASE") => Body::Inside {
                depth: depth + 1,
                begin,
            },
            Body::Inside { depth, begin } if is("END") => match depth {
                0 | 1 => Body::After,
                _ => Body::Inside {
                    depth: depth - 1,
                    begin,
                },
            },
            other => other,
        }
    }
}

impl CopySource {
    fn next(self, token: &Token, src: &str, paren_depth: usize) -> CopySource {
        match self {
            CopySource::Stdin => CopySource::Stdin,
            _ if paren_depth > 0 => self,
            _ if token.is_keyword(src, "FROM") => CopySource::AfterFrom,
            CopySource::AfterFrom if token.is_keyword(src, "STDIN") => CopySource::Stdin,
            _ => CopySource::Unknown,
        }
    }
}

/// Offset of the line `\.` that ends `COPY` data starting at `from` (a line start). psql
/// accepts exactly `\.` followed by LF, CRLF or the end of the file.
fn find_copy_terminator(src: &str, from: usize) -> Option<usize> {
    let mut line_start = from;
    loop {
        let rest = src.get(line_start..)?;
        let (line, next_start) = match rest.find('\n') {
            Some(i) => (&rest[..i], Some(line_start + i + 1)),
            None => (rest, None),
        };
        if line.strip_suffix('\r').unwrap_or(line) == "\\." {
            return Some(line_start);
        }
        line_start = next_start?;
    }
}

/// Byte offsets to 1-based lines and columns.
struct LineIndex<'a> {
    src: &'a str,
    /// Offset of the first byte of each line.
    line_starts: Vec<usize>,
    /// Length of a byte-order mark, which does not count as a column.
    bom: usize,
}

impl<'a> LineIndex<'a> {
    fn new(src: &'a str, bom: usize) -> Self {
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex {
            src,
            line_starts,
            bom,
        }
    }

    /// Line of the byte at `offset`.
    fn line_of(&self, offset: usize) -> usize {
        // `line_starts[0] == 0 <= offset`, so this is at least 1.
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// Line and column (in characters) of the character starting at `offset`.
    fn locate(&self, offset: usize) -> (usize, usize) {
        let line = self.line_of(offset);
        let line_start = self
            .line_starts
            .get(line.saturating_sub(1))
            .map_or(0, |&start| start.max(self.bom));
        let column = self
            .src
            .get(line_start..offset)
            .map_or(1, |before| before.chars().count() + 1);
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql)
            .expect("splits")
            .iter()
            .map(Statement::text)
            .collect()
    }

    fn lines(sql: &str) -> Vec<(usize, usize)> {
        split(sql)
            .expect("splits")
            .iter()
            .map(|s| (s.start_line(), s.end_line()))
            .collect()
    }

    fn error(sql: &str) -> SplitError {
        split(sql).expect_err("does not split")
    }

    fn unterminated(construct: Construct, line: usize, column: usize) -> SplitError {
        SplitError::Unterminated {
            construct,
            line,
            column,
        }
    }

    // --- plain statements -------------------------------------------------------------

    #[test]
    fn splits_at_semicolons() {
        assert_eq!(
            texts("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n"),
            vec!["CREATE TABLE t (id int);", "INSERT INTO t VALUES (1);"]
        );
    }

    #[test]
    fn final_statement_without_semicolon() {
        assert_eq!(
            texts("SELECT 1;\nSELECT 2 -- last\n\n"),
            vec!["SELECT 1;", "SELECT 2"]
        );
    }

    #[test]
    fn empty_input_and_whitespace_only() {
        assert!(texts("").is_empty());
        assert!(texts(" \n\t\r\n").is_empty());
    }

    #[test]
    fn empty_statements_are_skipped_but_kept_in_pieces() {
        let sql = ";;SELECT 1;; ;\n";
        assert_eq!(texts(sql), vec!["SELECT 1;"]);
        let pieces = pieces(sql).unwrap();
        let gaps: Vec<&str> = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Gap { .. }))
            .map(Piece::text)
            .collect();
        assert_eq!(gaps, vec![";;", "; ;\n"]);
    }

    #[test]
    fn comment_only_tail_is_not_a_statement() {
        let sql = "SELECT 1;\n-- the end\n/* really */\n";
        assert_eq!(texts(sql), vec!["SELECT 1;"]);
        assert_eq!(pieces(sql).unwrap().len(), 2);
    }

    #[test]
    fn comment_only_file_has_no_statements() {
        assert!(texts("-- nothing\n/* at ; all */").is_empty());
    }

    #[test]
    fn comments_inside_a_statement_stay_in_it() {
        assert_eq!(
            texts("-- before\nSELECT /* ; */ 1 -- ;\n;"),
            vec!["SELECT /* ; */ 1 -- ;\n;"]
        );
    }

    #[test]
    fn pieces_tile_the_input_and_alternate() {
        let sql = "\n-- a\nSELECT 1; /* b */ SELECT 2;\n";
        let pieces = pieces(sql).unwrap();
        let kinds: Vec<bool> = pieces
            .iter()
            .map(|p| matches!(p, Piece::Statement(_)))
            .collect();
        assert_eq!(kinds, vec![false, true, false, true, false]);
        assert_eq!(pieces.iter().map(Piece::text).collect::<String>(), sql);
        for piece in &pieces {
            assert_eq!(&sql[piece.range()], piece.text());
        }
    }

    #[test]
    fn statement_range_and_sql() {
        let sql = "  SELECT 1;";
        let statement = &split(sql).unwrap()[0];
        assert_eq!(statement.range(), 2..11);
        assert_eq!(statement.sql(), "SELECT 1;");
        assert_eq!(statement.copy_data(), None);
    }

    #[test]
    fn semicolons_inside_parentheses_do_not_split() {
        let rule = "CREATE RULE r AS ON INSERT TO t DO ALSO \
                    (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));";
        assert_eq!(
            texts(&format!("{rule}\nSELECT 1;")),
            vec![rule, "SELECT 1;"]
        );
    }

    #[test]
    fn unbalanced_close_parenthesis_does_not_swallow_the_file() {
        assert_eq!(
            texts("SELECT 1);\nSELECT 2;"),
            vec!["SELECT 1);", "SELECT 2;"]
        );
    }

    // --- quoting ----------------------------------------------------------------------

    #[test]
    fn semicolon_inside_a_string() {
        assert_eq!(
            texts("SELECT 'a;b', 'it''s; ok';SELECT 2;"),
            vec!["SELECT 'a;b', 'it''s; ok';", "SELECT 2;"]
        );
    }

    #[test]
    fn backslash_does_not_escape_in_a_standard_string() {
        assert_eq!(
            texts(r"SELECT '\';SELECT 2;"),
            vec![r"SELECT '\';", "SELECT 2;"]
        );
    }

    #[test]
    fn backslash_escapes_in_an_escape_string() {
        assert_eq!(
            texts(r"SELECT E'\';';SELECT 2;"),
            vec![r"SELECT E'\';';", "SELECT 2;"]
        );
        assert_eq!(texts(r"SELECT e'\\';SELECT 2;").len(), 2);
    }

    #[test]
    fn unicode_string_reads_like_a_standard_string() {
        assert_eq!(
            texts(r"SELECT U&'\0041;\';SELECT 2;"),
            vec![r"SELECT U&'\0041;\';", "SELECT 2;"]
        );
    }

    #[test]
    fn semicolon_inside_a_quoted_identifier() {
        assert_eq!(
            texts(r#"CREATE TABLE "a;""b" (x int);SELECT 2;"#),
            vec![r#"CREATE TABLE "a;""b" (x int);"#, "SELECT 2;"]
        );
    }

    #[test]
    fn nested_block_comment() {
        assert_eq!(
            texts("SELECT 1 /* a /* ; */ still; */;SELECT 2;"),
            vec!["SELECT 1 /* a /* ; */ still; */;", "SELECT 2;"]
        );
    }

    #[test]
    fn line_comment_hides_a_semicolon() {
        assert_eq!(texts("SELECT 1 -- ;\n+ 1;"), vec!["SELECT 1 -- ;\n+ 1;"]);
    }

    #[test]
    fn dollar_quoted_function_body() {
        let function =
            "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;";
        assert_eq!(
            texts(&format!("{function}\nSELECT f();")),
            vec![function, "SELECT f();"]
        );
    }

    #[test]
    fn dollar_quote_closes_only_on_its_own_tag() {
        let sql = "DO $outer$ BEGIN EXECUTE $$SELECT 1;$$; END; $x$ ; $outer$;SELECT 2;";
        assert_eq!(texts(sql).len(), 2);
    }

    #[test]
    fn parameter_is_not_a_dollar_quote() {
        assert_eq!(
            texts("PREPARE p AS SELECT $1;EXECUTE p(1);"),
            vec!["PREPARE p AS SELECT $1;", "EXECUTE p(1);"]
        );
    }

    #[test]
    fn dollar_inside_identifier_is_not_a_quote() {
        assert_eq!(
            texts("SELECT a$$b;SELECT 2;"),
            vec!["SELECT a$$b;", "SELECT 2;"]
        );
    }

    // --- BEGIN ATOMIC -----------------------------------------------------------------

    #[test]
    fn begin_atomic_body_is_one_statement() {
        let function = "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;";
        assert_eq!(
            texts(&format!("{function}\nSELECT 3;")),
            vec![function, "SELECT 3;"]
        );
    }

    #[test]
    fn begin_atomic_with_case_inside() {
        let function = "CREATE OR REPLACE FUNCTION f(x int) RETURNS text\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 'pos' ELSE CASE WHEN x < 0 THEN 'neg' END END;\n  SELECT (CASE x WHEN 0 THEN 'zero' END);\nEND;";
        assert_eq!(
            texts(&format!("{function}\nSELECT 1;")),
            vec![function, "SELECT 1;"]
        );
    }

    #[test]
    fn begin_atomic_in_a_procedure_with_comments_between_keywords() {
        let procedure = "create procedure p() begin /* ; */ atomic insert into t values (1); end;";
        assert_eq!(
            texts(&format!("{procedure}call p();")),
            vec![procedure, "call p();"]
        );
    }

    #[test]
    fn begin_as_a_parameter_name_opens_no_body() {
        // Inside parentheses `begin atomic` is a parameter named begin of type atomic.
        assert_eq!(
            texts("CREATE FUNCTION f(begin atomic) RETURNS int RETURN 1;SELECT 2;").len(),
            2
        );
    }

    #[test]
    fn transaction_begin_is_not_a_body() {
        assert_eq!(
            texts("BEGIN;\nCREATE TABLE t (x int);\nCOMMIT;"),
            vec!["BEGIN;", "CREATE TABLE t (x int);", "COMMIT;"]
        );
        assert_eq!(texts("BEGIN ATOMIC; SELECT 1;").len(), 2);
    }

    #[test]
    fn body_keywords_in_strings_do_not_count() {
        let function = "CREATE FUNCTION f() RETURNS text BEGIN ATOMIC SELECT 'END;'; SELECT \"case\" FROM t; END;";
        assert_eq!(
            texts(&format!("{function}SELECT 1;")),
            vec![function, "SELECT 1;"]
        );
    }

    // --- COPY FROM stdin --------------------------------------------------------------

    #[test]
    fn copy_data_belongs_to_the_copy_statement() {
        let sql = "COPY t (a, b) FROM stdin;\n1\t'x;\n2\t\\N\n\\.\nSELECT 1;\n";
        let statements = split(sql).unwrap();
        assert_eq!(statements.len(), 2);
        let copy = &statements[0];
        assert_eq!(
            copy.text(),
            "COPY t (a, b) FROM stdin;\n1\t'x;\n2\t\\N\n\\."
        );
        assert_eq!(copy.sql(), "COPY t (a, b) FROM stdin;");
        assert_eq!(copy.copy_data(), Some("1\t'x;\n2\t\\N\n"));
        assert_eq!((copy.start_line(), copy.end_line()), (1, 4));
        assert_eq!(statements[1].text(), "SELECT 1;");
        assert_eq!(statements[1].start_line(), 5);
    }

    #[test]
    fn copy_with_options_and_empty_data() {
        let sql = "copy t from STDIN with (format csv);\n\\.\n";
        let copy = &split(sql).unwrap()[0];
        assert_eq!(copy.copy_data(), Some(""));
        assert_eq!(copy.text(), "copy t from STDIN with (format csv);\n\\.");
    }

    #[test]
    fn copy_with_crlf_line_endings() {
        let sql = "COPY t FROM stdin;\r\n1\r\n\\.\r\nSELECT 1;\r\n";
        let statements = split(sql).unwrap();
        assert_eq!(statements[0].copy_data(), Some("1\r\n"));
        assert_eq!(statements[0].end_line(), 3);
        assert_eq!(statements[1].text(), "SELECT 1;");
        assert_eq!(statements[1].start_line(), 4);
    }

    #[test]
    fn copy_terminator_at_end_of_file() {
        let copy = &split("COPY t FROM stdin;\n1\n\\.").unwrap()[0];
        assert_eq!(copy.copy_data(), Some("1\n"));
        assert!(copy.text().ends_with("\\."));
    }

    #[test]
    fn copy_line_may_end_with_a_comment() {
        let sql = "COPY t FROM stdin; -- load ; it\n1\n\\.\n";
        let copy = &split(sql).unwrap()[0];
        assert_eq!(copy.sql(), "COPY t FROM stdin;");
        assert_eq!(copy.copy_data(), Some("1\n"));
    }

    #[test]
    fn terminator_must_be_alone_on_its_line() {
        let sql = "COPY t FROM stdin;\n \\.\nx\\.\n\\.\n";
        assert_eq!(split(sql).unwrap()[0].copy_data(), Some(" \\.\nx\\.\n"));
    }

    #[test]
    fn copy_from_a_file_or_to_stdout_has_no_data() {
        assert_eq!(
            texts("COPY t FROM '/tmp/x';\nCOPY (SELECT a FROM stdin) TO STDOUT;\nSELECT 1;").len(),
            3
        );
    }

    #[test]
    fn text_after_copy_on_the_same_line() {
        assert_eq!(
            error("COPY t FROM stdin; SELECT 1;\n1\n\\.\n"),
            SplitError::TextAfterCopy {
                line: 1,
                column: 20
            }
        );
    }

    // --- line numbers -----------------------------------------------------------------

    #[test]
    fn start_line_skips_comments_and_blank_lines() {
        let sql = "-- header\n\n/* block\n comment */\n\n  SELECT 1;";
        assert_eq!(lines(sql), vec![(6, 6)]);
    }

    #[test]
    fn multi_line_string_sets_the_end_line() {
        let sql = "SELECT 'a\nb\nc';\nSELECT 2;";
        assert_eq!(lines(sql), vec![(1, 3), (4, 4)]);
    }

    #[test]
    fn several_statements_on_one_line() {
        assert_eq!(
            lines("SELECT 1; SELECT 2;\nSELECT 3;"),
            vec![(1, 1), (1, 1), (2, 2)]
        );
    }

    #[test]
    fn crlf_line_numbers() {
        assert_eq!(
            lines("SELECT 1;\r\n\r\nSELECT\r\n  2;\r\n"),
            vec![(1, 1), (3, 4)]
        );
    }

    #[test]
    fn byte_order_mark_is_kept_but_not_counted() {
        let sql = "\u{feff}SELECT 1;";
        let pieces = pieces(sql).unwrap();
        assert_eq!(pieces[0].text(), "\u{feff}");
        assert_eq!(pieces[1].text(), "SELECT 1;");
        assert_eq!(lines(sql), vec![(1, 1)]);
        assert_eq!(error("\u{feff}'x"), unterminated(Construct::String, 1, 1));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(
            error("SELECT 'é', 'ü"),
            unterminated(Construct::String, 1, 13)
        );
    }

    // --- errors -----------------------------------------------------------------------

    #[test]
    fn unterminated_string() {
        assert_eq!(
            error("SELECT 1;\nSELECT 'abc;\nSELECT 2;"),
            unterminated(Construct::String, 2, 8)
        );
    }

    #[test]
    fn unterminated_escape_string() {
        assert_eq!(
            error("SELECT E'\\';"),
            unterminated(Construct::EscapeString, 1, 8)
        );
    }

    #[test]
    fn unterminated_quoted_identifier() {
        assert_eq!(
            error("\nSELECT \"col;"),
            unterminated(Construct::QuotedIdentifier, 2, 8)
        );
    }

    #[test]
    fn unterminated_dollar_quote_names_its_tag() {
        let err = error("SELECT 1;\nDO $body$ BEGIN END $$;");
        assert_eq!(
            err,
            unterminated(
                Construct::DollarQuote {
                    tag: "$body$".to_string()
                },
                2,
                4
            )
        );
        assert_eq!(
            err.to_string(),
            "unterminated dollar-quoted string $body$ starting at line 2, column 4"
        );
    }

    #[test]
    fn unterminated_block_comment() {
        assert_eq!(
            error("SELECT 1;\n/* a /* b */\nSELECT 2;"),
            unterminated(Construct::BlockComment, 2, 1)
        );
    }

    #[test]
    fn unterminated_atomic_body() {
        assert_eq!(
            error("CREATE FUNCTION f() RETURNS int\nBEGIN ATOMIC\nSELECT 1;\n"),
            unterminated(Construct::AtomicBody, 2, 1)
        );
    }

    #[test]
    fn unterminated_copy_data() {
        assert_eq!(
            error("SELECT 1;\nCOPY t FROM stdin;\n1\n2\n"),
            unterminated(Construct::CopyData, 2, 1)
        );
        assert_eq!(
            error("COPY t FROM stdin;"),
            unterminated(Construct::CopyData, 1, 1)
        );
        assert_eq!(
            error("COPY t FROM stdin"),
            unterminated(Construct::CopyData, 1, 1)
        );
    }

    #[test]
    fn unclosed_parenthesis() {
        assert_eq!(
            error("SELECT 1;\nSELECT (1, (2);\nSELECT 3;"),
            SplitError::UnclosedParenthesis { line: 2, column: 8 }
        );
    }

    #[test]
    fn meta_command_at_line_start() {
        let err = error("SELECT 1;\n  \\i other.sql\n");
        assert_eq!(
            err,
            SplitError::MetaCommand {
                command: "\\i".to_string(),
                line: 2,
                column: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "psql meta-command `\\i` at line 2, column 3"
        );
        assert!(err.hint().contains("not psql scripts"));
    }

    #[test]
    fn meta_command_after_a_query() {
        let err = error("SELECT format('VACUUM %I', t) FROM ts \\gexec\n");
        assert!(
            matches!(err, SplitError::MetaCommand { ref command, line: 1, .. } if command == "\\gexec")
        );
        let err = error("\\set ON_ERROR_STOP on\n");
        assert!(matches!(err, SplitError::MetaCommand { ref command, .. } if command == "\\set"));
        let err = error("\\! ls");
        assert!(matches!(err, SplitError::MetaCommand { ref command, .. } if command == "\\!"));
        let err = error("SELECT 1 \\");
        assert!(matches!(err, SplitError::MetaCommand { ref command, .. } if command == "\\"));
    }

    #[test]
    fn backslashes_in_strings_comments_and_data_are_not_meta_commands() {
        let sql =
            "SELECT '\\i', E'\\\\', $$\\x$$; -- \\i\n/* \\set */\nCOPY t FROM stdin;\n\\N\n\\.\n";
        assert_eq!(texts(sql).len(), 2);
    }

    #[test]
    fn messages_are_lowercase_without_trailing_period_and_have_hints() {
        let errors = [
            error("'"),
            error("E'"),
            error("\""),
            error("$a$"),
            error("/*"),
            error("CREATE FUNCTION f() BEGIN ATOMIC"),
            error("COPY t FROM stdin;\n"),
            error("("),
            error("\\i x"),
            error("COPY t FROM stdin; x\n\\.\n"),
        ];
        for err in errors {
            let message = err.to_string();
            assert!(
                message.starts_with(|c: char| c.is_lowercase() || c == '`'),
                "{message}"
            );
            assert!(!message.ends_with('.'), "{message}");
            assert!(!err.hint().is_empty());
            assert!(err.line() >= 1 && err.column() >= 1);
        }
    }

    // --- properties -------------------------------------------------------------------

    /// Fragments that open, close and confuse every construct the splitter knows.
    fn fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "'",
            "''",
            "\"",
            "$$",
            "$a$",
            "$1",
            "$",
            "--",
            "/*",
            "*/",
            ";",
            "\n",
            "\r\n",
            "\r",
            " ",
            "(",
            ")",
            "E'\\'",
            "e",
            "U&'",
            "\\",
            "\\.",
            "BEGIN ATOMIC",
            "BEGIN",
            "END",
            "CASE",
            "CREATE FUNCTION f() ",
            "COPY x FROM stdin;\n1\n\\.\n",
            "COPY x FROM stdin;",
            "SELECT ",
            "a",
            "x",
            "é",
            "\u{feff}",
        ])
    }

    /// The properties every split must have, whatever the input.
    fn check_invariants(sql: &str) {
        let line_count = sql.matches('\n').count() + 1;
        match pieces(sql) {
            Ok(pieces) => {
                assert_eq!(pieces.iter().map(Piece::text).collect::<String>(), sql);
                let mut offset = 0;
                let mut previous_line = 1;
                for piece in &pieces {
                    assert_eq!(piece.range().start, offset);
                    assert!(!piece.text().is_empty());
                    offset = piece.range().end;
                    if let Piece::Statement(statement) = piece {
                        assert_eq!(&sql[statement.range()], statement.text());
                        assert!(statement.text().starts_with(statement.sql()));
                        assert!(statement.start_line() >= previous_line);
                        assert!(statement.start_line() <= statement.end_line());
                        assert!(statement.end_line() <= line_count);
                        previous_line = statement.start_line();
                    }
                }
            }
            Err(err) => {
                assert!((1..=line_count).contains(&err.line()), "{err}");
                assert!(err.column() >= 1);
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(sql in any::<String>()) {
            check_invariants(&sql);
        }

        #[test]
        fn sql_like_text_never_panics(parts in prop::collection::vec(fragment(), 0..40)) {
            check_invariants(&parts.concat());
        }

        #[test]
        fn well_formed_statements_split_back(
            items in prop::collection::vec((0..WELL_FORMED.len(), 0..SEPARATORS.len()), 0..12)
        ) {
            let mut sql = String::new();
            let mut expected = Vec::new();
            for (statement, separator) in items {
                sql.push_str(WELL_FORMED[statement]);
                sql.push_str(SEPARATORS[separator]);
                expected.push(WELL_FORMED[statement].trim_end());
            }
            prop_assert_eq!(texts(&sql), expected);
        }
    }

    /// Statements with their terminators, each exercising a construct.
    const WELL_FORMED: &[&str] = &[
        "SELECT 1;",
        "SELECT 'a;b''c';",
        "SELECT E'\\';';",
        "SELECT \"x;\"\"y\";",
        "SELECT $$;$$, $a$ $$ ; $a$;",
        "SELECT 1 /* ; /* ; */ ; */;",
        "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END;",
        "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);",
        "COPY t FROM stdin;\n1\t;'\n\\.\n",
        "SELECT $1;",
    ];

    const SEPARATORS: &[&str] = &[" ", "\n", "\r\n", "\n\n-- note ;\n", "/* ; */", ";", ""];
}
