//! Compression of the dump stream: gzip (flate2 on the zlib-rs backend), zstd (multithreaded,
//! so compression uses every core while pg_dump produces), or none.

use std::fmt;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    None,
    Gzip,
    Zstd,
}

/// A method and its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compression {
    pub method: Method,
    pub level: i32,
}

impl Default for Compression {
    /// zstd level 3: faster than gzip -1 and smaller than gzip -6 on typical dumps.
    fn default() -> Self {
        Compression {
            method: Method::Zstd,
            level: 3,
        }
    }
}

impl Compression {
    /// `gzip`, `gzip:9`, `zstd`, `zstd:19`, `none`.
    pub fn parse(text: &str) -> Result<Compression, String> {
        let (name, level) = match text.split_once(':') {
            Some((n, l)) => (n, Some(l)),
            None => (text, None),
        };
        let method = match name.trim().to_ascii_lowercase().as_str() {
            "none" => Method::None,
            "gzip" | "gz" => Method::Gzip,
            "zstd" | "zst" => Method::Zstd,
            other => {
                return Err(format!(
                    "unknown compression `{other}` (expected gzip, zstd or none, optionally with :LEVEL)"
                ))
            }
        };
        let (default, range) = match method {
            Method::None => (0, 0..=0),
            Method::Gzip => (6, 1..=9),
            Method::Zstd => (3, 1..=19),
        };
        let level = match level {
            None => default,
            Some(l) => {
                let n: i32 = l
                    .trim()
                    .parse()
                    .map_err(|_| format!("compression level `{l}` is not a number"))?;
                if !range.contains(&n) {
                    return Err(format!(
                        "{name} level must be between {} and {}",
                        range.start(),
                        range.end()
                    ));
                }
                n
            }
        };
        Ok(Compression { method, level })
    }

    /// The file name suffix (`.gz`, `.zst`, or nothing).
    pub fn extension(self) -> &'static str {
        match self.method {
            Method::None => "",
            Method::Gzip => ".gz",
            Method::Zstd => ".zst",
        }
    }

    /// Wraps `out` in a compressor using up to `threads` threads.
    pub fn encoder<W: Write + Send>(self, out: W, threads: u32) -> io::Result<Encoder<W>> {
        Ok(match self.method {
            Method::None => Encoder::None(out),
            Method::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::new(self.level as u32),
            )),
            Method::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(out, self.level)?;
                if threads > 1 {
                    e.multithread(threads)?;
                }
                Encoder::Zstd(e)
            }
        })
    }

    /// Wraps `input` in a decompressor.
    pub fn decoder<'a, R: Read + Send + 'a>(
        self,
        input: R,
    ) -> io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self.method {
            Method::None => Box::new(input),
            Method::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
                io::BufReader::with_capacity(1 << 20, input),
            )),
            Method::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
        })
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.method {
            Method::None => f.write_str("none"),
            Method::Gzip => write!(f, "gzip:{}", self.level),
            Method::Zstd => write!(f, "zstd:{}", self.level),
        }
    }
}

/// A compressing writer that gives its inner writer back when finished.
pub enum Encoder<W: Write> {
    None(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// The inner writer (to ask it why a write failed).
    pub fn get_mut(&mut self) -> &mut W {
        match self {
            Encoder::None(w) => w,
            Encoder::Gzip(e) => e.get_mut(),
            Encoder::Zstd(e) => e.get_mut(),
        }
    }

    /// Writes the trailer and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::None(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::None(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::None(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_methods_and_levels() {
        assert_eq!(Compression::parse("zstd").unwrap(), Compression::default());
        assert_eq!(
            Compression::parse("gzip:9").unwrap(),
            Compression {
                method: Method::Gzip,
                level: 9
            }
        );
        assert_eq!(Compression::parse("none").unwrap().method, Method::None);
        assert!(Compression::parse("gzip:10").is_err());
        assert!(Compression::parse("lz4").is_err());
        assert!(Compression::parse("zstd:x").is_err());
    }

    #[test]
    fn round_trips_every_method() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for text in ["none", "gzip:1", "zstd:3"] {
            let c = Compression::parse(text).unwrap();
            let mut e = c.encoder(Vec::new(), 2).unwrap();
            e.write_all(&data).unwrap();
            let packed = e.finish().unwrap();
            let mut out = Vec::new();
            c.decoder(&packed[..])
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "{text}");
        }
    }
}
