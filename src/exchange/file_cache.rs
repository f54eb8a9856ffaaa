//! Static files kept in memory: the small ones read whole and the gzipped
//! forms of text files. Every response of one file shares one buffer (a
//! `Bytes` clone), so a file is read, and compressed, once per change and
//! not once per request, and clients that read slowly hold no copies. At
//! most `--static-cache` bytes, least recently used out first.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use bytes::Bytes;
use hashlink::LinkedHashMap;

/// What a file was when its bytes were kept: a change to it is a miss.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub size: u64,
    pub modified: Option<SystemTime>,
}

/// The whole file, or its gzipped form.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    Plain,
    Gzip,
}

pub struct FileCache {
    max: u64,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    files: LinkedHashMap<(PathBuf, Form), (Version, Bytes)>,
    bytes: u64,
}

impl FileCache {
    /// Holds at most `max` bytes; 0 holds nothing.
    pub fn new(max: u64) -> Self {
        FileCache {
            max,
            kept: Mutex::default(),
        }
    }

    /// The bytes kept for this version of the file, if any.
    pub fn get(&self, path: &Path, form: Form, version: Version) -> Option<Bytes> {
        let mut kept = self.kept.lock().expect("file cache");
        let key = (path.to_path_buf(), form);
        match kept.files.to_back(&key) {
            Some((at, bytes)) if *at == version => Some(bytes.clone()),
            _ => None,
        }
    }

    /// Keeps `bytes` for this version of the file, making room if needed;
    /// a file larger than an eighth of the cache is not kept.
    pub fn put(&self, path: &Path, form: Form, version: Version, bytes: Bytes) {
        let size = bytes.len() as u64;
        if size > self.max / 8 {
            return;
        }
        let mut kept = self.kept.lock().expect("file cache");
        let key = (path.to_path_buf(), form);
        if let Some((_, old)) = kept.files.insert(key, (version, bytes)) {
            kept.bytes -= old.len() as u64;
        }
        kept.bytes += size;
        while kept.bytes > self.max {
            let Some((_, (_, out))) = kept.files.pop_front() else {
                break;
            };
            kept.bytes -= out.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_versions_and_drops_the_least_recently_used() {
        let cache = FileCache::new(800);
        let v = |size| Version {
            size,
            modified: None,
        };
        let (a, b, c) = (Path::new("a"), Path::new("b"), Path::new("c"));
        cache.put(a, Form::Plain, v(1), Bytes::from(vec![1; 100]));
        cache.put(b, Form::Plain, v(1), Bytes::from(vec![2; 100]));
        assert!(cache.get(a, Form::Plain, v(2)).is_none(), "another version");
        assert!(cache.get(a, Form::Gzip, v(1)).is_none(), "another form");
        assert_eq!(cache.get(a, Form::Plain, v(1)).unwrap()[0], 1);
        // A file kept again replaces itself: its bytes count once.
        for i in 0..6 {
            cache.put(c, Form::Plain, v(i), Bytes::from(vec![3; 100]));
        }
        cache.put(Path::new("d"), Form::Plain, v(1), Bytes::from(vec![4; 100]));
        cache.put(Path::new("e"), Form::Plain, v(1), Bytes::from(vec![5; 100]));
        cache.put(Path::new("f"), Form::Plain, v(1), Bytes::from(vec![6; 100]));
        cache.put(Path::new("g"), Form::Plain, v(1), Bytes::from(vec![7; 100]));
        cache.put(Path::new("h"), Form::Plain, v(1), Bytes::from(vec![8; 100]));
        cache.put(Path::new("i"), Form::Plain, v(1), Bytes::from(vec![9; 100]));
        // Past 800 bytes: b, the least recently used, went.
        assert!(cache.get(b, Form::Plain, v(1)).is_none());
        assert!(cache.get(a, Form::Plain, v(1)).is_some());
        assert_eq!(cache.kept.lock().unwrap().bytes, 800);
        // Too large for it: not kept.
        cache.put(Path::new("j"), Form::Plain, v(1), Bytes::from(vec![0; 101]));
        assert!(cache.get(Path::new("j"), Form::Plain, v(1)).is_none());
    }
}
