//! One chunk: parts parsed in parallel, records judged into the valid and failing tables.

use crate::messages::Templates;
use crate::parse::{Dialect, Parser, Record, Spoiled};
use crate::rules::{trim, Rules, COLUMNS};
use crate::table::{Table, Val};
use rayon::prelude::*;

/// Everything a chunk is judged against.
pub struct Settings {
    pub dialect: Dialect,
    pub rules: Rules,
    pub malformed: u64,
    pub encoding: u64,
    pub too_long: u64,
    /// Whether valid rows carry their values (`import` resolves them; `check` needs only
    /// their lines, keys and spans, and reads a duplicate's values back from the file).
    pub valid_values: bool,
    pub templates: Templates,
}

/// Where a chunk's bytes are in the stream: byte `x` of it is at `base + x`. (Past a
/// too-long line's kept prefix, that is: the bytes dropped after it are not in the chunk,
/// and `base` is meant for the records after them, which are the only valid ones there.)
#[derive(Clone, Copy)]
pub struct Place {
    pub base: u64,
}

impl Place {
    /// A chunk that starts the stream.
    pub const NONE: Place = Place { base: 0 };

    fn of(&self, x: u32) -> u64 {
        self.base + u64::from(x)
    }
}

pub struct ChunkOut {
    /// Per part, in line order (Python makes each column a chunked array of them).
    pub valid: Vec<Table>,
    pub failing: Vec<Table>,
    /// Side buffers of rebuilt values; views name them as buffer 1 + index.
    pub sides: Vec<Vec<u8>>,
    pub blank: u64,
    /// Lines and bytes of the chunk used (less than all when a quoted record is still open).
    pub lines: usize,
    pub bytes: usize,
}

struct PartOut {
    valid: Table,
    failing: Table,
    side: Vec<u8>,
    blank: u64,
    cut: Option<usize>, // byte offset (in the chunk) of the open record's first line
    lines: usize,
    side_index: u32,
}

/// Parts of about `target` bytes, each ending after a line end (the last at `data.len()`).
fn part_bounds(data: &[u8], parts: usize) -> Vec<(usize, usize)> {
    let size = data.len().div_ceil(parts.max(1)).max(1 << 16);
    let mut bounds = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let want = (start + size).min(data.len());
        let end = match memchr::memchr(b'\n', &data[want..]) {
            Some(p) if want < data.len() => want + p + 1,
            _ => data.len(),
        };
        bounds.push((start, end));
        start = end;
    }
    bounds
}

/// Parse and judge `data` (whole lines from `first_line`; `last` when it ends the file).
pub fn process_chunk(
    data: &[u8],
    first_line: i64,
    last: bool,
    place: Place,
    s: &Settings,
) -> ChunkOut {
    let bounds = part_bounds(data, rayon::current_num_threads() * 2);
    let starts = line_starts(data, &bounds, first_line);
    let n = bounds.len();
    let mut outs: Vec<PartOut> = bounds
        .par_iter()
        .enumerate()
        .map(|(k, &(from, to))| {
            let lines = (starts[k + 1] - starts[k]) as usize + 1;
            let last = last && k + 1 == n;
            run_part(
                data,
                (from, to),
                (starts[k], lines),
                last,
                k as u32,
                (place, s),
            )
        })
        .collect::<Vec<_>>();
    let mut out = ChunkOut {
        valid: Vec::new(),
        failing: Vec::new(),
        sides: Vec::new(),
        blank: 0,
        lines: 0,
        bytes: 0,
    };
    let mut cut: Option<usize> = None;
    let mut next_side = n as u32;
    for (k, part) in outs.drain(..).enumerate() {
        let part = match cut {
            None => part,
            Some(from) => {
                // The previous part ended inside a quoted record: read again from its start.
                let line = first_line + out.lines as i64;
                let lines = (starts[k + 1] - line) as usize + 1;
                next_side += 1;
                let last = last && k + 1 == n;
                run_part(
                    data,
                    (from, bounds[k].1),
                    (line, lines),
                    last,
                    next_side - 1,
                    (place, s),
                )
            }
        };
        cut = part.cut;
        out.blank += part.blank;
        out.lines += part.lines;
        out.valid.push(part.valid);
        out.failing.push(part.failing);
        let index = part.side_index as usize;
        if out.sides.len() <= index {
            out.sides.resize(index + 1, Vec::new());
        }
        out.sides[index] = part.side;
        out.bytes = cut.unwrap_or(bounds[k].1);
    }
    out
}

/// The number of the first line of each part, and of the line after the last.
fn line_starts(data: &[u8], bounds: &[(usize, usize)], first_line: i64) -> Vec<i64> {
    let counts: Vec<i64> = bounds
        .par_iter()
        .map(|&(from, to)| memchr::memchr_iter(b'\n', &data[from..to]).count() as i64)
        .collect();
    let mut line = first_line;
    let mut starts: Vec<i64> = counts
        .iter()
        .map(|c| {
            let here = line;
            line += c;
            here
        })
        .collect();
    starts.push(line); // one past the last part
    starts
}

/// Parse and judge `data[from..to]`, whose `lines` lines start with line `first_line`.
fn run_part(
    data: &[u8],
    (from, to): (usize, usize),
    (first_line, lines): (i64, usize),
    last: bool,
    side_index: u32,
    (place, s): (Place, &Settings),
) -> PartOut {
    let width = s.dialect.width;
    let valid_width = if s.valid_values { width } else { 0 };
    // Rows expected: a line each, but not more than a short record's bytes allow (a chunk of
    // empty lines must not reserve views for millions of rows).
    let rows = lines.min((to - from) / 24 + 16);
    let mut valid = Table::with_capacity(valid_width, rows, true);
    let mut failing = Table::with_capacity(width, rows / 8, false);
    let mut parser = Parser::new(data, &s.dialect, 1 + side_index);
    let mut judge = Judge {
        s,
        place,
        scratch: Vec::new(),
    };
    let end = parser.parse(from, to, first_line, last, |rec, p| {
        judge.record(rec, p, &mut valid, &mut failing);
    });
    let cut = end.cut.map(|line| offset_of_line(data, from, line));
    PartOut {
        valid,
        failing,
        side: parser.side,
        blank: end.blank,
        cut,
        lines: end.lines,
        side_index,
    }
}

/// Byte offset where the part's line `index` starts.
fn offset_of_line(data: &[u8], from: usize, index: usize) -> usize {
    if index == 0 {
        return from;
    }
    let nl = memchr::memchr_iter(b'\n', &data[from..]).nth(index - 1);
    from + nl.expect("the cut line is in the part") + 1
}

struct Judge<'s> {
    s: &'s Settings,
    place: Place,
    scratch: Vec<u8>,
}

impl Judge<'_> {
    fn record(&mut self, rec: &Record, p: &Parser, valid: &mut Table, failing: &mut Table) {
        let s = self.s;
        let parse_mask = match rec.spoiled {
            Spoiled::No => 0,
            Spoiled::Malformed => s.malformed,
            Spoiled::Encoding => s.encoding,
            Spoiled::TooLong => s.too_long,
        };
        let mut values: [Option<&[u8]>; 9] = [None; 9];
        let mut checked = false;
        if parse_mask == 0 {
            for (k, col) in s.rules.cols.iter().enumerate() {
                if let Some(v) = col.and_then(|c| rec.fields[c]) {
                    let raw = p.bytes_of(v);
                    let t = trim(raw);
                    checked |= t.len() != raw.len();
                    values[k] = (!t.is_empty()).then_some(t);
                }
            }
        }
        let mask = if parse_mask != 0 {
            parse_mask
        } else {
            s.rules.check(&values, &mut self.scratch)
        };
        let table = if mask == 0 { valid } else { failing };
        table.line.push(rec.line);
        if mask == 0 {
            table.hash.push(s.rules.identity_key(&values));
            let target = s.rules.target(&values);
            table.target.push(target.unwrap_or(0));
            table.target_valid.push(target.is_some());
            table.checked.push(checked);
            let (start, end) = rec.span;
            table.start.push(self.place.of(start));
            table.len.push(end - start);
        } else {
            table.mask.push(mask);
            match rec.raw {
                Some(v) => push_val(&mut table.raw, p, v),
                None => table.raw.push_null(),
            }
            let raw = rec.raw.map(|v| p.bytes_of(v));
            s.templates
                .render(mask, &values, raw, &mut table.message_text);
            // Arrow's string offsets are i32: a part's messages stay far below 2 GiB (a part
            // is a few MB of input, and a message quotes at most a record and some text).
            let end = i32::try_from(table.message_text.len()).expect("messages under 2 GiB");
            table.message_offsets.push(end as u32);
        }
        // (A valid table without values has no field columns: the zip stops at once.)
        for (col, field) in table.fields.iter_mut().zip(rec.fields) {
            match field {
                Some(v) => push_val(col, p, *v),
                None => col.push_null(),
            }
        }
        debug_assert_eq!(COLUMNS.len(), 9);
    }
}

fn push_val(col: &mut crate::table::ViewColumn, p: &Parser, v: Val) {
    let bytes = p.bytes_of(v);
    match v {
        Val::Chunk(start, _) => col.push(bytes, 0, start),
        Val::Side(start, _) => col.push(bytes, p.side_index(), start),
    }
}
