//! NumPy `.npy` files (format 1.0-3.0, C order, little-endian or single-byte numeric dtypes): FINN's
//! convention for test vectors (`input.npy`, `expected_output.npy`).

use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
pub struct Npy {
    pub shape: Vec<usize>,
    /// numpy dtype string as stored, e.g. `|u1`, `<f4`, `<i8`.
    pub dtype: String,
    pub data: Vec<f64>,
}

impl Npy {
    pub fn read(path: impl AsRef<Path>) -> Result<Npy, String> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Npy::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(b: &[u8]) -> Result<Npy, String> {
        if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
            return Err("not a .npy file (magic string missing)".into());
        }
        let (hlen, start) = match b[6] {
            1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
            2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
            v => return Err(format!("unsupported .npy format version {v}")),
        };
        let header = b.get(start..start + hlen).ok_or("truncated .npy header")?;
        let header = std::str::from_utf8(header).map_err(|_| "the .npy header is not text")?;
        let field = |key: &str| -> Result<&str, String> {
            let k = format!("'{key}':");
            let i = header.find(&k).ok_or_else(|| format!("the .npy header has no {key}"))?;
            Ok(header[i + k.len()..].trim_start())
        };
        let descr = field("descr")?;
        let dtype = descr.strip_prefix('\'').and_then(|s| s.split('\'').next()).ok_or("bad descr in .npy header")?.to_string();
        if field("fortran_order")?.starts_with("True") {
            return Err("Fortran-order arrays are not supported (save with C order)".into());
        }
        let sh = field("shape")?;
        let sh = sh.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or("bad shape in .npy header")?;
        let shape: Vec<usize> = sh
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|_| format!("bad dimension `{s}` in .npy shape")))
            .collect::<Result<_, _>>()?;
        let n: usize = shape.iter().product();
        let body = &b[start + hlen..];
        let (size, conv): (usize, fn(&[u8]) -> f64) = match dtype.as_str() {
            "|u1" | "<u1" | "|b1" => (1, |x| x[0] as f64),
            "|i1" | "<i1" => (1, |x| x[0] as i8 as f64),
            "<u2" => (2, |x| u16::from_le_bytes([x[0], x[1]]) as f64),
            "<i2" => (2, |x| i16::from_le_bytes([x[0], x[1]]) as f64),
            "<u4" => (4, |x| u32::from_le_bytes(x.try_into().unwrap()) as f64),
            "<i4" => (4, |x| i32::from_le_bytes(x.try_into().unwrap()) as f64),
            "<u8" => (8, |x| u64::from_le_bytes(x.try_into().unwrap()) as f64),
            "<i8" => (8, |x| i64::from_le_bytes(x.try_into().unwrap()) as f64),
            "<f4" => (4, |x| f32::from_le_bytes(x.try_into().unwrap()) as f64),
            "<f8" => (8, |x| f64::from_le_bytes(x.try_into().unwrap())),
            d => return Err(format!("unsupported .npy dtype `{d}` (numeric little-endian only)")),
        };
        if body.len() < n * size {
            return Err(format!("the .npy data has {} bytes, shape {shape:?} of {dtype} needs {}", body.len(), n * size));
        }
        let data = body[..n * size].chunks_exact(size).map(conv).collect();
        Ok(Npy { shape, dtype, data })
    }

    /// Whether the stored dtype is an integer type.
    pub fn is_integer(&self) -> bool {
        !self.dtype.contains('f')
    }
}

/// Element type of [`write`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    U8,
    I64,
    F32,
}

/// Writes an `.npy` (format 1.0, C order) of `data` as `dtype` (values are converted with `as`).
pub fn write(path: impl AsRef<Path>, shape: &[usize], data: &[f64], dtype: Dtype) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_s = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let descr = match dtype {
        Dtype::U8 => "|u1",
        Dtype::I64 => "<i8",
        Dtype::F32 => "<f4",
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in data {
        match dtype {
            Dtype::U8 => out.push(v as u8),
            Dtype::I64 => out.extend_from_slice(&(v as i64).to_le_bytes()),
            Dtype::F32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
        }
    }
    golden_model::io::write_atomic(path.as_ref(), &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write(&p, &[2, 3], &[1.0, -2.5, 3.0, 4.0, 5.0, 6.0], Dtype::F32).unwrap();
        let a = Npy::read(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.dtype, "<f4");
        assert_eq!(a.data, vec![1.0, -2.5, 3.0, 4.0, 5.0, 6.0]);
        write(&p, &[3], &[7.0, -1.0, 0.0], Dtype::I64).unwrap();
        let b = Npy::read(&p).unwrap();
        assert_eq!((b.shape.clone(), b.data.clone(), b.is_integer()), (vec![3], vec![7.0, -1.0, 0.0], true));
        write(&p, &[1, 2], &[255.0, 3.0], Dtype::U8).unwrap();
        let c = Npy::read(&p).unwrap();
        assert_eq!((c.dtype.as_str(), c.data.clone()), ("|u1", vec![255.0, 3.0]));
        assert!(Npy::parse(b"not numpy at all").unwrap_err().contains("magic"));
        let mut trunc = std::fs::read(&p).unwrap();
        trunc.truncate(trunc.len() - 1);
        assert!(Npy::parse(&trunc).unwrap_err().contains("needs"));
    }
}
