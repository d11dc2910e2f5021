//! ztbulk's native core (`ztbulk._core`): one pass per chunk from raw bytes to verdicts.
//!
//! `Engine.process(chunk, first_line, last)` splits a chunk of whole lines into records with
//! their line numbers (`parse`), runs every section 3 check on each (`rules`) and returns two
//! tables, valid and failing rows, as Arrow buffers (`table`) that Python wraps without
//! copying. The chunk is cut into parts parsed on all cores; a part whose first line may be
//! inside a quoted record begun in the part before is parsed again from that record's start.

pub mod chunk;
pub mod messages;
pub mod parse;
pub mod rules;
pub mod table;

mod py;

pub use chunk::{process_chunk, ChunkOut, Place, Settings};
