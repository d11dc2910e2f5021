//! Times the core on a file: `cargo run --release --example bench FILE MAKERS PAIRS BITS`.
use _core::parse::Dialect;
use _core::rules::{Bits, Rules};
use _core::{process_chunk, Place, Settings};
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let data = std::fs::read(&a[1]).unwrap();
    let start = memchr::memchr(b'\n', &data).unwrap() + 1;
    let lines = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let bits = Bits(
        lines(&a[4])
            .iter()
            .map(|l| {
                let (n, b) = l.split_once(' ').unwrap();
                (n.to_string(), b.parse().unwrap())
            })
            .collect(),
    );
    let cols = [
        Some(0),
        Some(1),
        Some(2),
        Some(3),
        Some(4),
        Some(5),
        Some(6),
        None,
        None,
    ];
    let s = Settings {
        dialect: Dialect {
            delim: b',',
            width: 7,
            eol: b"\n".to_vec(),
            max_lines: 64,
            max_bytes: 1 << 20,
        },
        malformed: bits.mask("ROW_MALFORMED"),
        encoding: bits.mask("FIELD_ENCODING"),
        too_long: bits.mask("ROW_TOO_LONG"),
        valid_values: true,
        templates: _core::messages::Templates {
            codes: Vec::new(),
            blank: b"(blank)".to_vec(),
        },
        rules: Rules::new(cols, true, true, lines(&a[2]), lines(&a[3]), &bits),
    };
    for _ in 0..3 {
        let t = Instant::now();
        let (mut pos, mut line, mut rows) = (start, 2, 0);
        while pos < data.len() {
            let mut end = (pos + (8 << 20)).min(data.len());
            end = memchr::memchr(b'\n', &data[end..]).map_or(data.len(), |p| end + p + 1);
            let out = process_chunk(&data[pos..end], line, end == data.len(), Place::NONE, &s);
            rows += out
                .valid
                .iter()
                .chain(&out.failing)
                .map(|t| t.len())
                .sum::<usize>();
            line += out.lines as i64;
            pos += out.bytes;
        }
        println!("{:?} rows {rows}", t.elapsed());
    }
}
