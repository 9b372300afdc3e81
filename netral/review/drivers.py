"""Drivers on demand: which words pushed a flag's score up, computed when someone needs them.

Gradient x input costs about three forward passes of the fp32 model per post; in the scan it made the
default scan slower than scoring by a factor of three although a reviewer opens only part of the flags.
So the scan scores only, and the drivers of a flag are computed either on the first opening of its page
(``ensure_drivers``) or by a background job after the scan (``explain_pending``, ``netral explain``),
with the model version that produced the flag's score, and kept on the flag with that version
(``drivers_version``). A flag re-scored by a newer model loses its drivers and gets new ones the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from netral.db.schema import Flag, Post
from netral.models.classifier import Classifier
from netral.models.registry import RegistryError, get_version
from netral.settings import Settings
from netral.vocabulary import OPEN_STATUSES, FlagSource

log = logging.getLogger(__name__)

Loader = Callable[[str], Classifier | None]

_lock = threading.Lock()
_cache: dict[tuple[str, str], Classifier] = {}


def registry_loader(settings: Settings) -> Loader:
    """Loads a version of ``settings.registry_dir`` once per process (one at a time: the model is large).

    Returns None for a version the registry no longer has: the flag keeps no drivers, the page still opens.
    """
    from netral.pipeline.masking import load_classifier

    def load(version: str) -> Classifier | None:
        key = (str(settings.registry_dir.resolve()), version)
        with _lock:
            if key not in _cache:
                try:
                    mv = get_version(settings.registry_dir, version)
                except RegistryError:
                    return None
                _cache.clear()
                # fp32: gradients need the torch model, not the int8 artefact.
                _cache[key] = load_classifier(mv, settings, backend="fp32")
            return _cache[key]

    return load


def needs_drivers(flag: Flag) -> bool:
    """Only model flags have a score to explain; a complaint's flag has none."""
    return flag.source == FlagSource.MODEL and flag.drivers_version != flag.model_version


def compute_drivers(clf: Classifier, flags: list[Flag], texts: list[str]) -> None:
    """Set drivers and ``drivers_version`` of ``flags`` (scored by ``clf``) from their posts' texts."""
    from netral.models.explain import gradient_x_input  # torch: loaded by the first flag that needs it

    for flag, found in zip(flags, gradient_x_input(clf, texts), strict=True):
        flag.drivers, flag.drivers_version = [d.to_dict() for d in found], clf.name


def ensure_drivers(session: Session, flag: Flag, loader: Loader) -> bool:
    """Compute and commit the flag's drivers if it has none for its model version; True if it did.

    A flag whose model version cannot be loaded keeps what it has (logged), so the page still opens.
    """
    if not needs_drivers(flag):
        return False
    try:
        clf = loader(flag.model_version)
    except (OSError, ValueError) as exc:
        log.warning("drivers for flag %s: model %s not loadable: %s", flag.id, flag.model_version, exc)
        return False
    if clf is None:
        return False
    compute_drivers(clf, [flag], [flag.post.text])
    session.commit()
    return True


def explain_pending(factory: sessionmaker[Session], loader: Loader, *, statuses: Iterable[str] = OPEN_STATUSES,
                    page_size: int = 64, on_progress: Callable[[int], None] | None = None) -> int:
    """The background job: drivers for every flag in ``statuses`` that lacks them; returns how many.

    Keyset pages by flag id, one commit per page, so it can run beside the web app and stop at any point.
    Flags whose model version is not in the registry are skipped.
    """
    done, last_id = 0, 0
    statuses = tuple(statuses)
    while True:
        with factory() as session:
            rows = list(session.execute(
                select(Flag, Post.text).join(Post, Post.id == Flag.post_id)
                .where(Flag.id > last_id, Flag.status.in_(statuses), Flag.source == FlagSource.MODEL,
                       or_(Flag.drivers_version.is_(None), Flag.drivers_version != Flag.model_version))
                .order_by(Flag.id).limit(page_size)))
            if not rows:
                return done
            last_id = rows[-1][0].id
            by_version: dict[str, list[tuple[Flag, str]]] = {}
            for flag, text in rows:
                by_version.setdefault(flag.model_version, []).append((flag, text))
            for version, items in by_version.items():
                clf = loader(version)
                if clf is None:
                    continue
                compute_drivers(clf, [f for f, _ in items], [t for _, t in items])
                done += len(items)
            session.commit()
        if on_progress:
            on_progress(len(rows))
