//! Order-preserving parallel map over a slice.

use crate::DataError;

/// Applies `f` to every item on all cores and returns the results in input order. Items are split
/// into contiguous chunks, one per thread, so the output and the error reported (the first failing
/// item in input order) do not depend on thread timing.
pub(crate) fn try_map_ordered<T, R, F>(items: &[T], f: F) -> Result<Vec<R>, DataError>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R, DataError> + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len())
        .max(1);
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    let parts: Vec<Result<Vec<R>, DataError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect()))
            .collect();
        // A worker only panics on a bug (bad input is an Err), so re-raising keeps the original message.
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    #[test]
    fn keeps_order_and_reports_the_first_error() {
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(
            try_map_ordered(&items, |&i| Ok(i * 2)).unwrap(),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        let err = try_map_ordered(&items, |&i| {
            if i % 300 == 299 {
                Err(DataError::NoImages {
                    dir: PathBuf::from(i.to_string()),
                })
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert!(matches!(err, DataError::NoImages { dir } if dir.as_path() == Path::new("299")));
        assert!(try_map_ordered(&[] as &[u8], |&b| Ok(b)).unwrap().is_empty());
    }
}
