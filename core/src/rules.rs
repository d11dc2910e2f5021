//! SPEC section 3 on one record's trimmed values, and the identity key section 4 needs.
//!
//! Each check is the native twin of one registered Polars expression in
//! `ztbulk.validate.checks` (same regexes, written as byte tests; same case rules: ASCII
//! values compare without allocating, others through Unicode case mapping as Polars does).
//! The mask bits come from Python (`Code.bit`), so the code list has one owner.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Canonical columns, in `ztbulk.domain.CANONICAL_COLUMNS` order.
pub const COLUMNS: [&str; 9] = [
    "modemtype",
    "modemid",
    "serial",
    "model",
    "manufacturer",
    "profiletype",
    "profileid",
    "owner",
    "ordernumber",
];
const MT: usize = 0;
const MID: usize = 1;
const SERIAL: usize = 2;
const MODEL: usize = 3;
const MAKER: usize = 4;
const PTYPE: usize = 5;
const PID: usize = 6;
const OWNER: usize = 7;

/// The row codes' bits, by name (every name of `ztbulk.codes.ROW_CODES`).
pub struct Bits(pub HashMap<String, u32>);

impl Bits {
    pub fn mask(&self, name: &str) -> u64 {
        1u64 << self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("no bit for {name}"))
    }
}

/// A small, fast hasher for the catalogue sets (keys are short, not adversarial: a collision
/// costs a comparison, never a wrong answer).
#[derive(Default)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits (the table's bucket index) weak: mix them.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

type FxSet = HashSet<Vec<u8>, BuildHasherDefault<FxHasher>>;

/// Masks of the codes this module sets (looked up once).
struct Masks {
    identifier_missing: u64,
    modemtype_missing: u64,
    modemid_missing: u64,
    modemtype_case: u64,
    modemtype_invalid: u64,
    imei_scientific: u64,
    imei_format: u64,
    imei_checksum: u64,
    meid_format: u64,
    model_missing: u64,
    serial_format: u64,
    manufacturer_missing: u64,
    manufacturer_unknown: u64,
    model_unknown: u64,
    profiletype_missing: u64,
    profiletype_case: u64,
    profiletype_invalid: u64,
    profileid_missing: u64,
    profileid_invalid: u64,
    owner_missing: u64,
    owner_invalid: u64,
}

pub struct Rules {
    /// Field position of each canonical column (None: not in the header).
    pub cols: [Option<usize>; 9],
    pub profileid_mode: bool,
    pub customer: bool,
    makers: FxSet,
    pairs: FxSet,
    m: Masks,
}

/// The verdict on one record with no parse problem.
pub struct Verdict {
    pub mask: u64,
    pub hash: u64,
    pub target: Option<i64>,
    pub checked: bool,
}

impl Rules {
    pub fn new(
        cols: [Option<usize>; 9],
        profileid_mode: bool,
        customer: bool,
        makers: Vec<String>,
        pairs: Vec<String>,
        bits: &Bits,
    ) -> Self {
        let b = |n: &str| bits.mask(n);
        let m = Masks {
            identifier_missing: b("IDENTIFIER_MISSING"),
            modemtype_missing: b("MODEMTYPE_MISSING"),
            modemid_missing: b("MODEMID_MISSING"),
            modemtype_case: b("MODEMTYPE_CASE"),
            modemtype_invalid: b("MODEMTYPE_INVALID"),
            imei_scientific: b("IMEI_SCIENTIFIC"),
            imei_format: b("IMEI_FORMAT"),
            imei_checksum: b("IMEI_CHECKSUM"),
            meid_format: b("MEID_FORMAT"),
            model_missing: b("MODEL_MISSING"),
            serial_format: b("SERIAL_FORMAT"),
            manufacturer_missing: b("MANUFACTURER_MISSING"),
            manufacturer_unknown: b("MANUFACTURER_UNKNOWN"),
            model_unknown: b("MODEL_UNKNOWN"),
            profiletype_missing: b("PROFILETYPE_MISSING"),
            profiletype_case: b("PROFILETYPE_CASE"),
            profiletype_invalid: b("PROFILETYPE_INVALID"),
            profileid_missing: b("PROFILEID_MISSING"),
            profileid_invalid: b("PROFILEID_INVALID"),
            owner_missing: b("OWNER_MISSING"),
            owner_invalid: b("OWNER_INVALID"),
        };
        Rules {
            cols,
            profileid_mode,
            customer,
            makers: makers.into_iter().map(String::into_bytes).collect(),
            pairs: pairs.into_iter().map(String::into_bytes).collect(),
            m,
        }
    }

    /// Every section 3 check on the trimmed values (None: blank or absent).
    pub fn check(&self, v: &[Option<&[u8]>; 9], scratch: &mut Vec<u8>) -> u64 {
        let m = &self.m;
        let mut mask = 0u64;
        let mut set = |cond: bool, bit: u64| {
            if cond {
                mask |= bit
            }
        };
        let (mt, mid, serial, model) = (v[MT], v[MID], v[SERIAL], v[MODEL]);
        let imei = mt.is_some_and(|t| upper_is(t, "IMEI"));
        let meid = mt.is_some_and(|t| upper_is(t, "MEID"));
        set(
            mid.is_none() && mt.is_none() && serial.is_none(),
            m.identifier_missing,
        );
        set(mid.is_some() && mt.is_none(), m.modemtype_missing);
        set(mt.is_some() && mid.is_none(), m.modemid_missing);
        let exact = mt.is_some_and(|t| t == b"IMEI" || t == b"MEID");
        set((imei || meid) && !exact, m.modemtype_case);
        set(mt.is_some() && !(imei || meid), m.modemtype_invalid);
        if let Some(id) = mid {
            let sci = scientific(id);
            let digits = id.len() == 15 && id.iter().all(u8::is_ascii_digit);
            set(imei && sci, m.imei_scientific);
            set(imei && !digits && !sci, m.imei_format);
            set(imei && digits && !luhn(id), m.imei_checksum);
            let hex = id.len() == 14 && id.iter().all(u8::is_ascii_hexdigit);
            set(meid && !hex, m.meid_format);
        }
        set(serial.is_some() && model.is_none(), m.model_missing);
        set(serial.is_some_and(|s| !serial_ok(s)), m.serial_format);
        self.check_names(v, scratch, &mut set);
        let ptype = v[PTYPE];
        let zt = ptype.is_some_and(|p| upper_is(p, "ZERO_TOUCH"));
        set(ptype.is_none(), m.profiletype_missing);
        set(zt && ptype != Some(b"ZERO_TOUCH"), m.profiletype_case);
        set(ptype.is_some() && !zt, m.profiletype_invalid);
        if self.profileid_mode {
            set(v[PID].is_none(), m.profileid_missing);
            let ok = |p: &[u8]| number(p) && positive_id(p);
            set(v[PID].is_some_and(|p| !ok(p)), m.profileid_invalid);
        } else {
            set(v[OWNER].is_none(), m.owner_missing);
            let allowed = |o: &[u8]| if self.customer { zero(o) } else { number(o) };
            set(
                v[OWNER].is_some_and(|o| !(number(o) && allowed(o))),
                m.owner_invalid,
            );
        }
        mask
    }

    fn check_names(
        &self,
        v: &[Option<&[u8]>; 9],
        scratch: &mut Vec<u8>,
        set: &mut impl FnMut(bool, u64),
    ) {
        let m = &self.m;
        let Some(maker) = v[MAKER] else {
            set(true, m.manufacturer_missing);
            return;
        };
        scratch.clear();
        lower_into(maker, scratch);
        let known = self.makers.contains(scratch.as_slice());
        set(!known, m.manufacturer_unknown);
        if let (true, Some(model)) = (known, v[MODEL]) {
            scratch.push(0x1f); // validate.catalog.PAIR_SEP
            lower_into(model, scratch);
            set(!self.pairs.contains(scratch.as_slice()), m.model_unknown);
        }
    }

    /// The section 4 key of a valid row: an IMEI's number, a MEID's value in hex (as
    /// `validate.rules.identity_hash`, which resolve joins on), else a hash of the serial
    /// (the duplicate pass confirms every repeated key on the identity itself).
    pub fn identity_key(&self, v: &[Option<&[u8]>; 9]) -> u64 {
        match (v[MID], v[MT]) {
            (None, _) => serial_hash(v[SERIAL].unwrap_or_default()),
            (Some(id), Some(b"IMEI")) => parse_radix(id, 10),
            (Some(id), _) => parse_radix(id, 16),
        }
    }

    pub fn target(&self, v: &[Option<&[u8]>; 9]) -> Option<i64> {
        let t = if self.profileid_mode {
            v[PID]
        } else {
            v[OWNER]
        };
        std::str::from_utf8(t?).ok()?.parse::<i64>().ok()
    }
}

/// `value.to_uppercase() == upper` (Polars' Unicode upper case for non-ASCII values).
fn upper_is(value: &[u8], upper: &str) -> bool {
    if value.is_ascii() {
        return value.eq_ignore_ascii_case(upper.as_bytes());
    }
    std::str::from_utf8(value).is_ok_and(|s| s.to_uppercase() == upper)
}

/// Append `value` lower-cased (Unicode lower case for non-ASCII, as Polars).
fn lower_into(value: &[u8], out: &mut Vec<u8>) {
    if value.is_ascii() {
        out.extend(value.iter().map(u8::to_ascii_lowercase));
    } else if let Ok(s) = std::str::from_utf8(value) {
        out.extend_from_slice(s.to_lowercase().as_bytes());
    }
}

/// `^[0-9]+([.,][0-9]+)?[eE][+]?[0-9]+$`
fn scientific(s: &[u8]) -> bool {
    let digits = |s: &[u8], i: usize| s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = digits(s, 0);
    if i == 0 {
        return false;
    }
    if i < s.len() && (s[i] == b'.' || s[i] == b',') {
        let n = digits(s, i + 1);
        if n == 0 {
            return false;
        }
        i += 1 + n;
    }
    if i >= s.len() || !(s[i] == b'e' || s[i] == b'E') {
        return false;
    }
    i += 1;
    if i < s.len() && s[i] == b'+' {
        i += 1;
    }
    let n = digits(s, i);
    n > 0 && i + n == s.len()
}

/// Luhn on 15 ASCII digits.
fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, &c) in digits.iter().rev().enumerate() {
        let d = u32::from(c - b'0');
        sum += if k % 2 == 1 {
            if d >= 5 {
                2 * d - 9
            } else {
                2 * d
            }
        } else {
            d
        };
    }
    sum.is_multiple_of(10)
}

/// `^[!-~]{1,64}$`
fn serial_ok(s: &[u8]) -> bool {
    (1..=64).contains(&s.len()) && s.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// `^[0-9]{1,18}$`
fn number(s: &[u8]) -> bool {
    (1..=18).contains(&s.len()) && s.iter().all(u8::is_ascii_digit)
}

/// `^0*[1-9][0-9]*$`
fn positive_id(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit) && s.iter().any(|&c| c != b'0')
}

/// `^0+$`
fn zero(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&c| c == b'0')
}

fn parse_radix(s: &[u8], radix: u32) -> u64 {
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| u64::from_str_radix(t, radix).ok())
        .unwrap_or(0)
}

fn serial_hash(s: &[u8]) -> u64 {
    let mut h = FxHasher(0x9e37_79b9_7f4a_7c15);
    h.write(s);
    h.write(&[s.len() as u8]);
    h.finish()
}

/// `value` without surrounding spaces and tabs.
pub fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&c| c != b' ' && c != b'\t');
    match start {
        None => &[],
        Some(s) => {
            let e = v
                .iter()
                .rposition(|&c| c != b' ' && c != b'\t')
                .unwrap_or(s);
            &v[s..=e]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_tests_match_their_regexes() {
        for (s, want) in [
            ("3.56938E+14", true),
            ("3,5E14", true),
            ("3E", false),
            (".5E1", false),
            ("3.E1", false),
            ("35E+1x", false),
        ] {
            assert_eq!(scientific(s.as_bytes()), want, "{s}");
        }
        assert!(luhn(b"356938035643809") && !luhn(b"356938035643810"));
        assert!(positive_id(b"007") && !positive_id(b"000") && !positive_id(b""));
        assert!(number(b"123456789012345678") && !number(b"1234567890123456789"));
        assert!(serial_ok(b"ABC-1") && !serial_ok(b"A B") && !serial_ok(&[b'S'; 65]));
        assert_eq!(trim(b" \tx y\t "), b"x y");
        assert_eq!(trim(b" \t "), b"");
    }

    #[test]
    fn non_ascii_case_follows_unicode() {
        assert!(upper_is("ımei".as_bytes(), "IMEI")); // dotless i upper-cases to I
        let mut out = Vec::new();
        lower_into("SAMSÜNG".as_bytes(), &mut out);
        assert_eq!(out, "samsüng".as_bytes());
    }
}
