//! pg_dump's custom archive format, read front to back: the head (header and table of
//! contents) and the tables' data blocks.
//!
//! The parallel restore uses it to stream every table's COPY rows from the decompressed
//! archive straight to its connections, instead of through a `pg_restore --file=-` process and
//! a pipe (that hop cost 0.75 s of a 7.4 s restore of a 600 MB database on 2 CPUs), and hands
//! pg_restore a file holding only the head for everything else: it needs no data to create
//! the schema, the indexes and the constraints. Archives this reader does not fully understand
//! (another format version, data blocks compressed by pg_dump, large objects) are left to
//! pg_restore whole, as before; see [`Head::read`].
//!
//! The format, as pg_dump writes it (`pg_backup_archiver.c`, `pg_backup_custom.c`): integers
//! are a sign byte and `int_size` little-endian bytes; strings an integer length (negative for
//! NULL) and the bytes; a table's data block is a type byte, the entry's id, then chunks (an
//! integer length and the bytes; with compression off, one chunk per row) up to a zero length.

use std::collections::HashMap;
use std::io::{self, Read};

/// Archive versions this reader knows: 1.14 (pg_dump 12–15), 1.15 (16) and 1.16 (17, 18).
/// 1.12 and 1.13 (9.6–11) share 1.14's layout but for the table access method.
const OLDEST: (u8, u8) = (1, 12);
const NEWEST: (u8, u8) = (1, 16);

/// `archCustom` in the header's format byte.
const FORMAT_CUSTOM: u8 = 1;
/// Data block types.
const BLOCK_DATA: u8 = 1;

/// One table of contents entry, as much of it as the restore needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    /// Has a data block (table data, large objects).
    pub has_data: bool,
    pub desc: String,
    /// For table data: `COPY schema.table (columns) FROM stdin;` and its newline.
    pub copy: Option<String>,
}

impl Entry {
    pub fn is_table_data(&self) -> bool {
        self.desc == "TABLE DATA"
    }
}

/// The head of a custom archive: its bytes (what pg_restore needs to restore everything but
/// the data) and the entries they list.
#[derive(Debug)]
pub struct Head {
    pub bytes: Vec<u8>,
    pub entries: Vec<Entry>,
    int_size: usize,
}

/// Why an archive is left to pg_restore, or why reading it failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Damaged(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads from a decompressed archive through a buffer of its own, counting what it consumed;
/// optionally keeps a copy of every byte (the head).
struct Source<R> {
    input: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    kept: Option<Vec<u8>>,
    int_size: usize,
}

impl<R: Read> Source<R> {
    fn new(input: R) -> Self {
        Source {
            input,
            buf: vec![0; 1 << 20],
            pos: 0,
            len: 0,
            kept: None,
            int_size: 4,
        }
    }

    /// Refills the buffer; false at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.len {
            return Ok(true);
        }
        loop {
            match self.input.read(&mut self.buf) {
                Ok(n) => {
                    self.pos = 0;
                    self.len = n;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next byte, or `None` at the end of the input.
    fn next_byte(&mut self) -> Result<Option<u8>, ArchiveError> {
        if !self.fill()? {
            return Ok(None);
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        if let Some(kept) = &mut self.kept {
            kept.push(b);
        }
        Ok(Some(b))
    }

    fn byte(&mut self) -> Result<u8, ArchiveError> {
        self.next_byte()?.ok_or_else(cut)
    }

    /// Appends the next `n` bytes to `out`.
    fn bytes_into(&mut self, mut n: usize, out: &mut Vec<u8>) -> Result<(), ArchiveError> {
        while n > 0 {
            if !self.fill()? {
                return Err(cut());
            }
            let take = n.min(self.len - self.pos);
            let chunk = &self.buf[self.pos..self.pos + take];
            out.extend_from_slice(chunk);
            if let Some(kept) = &mut self.kept {
                kept.extend_from_slice(chunk);
            }
            self.pos += take;
            n -= take;
        }
        Ok(())
    }

    fn int(&mut self) -> Result<i64, ArchiveError> {
        let negative = self.byte()? != 0;
        let mut value: i64 = 0;
        for i in 0..self.int_size {
            value |= i64::from(self.byte()?) << (8 * i);
        }
        Ok(if negative { -value } else { value })
    }

    fn string(&mut self) -> Result<Option<Vec<u8>>, ArchiveError> {
        let len = self.int()?;
        if len < 0 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| damaged("a string length out of range"))?;
        let mut out = Vec::with_capacity(len.min(1 << 20));
        self.bytes_into(len, &mut out)?;
        Ok(Some(out))
    }

    fn text(&mut self) -> Result<Option<String>, ArchiveError> {
        self.string()?
            .map(|b| {
                String::from_utf8(b)
                    .map_err(|_| ArchiveError::Unsupported("a name is not UTF-8".into()))
            })
            .transpose()
    }
}

fn cut() -> ArchiveError {
    ArchiveError::Damaged("the archive ends early".into())
}

fn damaged(what: &str) -> ArchiveError {
    ArchiveError::Damaged(format!("{what} in the archive"))
}

impl Head {
    /// Reads the head of a decompressed custom archive. `Unsupported` when the rest of the
    /// archive should go to pg_restore whole: a format version this reader does not know, data
    /// blocks compressed by pg_dump, or data other than tables' rows (large objects).
    pub fn read(input: impl Read) -> Result<Head, ArchiveError> {
        let mut src = Source::new(input);
        src.kept = Some(Vec::new());
        let mut magic = Vec::new();
        src.bytes_into(5, &mut magic)?;
        if magic != b"PGDMP" {
            return Err(ArchiveError::Unsupported(
                "not a custom-format archive".into(),
            ));
        }
        let (major, minor) = (src.byte()?, src.byte()?);
        let _revision = src.byte()?;
        if (major, minor) < OLDEST || (major, minor) > NEWEST {
            return Err(ArchiveError::Unsupported(format!(
                "archive format {major}.{minor}"
            )));
        }
        let at_least = |m: u8| minor >= m;
        src.int_size = usize::from(src.byte()?);
        let offset_size = usize::from(src.byte()?);
        if !(1..=8).contains(&src.int_size) || !(1..=8).contains(&offset_size) {
            return Err(damaged("integer sizes out of range"));
        }
        if src.byte()? != FORMAT_CUSTOM {
            return Err(ArchiveError::Unsupported(
                "not a custom-format archive".into(),
            ));
        }
        let compressed = if at_least(15) {
            src.byte()? != 0
        } else {
            src.int()? != 0
        };
        if compressed {
            return Err(ArchiveError::Unsupported(
                "pg_dump compressed the data blocks".into(),
            ));
        }
        for _ in 0..7 {
            src.int()?; // the creation time
        }
        src.string()?; // the database
        src.string()?; // the server version
        src.string()?; // pg_dump's version

        let count = src.int()?;
        let count = usize::try_from(count).map_err(|_| damaged("a negative entry count"))?;
        let mut entries = Vec::with_capacity(count.min(1 << 16));
        for _ in 0..count {
            let id = src.int()?;
            let has_data = src.int()? != 0;
            src.string()?; // the catalog's oid
            src.string()?; // the object's oid
            src.string()?; // tag
            let desc = src.text()?.unwrap_or_default();
            src.int()?; // section
            src.string()?; // definition
            src.string()?; // drop statement
            let copy = src.text()?;
            src.string()?; // schema
            src.string()?; // tablespace
            if at_least(14) {
                src.string()?; // table access method
            }
            if at_least(16) {
                src.int()?; // relkind
            }
            src.string()?; // owner
            src.string()?; // "with oids"
            while src.string()?.is_some() {} // dependencies, up to a NULL
            src.byte()?; // whether the data offset is known
            for _ in 0..offset_size {
                src.byte()?;
            }
            entries.push(Entry {
                id,
                has_data,
                desc,
                copy: copy.filter(|c| !c.is_empty()),
            });
        }
        for e in &entries {
            if e.has_data && !e.is_table_data() {
                return Err(ArchiveError::Unsupported(format!(
                    "the archive holds {} data",
                    e.desc
                )));
            }
            if e.is_table_data()
                && !e.copy.as_deref().is_some_and(|c| {
                    c.starts_with("COPY ") && c.trim_end().ends_with(" FROM stdin;")
                })
            {
                return Err(ArchiveError::Unsupported(
                    "table data not stored as COPY".into(),
                ));
            }
        }
        Ok(Head {
            bytes: src.kept.take().unwrap_or_default(),
            entries,
            int_size: src.int_size,
        })
    }

    /// The table data that follows the head in `input` (the whole decompressed archive), as
    /// the text `pg_restore --file=-` prints for it: each table's COPY statement, its rows and
    /// the end-of-data line. Checks every block belongs to a table of the head, once.
    pub fn table_rows<R: Read>(&self, input: R) -> TableRows<'_, R> {
        let mut src = Source::new(input);
        src.int_size = self.int_size;
        let unseen = self
            .entries
            .iter()
            .filter(|e| e.is_table_data())
            .map(|e| (e.id, e))
            .collect();
        TableRows {
            head: self,
            src,
            skipped: false,
            unseen,
            in_block: None,
        }
    }
}

/// See [`Head::table_rows`].
pub struct TableRows<'h, R> {
    head: &'h Head,
    src: Source<R>,
    skipped: bool,
    /// The tables whose block has not come yet, by entry id.
    unseen: HashMap<i64, &'h Entry>,
    /// Inside a table's data block, its id.
    in_block: Option<i64>,
}

impl<R: Read> TableRows<'_, R> {
    /// Fills `out` (cleared first) with the next `about` bytes or so of COPY text, whole
    /// chunks; false when the archive has no more.
    pub fn next_text(&mut self, out: &mut Vec<u8>, about: usize) -> Result<bool, ArchiveError> {
        out.clear();
        if !self.skipped {
            self.skip_head()?;
        }
        while out.len() < about {
            let Some(id) = self.in_block else {
                let Some(kind) = self.src.next_byte()? else {
                    self.check_all_seen()?;
                    return Ok(!out.is_empty());
                };
                if kind != BLOCK_DATA {
                    return Err(damaged(&format!("a data block of type {kind}")));
                }
                let id = self.src.int()?;
                let entry = self.unseen.remove(&id).ok_or_else(|| {
                    damaged(&format!(
                        "a data block for entry {id}, not a table's or not once"
                    ))
                })?;
                out.extend_from_slice(entry.copy.as_deref().unwrap_or_default().as_bytes());
                if !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                self.in_block = Some(id);
                continue;
            };
            let len = self.src.int()?;
            if len == 0 {
                self.in_block = None;
                out.push(b'\n');
                continue;
            }
            let len = usize::try_from(len)
                .map_err(|_| damaged(&format!("a negative chunk length in entry {id}")))?;
            self.src.bytes_into(len, out)?;
        }
        Ok(true)
    }

    fn skip_head(&mut self) -> Result<(), ArchiveError> {
        let mut head = Vec::with_capacity(self.head.bytes.len());
        self.src.bytes_into(self.head.bytes.len(), &mut head)?;
        if head != self.head.bytes {
            return Err(damaged("a head that changed between two reads"));
        }
        self.skipped = true;
        Ok(())
    }

    fn check_all_seen(&self) -> Result<(), ArchiveError> {
        if self.in_block.is_some() {
            return Err(cut());
        }
        let missing = self.unseen.len();
        if missing > 0 {
            return Err(ArchiveError::Damaged(format!(
                "the archive ends before the rows of {missing} table(s)"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes an archive the way pg_dump does, for the reader's edge cases; the real thing
    /// (pg_dump's own archives) is covered by the restore tests.
    struct Writer {
        out: Vec<u8>,
    }

    impl Writer {
        fn int(&mut self, v: i64) {
            self.out.push(u8::from(v < 0));
            self.out
                .extend_from_slice(&(v.unsigned_abs() as u32).to_le_bytes());
        }
        fn string(&mut self, s: Option<&str>) {
            match s {
                None => self.int(-1),
                Some(s) => {
                    self.int(s.len() as i64);
                    self.out.extend_from_slice(s.as_bytes());
                }
            }
        }
    }

    fn archive(minor: u8, tables: &[(i64, &str, &[&str])]) -> Vec<u8> {
        let mut w = Writer { out: Vec::new() };
        w.out.extend_from_slice(b"PGDMP");
        w.out.extend_from_slice(&[1, minor, 0, 4, 8, FORMAT_CUSTOM]);
        if minor >= 15 {
            w.out.push(0);
        } else {
            w.int(0);
        }
        for _ in 0..7 {
            w.int(1);
        }
        for s in ["app", "16.4", "16.4"] {
            w.string(Some(s));
        }
        w.int(1 + tables.len() as i64);
        let entry = |w: &mut Writer, id: i64, desc: &str, copy: Option<&str>, data: bool| {
            w.int(id);
            w.int(i64::from(data));
            for s in ["0", "0", "t", desc] {
                w.string(Some(s));
            }
            w.int(1);
            w.string(Some(""));
            w.string(Some(""));
            w.string(copy);
            w.string(Some("public"));
            w.string(Some(""));
            if minor >= 14 {
                w.string(Some("heap"));
            }
            if minor >= 16 {
                w.int(i64::from(b'r'));
            }
            w.string(Some("me"));
            w.string(Some("false"));
            w.string(Some("3"));
            w.string(None);
            w.out.push(if data { 1 } else { 3 });
            w.out.extend_from_slice(&[0; 8]);
        };
        entry(&mut w, 1, "TABLE", None, false);
        for (id, name, _) in tables {
            let copy = format!("COPY public.{name} (n) FROM stdin;\n");
            entry(&mut w, *id, "TABLE DATA", Some(&copy), true);
        }
        for (id, _, rows) in tables {
            w.out.push(BLOCK_DATA);
            w.int(*id);
            for row in rows.iter().chain(&["\\.\n\n\n"]) {
                w.string(Some(row));
            }
            w.int(0);
        }
        w.out
    }

    fn text_of(bytes: &[u8], about: usize) -> Result<String, ArchiveError> {
        let head = Head::read(bytes)?;
        let mut rows = head.table_rows(bytes);
        let mut all = Vec::new();
        let mut buf = Vec::new();
        while rows.next_text(&mut buf, about)? {
            all.extend_from_slice(&buf);
        }
        Ok(String::from_utf8(all).expect("utf-8"))
    }

    #[test]
    fn rows_come_out_as_pg_restore_prints_them_for_every_known_version() {
        for minor in [12, 14, 15, 16] {
            let bytes = archive(minor, &[(7, "a", &["1\n", "2\n"]), (8, "b", &[])]);
            for about in [1, 3, 1 << 20] {
                assert_eq!(
                    text_of(&bytes, about).expect("reads"),
                    "COPY public.a (n) FROM stdin;\n1\n2\n\\.\n\n\n\n\
                     COPY public.b (n) FROM stdin;\n\\.\n\n\n\n",
                    "1.{minor}, about {about}"
                );
            }
            let head = Head::read(&bytes[..]).expect("head");
            assert_eq!(head.entries.len(), 3);
            assert!(bytes.starts_with(&head.bytes));
        }
    }

    #[test]
    fn unknown_versions_and_compressed_blocks_go_to_pg_restore() {
        let mut bytes = archive(14, &[(7, "a", &["1\n"])]);
        bytes[6] = 17;
        assert!(matches!(
            Head::read(&bytes[..]),
            Err(ArchiveError::Unsupported(_))
        ));
        let mut bytes = archive(15, &[(7, "a", &["1\n"])]);
        bytes[11] = 1; // gzip
        assert!(matches!(
            Head::read(&bytes[..]),
            Err(ArchiveError::Unsupported(_))
        ));
        assert!(matches!(
            Head::read(&b"PGDMX"[..]),
            Err(ArchiveError::Unsupported(_))
        ));
    }

    #[test]
    fn a_cut_or_reordered_archive_is_damaged() {
        let bytes = archive(16, &[(7, "a", &["1\n", "2\n"]), (8, "b", &["3\n"])]);
        for end in [bytes.len() - 1, bytes.len() - 9] {
            let err = text_of(&bytes[..end], 1 << 20).expect_err("cut");
            assert!(matches!(err, ArchiveError::Damaged(_)), "{err}");
        }
        // A block for an entry that is not table data.
        let mut bad = archive(16, &[(7, "a", &["1\n"])]);
        let head = Head::read(&bad[..]).expect("head").bytes.len();
        bad[head + 2] = 1;
        let err = text_of(&bad, 1 << 20).expect_err("foreign block");
        assert!(err.to_string().contains("entry 1"), "{err}");
    }
}
