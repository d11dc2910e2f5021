//! A failing row's message, written where its codes are found (the catalogue's templates,
//! as `ztbulk.report.messages` fills them): the row never becomes a Python object.

/// One piece of a template: literal text, then maybe a value (a canonical column, or the
/// record's raw text), or the blank word (`(blank)` in English) where the row has none.
pub struct Piece {
    pub text: Vec<u8>,
    pub value: Option<Quote>,
}

#[derive(Clone, Copy)]
pub enum Quote {
    Column(usize), // index in `rules::COLUMNS`
    Raw,
}

/// The templates of the codes a chunk can find, in catalogue order (messages are joined by
/// a space in that order), in one language: `blank` is what it says for a missing value.
pub struct Templates {
    pub codes: Vec<(u64, Vec<Piece>)>,
    pub blank: Vec<u8>,
}

impl Templates {
    /// Append the message of `mask` to `out`.
    pub fn render(
        &self,
        mask: u64,
        values: &[Option<&[u8]>; 9],
        raw: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) {
        let mut first = true;
        for (bit, pieces) in &self.codes {
            if mask & bit == 0 {
                continue;
            }
            if !first {
                out.push(b' ');
            }
            first = false;
            for piece in pieces {
                out.extend_from_slice(&piece.text);
                let value = match piece.value {
                    None => continue,
                    Some(Quote::Column(k)) => values[k],
                    Some(Quote::Raw) => raw,
                };
                out.extend_from_slice(value.unwrap_or(&self.blank));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(text: &str, value: Option<Quote>) -> Piece {
        Piece {
            text: text.as_bytes().to_vec(),
            value,
        }
    }

    #[test]
    fn codes_render_in_order_with_values_or_blank() {
        let t = Templates {
            codes: vec![
                (
                    1,
                    vec![piece("a ", Some(Quote::Column(1))), piece(".", None)],
                ),
                (2, vec![piece("b.", None)]),
                (4, vec![piece("raw: ", Some(Quote::Raw))]),
            ],
            blank: b"(vide)".to_vec(),
        };
        let mut values: [Option<&[u8]>; 9] = [None; 9];
        values[1] = Some(b"123");
        let mut out = Vec::new();
        t.render(7, &values, None, &mut out);
        assert_eq!(out, b"a 123. b. raw: (vide)");
        out.clear();
        t.render(2, &values, Some(b"x"), &mut out);
        assert_eq!(out, b"b.");
    }
}
