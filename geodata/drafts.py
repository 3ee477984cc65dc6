"""Imports in progress, kept on the server per staff account: a reload or a new login resumes them where they stopped."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from geodata.settings import Settings, get_settings

FOLDER = "brouillons"


@dataclass
class Draft:
    """An import in progress: the file (name and bytes), its sheet, the column mapping, the out-of-region rows kept,
    and whether it was geocoded (the answers themselves live in the geocoding cache, the corrections in their file)."""

    name: str
    data: bytes = field(repr=False)
    sheet: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    keep: list[int] = field(default_factory=list)
    geocoded: bool = False
    online: bool = False
    saved_at: str = ""

    @property
    def digest(self) -> str:
        """The file's identity, as the import page keys it."""
        return hashlib.sha256(self.data).hexdigest()[:20]


def _folder(user: str, settings: Settings | None) -> Path:
    settings = settings or get_settings()
    # The account name never becomes a path: a hash of it does.
    return Path(settings.data_dir) / FOLDER / hashlib.sha256(str(user).encode("utf-8")).hexdigest()[:24]


def _atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def save_draft(user: str, draft: Draft, *, settings: Settings | None = None) -> None:
    """Keep ``draft`` for ``user`` (the file is written again only when it changed)."""
    folder = _folder(user, settings)
    meta = {k: v for k, v in asdict(draft).items() if k != "data"}
    meta["digest"], meta["saved_at"] = draft.digest, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    meta["keep"] = [int(r) for r in draft.keep]
    old = _meta(folder)
    if old.get("digest") != draft.digest or not (folder / "fichier").exists():
        _atomic(folder / "fichier", draft.data)
    _atomic(folder / "brouillon.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))


def _meta(folder: Path) -> dict:
    try:
        return json.loads((folder / "brouillon.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def load_draft(user: str, *, settings: Settings | None = None) -> Draft | None:
    """The draft of ``user``, or None (none kept, or unreadable: a broken draft is no draft)."""
    folder = _folder(user, settings)
    meta = _meta(folder)
    try:
        data = (folder / "fichier").read_bytes()
    except OSError:
        return None
    if not meta or hashlib.sha256(data).hexdigest()[:20] != meta.get("digest"):
        return None
    return Draft(name=str(meta.get("name", "")), data=data, sheet=meta.get("sheet"), mapping=dict(meta.get("mapping") or {}),
                 keep=[int(r) for r in meta.get("keep") or []], geocoded=bool(meta.get("geocoded")), online=bool(meta.get("online")),
                 saved_at=str(meta.get("saved_at", "")))


def discard_draft(user: str, *, settings: Settings | None = None) -> None:
    """Forget the draft of ``user``."""
    shutil.rmtree(_folder(user, settings), ignore_errors=True)
