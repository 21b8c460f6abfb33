//! Shards as even ranges of hash slots, and what spans them: `SCAN` across shards.

use bytes::Bytes;
use cloudlet_keyspace::slot::SLOTS;
use cloudlet_resp::Reply;

use crate::backend::ShardView;

/// `count` shards, each owning an even, contiguous range of the 16384 slots.
#[derive(Clone, Copy, Debug)]
pub struct SlotRanges {
    count: usize,
}

impl SlotRanges {
    /// `count` must divide 16384 (a power of two up to 16384); anything else is a programming error
    /// caught at start-up.
    pub fn new(count: usize) -> Self {
        assert!(count > 0 && usize::from(SLOTS) % count == 0, "{count} shards do not divide the slots evenly");
        Self { count }
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// The shard owning `slot`.
    pub fn shard_of(&self, slot: u16) -> usize {
        usize::from(slot.min(SLOTS - 1)) * self.count / usize::from(SLOTS)
    }

    /// The first and last slot of `shard`.
    pub fn range(&self, shard: usize) -> (u16, u16) {
        let per = usize::from(SLOTS) / self.count;
        ((shard * per) as u16, ((shard + 1) * per - 1) as u16)
    }

    /// The shards as `CLUSTER SLOTS` shows them; ids are stable for a shard number.
    pub fn views(&self) -> Vec<ShardView> {
        (0..self.count)
            .map(|shard| ShardView { id: format!("{:040x}", shard + 1), slots: vec![self.range(shard)] })
            .collect()
    }
}

/// `SCAN cursor …` across shards. A cursor is a scan position, and positions are ordered by slot
/// (`Keyspace::scan`), so the shard owning the cursor's slot continues the scan, and when it is done
/// the next shard starts at its first slot. `scan_shard(shard, args)` runs `SCAN` in one shard.
pub fn scan_across(
    ranges: SlotRanges,
    mut args: Vec<Bytes>,
    mut scan_shard: impl FnMut(usize, &[Bytes]) -> Reply,
) -> Reply {
    let cursor = std::str::from_utf8(&args[1]).ok().and_then(|text| text.parse::<u64>().ok());
    let Some(mut cursor) = cursor else { return Reply::error("ERR invalid cursor") };
    loop {
        let shard = ranges.shard_of((cursor >> 48) as u16);
        args[1] = Bytes::from(cursor.to_string());
        let reply = scan_shard(shard, &args);
        let Reply::Array(parts) = &reply else { return reply };
        let shard_done = matches!(&parts[0], Reply::Bulk(next) if next.as_ref() == b"0");
        let found_keys = matches!(&parts[1], Reply::Array(keys) if !keys.is_empty());
        if !shard_done || shard + 1 == ranges.count() {
            return reply;
        }
        let (start, _) = ranges.range(shard + 1);
        cursor = (u64::from(start) << 48).max(1);
        if found_keys {
            return Reply::Array(vec![Reply::Bulk(Bytes::from(cursor.to_string())), parts[1].clone()]);
        }
    }
}
