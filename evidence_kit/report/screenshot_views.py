"""Screenshots for the report: each stamped copy paired with its untouched original, and the
summary's thumbnails.

A stamped copy names its original's path and SHA-256; the pair is made only when that file
has that hash, so the report never vouches for a stamp whose original is not in the journal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from evidence_kit.report import images
from evidence_kit.report.images import ImageRef
from evidence_kit.report.model import ArtifactRow, ScreenshotView, TargetView
from evidence_kit.report.terminal import visible

Stamped = tuple[TargetView, dict[str, Any], ArtifactRow]  # (owner, the entry's data, the stamped copy)
Originals = dict[str, tuple[ArtifactRow, dict[str, Any]]]  # path -> (the original, the entry's data)


def image_ref(path: Path, compact: bool) -> ImageRef:
    """Only PNG/JPEG bytes are embedded; anything else is listed but not drawn."""
    media = images.sniff(path) or ""
    return ImageRef(path, media, compact=compact and bool(media))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def pair(payload: Path, stamped: list[Stamped], originals: Originals, targets: dict[str, TargetView],
         compact: bool = False) -> None:
    """Pair each stamped copy with its original: the path it names if that file has the hash it
    names, else a file of that target with that hash (two targets can show identical screens).
    Originals left without a stamped copy are shown on their own."""
    used: set[str] = set()
    for view, edata, art in stamped:
        orig_sha = str(edata.get("original_sha256") or "")
        named = originals.get(visible(str(edata.get("original") or "")))
        orig = named if named and named[0].sha256 == orig_sha else next(
            (o for path, o in originals.items()
             if path not in used and o[0].sha256 == orig_sha and o[0].target == art.target), None)
        if orig is not None:
            used.add(orig[0].path)
        odata = orig[1] if orig else {}
        view.screenshots.append(ScreenshotView(
            seq=_int(edata.get("seq") or odata.get("seq")), label=visible(str(edata.get("label") or "")),
            url=visible(str(odata.get("url") or "")), taken=str(odata.get("taken") or art.time),
            path=art.path, sha256=art.sha256, original_path=orig[0].path if orig else visible(
                str(edata.get("original") or "")) or None,
            original_sha256=orig_sha or None, stamped=True, image=image_ref(payload / art.path, compact),
            original_hash_ok=orig is not None,
        ))
    for path, (art, odata) in originals.items():
        if path in used or not art.target:
            continue
        owner = targets.get(str(art.target))
        if owner is None:
            continue
        owner.screenshots.append(ScreenshotView(
            seq=_int(odata.get("seq")), label=visible(str(odata.get("label") or "")),
            url=visible(str(odata.get("url") or "")), taken=str(odata.get("taken") or art.time), path=art.path,
            sha256=art.sha256, original_path=art.path, original_sha256=art.sha256, stamped=False,
            image=image_ref(payload / art.path, compact), original_hash_ok=True,
        ))
    for view in targets.values():
        view.screenshots.sort(key=lambda s: (s.seq is None, s.seq or 0, s.taken))


def thumbnails(views: list[TargetView]) -> None:
    """The last screenshot of each target, small, for the summary (Pillow decodes off the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(view: TargetView) -> None:
        try:
            view.thumbnail = images.thumbnail(view.screenshots[-1].image.path)
        except images.ImageProblem as exc:
            view.problems.append(f"thumbnail: {exc}")

    with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
        list(pool.map(one, views))
