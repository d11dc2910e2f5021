//! Bytes of whole lines -> records with their physical line numbers (SPEC section 2).
//!
//! The rules are those of the reference reader (`ztbulk.parse.reader`), line by line:
//! - a line without a quote, a NUL or an invalid byte is split on the delimiter; it is blank
//!   when it holds only spaces, tabs and delimiters, malformed when its field count differs;
//! - a line with a quote is read as Python's `csv` module reads it (RFC 4180, strict): a
//!   quoted value may span lines (rebuilt with the header's line end) for at most
//!   `max_lines` lines; text after a closing quote, or a quote still open, makes that one
//!   line ROW_MALFORMED and reading resumes on the next line;
//! - a line longer than `max_bytes` is ROW_TOO_LONG (and ends a quoted value open before it),
//!   as is a multi-line record whose lines add up to more;
//! - invalid UTF-8 or a NUL anywhere in a record's lines makes it FIELD_ENCODING, unless it is
//!   malformed; its values are decoded with replacement characters.
//!
//! A quoted record still open at the end of the bytes (when they are not the file's end) is
//! not decided: the caller gets a cut and hands those lines on with the next bytes.

use crate::table::Val;
use memchr::{memchr, memchr2, memchr_iter};

/// How a record ended up, before the section 3 checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spoiled {
    No,
    Malformed,
    Encoding,
    TooLong,
}

/// One data record: `fields` has exactly `width` entries (None where the record had fewer).
pub struct Record<'a> {
    pub line: i64,
    pub spoiled: Spoiled,
    pub fields: &'a [Option<Val>],
    pub raw: Option<Val>,
    /// The record's bytes in the chunk: from its first line's start to its last line's
    /// content end (a duplicate's values are read back from the file through them).
    pub span: (u32, u32),
}

#[derive(Clone)]
pub struct Dialect {
    pub delim: u8,
    pub width: usize,
    pub eol: Vec<u8>,
    pub max_lines: usize,
    pub max_bytes: usize,
}

/// What a part of a chunk came to, besides the records it emitted.
pub struct PartEnd {
    pub blank: u64,
    /// Index (within the part) of the first line of a record still open at its end.
    pub cut: Option<usize>,
    pub lines: usize,
}

#[derive(Clone, Copy)]
struct Line {
    start: u32,
    end: u32, // content end: before `\n` and the `\r` of a CRLF
}

/// The part's physical lines: the last one may lack its `\n`.
fn split_lines(data: &[u8], from: usize, to: usize) -> Vec<Line> {
    let mut lines = Vec::with_capacity((to - from) / 48 + 1);
    let mut start = from;
    for nl in memchr_iter(b'\n', &data[from..to]) {
        let nl = from + nl;
        lines.push(content(data, start, nl));
        start = nl + 1;
    }
    if start < to {
        lines.push(content(data, start, to));
    }
    lines
}

fn content(data: &[u8], start: usize, end: usize) -> Line {
    let end = if end > start && data[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    Line {
        start: start as u32,
        end: end as u32,
    }
}

/// csv-module states (CPython's `_csv.c`, default dialect, strict).
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    StartRecord,
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
    EatCrnl,
}

/// One field being read by the csv machine: its bytes, and the chunk range they are when
/// they are one contiguous piece of it (no doubled quote, no line end crossed).
struct FieldAcc {
    bytes: Vec<u8>,
    piece: Option<(u32, u32)>,
}

impl FieldAcc {
    fn add(&mut self, c: u8, pos: Option<u32>) {
        self.piece = match (self.piece, pos) {
            (_, None) => None,
            (None, Some(p)) if self.bytes.is_empty() => Some((p, p + 1)),
            (Some((s, e)), Some(p)) if e == p => Some((s, p + 1)),
            _ => None,
        };
        self.bytes.push(c);
    }
}

pub struct Parser<'a> {
    data: &'a [u8],
    d: &'a Dialect,
    pub side: Vec<u8>,
    side_index: u32,
    fields: Vec<Option<Val>>,
    acc: FieldAcc,
    parsed: Vec<Val>,
}

enum Quoted {
    Ok(usize),    // lines spanned; values in `parsed`
    Error(usize), // lines pulled when the error was found
}

impl<'a> Parser<'a> {
    pub fn new(data: &'a [u8], d: &'a Dialect, side_index: u32) -> Self {
        Parser {
            data,
            d,
            side: Vec::new(),
            side_index,
            fields: Vec::with_capacity(d.width),
            acc: FieldAcc {
                bytes: Vec::new(),
                piece: None,
            },
            parsed: Vec::new(),
        }
    }

    pub fn side_index(&self) -> u32 {
        self.side_index
    }

    pub fn bytes_of(&self, v: Val) -> &[u8] {
        match v {
            Val::Chunk(s, e) => &self.data[s as usize..e as usize],
            Val::Side(s, e) => &self.side[s as usize..e as usize],
        }
    }

    /// Parse the lines in `data[from..to]` (whole lines; `first_line` is the first one's
    /// number), calling `emit` for each data record in order.
    pub fn parse<F: FnMut(&Record, &Parser)>(
        &mut self,
        from: usize,
        to: usize,
        first_line: i64,
        last: bool,
        mut emit: F,
    ) -> PartEnd {
        let lines = split_lines(self.data, from, to);
        let part = &self.data[from..to];
        let all_utf8 = std::str::from_utf8(part).is_ok();
        let special_bytes = memchr2(b'"', 0, part).is_some();
        let long: Vec<usize> = if part.len() > self.d.max_bytes {
            (0..lines.len())
                .filter(|&i| self.len_of(lines[i]) > self.d.max_bytes)
                .collect()
        } else {
            Vec::new()
        };
        let mut blank = 0u64;
        let mut i = 0;
        let mut next_long = 0; // index into `long` of the first long line at or after i
        while i < lines.len() {
            while next_long < long.len() && long[next_long] < i {
                next_long += 1;
            }
            let line_no = first_line + i as i64;
            let ln = lines[i];
            let text = &self.data[ln.start as usize..ln.end as usize];
            let is_long = long.get(next_long) == Some(&i);
            let utf8 = all_utf8 || std::str::from_utf8(text).is_ok();
            let quote = special_bytes && memchr(b'"', text).is_some();
            let nul = special_bytes && memchr(0, text).is_some();
            if is_long {
                self.emit_too_long(line_no, &mut emit);
                i += 1;
                continue;
            }
            let mut span = 1;
            let mut spoiled = Spoiled::No;
            if quote {
                let limit = long.get(next_long).copied().unwrap_or(lines.len());
                let stop = lines.len().min(i + self.d.max_lines).min(limit);
                let simple = self.split_simple_quoted(ln);
                match if simple {
                    Quoted::Ok(1)
                } else {
                    self.read_quoted(&lines, i, stop)
                } {
                    Quoted::Ok(n) => span = n,
                    Quoted::Error(pulled) => {
                        if pulled >= stop - i && stop == lines.len() && !last {
                            return PartEnd {
                                blank,
                                cut: Some(i),
                                lines: i,
                            };
                        }
                        spoiled = Spoiled::Malformed;
                        self.split_into_parsed(ln, utf8);
                    }
                }
            } else {
                self.split_into_parsed(ln, utf8);
            }
            if span > 1 {
                let total: usize = lines[i..i + span].iter().map(|&l| self.len_of(l)).sum();
                if total > self.d.max_bytes {
                    self.emit_too_long(line_no, &mut emit);
                    i += span;
                    continue;
                }
            }
            if spoiled == Spoiled::No && self.parsed_blank() {
                blank += 1;
                i += span;
                continue;
            }
            if spoiled == Spoiled::No && self.parsed.len() != self.d.width {
                spoiled = Spoiled::Malformed;
            }
            let bad = !utf8 || nul || (span > 1 && self.any_bad(&lines[i..i + span]));
            if spoiled == Spoiled::No && bad {
                spoiled = Spoiled::Encoding;
            }
            if bad {
                self.decode_parsed_lossy();
            }
            let raw = if spoiled == Spoiled::Malformed {
                Some(self.text_val(ln, utf8))
            } else {
                None
            };
            self.fields.clear();
            let w = self.d.width;
            self.fields
                .extend(self.parsed.iter().take(w).map(|&v| Some(v)));
            // A short plain line's missing values are empty strings (the reference reads
            // plain lines with Polars, which fills them so); a line read as special, nulls.
            let plain = !quote && !nul && utf8;
            self.fields.resize(w, plain.then_some(Val::Chunk(0, 0)));
            let rec = Record {
                line: line_no,
                spoiled,
                fields: &self.fields,
                raw,
                span: (ln.start, lines[i + span - 1].end),
            };
            emit(&rec, self);
            i += span;
        }
        PartEnd {
            blank,
            cut: None,
            lines: lines.len(),
        }
    }

    fn len_of(&self, l: Line) -> usize {
        (l.end - l.start) as usize
    }

    fn any_bad(&self, lines: &[Line]) -> bool {
        lines.iter().any(|l| {
            let t = &self.data[l.start as usize..l.end as usize];
            std::str::from_utf8(t).is_err() || memchr(0, t).is_some()
        })
    }

    /// A record over the byte limit: ROW_TOO_LONG, with no values (none was kept).
    fn emit_too_long<F: FnMut(&Record, &Parser)>(&mut self, line: i64, emit: &mut F) {
        self.fields.clear();
        self.fields.resize(self.d.width, None);
        let rec = Record {
            line,
            spoiled: Spoiled::TooLong,
            fields: &self.fields,
            raw: None,
            span: (0, 0),
        };
        emit(&rec, self);
    }

    fn parsed_blank(&self) -> bool {
        self.parsed
            .iter()
            .all(|&v| self.bytes_of(v).iter().all(|&b| b == b' ' || b == b'\t'))
    }

    /// Split a line's text on the delimiter (quotes are literal here).
    fn split_into_parsed(&mut self, ln: Line, utf8: bool) {
        self.parsed.clear();
        let (s, e) = (ln.start as usize, ln.end as usize);
        let delim = self.d.delim;
        let mut start = s;
        for p in memchr_iter(delim, &self.data[s..e]) {
            let v = Val::Chunk(start as u32, (s + p) as u32);
            self.parsed.push(v);
            start = s + p + 1;
        }
        self.parsed.push(Val::Chunk(start as u32, e as u32));
        if !utf8 {
            self.decode_parsed_lossy();
        }
    }

    /// The line's text as a value (decoded with replacement characters when invalid).
    fn text_val(&mut self, ln: Line, utf8: bool) -> Val {
        let v = Val::Chunk(ln.start, ln.end);
        if utf8 {
            v
        } else {
            self.lossy(v)
        }
    }

    fn decode_parsed_lossy(&mut self) {
        for k in 0..self.parsed.len() {
            let v = self.parsed[k];
            if std::str::from_utf8(self.bytes_of(v)).is_err() {
                self.parsed[k] = self.lossy(v);
            }
        }
    }

    fn lossy(&mut self, v: Val) -> Val {
        let text = String::from_utf8_lossy(self.bytes_of(v)).into_owned();
        self.push_side(text.as_bytes())
    }

    fn push_side(&mut self, bytes: &[u8]) -> Val {
        let s = self.side.len() as u32;
        self.side.extend_from_slice(bytes);
        Val::Side(s, self.side.len() as u32)
    }

    fn save_field(&mut self) {
        let v = match self.acc.piece {
            Some((s, e)) => Val::Chunk(s, e),
            None if self.acc.bytes.is_empty() => Val::Chunk(0, 0),
            None => {
                let bytes = std::mem::take(&mut self.acc.bytes);
                let v = self.push_side(&bytes);
                self.acc.bytes = bytes;
                v
            }
        };
        self.parsed.push(v);
        self.acc.bytes.clear();
        self.acc.piece = None;
    }

    /// The common quoted line (`"IMEI","356...",""`): each field either holds no quote or is
    /// wholly quoted without a quote, delimiter or CR inside. Such a line is one record that
    /// the csv machine would read exactly so; split it with memchr into `parsed` (the values
    /// are slices of the chunk). Any other line returns false and goes to the machine.
    fn split_simple_quoted(&mut self, ln: Line) -> bool {
        let (s, e) = (ln.start as usize, ln.end as usize);
        let text = &self.data[s..e];
        if memchr(b'\r', text).is_some() {
            return false;
        }
        self.parsed.clear();
        let mut start = 0;
        let ends = memchr_iter(self.d.delim, text).chain(std::iter::once(text.len()));
        for end in ends {
            let field = &text[start..end];
            let (from, to) = match field {
                [b'"', inner @ .., b'"'] if memchr(b'"', inner).is_none() => (start + 1, end - 1),
                _ if memchr(b'"', field).is_none() => (start, end),
                _ => return false,
            };
            self.parsed
                .push(Val::Chunk((s + from) as u32, (s + to) as u32));
            start = end + 1;
        }
        true
    }

    /// Read one record from line `i` as the csv module would, over lines i..stop.
    fn read_quoted(&mut self, lines: &[Line], i: usize, stop: usize) -> Quoted {
        self.parsed.clear();
        self.acc.bytes.clear();
        self.acc.piece = None;
        let mut state = State::StartRecord;
        let eol = self.d.eol.clone();
        for (j, ln) in lines.iter().enumerate().take(stop).skip(i) {
            let pulled = j - i + 1;
            let text = ln.start as usize..ln.end as usize;
            for p in text {
                let c = self.data[p];
                match self.step(state, Some(c), Some(p as u32)) {
                    Some(s) => state = s,
                    None => return Quoted::Error(pulled),
                }
            }
            for &c in &eol {
                match self.step(state, Some(c), None) {
                    Some(s) => state = s,
                    None => return Quoted::Error(pulled),
                }
            }
            match self.step(state, None, None) {
                Some(s) => state = s,
                None => return Quoted::Error(pulled),
            }
            if state == State::StartRecord {
                return Quoted::Ok(pulled);
            }
        }
        Quoted::Error(stop - i)
    }

    /// One character (None: the end of a line) through the csv machine; None on an error.
    fn step(&mut self, state: State, c: Option<u8>, pos: Option<u32>) -> Option<State> {
        let delim = self.d.delim;
        let newline = matches!(c, Some(b'\n') | Some(b'\r'));
        let after_end = if c.is_none() {
            State::StartRecord
        } else {
            State::EatCrnl
        };
        match state {
            State::StartRecord if c.is_none() => Some(State::StartRecord),
            State::StartRecord if newline => Some(State::EatCrnl),
            State::StartRecord | State::StartField => {
                if newline || c.is_none() {
                    self.save_field();
                    Some(after_end)
                } else if c == Some(b'"') {
                    Some(State::InQuoted)
                } else if c == Some(delim) {
                    self.save_field();
                    Some(State::StartField)
                } else {
                    self.acc.add(c?, pos);
                    Some(State::InField)
                }
            }
            State::InField => {
                if newline || c.is_none() {
                    self.save_field();
                    Some(after_end)
                } else if c == Some(delim) {
                    self.save_field();
                    Some(State::StartField)
                } else {
                    self.acc.add(c?, pos);
                    Some(State::InField)
                }
            }
            State::InQuoted => match c {
                None => Some(State::InQuoted),
                Some(b'"') => Some(State::QuoteInQuoted),
                Some(ch) => {
                    self.acc.add(ch, pos);
                    Some(State::InQuoted)
                }
            },
            State::QuoteInQuoted => {
                if c == Some(b'"') {
                    self.acc.add(b'"', pos);
                    Some(State::InQuoted)
                } else if c == Some(delim) {
                    self.save_field();
                    Some(State::StartField)
                } else if newline || c.is_none() {
                    self.save_field();
                    Some(after_end)
                } else {
                    None
                }
            }
            State::EatCrnl => match c {
                None => Some(State::StartRecord),
                Some(b'\n') | Some(b'\r') => Some(State::EatCrnl),
                Some(_) => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(width: usize) -> Dialect {
        Dialect {
            delim: b',',
            width,
            eol: b"\n".to_vec(),
            max_lines: 64,
            max_bytes: 1 << 20,
        }
    }

    /// (line, spoiled, values) of every record, plus the part's end.
    fn run(data: &[u8], width: usize, last: bool) -> (Vec<(i64, Spoiled, Vec<String>)>, PartEnd) {
        let d = dialect(width);
        let mut p = Parser::new(data, &d, 1);
        let mut out = Vec::new();
        let end = p.parse(0, data.len(), 2, last, |r, p| {
            let vals = r
                .fields
                .iter()
                .map(|v| {
                    v.map_or("<null>".into(), |v| {
                        String::from_utf8_lossy(p.bytes_of(v)).into()
                    })
                })
                .collect();
            out.push((r.line, r.spoiled, vals));
        });
        (out, end)
    }

    #[test]
    fn plain_quoted_and_multi_line_records_keep_their_line_numbers() {
        let (recs, end) = run(b"a,b\n\n\"x\ny\",\"q\"\"\"\n,\nc,d", 2, true);
        assert_eq!(end.blank, 2);
        assert_eq!(recs[0], (2, Spoiled::No, vec!["a".into(), "b".into()]));
        assert_eq!(recs[1], (4, Spoiled::No, vec!["x\ny".into(), "q\"".into()]));
        assert_eq!(recs[2], (7, Spoiled::No, vec!["c".into(), "d".into()]));
    }

    #[test]
    fn broken_quoting_spoils_one_line_and_reading_resumes() {
        let (recs, _) = run(b"\"a\"b,c\nd,e\n", 2, true);
        assert_eq!(recs[0].1, Spoiled::Malformed);
        assert_eq!(recs[1], (3, Spoiled::No, vec!["d".into(), "e".into()]));
    }

    #[test]
    fn an_open_quote_at_the_end_of_a_part_is_a_cut_unless_it_is_the_last() {
        let (recs, end) = run(b"a,b\n\"open,c\n", 2, false);
        assert_eq!((recs.len(), end.cut), (1, Some(1)));
        let (recs, end) = run(b"a,b\n\"open,c\n", 2, true);
        assert_eq!((recs[1].1, end.cut), (Spoiled::Malformed, None));
    }

    #[test]
    fn invalid_bytes_and_nul_spoil_only_their_record() {
        let (recs, _) = run(b"a\xff,b\n\"a\",\"\xfe\"\nc,\0\nok,ok\n", 2, true);
        let spoiled: Vec<Spoiled> = recs.iter().map(|r| r.1).collect();
        assert_eq!(
            spoiled,
            [
                Spoiled::Encoding,
                Spoiled::Encoding,
                Spoiled::Encoding,
                Spoiled::No
            ]
        );
        assert_eq!(recs[0].2[0], "a\u{fffd}");
    }

    #[test]
    fn a_line_over_the_limit_is_too_long_and_ends_an_open_quote() {
        let mut data = b"\"open,x\n".to_vec();
        data.extend(vec![b'z'; (1 << 20) + 1]);
        data.extend(b"\nc,d\n");
        let (recs, _) = run(&data, 2, true);
        let spoiled: Vec<Spoiled> = recs.iter().map(|r| r.1).collect();
        assert_eq!(spoiled, [Spoiled::Malformed, Spoiled::TooLong, Spoiled::No]);
    }
}
