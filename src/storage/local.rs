//! A backup directory on a local (or mounted) filesystem.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{io_err, StorageError, MANIFEST};

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> LocalStore {
        LocalStore { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, id: &str, name: &str) -> PathBuf {
        self.root.join(id).join(name)
    }

    pub fn prepare(&self, id: &str) -> Result<(), StorageError> {
        let dir = self.root.join(id);
        std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))
    }

    pub fn create(&self, id: &str, name: &str) -> Result<LocalWriter, StorageError> {
        let path = self.path(id, name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        let file = File::create(&path).map_err(io_err("create", &path))?;
        Ok(LocalWriter {
            file: BufWriter::with_capacity(1 << 20, file),
            path,
            error: None,
        })
    }

    /// Writes through a temporary name and renames, so a reader never sees half a file.
    pub fn put(&self, id: &str, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path(id, name);
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            // The rename is durable only once the directory is synced.
            if let Some(dir) = path.parent() {
                File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err("write", &path)(e)
        })
    }

    pub fn get(&self, id: &str, name: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.path(id, name);
        std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StorageError::NotFound {
                    location: path.display().to_string(),
                }
            } else {
                io_err("read", &path)(e)
            }
        })
    }

    pub fn copy_to(
        &self,
        id: &str,
        name: &str,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, StorageError> {
        let path = self.path(id, name);
        let mut f = File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StorageError::NotFound {
                    location: path.display().to_string(),
                }
            } else {
                io_err("open", &path)(e)
            }
        })?;
        std::io::copy(&mut f, out).map_err(io_err("read", &path))
    }

    pub fn list(&self) -> Result<Vec<String>, StorageError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &self.root)(e)),
        };
        let mut ids = Vec::new();
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if entry.path().join(MANIFEST).is_file() {
                ids.push(name);
            }
        }
        Ok(ids)
    }

    pub fn delete(&self, id: &str) -> Result<(), StorageError> {
        let dir = self.root.join(id);
        let manifest = dir.join(MANIFEST);
        match std::fs::remove_file(&manifest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("delete", &manifest)(e)),
        }
        std::fs::remove_dir_all(&dir).map_err(io_err("delete", &dir))
    }
}

pub struct LocalWriter {
    file: BufWriter<File>,
    path: PathBuf,
    error: Option<StorageError>,
}

impl LocalWriter {
    pub fn finish(mut self) -> Result<(), StorageError> {
        self.file.flush().map_err(io_err("write", &self.path))?;
        self.file
            .get_ref()
            .sync_all()
            .map_err(io_err("sync", &self.path))
    }

    pub fn take_error(&mut self) -> Option<StorageError> {
        self.error.take()
    }
}

impl Write for LocalWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf).inspect_err(|e| {
            self.error = Some(StorageError::Io {
                action: "write",
                path: self.path.display().to_string(),
                source: e
                    .raw_os_error()
                    .map(std::io::Error::from_raw_os_error)
                    .unwrap_or_else(|| std::io::Error::new(e.kind(), e.to_string())),
            });
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
