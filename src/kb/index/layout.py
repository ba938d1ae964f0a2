"""The index folder's layout: the CURRENT pointer, build folders, the build lock,
fsync, the atomic switch and clean-up.

Layout of ``index_dir``::

    CURRENT              name of the live build directory (replaced atomically)
    .lock                held while a build runs
    .tmp-build-<stamp>/  a build in progress (or one killed part-way)
    build-<stamp>/       one complete build (files: index/fields.py, load.py, build.py)

A build writes a new ``build-*`` directory beside the live one and then switches
``CURRENT`` with one ``os.replace``; a reader resolves ``CURRENT`` once, so it
never sees a half-written index, and a build killed at any moment leaves the
previous one in place.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from kb.errors import BuildLocked

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
LOCK = ".lock"
TMP_PREFIX = ".tmp-build-"
BUILD_PREFIX = "build-"


def pointer(index_dir: Path) -> str | None:
    """The build name CURRENT holds (None when there is no CURRENT)."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""
    return name


def current_build(index_dir: Path) -> Path | None:
    """The live build directory, or None (no index, or CURRENT names a missing build)."""
    name = pointer(index_dir)
    if not name or "/" in name or "\\" in name or name in {".", ".."}:
        return None
    build = index_dir / name
    return build if build.is_dir() else None


def reuse_source(index_dir: Path) -> Path | None:
    """The build whose chunks and vectors a new build may reuse: the live one, or,
    when CURRENT is missing or names a deleted build, the newest complete build
    left in the folder (``build-*`` directories are only ever made by renaming a
    finished, fsynced temporary directory)."""
    live = current_build(index_dir)
    if live is not None:
        return live
    for build in sorted(index_dir.glob(f"{BUILD_PREFIX}*"), reverse=True):
        if (build / "manifest.json").is_file():
            log.warning("no live index in %s; reusing what %s holds", index_dir, build.name)
            return build
    return None


def work_folders(index_dir: Path) -> list[Path]:
    """Work folders of builds in progress or killed part-way, oldest first."""
    return sorted(index_dir.glob(f"{TMP_PREFIX}*"))


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the build lock, or raise BuildLocked at once if another build holds it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BuildLocked(
            f"another `kb index` is building {index_dir} (lock {index_dir / LOCK} is held); "
            "wait for it to finish"
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def work_folder(index_dir: Path) -> Iterator[tuple[Path, Path]]:
    """A fresh work folder and the name its finished build will get: (tmp, final).
    The work folder exists from the start, so a build in progress (or one killed
    part-way) is visible; it is removed if the body raises."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"
    tmp = index_dir / f"{TMP_PREFIX}{stamp}"
    tmp.mkdir()
    try:
        yield tmp, index_dir / f"{BUILD_PREFIX}{stamp}"
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(directory: Path) -> None:
    """Flush every file and directory entry under ``directory`` to disk."""
    dirs = [directory]
    for p in directory.rglob("*"):
        if p.is_dir():
            dirs.append(p)
        elif p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    for d in reversed(dirs):
        fsync_dir(d)


def switch(index_dir: Path, build_name: str) -> None:
    """Point CURRENT at ``build_name`` with one atomic rename."""
    tmp = index_dir / f".{CURRENT}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(build_name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    fsync_dir(index_dir)


def publish(index_dir: Path, tmp: Path, final: Path) -> None:
    """Make a finished work folder the live build: fsync, rename, switch CURRENT."""
    fsync_tree(tmp)
    os.rename(tmp, final)
    switch(index_dir, final.name)


def collect_garbage(index_dir: Path, keep: str, keep_builds: int) -> None:
    """Remove older builds (keeping the ``keep_builds`` newest previous ones for
    readers that still have them open) and what killed builds left behind.
    Runs under the build lock, so no temporary directory here is in use."""
    builds = sorted(p for p in index_dir.glob(f"{BUILD_PREFIX}*") if p.is_dir() and p.name != keep)
    for p in builds[: max(0, len(builds) - keep_builds)]:
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(f".{CURRENT}.*"):
        p.unlink(missing_ok=True)
