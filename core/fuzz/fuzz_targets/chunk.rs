//! The chunk parser and judge on arbitrary bytes: no panic, no hang, and every record it
//! returns has a line number inside the chunk, in order, with one value per column.
#![no_main]

use _core::parse::Dialect;
use _core::rules::{Bits, Rules};
use _core::{process_chunk, Place, Settings};
use libfuzzer_sys::fuzz_target;

const CODES: [&str; 24] = [
    "ROW_MALFORMED",
    "FIELD_ENCODING",
    "ROW_TOO_LONG",
    "IDENTIFIER_MISSING",
    "MODEMTYPE_MISSING",
    "MODEMID_MISSING",
    "MODEMTYPE_CASE",
    "MODEMTYPE_INVALID",
    "IMEI_SCIENTIFIC",
    "IMEI_FORMAT",
    "IMEI_CHECKSUM",
    "MEID_FORMAT",
    "MODEL_MISSING",
    "SERIAL_FORMAT",
    "MANUFACTURER_MISSING",
    "MANUFACTURER_UNKNOWN",
    "MODEL_UNKNOWN",
    "PROFILETYPE_MISSING",
    "PROFILETYPE_CASE",
    "PROFILETYPE_INVALID",
    "PROFILEID_MISSING",
    "PROFILEID_INVALID",
    "OWNER_MISSING",
    "OWNER_INVALID",
];

fuzz_target!(|input: &[u8]| {
    // The first byte picks the settings, so the corpus explores them too.
    let Some((&knobs, data)) = input.split_first() else {
        return;
    };
    let width = 1 + usize::from(knobs & 7);
    let bits = Bits(
        CODES
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), i as u32))
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
            delim: [b',', b';', b'\t', b','][usize::from(knobs >> 3 & 3)],
            width,
            eol: if knobs & 32 != 0 {
                b"\r\n".to_vec()
            } else {
                b"\n".to_vec()
            },
            max_lines: if knobs & 64 != 0 { 3 } else { 64 },
            max_bytes: if knobs & 128 != 0 { 40 } else { 1 << 20 },
        },
        malformed: 1,
        encoding: 2,
        too_long: 4,
        valid_values: true,
        templates: _core::messages::Templates(Vec::new()),
        rules: Rules::new(
            cols.map(|c| c.filter(|&c| c < width)),
            knobs & 1 == 0,
            knobs & 2 == 0,
            vec!["samsung".into()],
            vec!["samsung\u{1f}sm-a155m".into()],
            &bits,
        ),
    };
    let lines = memchr::memchr_iter(b'\n', data).count() as i64 + 1;
    for last in [false, true] {
        let out = process_chunk(data, 2, last, Place::NONE, &s);
        assert!(out.bytes <= data.len());
        let mut previous = 1;
        for t in out.valid.iter().chain(&out.failing) {
            assert!(t.fields.iter().all(|f| f.views.len() == t.len()));
        }
        let mut all: Vec<i64> = out
            .valid
            .iter()
            .chain(&out.failing)
            .flat_map(|t| t.line.clone())
            .collect();
        all.sort_unstable();
        for line in all {
            assert!(
                line > previous && line < 2 + lines,
                "line {line} out of order or range"
            );
            previous = line;
        }
    }
});
