//! Reading, decoding, grayscale conversion and resizing of image files, in parallel.

use crate::error::{DataError, read_error};
use crate::parallel::try_map_ordered;
use crate::resize::resize_area;
use std::path::Path;

/// Decodes an encoded image (PNG or JPEG, detected from the content, not the name) to 8-bit
/// grayscale. Colour images use the `image` crate's luma (Rec. 709 weights 0.2126 R + 0.7152 G +
/// 0.0722 B, truncated); for the chest X-rays R = G = B, so any weighting returns that value.
/// Returns `(pixels, width, height)`. `path` only names the file in errors.
pub fn decode_grayscale(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, usize, usize), DataError> {
    let decode_error = |reason: String| DataError::Decode {
        path: path.to_path_buf(),
        reason,
    };
    // A decoder bug on a malformed file must not take the whole program down: report it as a bad file.
    let decoded = std::panic::catch_unwind(|| image::load_from_memory(bytes))
        .map_err(|_| decode_error("the decoder crashed on this file".into()))?
        .map_err(|e| decode_error(e.to_string()))?;
    let gray = decoded.to_luma8();
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    if w == 0 || h == 0 {
        return Err(DataError::EmptyImage {
            path: path.to_path_buf(),
        });
    }
    Ok((gray.into_raw(), w, h))
}

/// Reads `path` and returns its `size x size` grayscale pixels (area-averaged, see [`resize_area`]).
pub fn load_image(path: &Path, size: usize) -> Result<Vec<u8>, DataError> {
    if size == 0 {
        return Err(DataError::InvalidSize(size));
    }
    Ok(load_with_source_size(path, size)?.pixels)
}

/// An image after grayscale conversion and resizing, with the dimensions of the file it came from.
pub(crate) struct LoadedImage {
    pub pixels: Vec<u8>,
    pub source_width: usize,
    pub source_height: usize,
}

pub(crate) fn load_with_source_size(path: &Path, size: usize) -> Result<LoadedImage, DataError> {
    let bytes = std::fs::read(path).map_err(read_error(path))?;
    let (pixels, w, h) = decode_grayscale(&bytes, path)?;
    Ok(LoadedImage {
        pixels: resize_area(&pixels, w, h, size),
        source_width: w,
        source_height: h,
    })
}

/// Loads `root/<rel>` for every relative path, in the given order, on all cores.
pub(crate) fn load_images(root: &Path, rels: &[&Path], size: usize) -> Result<Vec<LoadedImage>, DataError> {
    try_map_ordered(rels, |rel| load_with_source_size(&root.join(rel), size))
}
