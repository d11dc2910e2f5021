"""Every code ztbulk can report, with its catalogue entry, and the row outcomes.

Codes are public interface (SPEC.md): their spelling never changes. The enum's order is the
order of SPEC's tables, which is also the order codes are listed in for a row. Row codes are
carried through the pipeline as bits of one UInt64 column (`Code.bit`), so a row's failures stay
columnar until a report renders them to text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    FILE = "file"  # stops the whole file
    ROW = "row"  # rejects the row
    DUPLICATE = "duplicate"  # decided across the whole file
    REGISTRY = "registry"  # decided against the device registry (import only)
    WARNING = "warning"  # reported, the row still goes on


class Code(StrEnum):
    # SPEC section 2: file level
    FILE_EMPTY = "FILE_EMPTY"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    FILE_ENCODING = "FILE_ENCODING"
    FILE_CHANGED = "FILE_CHANGED"
    HEADER_MISSING_COLUMN = "HEADER_MISSING_COLUMN"
    HEADER_DUPLICATE_COLUMN = "HEADER_DUPLICATE_COLUMN"
    HEADER_MODE_CONFLICT = "HEADER_MODE_CONFLICT"
    HEADER_MODE_NOT_ALLOWED = "HEADER_MODE_NOT_ALLOWED"
    HEADER_TOO_LONG = "HEADER_TOO_LONG"
    HEADER_UNKNOWN_COLUMN = "HEADER_UNKNOWN_COLUMN"
    # SPEC section 3: rows
    ROW_MALFORMED = "ROW_MALFORMED"
    FIELD_ENCODING = "FIELD_ENCODING"
    ROW_TOO_LONG = "ROW_TOO_LONG"
    IDENTIFIER_MISSING = "IDENTIFIER_MISSING"
    MODEMTYPE_MISSING = "MODEMTYPE_MISSING"
    MODEMID_MISSING = "MODEMID_MISSING"
    MODEMTYPE_CASE = "MODEMTYPE_CASE"
    MODEMTYPE_INVALID = "MODEMTYPE_INVALID"
    IMEI_SCIENTIFIC = "IMEI_SCIENTIFIC"
    IMEI_FORMAT = "IMEI_FORMAT"
    IMEI_CHECKSUM = "IMEI_CHECKSUM"
    MEID_FORMAT = "MEID_FORMAT"
    MODEL_MISSING = "MODEL_MISSING"
    SERIAL_FORMAT = "SERIAL_FORMAT"
    MANUFACTURER_MISSING = "MANUFACTURER_MISSING"
    MANUFACTURER_UNKNOWN = "MANUFACTURER_UNKNOWN"
    MODEL_UNKNOWN = "MODEL_UNKNOWN"
    PROFILETYPE_MISSING = "PROFILETYPE_MISSING"
    PROFILETYPE_CASE = "PROFILETYPE_CASE"
    PROFILETYPE_INVALID = "PROFILETYPE_INVALID"
    PROFILEID_MISSING = "PROFILEID_MISSING"
    PROFILEID_INVALID = "PROFILEID_INVALID"
    OWNER_MISSING = "OWNER_MISSING"
    OWNER_INVALID = "OWNER_INVALID"
    # SPEC section 4: duplicates inside one file
    DUPLICATE_ROW = "DUPLICATE_ROW"
    DUPLICATE_CONFLICT = "DUPLICATE_CONFLICT"
    # SPEC section 5: resolution against the registry
    DEVICE_NOT_FOUND = "DEVICE_NOT_FOUND"
    MANUFACTURER_MISMATCH = "MANUFACTURER_MISMATCH"
    CONFIGURATION_NOT_FOUND = "CONFIGURATION_NOT_FOUND"
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    DEVICE_CLAIMED_ELSEWHERE = "DEVICE_CLAIMED_ELSEWHERE"
    DEVICE_CHANGED = "DEVICE_CHANGED"
    SECONDARY_IMEI = "SECONDARY_IMEI"
    KME_CONFLICT = "KME_CONFLICT"

    @property
    def info(self) -> CodeInfo:
        return CATALOGUE[self]

    @property
    def bit(self) -> int:
        """The bit of this row code in the UInt64 code mask."""
        return ROW_CODES.index(self)


class Outcome(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    UNCLAIMED = "unclaimed"
    CLAIMED = "claimed"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    VALID = "valid"  # `ztbulk check` only: passed sections 3 and 4


@dataclass(frozen=True)
class CodeInfo:
    """A code's catalogue entry.

    `template` is rendered per row by `report.messages` (and the native core), in English or
    translated (`wording.template`); `{name}` stands for the row's trimmed value of the
    canonical column `name` (or, for `raw`, the whole record as written).
    """

    title: str
    template: str
    category: Category


def _info(title: str, template: str, category: Category) -> CodeInfo:
    return CodeInfo(title, template, category)


F, R, D, G, W = Category.FILE, Category.ROW, Category.DUPLICATE, Category.REGISTRY, Category.WARNING

CATALOGUE: dict[Code, CodeInfo] = {
    Code.FILE_EMPTY: _info("File empty", "The file has no header line.", F),
    Code.FILE_TOO_LARGE: _info("File too large", "The file is larger than the byte limit.", F),
    Code.FILE_ENCODING: _info(
        "File encoding", "The header line is not valid UTF-8 (or the UTF-16 text is broken).", F
    ),
    Code.FILE_CHANGED: _info(
        "File changed", "The file changed while it was read; check it again when it is still.", F
    ),
    Code.HEADER_MISSING_COLUMN: _info("Missing column", "A required column is missing.", F),
    Code.HEADER_DUPLICATE_COLUMN: _info("Duplicate column", "A column appears twice.", F),
    Code.HEADER_MODE_CONFLICT: _info(
        "Both profileid and owner", "The header has both profileid and owner columns.", F
    ),
    Code.HEADER_MODE_NOT_ALLOWED: _info(
        "Mode not allowed", "A reseller file cannot have a profileid column.", F
    ),
    Code.HEADER_TOO_LONG: _info(
        "Header too long",
        "The header line is longer than the header byte limit (64 KiB); is line 1 a header?",
        F,
    ),
    Code.HEADER_UNKNOWN_COLUMN: _info("Unknown column", "A column is not known; ignored.", W),
    Code.ROW_MALFORMED: _info(
        "Malformed row",
        "The record's field count or quoting is broken (fix its commas and quotes): {raw}",
        R,
    ),
    Code.FIELD_ENCODING: _info(
        "Invalid characters", "The row holds bytes that are not valid UTF-8, or a NUL byte.", R
    ),
    Code.ROW_TOO_LONG: _info(
        "Row too long",
        "The record is longer than the record byte limit (1 MiB); it was not read.",
        R,
    ),
    Code.IDENTIFIER_MISSING: _info(
        "Identifier missing", "Give modemtype and modemid, or serial with model.", R
    ),
    Code.MODEMTYPE_MISSING: _info(
        "Modem type missing", "modemid {modemid} needs a modemtype (IMEI or MEID).", R
    ),
    Code.MODEMID_MISSING: _info("Modem id missing", "modemtype {modemtype} needs a modemid.", R),
    Code.MODEMTYPE_CASE: _info("Modem type case", "modemtype {modemtype} must be upper case.", R),
    Code.MODEMTYPE_INVALID: _info(
        "Modem type invalid", "modemtype {modemtype} is not IMEI or MEID.", R
    ),
    Code.IMEI_SCIENTIFIC: _info(
        "IMEI in exponent notation",
        "IMEI {modemid} was turned into exponent notation by a spreadsheet; "
        "format the column as text and export again.",
        R,
    ),
    Code.IMEI_FORMAT: _info("IMEI format", "IMEI {modemid} is not exactly 15 digits.", R),
    Code.IMEI_CHECKSUM: _info(
        "IMEI check digit", "IMEI {modemid} has a wrong check digit (Luhn).", R
    ),
    Code.MEID_FORMAT: _info("MEID format", "MEID {modemid} is not exactly 14 hex digits.", R),
    Code.MODEL_MISSING: _info(
        "Model missing", "serial {serial} needs a model and a manufacturer.", R
    ),
    Code.SERIAL_FORMAT: _info(
        "Serial format",
        "serial {serial} is not 1-64 printable ASCII characters without spaces.",
        R,
    ),
    Code.MANUFACTURER_MISSING: _info("Manufacturer missing", "manufacturer is required.", R),
    Code.MANUFACTURER_UNKNOWN: _info(
        "Manufacturer unknown",
        "manufacturer {manufacturer} is not in the manufacturers list.",
        R,
    ),
    Code.MODEL_UNKNOWN: _info(
        "Model unknown",
        "model {model} is not a {manufacturer} model in the models list.",
        R,
    ),
    Code.PROFILETYPE_MISSING: _info("Profile type missing", "profiletype is required.", R),
    Code.PROFILETYPE_CASE: _info(
        "Profile type case", "profiletype {profiletype} must be ZERO_TOUCH.", R
    ),
    Code.PROFILETYPE_INVALID: _info(
        "Profile type invalid", "profiletype {profiletype} is not ZERO_TOUCH.", R
    ),
    Code.PROFILEID_MISSING: _info("Profile id missing", "profileid is required.", R),
    Code.PROFILEID_INVALID: _info(
        "Profile id invalid",
        "profileid {profileid} is not a positive integer of at most 18 digits.",
        R,
    ),
    Code.OWNER_MISSING: _info("Owner missing", "owner is required.", R),
    Code.OWNER_INVALID: _info(
        "Owner invalid",
        "owner {owner} must be 0 (unclaim), or a customer id when a reseller imports.",
        R,
    ),
    Code.DUPLICATE_ROW: _info(
        "Duplicate row",
        "The same device with the same target is on {dup_of}; this row is skipped.",
        D,
    ),
    Code.DUPLICATE_CONFLICT: _info(
        "Conflicting duplicates", "The same device is on {dup_of} with another target.", D
    ),
    Code.DEVICE_NOT_FOUND: _info("Device not found", "No matching device in this account.", G),
    Code.MANUFACTURER_MISMATCH: _info(
        "Manufacturer mismatch",
        "The device is registered with another manufacturer than {manufacturer}.",
        G,
    ),
    Code.CONFIGURATION_NOT_FOUND: _info(
        "Configuration not found",
        "profileid {profileid} is not a configuration of this customer.",
        G,
    ),
    Code.CUSTOMER_NOT_FOUND: _info(
        "Customer not found",
        "owner {owner} is not a customer that has this reseller enabled.",
        G,
    ),
    Code.DEVICE_CLAIMED_ELSEWHERE: _info(
        "Claimed elsewhere", "The device is already claimed by another customer.", G
    ),
    Code.DEVICE_CHANGED: _info(
        "Device changed",
        "The device changed in the registry after this job planned it (claimed, unclaimed, "
        "registered or reconfigured elsewhere); nothing was written: import the row again.",
        G,
    ),
    Code.SECONDARY_IMEI: _info(
        "Second IMEI", "Matched a dual-SIM device by its second IMEI; the lowest is used.", W
    ),
    Code.KME_CONFLICT: _info(
        "Knox Mobile Enrollment",
        "The device also has a Knox Mobile Enrollment assignment, which takes precedence.",
        W,
    ),
}

FILE_CODES: tuple[Code, ...] = tuple(c for c in Code if CATALOGUE[c].category is Category.FILE)
ROW_CODES: tuple[Code, ...] = tuple(
    c for c in Code if c is not Code.HEADER_UNKNOWN_COLUMN and c not in FILE_CODES
)

assert len(ROW_CODES) <= 64, "row codes must fit one UInt64 mask"
assert set(CATALOGUE) == set(Code), "every code needs a catalogue entry"


def mask_of(*codes: Code) -> int:
    """The UInt64 mask holding exactly these row codes."""
    m = 0
    for code in codes:
        m |= 1 << code.bit
    return m


def codes_of(mask: int) -> list[Code]:
    """The codes in a mask, in catalogue order (for tests and small reports)."""
    return [c for c in ROW_CODES if mask >> c.bit & 1]
