//! The Python face: `Engine` and the read-only buffers its results are made of.

use crate::chunk::{process_chunk, ChunkOut, Place, Settings};
use crate::messages::{Piece, Quote, Templates};
use crate::parse::Dialect;
use crate::rules::{Bits, Rules, COLUMNS};
use crate::table::{bitmap, Table, ViewColumn};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::collections::HashMap;
use std::os::raw::{c_int, c_void};

/// Memory owned by Rust, exported read-only through the buffer protocol (so
/// `pyarrow.py_buffer` wraps it without a copy). Never changed after it is made.
#[pyclass(frozen, module = "ztbulk._core")]
pub struct Buf {
    data: Storage,
}

enum Storage {
    Bytes(Vec<u8>),
    Words(Vec<u64>),
    Signed(Vec<i64>),
    Halves(Vec<u32>),
    Views(Vec<u128>),
}

impl Buf {
    fn raw(&self) -> (*const u8, usize) {
        match &self.data {
            Storage::Bytes(v) => (v.as_ptr(), v.len()),
            Storage::Words(v) => (v.as_ptr().cast(), std::mem::size_of_val(v.as_slice())),
            Storage::Signed(v) => (v.as_ptr().cast(), std::mem::size_of_val(v.as_slice())),
            Storage::Halves(v) => (v.as_ptr().cast(), std::mem::size_of_val(v.as_slice())),
            Storage::Views(v) => (v.as_ptr().cast(), std::mem::size_of_val(v.as_slice())),
        }
    }
}

#[pymethods]
impl Buf {
    /// # Safety
    /// Called by CPython with a valid `view` to fill. Sound because: the pointer and length
    /// describe the whole, initialised allocation of a `Vec` of plain integers (any byte of
    /// which is a valid `u8`); `Buf` is frozen and has no method that changes or moves that
    /// `Vec`, and `PyBuffer_FillInfo` stores a new reference to `slf` in `view.obj`, so the
    /// memory lives, unchanged, as long as any consumer holds the view; the buffer is
    /// exported read-only (`readonly = 1`), so no consumer may write to it.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let (ptr, len) = slf.get().raw();
        let rc = ffi::PyBuffer_FillInfo(
            view,
            slf.as_ptr(),
            ptr as *mut c_void,
            len as ffi::Py_ssize_t,
            1,
            flags,
        );
        if rc == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    /// # Safety
    /// Nothing was allocated per view: CPython drops the reference `view.obj` holds.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}

    fn __len__(&self) -> usize {
        self.raw().1
    }
}

fn buf(py: Python<'_>, data: Storage) -> PyResult<Py<Buf>> {
    Py::new(py, Buf { data })
}

/// One chunk parser and judge, made once per file.
#[pyclass(frozen, module = "ztbulk._core")]
pub struct Engine {
    settings: Settings,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (*, delimiter, width, crlf, max_lines, max_bytes, columns, profileid_mode, customer, manufacturers, pairs, bits, messages, blank="(blank)", valid_values=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        delimiter: &str,
        width: usize,
        crlf: bool,
        max_lines: usize,
        max_bytes: usize,
        columns: HashMap<String, usize>,
        profileid_mode: bool,
        customer: bool,
        manufacturers: Vec<String>,
        pairs: Vec<String>,
        bits: HashMap<String, u32>,
        messages: Vec<TemplateIn>,
        blank: &str,
        valid_values: bool,
    ) -> PyResult<Self> {
        let delim = match delimiter.as_bytes() {
            [d] if d.is_ascii() => *d,
            _ => {
                return Err(PyValueError::new_err(
                    "the delimiter must be one ASCII character",
                ))
            }
        };
        let mut cols = [None; 9];
        for (k, name) in COLUMNS.iter().enumerate() {
            cols[k] = columns.get(*name).copied().filter(|&c| c < width);
        }
        let bits = Bits(bits);
        let settings = Settings {
            dialect: Dialect {
                delim,
                width,
                eol: if crlf {
                    b"\r\n".to_vec()
                } else {
                    b"\n".to_vec()
                },
                max_lines: max_lines.max(1),
                max_bytes,
            },
            malformed: bits.mask("ROW_MALFORMED"),
            encoding: bits.mask("FIELD_ENCODING"),
            too_long: bits.mask("ROW_TOO_LONG"),
            valid_values,
            templates: templates(messages, blank)?,
            rules: Rules::new(cols, profileid_mode, customer, manufacturers, pairs, &bits),
        };
        Ok(Engine { settings })
    }

    /// Parse and judge one chunk of whole lines; the GIL is released meanwhile.
    /// Returns a dict: lines, bytes, blank, sides (buffers 1..), and the valid and failing
    /// tables, each a list of parts (dicts of buffers) in line order. `base` is the
    /// stream offset of the chunk's bytes (`chunk::Place`), for valid rows' `start`.
    #[pyo3(signature = (chunk, first_line, last, base=0))]
    fn process<'py>(
        &self,
        py: Python<'py>,
        chunk: Bound<'py, PyBytes>,
        first_line: i64,
        last: bool,
        base: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let data: &[u8] = chunk.as_bytes();
        let settings = &self.settings;
        let place = Place { base };
        let out = py.detach(|| process_chunk(data, first_line, last, place, settings));
        to_python(py, out)
    }
}

/// A code's template as Python hands it: (bit, [(text, quoted column or None)]).
type TemplateIn = (u32, Vec<(String, Option<String>)>);

/// The catalogue's templates in one language, and its word for a blank value, parsed once.
fn templates(messages: Vec<TemplateIn>, blank: &str) -> PyResult<Templates> {
    let quote = |name: &str| match COLUMNS.iter().position(|c| *c == name) {
        Some(k) => Ok(Quote::Column(k)),
        None if name == "raw" => Ok(Quote::Raw),
        None => Err(PyValueError::new_err(format!("no column {name} to quote"))),
    };
    let mut out = Vec::new();
    for (bit, pieces) in messages {
        let mut parsed = Vec::new();
        for (text, value) in pieces {
            let value = value.as_deref().map(quote).transpose()?;
            parsed.push(Piece {
                text: text.into_bytes(),
                value,
            });
        }
        out.push((1u64 << bit, parsed));
    }
    Ok(Templates {
        codes: out,
        blank: blank.as_bytes().to_vec(),
    })
}

fn to_python(py: Python<'_>, out: ChunkOut) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("lines", out.lines)?;
    d.set_item("bytes", out.bytes)?;
    d.set_item("blank", out.blank)?;
    let sides = PyList::empty(py);
    for side in out.sides {
        sides.append(buf(py, Storage::Bytes(side))?)?;
    }
    d.set_item("sides", sides)?;
    d.set_item("valid", tables(py, out.valid)?)?;
    d.set_item("failing", tables(py, out.failing)?)?;
    Ok(d)
}

fn column<'py>(py: Python<'py>, col: ViewColumn) -> PyResult<Bound<'py, PyAny>> {
    let (bits, nulls) = bitmap(&col.valid);
    let views = buf(py, Storage::Views(col.views))?;
    let validity = buf(py, Storage::Bytes(bits))?;
    Ok((views, validity, nulls).into_pyobject(py)?.into_any())
}

fn tables<'py>(py: Python<'py>, parts: Vec<Table>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for t in parts {
        list.append(table(py, t)?)?;
    }
    Ok(list)
}

fn table<'py>(py: Python<'py>, t: Table) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("n", t.len())?;
    d.set_item("line", buf(py, Storage::Signed(t.line))?)?;
    d.set_item("mask", buf(py, Storage::Words(t.mask))?)?;
    d.set_item("hash", buf(py, Storage::Words(t.hash))?)?;
    d.set_item("target", buf(py, Storage::Signed(t.target))?)?;
    let (tv, tnull) = bitmap(&t.target_valid);
    d.set_item("target_valid", (buf(py, Storage::Bytes(tv))?, tnull))?;
    let (checked, _) = bitmap(&t.checked);
    d.set_item("checked", buf(py, Storage::Bytes(checked))?)?;
    d.set_item("start", buf(py, Storage::Words(t.start))?)?;
    d.set_item("len", buf(py, Storage::Halves(t.len))?)?;
    d.set_item("raw", column(py, t.raw)?)?;
    let fields = PyList::empty(py);
    for col in t.fields {
        fields.append(column(py, col)?)?;
    }
    d.set_item("fields", fields)?;
    d.set_item(
        "message_offsets",
        buf(py, Storage::Halves(t.message_offsets))?,
    )?;
    d.set_item("message_text", buf(py, Storage::Bytes(t.message_text))?)?;
    Ok(d)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Buf>()?;
    Ok(())
}
