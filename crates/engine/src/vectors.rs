//! The vector index: every chunk's embedding in one flat `i8` matrix in memory, searched
//! exactly.
//!
//! SQLite's `embeddings` table is the only stored copy of a vector (DESIGN.md section 3).
//! This index is derived from it when an engine first needs it (about a tenth of a second
//! per 100k vectors) and then kept in step by whoever writes in this process: the indexer
//! adds and removes rows as it commits, so a search in the desktop app or `ferret daemon`
//! sees each batch as soon as it lands, with no file to reload. Earlier versions also saved
//! a usearch HNSW graph per model, which held every vector a second time (as many bytes as
//! the embeddings table) and had to be rebuilt, slowly, whenever it disagreed with SQLite;
//! [`remove_legacy_files`] deletes what they left.
//!
//! Searching scans every row: a dot product of 384 `i8` values is a handful of AVX2
//! instructions, so 100k vectors take a few milliseconds on two cores, the result is exact
//! (no recall lost to a graph), and a filter (`repo:`, `lang:`, `path:`) applies before the
//! top k at no extra cost. Past a few million vectors a graph would pay for itself again.
//!
//! Vectors are stored at 4 bits per component ([`encode`]) and held here as `i8`: cosine
//! similarity ignores each vector's scale, the matrix is 4x smaller than `f32` (the stored
//! copy 8x), and on MiniLM the ranking is practically unchanged. The query is scaled to
//! `i8` so its largest component is ±127 ([`quantize`]). A chunk longer than the
//! model's window has one row per window under the same key, kept next to each other; a
//! search returns each key once, at its best window's similarity.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::{Error, Result};

/// Marks a removed row until the next compaction.
const DEAD: u64 = u64::MAX;

/// Below this many rows one thread scans faster than two start.
const PARALLEL_FROM_ROWS: usize = 16_384;

/// Scales a unit vector to `i8` so its largest component is ±127.
pub fn quantize(vector: &[f32]) -> Vec<i8> {
    let max = vector.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        return vec![0; vector.len()];
    }
    let scale = 127.0 / max;
    vector
        .iter()
        .map(|v| (v * scale).round().clamp(-127.0, 127.0) as i8)
        .collect()
}

/// First byte of a stored vector in the 4-bit format (see [`encode`]).
const PACKED4_TAG: u8 = 0xF4;

/// Codes run from -7 to 7: symmetric, so they go into the same `i8` dot product as before.
const PACKED4_MAX: f32 = 7.0;

/// Where the codes saturate, in standard deviations of the vector's components. Chosen on
/// the eval's dev half by fidelity (mean cosine with the `i8` vector 0.9935, against 0.9912
/// when the largest component sets the scale, which leaves most components a level or two).
const PACKED4_CLIP_SIGMAS: f32 = 2.5;

/// A chunk's windows as stored in the `embeddings` table: a tag byte, then each window's
/// components as 4-bit codes, two per byte (low nibble first).
///
/// Four bits per component halve the table, the index's largest part, and cost nothing
/// measurable: on the eval's dev half hybrid R@10 and MRR stayed 0.750 / 0.535-0.536 and
/// semantic 0.677 -> 0.669 / 0.416 (one case); about 5% of semantic top-10 hits swap at
/// the edge. The scale is per vector, from its RMS; cosine similarity ignores it.
pub fn encode(windows: &[Vec<f32>]) -> Vec<u8> {
    let mut out = vec![PACKED4_TAG];
    for vector in windows {
        let rms = (vector.iter().map(|v| v * v).sum::<f32>() / vector.len().max(1) as f32).sqrt();
        let scale = if rms > 0.0 {
            PACKED4_MAX / (PACKED4_CLIP_SIGMAS * rms)
        } else {
            0.0
        };
        let code = |v: f32| ((v * scale).round().clamp(-PACKED4_MAX, PACKED4_MAX) as i8 + 8) as u8;
        for pair in vector.chunks(2) {
            let low = code(pair[0]);
            let high = pair.get(1).map_or(8, |&v| code(v));
            out.push(low | (high << 4));
        }
    }
    out
}

/// The components of a stored vector blob, window after window, as `i8` (4-bit codes from
/// [`encode`], or the `i8` values Ferret stored before it). `None` when the blob fits
/// neither layout for `dims` (a damaged row).
///
/// A 4-bit blob has `1 + windows * ceil(dims / 2)` bytes and starts with the tag; an old
/// one has `windows * dims` bytes. For an even `dims` above 2 (every model's) the two
/// lengths never coincide, so an old blob that happens to start with the tag byte is still
/// read as `i8`.
pub fn decode(bytes: &[u8], dims: usize) -> Option<Vec<i8>> {
    let packed_window = dims.div_ceil(2);
    let packed = bytes.first() == Some(&PACKED4_TAG)
        && bytes.len() > 1
        && (bytes.len() - 1).is_multiple_of(packed_window);
    if packed {
        let mut out = Vec::with_capacity((bytes.len() - 1) / packed_window * dims);
        for window in bytes[1..].chunks(packed_window) {
            for (i, byte) in window.iter().enumerate() {
                out.push((byte & 0x0f) as i8 - 8);
                if 2 * i + 1 < dims {
                    out.push((byte >> 4) as i8 - 8);
                }
            }
        }
        return Some(out);
    }
    (!bytes.is_empty() && bytes.len().is_multiple_of(dims))
        .then(|| bytes.iter().map(|&b| b as i8).collect())
}

/// The rows: `keys[i]` owns `data[i * dims..(i + 1) * dims]`, whose length is `norms[i]`.
#[derive(Default)]
struct Rows {
    keys: Vec<u64>,
    data: Vec<i8>,
    norms: Vec<f32>,
    /// Where each live key's rows start and how many there are (its windows).
    slots: HashMap<u64, (usize, usize)>,
    /// Rows marked [`DEAD`], reclaimed by [`Rows::compact`].
    dead: usize,
}

impl Rows {
    fn live(&self) -> usize {
        self.keys.len() - self.dead
    }

    fn remove(&mut self, key: u64) {
        if let Some((start, n)) = self.slots.remove(&key) {
            for row in start..start + n {
                self.keys[row] = DEAD;
                self.norms[row] = 0.0;
            }
            self.dead += n;
        }
    }

    /// Makes room for `more` rows, growing by an eighth of the matrix at a time instead of
    /// doubling it: at 113k vectors doubling left 44 MiB allocated and unused (measured: 88
    /// MiB for a 44 MiB matrix), and one edited file after a full index could double it
    /// again. An eighth keeps appends amortized O(1) with at most 12.5% slack.
    fn make_room(&mut self, more: usize, dims: usize) {
        if self.keys.len() + more <= self.keys.capacity()
            && self.data.len() + more * dims <= self.data.capacity()
        {
            return;
        }
        let extra = more.max(self.keys.len() / 8);
        self.keys.reserve_exact(extra);
        self.norms.reserve_exact(extra);
        self.data.reserve_exact(extra * dims);
    }

    /// Drops dead rows once they are a quarter of the matrix, so a long-lived process that
    /// re-indexes edited files does not grow without bound.
    fn compact_if_worth_it(&mut self, dims: usize) {
        if self.dead < 1024 || self.dead * 4 < self.keys.len() {
            return;
        }
        let mut write = 0;
        for read in 0..self.keys.len() {
            let key = self.keys[read];
            if key == DEAD {
                continue;
            }
            if write != read {
                self.keys[write] = key;
                self.norms[write] = self.norms[read];
                self.data
                    .copy_within(read * dims..(read + 1) * dims, write * dims);
            }
            write += 1;
        }
        self.keys.truncate(write);
        self.norms.truncate(write);
        self.data.truncate(write * dims);
        self.dead = 0;
        self.slots.clear();
        let mut row = 0;
        while row < self.keys.len() {
            let key = self.keys[row];
            let start = row;
            while row < self.keys.len() && self.keys[row] == key {
                row += 1;
            }
            self.slots.insert(key, (start, row - start));
        }
    }
}

/// One model version's vectors, shared by the searches and the indexer of one engine.
pub struct VectorIndex {
    dims: usize,
    rows: RwLock<Rows>,
    /// The data generation of SQLite these rows reflect (see `Store::generation`).
    synced_generation: AtomicI64,
    /// Writers of this process that keep the rows in step as they commit.
    writers: AtomicUsize,
}

/// Held while a writer keeps an index in step with what it commits.
pub struct Writing<'a>(&'a VectorIndex);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.writers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl VectorIndex {
    /// An empty index for `dims`-dimensional vectors.
    pub fn new(dims: usize) -> Self {
        VectorIndex {
            dims,
            rows: RwLock::new(Rows::default()),
            synced_generation: AtomicI64::new(-1),
            writers: AtomicUsize::new(0),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Rows> {
        self.rows.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Rows> {
        self.rows.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Vectors held (a chunk read as several windows counts once per window).
    pub fn len(&self) -> usize {
        self.read().live()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Chunks held.
    pub fn keys(&self) -> usize {
        self.read().slots.len()
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Bytes of memory the rows take.
    pub fn memory_bytes(&self) -> u64 {
        let rows = self.read();
        (rows.data.capacity() + rows.keys.capacity() * 8 + rows.norms.capacity() * 4) as u64
            + rows.slots.capacity() as u64 * 24
    }

    /// Makes room for `additional` more vectors.
    pub fn reserve(&self, additional: usize) {
        let mut rows = self.write();
        rows.keys.reserve_exact(additional);
        rows.norms.reserve_exact(additional);
        rows.data.reserve_exact(additional * self.dims);
        rows.slots.reserve(additional);
    }

    /// Gives back room reserved and not used (after a load whose size was estimated).
    pub fn shrink_to_fit(&self) {
        let mut rows = self.write();
        rows.keys.shrink_to_fit();
        rows.norms.shrink_to_fit();
        rows.data.shrink_to_fit();
    }

    /// Adds (or replaces) the vectors of chunk `key`: `vectors` is one or more
    /// `dims`-sized vectors end to end, one per window of the chunk.
    pub fn add(&self, key: u64, vectors: &[i8]) -> Result<()> {
        if vectors.is_empty() || !vectors.len().is_multiple_of(self.dims) || key == DEAD {
            return Err(Error::VectorIndex(format!(
                "the stored vector of chunk {key} has {} values, not a whole number of \
                 {}-dim vectors; re-index the repository to compute it again",
                vectors.len(),
                self.dims
            )));
        }
        let mut rows = self.write();
        rows.remove(key);
        let start = rows.keys.len();
        let windows = vectors.len() / self.dims;
        rows.make_room(windows, self.dims);
        for window in vectors.chunks_exact(self.dims) {
            let norm = window
                .iter()
                .map(|&v| (v as i32 * v as i32) as f32)
                .sum::<f32>()
                .sqrt();
            rows.keys.push(key);
            rows.norms.push(norm);
            rows.data.extend_from_slice(window);
        }
        rows.slots.insert(key, (start, windows));
        rows.compact_if_worth_it(self.dims);
        Ok(())
    }

    pub fn remove(&self, key: u64) {
        let mut rows = self.write();
        rows.remove(key);
        rows.compact_if_worth_it(self.dims);
    }

    /// The `count` nearest chunk ids with their cosine similarity (1 = identical), keeping only
    /// keys `allow` accepts: filters apply before the top k, not after, and the scan is
    /// exact, so a filter never loses a match.
    pub fn search(
        &self,
        query: &[i8],
        count: usize,
        allow: Option<&(dyn Fn(u64) -> bool + Sync)>,
    ) -> Vec<(u64, f32)> {
        let rows = self.read();
        if rows.live() == 0 || count == 0 || query.len() != self.dims {
            return Vec::new();
        }
        let query_norm = query
            .iter()
            .map(|&v| (v as i32 * v as i32) as f32)
            .sum::<f32>()
            .sqrt();
        if query_norm == 0.0 {
            return Vec::new();
        }
        let kernel = DotKernel::new(query);
        let threads = if rows.keys.len() >= PARALLEL_FROM_ROWS {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(4)
        } else {
            1
        };
        let parts = split_at_key_boundaries(&rows.keys, threads);
        let scan = |range: std::ops::Range<usize>| {
            scan_rows(&rows, self.dims, range, &kernel, query_norm, count, allow)
        };
        let mut best: Vec<(u64, f32)> = if parts.len() == 1 {
            scan(parts[0].clone())
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = parts
                    .iter()
                    .skip(1)
                    .map(|range| scope.spawn(|| scan(range.clone())))
                    .collect();
                let mut all = scan(parts[0].clone());
                for handle in handles {
                    all.extend(handle.join().unwrap_or_default());
                }
                all
            })
        };
        best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        best.truncate(count);
        best
    }

    /// The SQLite data generation these rows match.
    pub fn synced_generation(&self) -> i64 {
        self.synced_generation.load(Ordering::SeqCst)
    }

    /// Records that the rows now match SQLite at `generation`.
    pub fn mark_synced(&self, generation: i64) {
        self.synced_generation.store(generation, Ordering::SeqCst);
    }

    /// Declares a writer that keeps the rows in step with its commits until the guard drops;
    /// meanwhile searches trust the rows even while the generation moves under them.
    pub fn writing(&self) -> Writing<'_> {
        self.writers.fetch_add(1, Ordering::SeqCst);
        Writing(self)
    }

    pub fn has_writer(&self) -> bool {
        self.writers.load(Ordering::SeqCst) > 0
    }
}

/// Splits `0..keys.len()` into up to `parts` ranges of about equal size, never between two
/// windows of one key (each part then reports a key at most once).
fn split_at_key_boundaries(keys: &[u64], parts: usize) -> Vec<std::ops::Range<usize>> {
    let n = keys.len();
    let parts = parts.clamp(1, n.max(1));
    let mut ranges = Vec::with_capacity(parts);
    let mut start = 0;
    for i in 1..=parts {
        let mut end = if i == parts { n } else { n * i / parts };
        while end > start && end < n && keys[end] == keys[end - 1] && keys[end] != DEAD {
            end += 1;
        }
        if end > start {
            ranges.push(start..end);
            start = end;
        }
    }
    if ranges.is_empty() {
        ranges.push(0..n);
    }
    ranges
}

/// A (similarity, key) pair ordered so a `BinaryHeap` pops the worst first.
struct Worst(f32, u64);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        // Lower similarity is "greater" (popped first); ties pop the larger key.
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

/// The best `count` keys of `range` by their best window.
fn scan_rows(
    rows: &Rows,
    dims: usize,
    range: std::ops::Range<usize>,
    kernel: &DotKernel,
    query_norm: f32,
    count: usize,
    allow: Option<&(dyn Fn(u64) -> bool + Sync)>,
) -> Vec<(u64, f32)> {
    let mut heap: BinaryHeap<Worst> = BinaryHeap::with_capacity(count + 1);
    let mut row = range.start;
    while row < range.end {
        let key = rows.keys[row];
        let mut end = row + 1;
        while end < range.end && rows.keys[end] == key {
            end += 1;
        }
        if key != DEAD && allow.is_none_or(|allow| allow(key)) {
            let mut best = f32::MIN;
            for r in row..end {
                let norm = rows.norms[r];
                if norm == 0.0 {
                    continue;
                }
                let dot = kernel.dot(&rows.data[r * dims..(r + 1) * dims]);
                best = best.max(dot as f32 / (norm * query_norm));
            }
            if best > f32::MIN {
                let candidate = Worst(best, key);
                if heap.len() < count {
                    heap.push(candidate);
                } else if heap.peek().is_some_and(|worst| candidate < *worst) {
                    heap.pop();
                    heap.push(candidate);
                }
            }
        }
        row = end;
    }
    heap.into_iter().map(|Worst(s, k)| (k, s)).collect()
}

/// The query, ready for the fastest dot product this CPU has.
struct DotKernel {
    query: Vec<i8>,
    /// The query widened to `i16`, for the AVX2 kernel.
    #[cfg(target_arch = "x86_64")]
    wide: Option<Vec<i16>>,
}

impl DotKernel {
    fn new(query: &[i8]) -> Self {
        DotKernel {
            query: query.to_vec(),
            #[cfg(target_arch = "x86_64")]
            wide: std::arch::is_x86_feature_detected!("avx2")
                .then(|| query.iter().map(|&v| v as i16).collect()),
        }
    }

    fn dot(&self, row: &[i8]) -> i32 {
        #[cfg(target_arch = "x86_64")]
        if let Some(wide) = &self.wide {
            // SAFETY: `wide` exists only when the CPU reports AVX2.
            return unsafe { dot_avx2(row, wide) };
        }
        dot_portable(row, &self.query)
    }
}

fn dot_portable(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
}

/// `a · b` with `b` already widened: 16 products per `vpmaddwd`, about 2.5x the portable
/// loop (which the compiler may only vectorise with SSE2).
///
/// # Safety
/// The CPU must support AVX2, and `b` must be at least as long as `a`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(a: &[i8], b: &[i16]) -> i32 {
    use std::arch::x86_64::*;
    debug_assert!(b.len() >= a.len());
    let whole = a.len() / 32 * 32;
    let mut acc0 = _mm256_setzero_si256();
    let mut acc1 = _mm256_setzero_si256();
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 32 <= a.len() <= b.len(); unaligned loads are allowed.
        unsafe {
            let a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(a.as_ptr().add(i) as *const __m128i));
            let a1 =
                _mm256_cvtepi8_epi16(_mm_loadu_si128(a.as_ptr().add(i + 16) as *const __m128i));
            let b0 = _mm256_loadu_si256(b.as_ptr().add(i) as *const __m256i);
            let b1 = _mm256_loadu_si256(b.as_ptr().add(i + 16) as *const __m256i);
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(a1, b1));
        }
        i += 32;
    }
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` holds exactly 8 i32.
    unsafe {
        _mm256_storeu_si256(
            lanes.as_mut_ptr() as *mut __m256i,
            _mm256_add_epi32(acc0, acc1),
        )
    };
    let mut sum: i32 = lanes.iter().sum();
    for j in i..a.len() {
        sum += a[j] as i32 * b[j] as i32;
    }
    sum
}

/// Deletes the usearch files and sidecars earlier versions kept under `dir` (one per model,
/// `<model>.usearch` and `<model>.usearch.json`, and a `.tmp` a crash left): a second copy
/// of every vector that nothing reads any more. Returns the bytes freed.
pub fn remove_legacy_files(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut freed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.contains(".usearch") {
            continue;
        }
        let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
        match std::fs::remove_file(entry.path()) {
            Ok(()) => freed += bytes,
            Err(e) => log::warn!("cannot remove {}: {e}", entry.path().display()),
        }
    }
    // Gone when empty (never when something else is in it).
    let _ = std::fs::remove_dir(dir);
    if freed > 0 {
        log::info!(
            "removed the old vector files under {} ({freed} bytes): vectors are read from \
             the database now",
            dir.display()
        );
    }
    freed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows past a reservation grow the matrix by an eighth, not by doubling it, and a
    /// load's slack is given back.
    #[test]
    fn the_matrix_grows_by_an_eighth_and_gives_back_what_a_load_left() {
        let index = VectorIndex::new(4);
        index.reserve(1000);
        for key in 0..1001 {
            index.add(key, &[1, 2, 3, 4]).unwrap();
        }
        let capacity = |index: &VectorIndex| {
            let rows = index.read();
            (rows.keys.capacity(), rows.data.capacity())
        };
        assert_eq!(capacity(&index), (1125, 1125 * 4), "1000 + an eighth");
        index.shrink_to_fit();
        assert_eq!(capacity(&index), (1001, 1001 * 4));
        // Windows of one chunk arrive together and always fit.
        index.add(5000, &[1; 4 * 300]).unwrap();
        assert!(capacity(&index).0 >= 1301);
        assert_eq!(index.len(), 1301);
    }

    fn unit(seed: u32, dims: usize) -> Vec<f32> {
        let mut state = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) + 1;
        let v: Vec<f32> = (0..dims)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) % 2001) as f32 - 1000.0
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    fn cosine(a: &[i8], b: &[i8]) -> f32 {
        let dot = dot_portable(a, b) as f32;
        let na = dot_portable(a, a) as f32;
        let nb = dot_portable(b, b) as f32;
        dot / (na.sqrt() * nb.sqrt())
    }

    #[test]
    fn quantize_keeps_direction() {
        let v = unit(3, 8);
        let q = quantize(&v);
        assert_eq!(q.iter().map(|x| x.abs()).max(), Some(127));
        assert_eq!(quantize(&[0.0, 0.0]), vec![0, 0]);
    }

    fn f32_cosine(a: &[f32], b: &[i8]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, &y)| x * y as f32).sum();
        let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb: f32 = b
            .iter()
            .map(|&y| (y as f32) * (y as f32))
            .sum::<f32>()
            .sqrt();
        dot / (na * nb)
    }

    #[test]
    fn stored_vectors_keep_their_direction_at_four_bits() {
        for dims in [4, 7, 384] {
            let windows: Vec<Vec<f32>> = (0..3).map(|w| unit(40 + w, dims)).collect();
            let stored = encode(&windows);
            assert_eq!(stored.len(), 1 + 3 * dims.div_ceil(2), "{dims}");
            let codes = decode(&stored, dims).unwrap();
            assert_eq!(codes.len(), 3 * dims);
            assert!(codes.iter().all(|c| (-7..=7).contains(c)));
            if dims == 384 {
                for (w, window) in windows.iter().enumerate() {
                    let cos = f32_cosine(window, &codes[w * dims..(w + 1) * dims]);
                    assert!(cos > 0.98, "window {w}: cosine {cos}");
                }
            }
        }
        // A zero vector stays zero rather than dividing by nothing.
        assert_eq!(decode(&encode(&[vec![0.0; 4]]), 4).unwrap(), vec![0; 4]);
    }

    #[test]
    fn vectors_stored_as_i8_by_older_versions_still_decode() {
        let dims = 384;
        // Two windows of i8, the first byte equal to the 4-bit tag by chance.
        let mut old: Vec<u8> = quantize(&unit(5, dims))
            .into_iter()
            .chain(quantize(&unit(6, dims)))
            .map(|v| v as u8)
            .collect();
        old[0] = PACKED4_TAG;
        let decoded = decode(&old, dims).unwrap();
        assert_eq!(decoded.len(), 2 * dims);
        assert_eq!(decoded[0], PACKED4_TAG as i8);
        assert_eq!(
            decoded[1..],
            old[1..].iter().map(|&b| b as i8).collect::<Vec<_>>()[..]
        );
        // Neither layout: damaged.
        assert_eq!(decode(&[1, 2, 3], dims), None);
        assert_eq!(decode(&[], dims), None);
    }

    #[test]
    fn the_fast_kernel_agrees_with_the_portable_one() {
        for dims in [1, 31, 32, 33, 384, 385] {
            let a = quantize(&unit(1, dims));
            let b = quantize(&unit(2, dims));
            assert_eq!(DotKernel::new(&b).dot(&a), dot_portable(&a, &b), "{dims}");
        }
    }

    /// The scan is exact: the same top k, in the same order, as sorting every key by its
    /// best window's cosine, with and without a filter, on one thread and on several.
    #[test]
    fn search_is_exact_with_windows_filters_and_threads() {
        let dims = 48;
        let index = VectorIndex::new(dims);
        let mut expected: Vec<(u64, Vec<i8>)> = Vec::new();
        for key in 1..=40_000u64 {
            // Every seventh chunk has three windows.
            let windows = if key % 7 == 0 { 3 } else { 1 };
            let data: Vec<i8> = (0..windows)
                .flat_map(|w| quantize(&unit((key * 10 + w) as u32, dims)))
                .collect();
            index.add(key, &data).unwrap();
            expected.push((key, data));
        }
        assert_eq!(index.keys(), 40_000);
        let query = quantize(&unit(777_777, dims));
        let brute = |allow: &dyn Fn(u64) -> bool| -> Vec<u64> {
            let mut all: Vec<(u64, f32)> = expected
                .iter()
                .filter(|(k, _)| allow(*k))
                .map(|(k, data)| {
                    let best = data
                        .chunks_exact(dims)
                        .map(|w| cosine(w, &query))
                        .fold(f32::MIN, f32::max);
                    (*k, best)
                })
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            all.into_iter().take(10).map(|(k, _)| k).collect()
        };
        let found: Vec<u64> = index.search(&query, 10, None).iter().map(|h| h.0).collect();
        assert_eq!(found, brute(&|_| true));
        let odd = |k: u64| k % 2 == 1;
        let found: Vec<u64> = index
            .search(&query, 10, Some(&odd))
            .iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(found, brute(&odd));
        // A filter that allows three keys returns exactly those three.
        let few = |k: u64| [5, 700, 39_999].contains(&k);
        let mut found: Vec<u64> = index
            .search(&query, 10, Some(&few))
            .iter()
            .map(|h| h.0)
            .collect();
        found.sort();
        assert_eq!(found, vec![5, 700, 39_999]);
        // Each key once, even when several of its windows are near.
        let hits = index.search(&quantize(&unit(70, dims)), 50, None);
        let mut keys: Vec<u64> = hits.iter().map(|h| h.0).collect();
        assert_eq!(hits[0].0, 7);
        assert!(hits[0].1 > 0.99, "{}", hits[0].1);
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 50);
    }

    #[test]
    fn replace_remove_and_compaction_keep_the_rows_right() {
        let dims = 16;
        let index = VectorIndex::new(dims);
        for key in 1..=5_000u64 {
            index.add(key, &quantize(&unit(key as u32, dims))).unwrap();
        }
        // Replacing keeps one copy.
        index.add(7, &quantize(&unit(7, dims))).unwrap();
        assert_eq!(index.len(), 5_000);
        // Remove four fifths: compaction runs, and every survivor is still found as itself.
        for key in 1..=5_000u64 {
            if key % 5 != 0 {
                index.remove(key);
            }
        }
        assert_eq!(index.keys(), 1_000);
        assert_eq!(index.len(), 1_000);
        assert!(index.read().keys.len() < 2_000, "dead rows were reclaimed");
        for key in (5..=5_000u64).step_by(5 * 97) {
            let hits = index.search(&quantize(&unit(key as u32, dims)), 1, None);
            assert_eq!(hits[0].0, key);
        }
        assert!(!index.read().slots.contains_key(&6));
        assert!(index
            .search(&quantize(&unit(6, dims)), 5, None)
            .iter()
            .all(|h| h.0 % 5 == 0));
        // A vector of the wrong size is refused, naming the fix.
        let err = index.add(9, &[1, 2, 3]).unwrap_err().to_string();
        assert!(err.contains("re-index"), "{err}");
        assert!(index.search(&[], 3, None).is_empty());
    }

    #[test]
    fn splits_never_cut_a_key() {
        let keys = [1, 1, 2, 2, 2, 3, DEAD, DEAD, 4, 4];
        for parts in 1..=6 {
            let ranges = split_at_key_boundaries(&keys, parts);
            assert_eq!(ranges.first().unwrap().start, 0);
            assert_eq!(ranges.last().unwrap().end, keys.len());
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
                let cut = pair[1].start;
                assert!(keys[cut] != keys[cut - 1] || keys[cut] == DEAD);
            }
        }
    }

    #[test]
    fn legacy_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["m.usearch", "m.usearch.json", "m.usearch.tmp", "keep.txt"] {
            std::fs::write(dir.path().join(name), b"0123456789").unwrap();
        }
        assert_eq!(remove_legacy_files(dir.path()), 30);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("keep.txt")]);
        std::fs::remove_file(dir.path().join("keep.txt")).unwrap();
        std::fs::write(dir.path().join("m.usearch"), b"x").unwrap();
        remove_legacy_files(dir.path());
        assert!(!dir.path().exists(), "an emptied directory goes too");
        assert_eq!(
            remove_legacy_files(dir.path()),
            0,
            "and a missing one is fine"
        );
    }
}
