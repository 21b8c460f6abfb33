//! Snapshot files: one group's state at a log position, written whole or not at all.
//!
//! `snapshots/GROUP/INDEX-TERM.snap` holds a header (magic, last log id, membership, snapshot id)
//! and then the state machine's bytes. A snapshot is written to a temporary file, fsynced, renamed
//! into place and the directory fsynced, so a crash leaves the previous snapshot or the new one,
//! never half of one; older snapshots are deleted after that.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use openraft::{LogId, SnapshotMeta, StoredMembership};

use crate::codec::{self, CorruptRecord, Reader, Writer};
use crate::machine::{Node, NodeId};

const MAGIC: &[u8; 8] = b"CLSNAP01";

/// Where a group keeps its snapshots.
#[derive(Clone, Debug)]
pub(crate) struct SnapshotDir {
    path: PathBuf,
}

/// A snapshot read back: its meta and the state machine's bytes.
pub(crate) struct StoredSnapshot {
    pub(crate) meta: SnapshotMeta<NodeId, Node>,
    pub(crate) data: Vec<u8>,
}

fn invalid(error: CorruptRecord) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

impl SnapshotDir {
    pub(crate) fn open(root: &Path, group: &str) -> io::Result<Self> {
        let path = root.join(group);
        fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    fn file_name(last: Option<&LogId<NodeId>>) -> String {
        match last {
            None => "00000000000000000000-0.snap".to_string(),
            Some(log_id) => format!("{:020}-{}.snap", log_id.index, log_id.leader_id.term),
        }
    }

    /// Snapshot files, oldest first (names sort by index).
    fn files(&self) -> io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.path)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|extension| extension == "snap"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Writes a snapshot durably and removes the older ones. Blocking: call it off the runtime.
    pub(crate) fn write(&self, meta: &SnapshotMeta<NodeId, Node>, data: &[u8]) -> io::Result<()> {
        let mut header = Vec::with_capacity(128);
        header.extend_from_slice(MAGIC);
        let mut writer = Writer(&mut header);
        codec::write_optional_log_id(&mut writer, meta.last_log_id.as_ref());
        codec::write_stored_membership(&mut writer, &meta.last_membership);
        writer.bytes(meta.snapshot_id.as_bytes());

        let final_path = self.path.join(Self::file_name(meta.last_log_id.as_ref()));
        let temporary = final_path.with_extension("tmp");
        {
            let mut file = File::create(&temporary)?;
            file.write_all(&header)?;
            file.write_all(data)?;
            file.sync_all()?;
        }
        fs::rename(&temporary, &final_path)?;
        File::open(&self.path)?.sync_all()?;
        for older in self.files()? {
            if older != final_path {
                let _ = fs::remove_file(older);
            }
        }
        Ok(())
    }

    /// The newest snapshot, if any. Blocking.
    pub(crate) fn latest(&self) -> io::Result<Option<StoredSnapshot>> {
        let Some(path) = self.files()?.pop() else { return Ok(None) };
        let bytes = fs::read(&path)?;
        let Some(body) = bytes.strip_prefix(MAGIC.as_slice()) else {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a snapshot", path.display())));
        };
        let mut reader = Reader::new(body, "snapshot header");
        let last_log_id = codec::read_optional_log_id(&mut reader).map_err(invalid)?;
        let last_membership: StoredMembership<NodeId, Node> =
            codec::read_stored_membership(&mut reader).map_err(invalid)?;
        let snapshot_id = String::from_utf8_lossy(reader.bytes().map_err(invalid)?).into_owned();
        let data = reader.rest().to_vec();
        Ok(Some(StoredSnapshot { meta: SnapshotMeta { last_log_id, last_membership, snapshot_id }, data }))
    }
}
