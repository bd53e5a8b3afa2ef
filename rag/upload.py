"""Documents added through the UI: checked, saved under a safe name inside the corpus, then ingested."""

from __future__ import annotations

import errno
import filecmp
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.settings import Settings

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from rag.engine import Engine

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
MAX_NAME_CHARS = 100
# Binary formats start with a known signature; a renamed .exe is refused here, not by the loader.
MAGIC = {".pdf": b"%PDF-", ".docx": b"PK\x03\x04"}


class UploadError(RagError):
    """An uploaded file was refused: wrong type, too big, unreadable, or not ingestible."""


def safe_filename(original_name: str) -> str:
    """A plain file name for `original_name`: no directories, no leading dots, only [A-Za-z0-9._-]."""
    name = re.split(r"[/\\]", original_name or "")[-1]  # a browser may send a Windows path
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""

    def clean(part: str) -> str:
        part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode("ascii")
        part = re.sub(r"[^A-Za-z0-9._-]+", "_", part)
        return re.sub(r"\.{2,}", ".", part).strip("._-")

    suffix = re.sub(r"[^a-z0-9]", "", suffix.lower())
    stem = clean(stem)[: MAX_NAME_CHARS - len(suffix) - 1].strip("._-") or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def upload_folder(settings: Settings) -> Path:
    """The resolved upload folder, created if needed; refuses one that leads outside the corpus dir."""
    corpus = settings.corpus_dir.resolve()
    folder = (settings.corpus_dir / settings.upload_dir).resolve()  # resolve() follows symlinks
    if folder == corpus or corpus not in folder.parents:
        raise UploadError(
            f"RAG_UPLOAD_DIR={settings.upload_dir!r} is not a folder inside the corpus dir {settings.corpus_dir}; "
            "set it to a plain folder name such as 'uploads'."
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_upload(src_path: Path, original_name: str, settings: Settings) -> str:
    """The safe name to store `src_path` under; raises UploadError if its type or size is not allowed."""
    name = safe_filename(original_name)
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        shown = suffix or "(no extension)"
        raise UploadError(f"Files of type {shown} can't be added. Allowed: {', '.join(ALLOWED_SUFFIXES)}.")
    try:
        size = src_path.stat().st_size
        with src_path.open("rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise UploadError(
            f"Cannot read the uploaded file {original_name!r} ({exc.strerror}); upload it again."
        ) from None
    limit = settings.upload_max_mb * 1e6
    if size > limit:
        raise UploadError(
            f"{name} is {size / 1e6:.1f} MB; uploads are limited to {settings.upload_max_mb:g} MB (RAG_UPLOAD_MAX_MB)."
        )
    if not head.strip():
        raise UploadError(f"{name} is empty.")
    if suffix in MAGIC and not head.startswith(MAGIC[suffix]):
        raise UploadError(f"{name} is not a valid {suffix} file.")
    if suffix not in MAGIC and b"\x00" in head:
        raise UploadError(f"{name} looks binary; {suffix} uploads must be text.")
    return name


def _publish(tmp: Path, folder: Path, name: str) -> tuple[Path, bool]:
    """Give the finished file `tmp` the first free name like `name` in `folder`; True if an identical file is there.

    Each name is claimed with an exclusive create (a hard link, or O_EXCL where links are not supported), so
    concurrent uploads of the same name never overwrite each other, and a planted link is never written through.
    """
    stem, suffix = Path(name).stem, Path(name).suffix
    for i in range(1, 1000):
        candidate = folder / (name if i == 1 else f"{stem}-{i}{suffix}")
        try:
            _claim(tmp, candidate)
            return candidate, False
        except FileExistsError:
            if not candidate.is_symlink() and candidate.is_file() and filecmp.cmp(candidate, tmp, shallow=False):
                return candidate, True
    raise UploadError(f"Too many uploads named {name}; rename the file and try again.")


def _claim(tmp: Path, dest: Path) -> None:
    """Create `dest` with `tmp`'s bytes, atomically; FileExistsError if the name is taken (by a file or a link)."""
    try:
        os.link(tmp, dest)  # the whole file appears at once, so an ingest never reads half of it
        return
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out, tmp.open("rb") as src:
        shutil.copyfileobj(src, out)


def save_upload(src_path: str | Path, original_name: str, settings: Settings) -> Path:
    """Copy an uploaded file into corpus_dir/upload_dir under a sanitised, unused name; returns its path."""
    return store_upload(src_path, original_name, settings)[0]


def store_upload(src_path: str | Path, original_name: str, settings: Settings) -> tuple[Path, bool]:
    """`save_upload`, also saying whether the file is new (False: an identical upload was already stored)."""
    src_path = Path(src_path)
    name = check_upload(src_path, original_name, settings)
    folder = upload_folder(settings)
    # Written under a hidden temporary name first (ingest skips dot-files), then published under a free name.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, src_path.open("rb") as src:
            shutil.copyfileobj(src, out)
        dest, already = _publish(Path(tmp), folder, name)
    except OSError as exc:
        log.warning("cannot store upload %r in %s: %s", original_name, folder, exc)
        raise UploadError(f"Cannot store {name} in the upload folder ({exc.strerror}).") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    if already:
        log.info("upload %s is identical to %s; not stored twice", original_name, dest)
    else:
        log.info("stored upload %r as %s", original_name, dest)
    return dest, not already


def add_upload(engine: Engine, src_path: str | Path, original_name: str) -> tuple[Path, IngestReport]:
    """Save an upload and ingest it at once, so the next question can use it; a file that can't be read is removed."""
    dest, created = store_upload(src_path, original_name, engine.settings)
    try:
        report = engine.ingest([dest])
    except BaseException:
        if created:  # an upload that did not make it into the store must not linger in the corpus
            dest.unlink(missing_ok=True)
        raise
    if report.skipped:
        if created:
            dest.unlink(missing_ok=True)
        reason = report.skipped[0].split(": ", 1)[-1]
        raise UploadError(f"{dest.name} could not be ingested: {reason}.")
    return dest, report
