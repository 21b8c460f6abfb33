//! Packing an app for upload: the manifest's directory as a gzipped tar, without version-control
//! data, build output and dependency caches.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;

/// Largest bundle the CLI will send (the node's default limit).
const MAX_BUNDLE: u64 = 256 << 20;
/// Directories never uploaded.
const SKIPPED: &[&str] = &["target", "node_modules", "__pycache__", "cloudlet-data", "venv"];

pub struct Bundle {
    pub bytes: Vec<u8>,
    pub files: usize,
}

/// Packs the directory holding `manifest`, with the manifest stored as `cloudlet.toml`.
pub fn pack(manifest: &Path) -> Result<Bundle> {
    let text = fs::read(manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    let root = manifest.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut files = Vec::new();
    collect(root, Path::new(""), &mut files)?;
    files.retain(|relative| relative != Path::new("cloudlet.toml"));
    let total: u64 = files.iter().filter_map(|file| fs::metadata(root.join(file)).ok()).map(|m| m.len()).sum();
    if total > MAX_BUNDLE {
        bail!("{} holds {total} bytes of files, more than the {MAX_BUNDLE}-byte bundle limit", root.display());
    }
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, "cloudlet.toml", text.as_slice())?;
    for relative in &files {
        builder
            .append_path_with_name(root.join(relative), relative)
            .with_context(|| format!("cannot add {} to the bundle", relative.display()))?;
    }
    let bytes = builder.into_inner()?.finish()?;
    Ok(Bundle { bytes, files: files.len() + 1 })
}

fn collect(root: &Path, relative: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let directory = root.join(relative);
    let mut entries: Vec<_> = fs::read_dir(&directory)
        .with_context(|| format!("cannot list {}", directory.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        if name_text.starts_with('.') || SKIPPED.contains(&name_text.as_ref()) {
            continue;
        }
        let path = relative.join(&name);
        let metadata = fs::metadata(root.join(&path))?; // follows symlinks: their targets are uploaded
        if metadata.is_dir() {
            collect(root, &path, files)?;
        } else if metadata.is_file() {
            files.push(path);
        }
    }
    Ok(())
}
