// PerfOrch's generated inputs for Rust (profiler/harness/compiled.py says how they are used):
// the function's arguments arrive in the token form py_workload.py's "encode" writes and are
// read into owned values of the parameters' types (PerforchRead); what the function returns,
// and its arguments afterwards, leave as JSON (PerforchWrite), which py_workload.py compares.
// Tokens: "i 42", "f 0.5", "b 1", "s 5:hello" (a byte count, then UTF-8 bytes), "n" (None),
// "l 3 ..." (a list of 3 values), "d 2 k v k v" (a dict of 2 items).
#[allow(dead_code)]
mod perforch_io {
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
    use std::hash::Hash;

    pub struct InputError(pub String);
    type R<T> = Result<T, InputError>;

    fn bad<T>(why: &str) -> R<T> {
        Err(InputError(format!("the generated input does not fit the parameter: {}", why)))
    }

    pub struct Cursor<'a> {
        pub data: &'a [u8],
        pub at: usize,
    }

    impl<'a> Cursor<'a> {
        pub fn tag(&mut self) -> R<u8> {
            while self.at < self.data.len() && self.data[self.at] == b' ' {
                self.at += 1;
            }
            if self.at >= self.data.len() {
                return bad("the input ended early");
            }
            self.at += 1;
            Ok(self.data[self.at - 1])
        }

        fn word(&mut self) -> &'a str {
            while self.at < self.data.len() && self.data[self.at] == b' ' {
                self.at += 1;
            }
            let start = self.at;
            while self.at < self.data.len() && self.data[self.at] != b' ' && self.data[self.at] != b':' {
                self.at += 1;
            }
            std::str::from_utf8(&self.data[start..self.at]).unwrap_or("")
        }

        pub fn integer(&mut self) -> R<i128> {
            match self.word().parse::<i128>() {
                Ok(v) => Ok(v),
                Err(_) => bad("a number was expected"),
            }
        }

        fn float(&mut self) -> R<f64> {
            match self.word() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                w => w.parse::<f64>().or_else(|_| bad("a number was expected")),
            }
        }

        fn string(&mut self) -> R<String> {
            let n = self.integer()? as usize;
            if self.at >= self.data.len() || self.data[self.at] != b':' || self.data.len() - self.at - 1 < n {
                return bad("a broken string");
            }
            let s = String::from_utf8_lossy(&self.data[self.at + 1..self.at + 1 + n]).into_owned();
            self.at += n + 1;
            Ok(s)
        }

        fn count(&mut self, tag: u8, what: &str) -> R<usize> {
            if self.tag()? != tag {
                return bad(what);
            }
            Ok(self.integer()? as usize)
        }
    }

    pub trait PerforchRead: Sized {
        fn read(c: &mut Cursor) -> R<Self>;
    }

    macro_rules! ints {
        ($($t:ty),*) => {$(
            impl PerforchRead for $t {
                fn read(c: &mut Cursor) -> R<Self> {
                    let t = c.tag()?;
                    if t != b'i' && t != b'b' {
                        return bad("an integer was expected");
                    }
                    <$t>::try_from(c.integer()?).or_else(|_| bad("an integer out of range"))
                }
            }
        )*};
    }
    ints!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

    impl PerforchRead for f64 {
        fn read(c: &mut Cursor) -> R<Self> {
            match c.tag()? {
                b'f' | b'i' | b'b' => c.float(),
                _ => bad("a number was expected"),
            }
        }
    }
    impl PerforchRead for f32 {
        fn read(c: &mut Cursor) -> R<Self> {
            Ok(f64::read(c)? as f32)
        }
    }
    impl PerforchRead for bool {
        fn read(c: &mut Cursor) -> R<Self> {
            match c.tag()? {
                b'b' | b'i' => Ok(c.integer()? != 0),
                _ => bad("a bool was expected"),
            }
        }
    }
    impl PerforchRead for String {
        fn read(c: &mut Cursor) -> R<Self> {
            if c.tag()? != b's' {
                return bad("a string was expected");
            }
            c.string()
        }
    }
    impl PerforchRead for char {
        fn read(c: &mut Cursor) -> R<Self> {
            let s = String::read(c)?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(ch), None) => Ok(ch),
                _ => bad("a one-character string for a char"),
            }
        }
    }
    impl<T: PerforchRead> PerforchRead for Option<T> {
        fn read(c: &mut Cursor) -> R<Self> {
            if c.tag()? == b'n' {
                return Ok(None);
            }
            c.at -= 1;
            Ok(Some(T::read(c)?))
        }
    }
    impl<T: PerforchRead> PerforchRead for Vec<T> {
        fn read(c: &mut Cursor) -> R<Self> {
            let n = c.count(b'l', "a list was expected")?;
            (0..n).map(|_| T::read(c)).collect()
        }
    }
    impl<T: PerforchRead> PerforchRead for VecDeque<T> {
        fn read(c: &mut Cursor) -> R<Self> {
            Ok(Vec::<T>::read(c)?.into())
        }
    }
    impl<T: PerforchRead, const N: usize> PerforchRead for [T; N] {
        fn read(c: &mut Cursor) -> R<Self> {
            let v = Vec::<T>::read(c)?;
            match v.try_into() {
                Ok(a) => Ok(a),
                Err(_) => bad("a list of the array's length was expected"),
            }
        }
    }
    impl<T: PerforchRead + Eq + Hash> PerforchRead for HashSet<T> {
        fn read(c: &mut Cursor) -> R<Self> {
            Ok(Vec::<T>::read(c)?.into_iter().collect())
        }
    }
    impl<T: PerforchRead + Ord> PerforchRead for BTreeSet<T> {
        fn read(c: &mut Cursor) -> R<Self> {
            Ok(Vec::<T>::read(c)?.into_iter().collect())
        }
    }
    fn pairs<K: PerforchRead, V: PerforchRead>(c: &mut Cursor) -> R<Vec<(K, V)>> {
        let n = c.count(b'd', "a dict was expected")?;
        (0..n).map(|_| Ok((K::read(c)?, V::read(c)?))).collect()
    }
    impl<K: PerforchRead + Eq + Hash, V: PerforchRead> PerforchRead for HashMap<K, V> {
        fn read(c: &mut Cursor) -> R<Self> {
            Ok(pairs(c)?.into_iter().collect())
        }
    }
    impl<K: PerforchRead + Ord, V: PerforchRead> PerforchRead for BTreeMap<K, V> {
        fn read(c: &mut Cursor) -> R<Self> {
            Ok(pairs(c)?.into_iter().collect())
        }
    }
    macro_rules! tuples {
        ($(($n:expr; $($t:ident),+)),*) => {$(
            impl<$($t: PerforchRead),+> PerforchRead for ($($t,)+) {
                fn read(c: &mut Cursor) -> R<Self> {
                    if c.count(b'l', "a tuple was expected")? != $n {
                        return bad("a tuple of the wrong length");
                    }
                    Ok(($($t::read(c)?,)+))
                }
            }
        )*};
    }
    tuples!((1; A), (2; A, B), (3; A, B, C), (4; A, B, C, D), (5; A, B, C, D, E), (6; A, B, C, D, E, F));

    pub trait PerforchWrite {
        fn write(&self, o: &mut String);
    }

    pub fn json<T: PerforchWrite + ?Sized>(v: &T) -> String {
        let mut o = String::new();
        v.write(&mut o);
        o
    }

    fn write_str(o: &mut String, s: &str) {
        o.push('"');
        for &ch in s.as_bytes() {
            match ch {
                b'"' | b'\\' => {
                    o.push('\\');
                    o.push(ch as char);
                }
                0x20..=0x7e => o.push(ch as char),
                _ => o.push_str(&format!("\\u{:04x}", ch)), // bytes, the same for both sides
            }
        }
        o.push('"');
    }

    macro_rules! display {
        ($($t:ty),*) => {$(
            impl PerforchWrite for $t {
                fn write(&self, o: &mut String) {
                    o.push_str(&self.to_string());
                }
            }
        )*};
    }
    display!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, bool);

    impl PerforchWrite for f64 {
        fn write(&self, o: &mut String) {
            if self.is_nan() {
                o.push_str("NaN");
            } else if self.is_infinite() {
                o.push_str(if *self > 0.0 { "Infinity" } else { "-Infinity" });
            } else {
                o.push_str(&format!("{:?}", self)); // "1.0", "0.1", "1e300": a float stays one
            }
        }
    }
    impl PerforchWrite for f32 {
        fn write(&self, o: &mut String) {
            (*self as f64).write(o)
        }
    }
    impl PerforchWrite for char {
        fn write(&self, o: &mut String) {
            write_str(o, &self.to_string())
        }
    }
    impl PerforchWrite for str {
        fn write(&self, o: &mut String) {
            write_str(o, self)
        }
    }
    impl PerforchWrite for String {
        fn write(&self, o: &mut String) {
            write_str(o, self)
        }
    }
    impl PerforchWrite for () {
        fn write(&self, o: &mut String) {
            o.push_str("null")
        }
    }
    impl<T: PerforchWrite + ?Sized> PerforchWrite for &T {
        fn write(&self, o: &mut String) {
            (**self).write(o)
        }
    }
    impl<T: PerforchWrite + ?Sized> PerforchWrite for &mut T {
        fn write(&self, o: &mut String) {
            (**self).write(o)
        }
    }
    impl<T: PerforchWrite + ?Sized> PerforchWrite for Box<T> {
        fn write(&self, o: &mut String) {
            (**self).write(o)
        }
    }
    impl<T: PerforchWrite> PerforchWrite for Option<T> {
        fn write(&self, o: &mut String) {
            match self {
                Some(v) => v.write(o),
                None => o.push_str("null"),
            }
        }
    }
    impl<T: PerforchWrite, E: std::fmt::Debug> PerforchWrite for Result<T, E> {
        fn write(&self, o: &mut String) {
            match self {
                Ok(v) => v.write(o),
                Err(e) => write_str(o, &format!("Err({:?})", e)),
            }
        }
    }
    fn list<'a, T: PerforchWrite + 'a>(o: &mut String, items: impl Iterator<Item = &'a T>) {
        o.push('[');
        for (i, x) in items.enumerate() {
            if i > 0 {
                o.push(',');
            }
            x.write(o);
        }
        o.push(']');
    }
    fn sorted(o: &mut String, mut items: Vec<String>) {
        items.sort(); // a hash container's order is not the caller's concern: sorted, alike
        o.push('[');
        o.push_str(&items.join(","));
        o.push(']');
    }
    impl<T: PerforchWrite> PerforchWrite for [T] {
        fn write(&self, o: &mut String) {
            list(o, self.iter())
        }
    }
    impl<T: PerforchWrite, const N: usize> PerforchWrite for [T; N] {
        fn write(&self, o: &mut String) {
            list(o, self.iter())
        }
    }
    impl<T: PerforchWrite> PerforchWrite for Vec<T> {
        fn write(&self, o: &mut String) {
            list(o, self.iter())
        }
    }
    impl<T: PerforchWrite> PerforchWrite for VecDeque<T> {
        fn write(&self, o: &mut String) {
            list(o, self.iter())
        }
    }
    impl<T: PerforchWrite> PerforchWrite for HashSet<T> {
        fn write(&self, o: &mut String) {
            sorted(o, self.iter().map(|x| json(x)).collect())
        }
    }
    impl<T: PerforchWrite> PerforchWrite for BTreeSet<T> {
        fn write(&self, o: &mut String) {
            sorted(o, self.iter().map(|x| json(x)).collect())
        }
    }
    impl<K: PerforchWrite, V: PerforchWrite> PerforchWrite for HashMap<K, V> {
        fn write(&self, o: &mut String) {
            sorted(o, self.iter().map(|(k, v)| format!("[{},{}]", json(k), json(v))).collect())
        }
    }
    impl<K: PerforchWrite, V: PerforchWrite> PerforchWrite for BTreeMap<K, V> {
        fn write(&self, o: &mut String) {
            sorted(o, self.iter().map(|(k, v)| format!("[{},{}]", json(k), json(v))).collect())
        }
    }
    macro_rules! write_tuples {
        ($(($($t:ident $i:tt),+)),*) => {$(
            impl<$($t: PerforchWrite),+> PerforchWrite for ($($t,)+) {
                fn write(&self, o: &mut String) {
                    o.push('[');
                    $( if $i > 0 { o.push(','); } self.$i.write(o); )+
                    o.push(']');
                }
            }
        )*};
    }
    write_tuples!((A 0), (A 0, B 1), (A 0, B 1, C 2), (A 0, B 1, C 2, D 3), (A 0, B 1, C 2, D 3, E 4),
                  (A 0, B 1, C 2, D 3, E 4, F 5));

    pub fn input_error(e: InputError) -> String {
        format!("{{\"input_error\": {}}}", json(&e.0))
    }
}
