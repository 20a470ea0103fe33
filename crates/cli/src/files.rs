//! The files the commands read and write, besides the ledger: the input of `append`, `import`
//! and `check-proof` (a file, or standard input), and the output of `export` and
//! `checkpoint --out`, written whole or not at all.
//!
//! Messages name the file the user gave, never a temporary file of ours.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Whether `file` means standard input (or output): no file, or `-`.
pub(crate) fn is_stdin(file: Option<&Path>) -> bool {
    file.is_none_or(|f| f == Path::new("-"))
}

/// The whole of `file`, or of standard input when [`is_stdin`].
pub(crate) fn read_input(file: Option<&Path>) -> Result<Vec<u8>> {
    let mut input = Vec::new();
    if is_stdin(file) {
        io::stdin()
            .lock()
            .read_to_end(&mut input)
            .context("reading standard input")?;
    } else if let Some(file) = file {
        File::open(file)
            .and_then(|mut f| f.read_to_end(&mut input))
            .with_context(|| format!("reading {}", file.display()))?;
    }
    Ok(input)
}

/// How much of an input is read at a time.
const PIECE: usize = 64 * 1024;

/// The input of `append`: `file`, or standard input when [`is_stdin`], read a piece at a time
/// (each error names what was read). Opening the file is done here, so that a missing file is
/// reported before anything else.
pub(crate) fn input_pieces(
    file: Option<&Path>,
) -> Result<impl Iterator<Item = Result<Vec<u8>>> + Send + use<>> {
    let (reader, name): (Box<dyn Read + Send>, String) = match file {
        Some(file) if !is_stdin(Some(file)) => (
            Box::new(File::open(file).with_context(|| format!("reading {}", file.display()))?),
            file.display().to_string(),
        ),
        _ => (Box::new(io::stdin()), "standard input".to_owned()),
    };
    Ok(Pieces {
        reader,
        name,
        done: false,
    })
}

/// A reader, a piece at a time.
struct Pieces {
    reader: Box<dyn Read + Send>,
    name: String,
    done: bool,
}

impl Iterator for Pieces {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Result<Vec<u8>>> {
        if self.done {
            return None;
        }
        let mut piece = vec![0; PIECE];
        loop {
            match self.reader.read(&mut piece) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(n) => {
                    piece.truncate(n);
                    return Some(Ok(piece));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(
                        anyhow::Error::new(e).context(format!("reading {}", self.name))
                    ));
                }
            }
        }
    }
}

/// Writes `file` whole or not at all: into a temporary file beside it, synced, then renamed
/// over it. A device, a pipe or a socket is written in place: renaming over it would put a
/// regular file where it was (`export /dev/null` once replaced the machine's `/dev/null`). A
/// folder is refused before anything is written.
///
/// The new file follows the umask, as any file a command writes for sharing (an export, a
/// checkpoint). Errors name `file`; the temporary file is removed on every failure.
pub(crate) fn write_atomically(
    file: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let writing = || format!("writing {}", file.display());
    match std::fs::metadata(file) {
        Ok(meta) if meta.is_dir() => bail!(
            "{} is a folder: give the name of a file to write",
            file.display()
        ),
        Ok(meta) if !meta.is_file() => {
            let target = OpenOptions::new()
                .write(true)
                .open(file)
                .with_context(|| format!("opening {}", file.display()))?;
            let mut writer = BufWriter::new(target);
            write(&mut writer)?;
            writer.flush().with_context(writing)?;
            return Ok(());
        }
        _ => {}
    }
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Opened by us rather than by `NamedTempFile::new_in`, whose errors (and those of its
    // `Write`) name the temporary file and whose files are 0600 whatever the umask.
    let temp = tempfile::Builder::new()
        .prefix(".actledger-")
        .suffix(".tmp")
        .make_in(dir, |path| {
            OpenOptions::new().write(true).create_new(true).open(path)
        })
        .with_context(writing)?;
    let mut writer = BufWriter::new(temp.as_file());
    write(&mut writer)?;
    writer
        .into_inner()
        .map_err(io::IntoInnerError::into_error)
        .and_then(File::sync_all)
        .with_context(writing)?;
    temp.persist(file)
        .map_err(|e| e.error)
        .with_context(writing)?;
    // The rename is durable once the folder is synced; the file is whole either way.
    #[cfg(unix)]
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.ndjson");
        std::fs::write(&file, "old\n").unwrap();
        write_atomically(&file, |w| Ok(w.write_all(b"new\n")?)).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new\n");
        assert_eq!(names_in(dir.path()), ["out.ndjson"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.ndjson");
        std::fs::write(&file, "old\n").unwrap();
        let error = write_atomically(&file, |w| {
            w.write_all(b"half")?;
            bail!("the ledger failed")
        })
        .unwrap_err();
        assert_eq!(format!("{error:#}"), "the ledger failed");
        assert_eq!(std::fs::read(&file).unwrap(), b"old\n");
        assert_eq!(names_in(dir.path()), ["out.ndjson"]);
    }

    #[test]
    fn a_folder_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_atomically(dir.path(), |w| Ok(w.write_all(b"x")?)).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            format!(
                "{} is a folder: give the name of a file to write",
                dir.path().display()
            )
        );
        assert!(names_in(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_folder_is_named_once_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("missing").join("out.ndjson");
        let error = write_atomically(&file, |w| Ok(w.write_all(b"x")?)).unwrap_err();
        let message = format!("{error:#}");
        assert_eq!(
            message,
            format!(
                "writing {}: {}",
                file.display(),
                io::Error::from_raw_os_error(2)
            )
        );
        assert!(!message.contains(".actledger-"), "{message}");
    }
}
