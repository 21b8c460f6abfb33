//! Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4): a lookup table of prime size in
//! which every endpoint owns about its share of entries, filled from per-endpoint permutations.
//! Removing one of N endpoints moves about 1/N of the keys; a key's endpoint is `table[hash % M]`.
//! Endpoints are identified by a hash of their id, so the table is the same on every node.

/// The default table size: a prime well above 100 × endpoints for any realistic workload.
pub const DEFAULT_SIZE: usize = 65_537;

/// A filled table: entry → endpoint index.
#[derive(Clone, Debug, PartialEq)]
pub struct Maglev {
    table: Vec<u32>,
}

/// 64-bit FNV-1a: stable across processes, versions and nodes (unlike std's hashers), which is what
/// keeps a sticky key on the same instance everywhere.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV's low bits mix poorly for short inputs; finish with a 64-bit avalanche (splitmix64's).
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

impl Maglev {
    /// Builds the table for endpoints identified by `ids` (hashes of their ids), each with a weight
    /// (entries are shared in proportion). `size` must be a prime larger than the endpoint count.
    pub fn build(ids: &[(u64, u32)], size: usize) -> Self {
        let live: Vec<(usize, u64, u64)> = ids
            .iter()
            .enumerate()
            .filter(|(_, (_, weight))| *weight > 0)
            .map(|(index, (id, _))| {
                let offset = stable_hash(&id.to_le_bytes()) % size as u64;
                let skip = stable_hash(&id.wrapping_add(0x9e37_79b9_7f4a_7c15).to_le_bytes()) % (size as u64 - 1) + 1;
                (index, offset, skip)
            })
            .collect();
        if live.is_empty() {
            return Self { table: Vec::new() };
        }
        let total: u64 = live.iter().map(|(index, _, _)| u64::from(ids[*index].1)).sum();
        // Each endpoint may fill entries up to its weighted share (rounded up, so the table fills).
        let quota: Vec<u64> =
            live.iter().map(|(index, _, _)| (u64::from(ids[*index].1) * size as u64).div_ceil(total)).collect();
        let mut filled = vec![0u64; live.len()];
        let mut next = vec![0u64; live.len()];
        let mut table = vec![u32::MAX; size];
        let mut placed = 0;
        'fill: loop {
            for (turn, (index, offset, skip)) in live.iter().enumerate() {
                if filled[turn] >= quota[turn] {
                    continue;
                }
                loop {
                    let slot = ((offset + next[turn] * skip) % size as u64) as usize;
                    next[turn] += 1;
                    if table[slot] == u32::MAX {
                        table[slot] = *index as u32;
                        filled[turn] += 1;
                        placed += 1;
                        break;
                    }
                }
                if placed == size {
                    break 'fill;
                }
            }
        }
        Self { table }
    }

    /// The endpoint index for `hash`, then the ones after it in table order, for skipping endpoints
    /// that cannot take the request (the key moves to the next entry's endpoint, not everywhere).
    pub fn candidates(&self, hash: u64) -> impl Iterator<Item = usize> + '_ {
        let size = self.table.len();
        let start = if size == 0 { 0 } else { (hash % size as u64) as usize };
        (0..size).map(move |step| self.table[(start + step) % size] as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(count: u64) -> Vec<(u64, u32)> {
        (0..count).map(|id| (stable_hash(format!("instance-{id}").as_bytes()), 1)).collect()
    }

    fn owner(table: &Maglev, key: u64) -> usize {
        table.candidates(stable_hash(&key.to_le_bytes())).next().expect("an endpoint")
    }

    #[test]
    fn entries_are_shared_evenly_and_by_weight() {
        let table = Maglev::build(&ids(5), 1009);
        let mut counts = [0usize; 5];
        table.table.iter().for_each(|&index| counts[index as usize] += 1);
        assert!(counts.iter().all(|&count| (190..=215).contains(&count)), "{counts:?}");

        let weighted = Maglev::build(&[(1, 1), (2, 3)], 1009);
        let heavy = weighted.table.iter().filter(|&&index| index == 1).count();
        assert!((740..=770).contains(&heavy), "weight 3 of 4 owns about 3/4: {heavy}");
    }

    #[test]
    fn removing_one_endpoint_moves_only_its_keys_and_a_little_more() {
        let before = Maglev::build(&ids(5), DEFAULT_SIZE);
        let mut fewer = ids(5);
        fewer.remove(2);
        let after = Maglev::build(&fewer, DEFAULT_SIZE);
        let mut moved = 0;
        for key in 0..10_000u64 {
            let old = owner(&before, key);
            let new = owner(&after, key);
            // Indices above the removed one shift down by one.
            let new_as_old = if new >= 2 { new + 1 } else { new };
            if old != 2 && old != new_as_old {
                moved += 1;
            }
        }
        assert!(moved < 600, "keys of the other endpoints that moved: {moved} of ~8000");
    }

    #[test]
    fn the_same_ids_give_the_same_table_and_empty_input_an_empty_one() {
        assert_eq!(Maglev::build(&ids(3), 1009), Maglev::build(&ids(3), 1009));
        assert_eq!(Maglev::build(&[], 1009).candidates(7).count(), 0);
        assert_eq!(Maglev::build(&[(9, 0)], 1009).candidates(7).count(), 0);
    }
}
