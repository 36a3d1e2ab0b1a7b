//! PNG encoding of the vendored images.

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};

/// 8-bit grayscale PNG of a `size x size` image. Fixed settings (zlib level 9, adaptive filtering,
/// no metadata chunks, no timestamps) make the bytes a pure function of the pixels for a given
/// version of the `png` crate, so re-running the vendoring reproduces every file byte for byte.
pub(crate) fn encode_gray_png(pixels: &[u8], size: usize) -> Result<Vec<u8>, String> {
    let side = u32::try_from(size).map_err(|_| format!("image size {size} is too large for PNG"))?;
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Level(9), FilterType::Adaptive)
        .write_image(pixels, side, side, image::ExtendedColorType::L8)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_grayscale;
    use std::path::Path;

    #[test]
    fn round_trips_and_is_reproducible() {
        let pixels: Vec<u8> = (0..64 * 64).map(|i| ((i * 37) % 251) as u8).collect();
        let a = encode_gray_png(&pixels, 64).unwrap();
        let b = encode_gray_png(&pixels, 64).unwrap();
        assert_eq!(a, b);
        let (decoded, w, h) = decode_grayscale(&a, Path::new("mem.png")).unwrap();
        assert_eq!((w, h), (64, 64));
        assert_eq!(decoded, pixels);
    }
}
