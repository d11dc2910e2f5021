//! Columns in Arrow's memory layout, built row by row and handed to Python without copying.
//!
//! String values are Arrow *string views* (16 bytes each): a value of at most 12 bytes is
//! inlined in its view, a longer one points into buffer 0 (the chunk's own bytes, which
//! Python still holds) or into a side buffer of values that had to be rebuilt (unquoted,
//! multi-line, or decoded with replacement characters). So a plain field is never copied.

/// Where a value's bytes are: a range of the chunk, or a range of a side buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    Chunk(u32, u32),
    Side(u32, u32),
}

/// One string-view column with its validity.
#[derive(Default)]
pub struct ViewColumn {
    pub views: Vec<u128>,
    pub valid: Vec<bool>,
}

impl ViewColumn {
    pub fn push_null(&mut self) {
        self.views.push(0);
        self.valid.push(false);
    }

    /// Push `bytes`, which live at `offset` in buffer `buffer` (ignored when inlined).
    pub fn push(&mut self, bytes: &[u8], buffer: u32, offset: u32) {
        self.views.push(make_view(bytes, buffer, offset));
        self.valid.push(true);
    }
}

/// Arrow's view layout: length (i32), then 12 inline bytes, or a 4-byte prefix, the buffer
/// index and the offset (all little-endian).
pub fn make_view(bytes: &[u8], buffer: u32, offset: u32) -> u128 {
    let len = bytes.len() as u128;
    if bytes.len() <= 12 {
        let mut inline = [0u8; 16];
        inline[..bytes.len()].copy_from_slice(bytes);
        return len | (u128::from_le_bytes(inline) << 32);
    }
    let mut prefix = [0u8; 4];
    prefix.copy_from_slice(&bytes[..4]);
    len | (u128::from(u32::from_le_bytes(prefix)) << 32)
        | (u128::from(buffer) << 64)
        | (u128::from(offset) << 96)
}

/// Rows of one kind (valid or failing) of a chunk, column by column.
pub struct Table {
    pub line: Vec<i64>,
    pub mask: Vec<u64>,
    pub hash: Vec<u64>,
    pub target: Vec<i64>,
    pub target_valid: Vec<bool>,
    pub checked: Vec<bool>,
    /// A valid row's stream offset and byte length (`chunk::Place`).
    pub start: Vec<u64>,
    pub len: Vec<u32>,
    pub raw: ViewColumn,
    pub fields: Vec<ViewColumn>,
    /// A failing row's message, as an Arrow string column (offsets from 0, then the text).
    pub message_offsets: Vec<u32>,
    pub message_text: Vec<u8>,
}

impl ViewColumn {
    fn with_capacity(rows: usize) -> Self {
        ViewColumn {
            views: Vec::with_capacity(rows),
            valid: Vec::with_capacity(rows),
        }
    }
}

impl Table {
    pub fn new(width: usize) -> Self {
        Table::with_capacity(width, 0, false)
    }

    /// Room for `rows` rows (sized once: growing by doubling copied and faulted in as much
    /// memory again). `valid` tables need no mask and raw text, failing ones no key.
    pub fn with_capacity(width: usize, rows: usize, valid: bool) -> Self {
        let (keyed, failing) = if valid { (rows, 0) } else { (0, rows) };
        Table {
            line: Vec::with_capacity(rows),
            mask: Vec::with_capacity(failing),
            hash: Vec::with_capacity(keyed),
            target: Vec::with_capacity(keyed),
            target_valid: Vec::with_capacity(keyed),
            checked: Vec::with_capacity(keyed),
            start: Vec::with_capacity(keyed),
            len: Vec::with_capacity(keyed),
            raw: ViewColumn::with_capacity(failing),
            fields: (0..width)
                .map(|_| ViewColumn::with_capacity(rows))
                .collect(),
            message_offsets: vec![0],
            message_text: Vec::with_capacity(failing * 48),
        }
    }

    pub fn len(&self) -> usize {
        self.line.len()
    }

    pub fn is_empty(&self) -> bool {
        self.line.is_empty()
    }
}

/// Arrow's validity bitmap (least significant bit first) and its null count.
pub fn bitmap(valid: &[bool]) -> (Vec<u8>, usize) {
    let mut bits = vec![0u8; valid.len().div_ceil(8)];
    let mut nulls = 0;
    for (i, &v) in valid.iter().enumerate() {
        if v {
            bits[i / 8] |= 1 << (i % 8);
        } else {
            nulls += 1;
        }
    }
    (bits, nulls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_inlined_long_ones_point_into_their_buffer() {
        let v = make_view(b"IMEI", 0, 99);
        assert_eq!(v & 0xffff_ffff, 4);
        assert_eq!(&(v >> 32).to_le_bytes()[..4], b"IMEI");
        let long = make_view(b"356938035643809", 2, 40);
        assert_eq!(long & 0xffff_ffff, 15);
        assert_eq!(((long >> 32) as u32).to_le_bytes(), *b"3569");
        assert_eq!((long >> 64) as u32, 2);
        assert_eq!((long >> 96) as u32, 40);
    }

    #[test]
    fn bitmap_counts_nulls() {
        let (bits, nulls) = bitmap(&[true, false, true, true, false, false, true, true, true]);
        assert_eq!(bits, vec![0b1100_1101, 0b1]);
        assert_eq!(nulls, 3);
    }
}
