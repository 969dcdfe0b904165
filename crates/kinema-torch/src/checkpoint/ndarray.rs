//! [`NdArray`]: numpy arrays and scalars found in checkpoints (MMEngine metas and message hubs
//! hold them), kept as raw bytes plus dtype, convertible to numbers or tensors.

use tch::{Kind, Tensor};

/// A numpy array (or a numpy scalar, with an empty `shape`) read from a pickle.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// numpy's dtype string: byte order (`<`, `>` or `|`), kind letter and item size,
    /// e.g. `<f4`, `<i8`, `|b1`.
    pub dtype: String,
    /// The shape; empty for a scalar.
    pub shape: Vec<usize>,
    /// Whether `data` is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The raw element bytes, in the byte order of `dtype`.
    pub data: Vec<u8>,
}

impl NdArray {
    /// The dtype's kind letter (`f`, `i`, `u`, `b`, `c`, ...) and item size in bytes.
    pub fn kind_and_size(&self) -> Option<(char, usize)> {
        let mut chars = self.dtype.chars();
        let first = chars.next()?;
        let (kind, rest) = if matches!(first, '<' | '>' | '|' | '=') {
            (chars.next()?, chars.as_str())
        } else {
            (first, chars.as_str())
        };
        Some((kind, rest.parse().ok()?))
    }

    fn big_endian(&self) -> bool {
        self.dtype.starts_with('>')
    }

    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The element bytes of a scalar (or of a one-element array), in little-endian order.
    fn single_le(&self, size: usize) -> Option<Vec<u8>> {
        if self.numel() != 1 || self.data.len() != size {
            return None;
        }
        let mut bytes = self.data.clone();
        if self.big_endian() {
            bytes.reverse();
        }
        Some(bytes)
    }

    /// The value of an integer or bool scalar (or one-element array).
    pub fn scalar_i64(&self) -> Option<i64> {
        let (kind, size) = self.kind_and_size()?;
        let b = self.single_le(size)?;
        let unsigned = |b: &[u8]| {
            let mut buf = [0u8; 8];
            buf[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(buf)
        };
        match (kind, size) {
            ('b', 1) => Some(i64::from(b[0] != 0)),
            ('u', 1 | 2 | 4 | 8) => i64::try_from(unsigned(&b)).ok(),
            ('i', 1) => Some(i64::from(i8::from_le_bytes([b[0]]))),
            ('i', 2) => Some(i64::from(i16::from_le_bytes([b[0], b[1]]))),
            ('i', 4) => Some(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            ('i', 8) => Some(unsigned(&b) as i64),
            _ => None,
        }
    }

    /// The value of a numeric scalar (float, integer or bool) as `f64`.
    pub fn scalar_f64(&self) -> Option<f64> {
        let (kind, size) = self.kind_and_size()?;
        if kind != 'f' {
            return self.scalar_i64().map(|i| i as f64);
        }
        let b = self.single_le(size)?;
        match size {
            2 => Some(f64::from(half::f16::from_le_bytes([b[0], b[1]]).to_f32())),
            4 => Some(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            8 => {
                let mut buf = [0u8; 8];
                buf.copy_from_slice(&b);
                Some(f64::from_le_bytes(buf))
            }
            _ => None,
        }
    }

    /// The same array in little-endian byte order (numpy does this when unpickling too).
    /// Arrays of unknown kinds or with a data size that does not match are left as they are.
    pub fn into_native_order(mut self) -> NdArray {
        let Some((kind, size)) = self.kind_and_size() else { return self };
        if !self.big_endian() || !matches!(kind, 'i' | 'u' | 'f' | 'c') || self.data.len().checked_rem(size) != Some(0)
        {
            return self;
        }
        let part = if kind == 'c' { size / 2 } else { size };
        if part > 1 {
            self.data.chunks_exact_mut(part).for_each(<[u8]>::reverse);
        }
        self.dtype.replace_range(..1, "<");
        self
    }

    /// The tch kind of this dtype, when libtorch has one.
    pub fn tch_kind(&self) -> Option<Kind> {
        Some(match self.kind_and_size()? {
            ('b', 1) => Kind::Bool,
            ('u', 1) => Kind::Uint8,
            ('i', 1) => Kind::Int8,
            ('i', 2) => Kind::Int16,
            ('i', 4) => Kind::Int,
            ('i', 8) => Kind::Int64,
            ('f', 2) => Kind::Half,
            ('f', 4) => Kind::Float,
            ('f', 8) => Kind::Double,
            ('c', 8) => Kind::ComplexFloat,
            ('c', 16) => Kind::ComplexDouble,
            _ => return None,
        })
    }

    /// Copies the array into a contiguous CPU tensor of the matching kind.
    pub fn to_tensor(&self) -> Result<Tensor, String> {
        let kind = self.tch_kind().ok_or_else(|| format!("numpy dtype {} has no tensor equivalent", self.dtype))?;
        let elt = kind.elt_size_in_bytes();
        let need = self.numel().checked_mul(elt).ok_or("array size overflows")?;
        if self.data.len() != need {
            return Err(format!(
                "numpy array {} {:?} needs {need} bytes, the pickle holds {}",
                self.dtype,
                self.shape,
                self.data.len()
            ));
        }
        let mut bytes = self.data.clone();
        if self.big_endian() && elt > 1 {
            let part = if matches!(kind, Kind::ComplexFloat | Kind::ComplexDouble) { elt / 2 } else { elt };
            bytes.chunks_exact_mut(part).for_each(<[u8]>::reverse);
        }
        let mut dims: Vec<i64> = self.shape.iter().map(|&d| d as i64).collect();
        if self.fortran_order {
            dims.reverse();
        }
        let t = Tensor::f_from_data_size(&bytes, &dims, kind).map_err(|e| e.to_string())?;
        if self.fortran_order && dims.len() > 1 {
            let order: Vec<i64> = (0..dims.len() as i64).rev().collect();
            return t.f_permute(order.as_slice()).and_then(|p| p.f_contiguous()).map_err(|e| e.to_string());
        }
        Ok(t)
    }
}
