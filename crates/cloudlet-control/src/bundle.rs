//! App bundles: what `cloudlet deploy` uploads — the manifest alone, or the app's directory as a tar
//! (optionally gzipped) with `cloudlet.toml` at its root.
//!
//! Unpacking is defensive: only regular files and directories, only relative paths that stay inside
//! the target, and hard caps on file count and unpacked bytes (so a gzip bomb stops at the cap).
//! Each file is hashed as it is written; the digests decide whether a redeploy changes anything.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// The manifest's name inside a bundle.
pub const MANIFEST: &str = "cloudlet.toml";
/// Largest manifest accepted.
const MAX_MANIFEST: u64 = 1 << 20;

/// Caps on what a bundle may unpack to.
#[derive(Clone, Copy, Debug)]
pub struct BundleLimits {
    pub max_bytes: u64,
    pub max_files: usize,
}

impl Default for BundleLimits {
    fn default() -> Self {
        Self { max_bytes: 256 << 20, max_files: 10_000 }
    }
}

/// A bundle unpacked into a directory.
#[derive(Debug)]
pub struct Unpacked {
    pub manifest: String,
    /// SHA-256 over every file, hex.
    pub digest: String,
    /// SHA-256 over every file but the manifest, hex.
    pub files_digest: String,
}

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not a valid tar archive: {0}")]
    Archive(String),
    #[error("the bundle has no {MANIFEST} at its root")]
    NoManifest,
    #[error("{MANIFEST} is not UTF-8 text")]
    ManifestNotText,
    #[error("{MANIFEST} is larger than 1MiB")]
    ManifestTooLarge,
    #[error("\"{0}\" is not allowed in a bundle: only plain files and directories with relative paths are")]
    BadEntry(String),
    #[error("the bundle unpacks to more than {0} bytes")]
    TooLarge(u64),
    #[error("the bundle has more than {0} files")]
    TooManyFiles(usize),
    #[error("could not write the bundle to disk: {0}")]
    Io(#[from] io::Error),
}

/// Unpacks `bytes` (a manifest, a tar or a tar.gz) into the empty directory `target`.
pub fn unpack(bytes: &[u8], target: &Path, limits: BundleLimits) -> Result<Unpacked, BundleError> {
    fs::create_dir_all(target)?;
    let mut files: Vec<(String, bool, String)> = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let decompressed = Capped { inner: flate2::read::GzDecoder::new(bytes), left: archive_cap(limits) };
        unpack_tar(decompressed, target, limits, &mut files)?;
    } else if is_tar(bytes) {
        unpack_tar(bytes, target, limits, &mut files)?;
    } else {
        if bytes.len() as u64 > MAX_MANIFEST {
            return Err(BundleError::ManifestTooLarge);
        }
        let hash = write_file(&mut &bytes[..], &target.join(MANIFEST), false, limits.max_bytes)?;
        files.push((MANIFEST.to_string(), false, hash));
    }
    let manifest_path = target.join(MANIFEST);
    let metadata = fs::metadata(&manifest_path).map_err(|_| BundleError::NoManifest)?;
    if !metadata.is_file() {
        return Err(BundleError::NoManifest);
    }
    if metadata.len() > MAX_MANIFEST {
        return Err(BundleError::ManifestTooLarge);
    }
    let manifest = String::from_utf8(fs::read(&manifest_path)?).map_err(|_| BundleError::ManifestNotText)?;
    files.sort();
    Ok(Unpacked {
        manifest,
        digest: digest_of(files.iter()),
        files_digest: digest_of(files.iter().filter(|(path, _, _)| path != MANIFEST)),
    })
}

fn is_tar(bytes: &[u8]) -> bool {
    bytes.len() >= 512 && &bytes[257..262] == b"ustar"
}

fn unpack_tar(
    reader: impl Read,
    target: &Path,
    limits: BundleLimits,
    files: &mut Vec<(String, bool, String)>,
) -> Result<(), BundleError> {
    let mut archive = tar::Archive::new(reader);
    let mut remaining = limits.max_bytes;
    let entries = archive.entries().map_err(|error| BundleError::Archive(error.to_string()))?;
    for (count, entry) in entries.enumerate() {
        // Every entry counts, directories and repeated names included.
        if count >= limits.max_files {
            return Err(BundleError::TooManyFiles(limits.max_files));
        }
        let mut entry = entry.map_err(|error| match error.kind() {
            std::io::ErrorKind::FileTooLarge => BundleError::TooLarge(limits.max_bytes),
            _ => BundleError::Archive(error.to_string()),
        })?;
        let raw_path = entry.path().map_err(|error| BundleError::Archive(error.to_string()))?.into_owned();
        let display = raw_path.display().to_string();
        let Some(relative) = safe_relative(&raw_path) else { return Err(BundleError::BadEntry(display)) };
        let entry_type = entry.header().entry_type();
        if entry_type.is_dir() {
            fs::create_dir_all(target.join(&relative))?;
            continue;
        }
        if !entry_type.is_file() {
            return Err(BundleError::BadEntry(display));
        }
        let size = entry.header().size().map_err(|error| BundleError::Archive(error.to_string()))?;
        if size > remaining {
            return Err(BundleError::TooLarge(limits.max_bytes));
        }
        remaining -= size;
        let executable = entry.header().mode().is_ok_and(|mode| mode & 0o111 != 0);
        let path = target.join(&relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let hash = write_file(&mut entry, &path, executable, size)?;
        let name = relative.to_string_lossy().into_owned();
        files.retain(|(existing, _, _)| *existing != name); // a later entry replaces an earlier one
        files.push((name, executable, hash));
    }
    Ok(())
}

/// Decompressed bytes an archive may expand to: the files plus tar's headers and padding.
fn archive_cap(limits: BundleLimits) -> u64 {
    limits.max_bytes.saturating_add((limits.max_files as u64).saturating_mul(1024))
}

/// A reader that fails once more than `left` bytes have been read: a gzip bomb stops at the cap.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, "bundle expands past its limit"));
        }
        let allowed = buffer.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buffer[..allowed])?;
        self.left -= read as u64;
        Ok(read)
    }
}

/// The path without `.` parts, or `None` when it is absolute or climbs out with `..`.
fn safe_relative(path: &Path) -> Option<PathBuf> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!clean.as_os_str().is_empty()).then_some(clean)
}

/// Copies at most `limit` bytes into a new file and returns their SHA-256.
fn write_file(reader: &mut impl Read, path: &Path, executable: bool, limit: u64) -> io::Result<String> {
    let mut file = fs::File::create(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut reader = reader.take(limit);
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        file.write_all(&buffer[..read])?;
    }
    file.set_permissions(fs::Permissions::from_mode(if executable { 0o755 } else { 0o644 }))?;
    Ok(hex(&hasher.finalize()))
}

fn digest_of<'a>(files: impl Iterator<Item = &'a (String, bool, String)>) -> String {
    let mut hasher = Sha256::new();
    for (path, executable, hash) in files {
        hasher.update(path.as_bytes());
        hasher.update([0, u8::from(*executable), 0]);
        hasher.update(hash.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;
