"""Parse stage: bytes on disk -> string-typed records a chunk at a time, with their line numbers."""

from ztbulk.parse.config import ParseConfig
from ztbulk.parse.header import Header, read_header
from ztbulk.parse.issues import FileIssue
from ztbulk.parse.reader import RawChunk, RecordReader, field_names
from ztbulk.parse.source import Sha256, Source, open_source

__all__ = [
    "FileIssue",
    "Header",
    "ParseConfig",
    "RawChunk",
    "RecordReader",
    "Sha256",
    "Source",
    "field_names",
    "open_source",
    "read_header",
]
