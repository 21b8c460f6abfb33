//! The data dir: its layout, an exclusive lock so two nodes never share it, and the admin token.
//!
//! ```text
//! DATA_DIR/
//!   .lock            held (flock) while a node runs
//!   admin.token      the generated admin token, mode 0600
//!   node.id          this node's cluster id (40 hex characters)
//!   meta/apps.migrated/  app records of an older data dir, kept after their move onto Raft
//!   apps/NAME/REV/   the files of each deployed app version
//!   cache/wasm/      compiled functions, keyed by content hash and engine version
//!   raft/log/        every Raft group's log (fjall): the app metadata group `meta`, the KV shards
//!   raft/snapshots/  each group's newest snapshot
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot use data dir {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("data dir {0} is in use by another cloudlet node (choose another with --data-dir)")]
    Locked(PathBuf),
    #[error("{0} exists but holds no token")]
    EmptyToken(PathBuf),
}

/// An opened, locked data dir.
pub struct DataDir {
    path: PathBuf,
    _lock: Flock<File>,
}

impl DataDir {
    /// Creates the dir (mode 0700) if needed and locks it.
    pub fn open(path: &Path) -> Result<Self, DataDirError> {
        let io_error = |source| DataDirError::Io { path: path.to_path_buf(), source };
        fs::DirBuilder::new().recursive(true).mode(0o700).create(path).map_err(io_error)?;
        let path = path.canonicalize().map_err(io_error)?;
        let lock_file =
            OpenOptions::new().create(true).truncate(false).write(true).open(path.join(".lock")).map_err(io_error)?;
        let lock =
            Flock::lock(lock_file, FlockArg::LockExclusiveNonblock).map_err(|_| DataDirError::Locked(path.clone()))?;
        for directory in [path.join("meta"), path.join("apps")] {
            fs::create_dir_all(&directory).map_err(|source| DataDirError::Io { path: directory.clone(), source })?;
        }
        Ok(Self { path, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// App records as files, from data dirs older than the metadata group; moved onto Raft (and
    /// renamed `apps.migrated`) at start.
    pub fn legacy_meta_dir(&self) -> PathBuf {
        self.path.join("meta").join("apps")
    }

    pub fn apps_dir(&self) -> PathBuf {
        self.path.join("apps")
    }

    /// The Raft storage: every group's log and snapshots.
    pub fn raft_dir(&self) -> PathBuf {
        self.path.join("raft")
    }

    /// Compiled WebAssembly, keyed by content and engine.
    pub fn wasm_cache_dir(&self) -> PathBuf {
        self.path.join("cache").join("wasm")
    }

    /// This node's 40-hex-character cluster id, generated once into `node.id`.
    pub fn node_id(&self) -> Result<String, DataDirError> {
        let file = self.path.join("node.id");
        let io_error = |source| DataDirError::Io { path: file.clone(), source };
        match fs::read_to_string(&file) {
            Ok(text) if text.trim().len() == 40 => Ok(text.trim().to_string()),
            Ok(_) | Err(_) => {
                let mut bytes = [0u8; 20];
                getrandom::fill(&mut bytes).map_err(|error| io_error(io::Error::other(error.to_string())))?;
                let id: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
                fs::write(&file, format!("{id}\n")).map_err(io_error)?;
                Ok(id)
            }
        }
    }

    pub fn token_file(&self) -> PathBuf {
        token_file(&self.path)
    }

    /// The admin token: `configured` when given, else the one in `admin.token`, else a new one
    /// written there with mode 0600.
    pub fn admin_token(&self, configured: Option<&str>) -> Result<String, DataDirError> {
        if let Some(token) = configured.map(str::trim).filter(|token| !token.is_empty()) {
            return Ok(token.to_string());
        }
        let file = self.token_file();
        match fs::read_to_string(&file) {
            Ok(text) => {
                let token = text.trim().to_string();
                if token.is_empty() { Err(DataDirError::EmptyToken(file)) } else { Ok(token) }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let io_error = |source| DataDirError::Io { path: file.clone(), source };
                let token = new_token().map_err(io_error)?;
                let mut handle =
                    OpenOptions::new().write(true).create_new(true).mode(0o600).open(&file).map_err(io_error)?;
                handle.write_all(format!("{token}\n").as_bytes()).map_err(io_error)?;
                handle.sync_all().map_err(io_error)?;
                Ok(token)
            }
            Err(source) => Err(DataDirError::Io { path: file, source }),
        }
    }
}

/// Where a data dir keeps its generated admin token.
pub fn token_file(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.token")
}

fn new_token() -> io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| io::Error::other(format!("no randomness for the admin token: {error}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn token_is_generated_once_with_mode_0600_and_reused() {
        let dir = tempfile_dir();
        let data = DataDir::open(&dir).expect("open");
        let first = data.admin_token(None).expect("token");
        assert_eq!(first.len(), 64);
        let mode = fs::metadata(data.token_file()).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(data.admin_token(None).expect("token"), first);
        assert_eq!(data.admin_token(Some("given")).expect("token"), "given");
        fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_second_node_cannot_open_a_locked_data_dir() {
        let dir = tempfile_dir();
        let _first = DataDir::open(&dir).expect("open");
        assert!(matches!(DataDir::open(&dir), Err(DataDirError::Locked(_))));
        fs::remove_dir_all(dir).ok();
    }

    fn tempfile_dir() -> PathBuf {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("random");
        std::env::temp_dir()
            .join(format!("cloudlet-test-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
    }
}
