"""Every option of a training run in one frozen dataclass, plus the optimiser and schedule it names.

The config travels inside each checkpoint as a plain dict (:meth:`TrainConfig.to_dict`), so a
resumed run and a reader of the checkpoint know exactly how it was trained.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from evalstudio.core.errors import TrainingError
from evalstudio.core.training.early_stopping import Mode, check_monitor, monitor_mode

if TYPE_CHECKING:
    import torch

#: The largest seed every consumer takes (scikit-learn's random_state: 2**32 - 1).
MAX_SEED = 2**32 - 1
OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("none", "step", "cosine", "plateau")
#: What the window calls the settings it has (its training panel's labels), by command-line flag.
APP_FIELDS = {"--epochs": "Epochs", "--batch-size": "Batch size", "--lr": "Learning rate",
              "--optimizer": "Optimizer", "--val-fraction": "Validation fraction",
              "--early-stopping": "Early stopping", "--folds": "K-fold folds"}
SGD_MOMENTUM = 0.9


@dataclass(frozen=True)
class TrainConfig:
    """Options of one training run (defaults are evalstudio's recommended ones).

    Attributes
    ----------
    epochs : int -- total epochs (a resumed run continues up to this number)
    batch_size : int
    lr : float -- initial learning rate
    optimizer : {"adam", "adamw", "sgd"} -- sgd uses momentum 0.9
    weight_decay : float
    lr_schedule : {"none", "step", "cosine", "plateau"}
    lr_step_size : int -- epochs per step of the "step" schedule; 0 means a third of ``epochs``
    lr_gamma : float -- factor of the "step" and "plateau" schedules
    plateau_patience : int -- epochs without improvement of ``monitor`` before "plateau" cuts the rate
    seed : int -- weight init (where evalstudio builds the model), batch order, validation split
    device : str -- "auto", "cpu", "cuda", "cuda:N" or "mps"
    standardize : bool -- fit a Standardizer on the training rows and apply it everywhere
    val_fraction : float -- stratified share of the data held out for validation (0 for none)
    monitor : str -- per-epoch metric ranking checkpoints and driving early stopping / plateau
    early_stopping : int -- patience in epochs; 0 turns early stopping off
    min_delta : float -- smallest change of ``monitor`` that counts as an improvement
    checkpoint_every : int -- also keep ``epoch_NNNN.pt`` every this many epochs (0: never)
    shuffle : bool -- batches are slices of a fresh seeded permutation each epoch (default); False
        walks the training rows in their order every epoch, as the first tutorial does
    drop_last : bool -- skip a last batch smaller than ``batch_size`` (the first tutorial's
        ``len(X_train) // batch_size`` batches); default False trains on every row
    """

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    lr_schedule: str = "none"
    lr_step_size: int = 0
    lr_gamma: float = 0.1
    plateau_patience: int = 5
    seed: int = 0
    device: str = "auto"
    standardize: bool = True
    val_fraction: float = 0.2
    monitor: str = "val_loss"
    early_stopping: int = 0
    min_delta: float = 0.0
    checkpoint_every: int = 0
    shuffle: bool = True
    drop_last: bool = False

    def __post_init__(self) -> None:
        def bad(option: str, value: Any, want: str) -> TrainingError:
            # The window names its field ("Batch size is 0"); the command line its flag.
            field = APP_FIELDS.get(option, option.lstrip("-").replace("-", " ").capitalize())
            return TrainingError(f"{option} is {value!r}.", hint=f"Use {want}.",
                                 messages={"app": f"{field} is {value!r}."})

        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise bad("--epochs", self.epochs, "a whole number of at least 1")
        # The seed reaches torch (64 bits), the batch-order generator and scikit-learn's splits,
        # which take 0 to 2**32 - 1: the common range, said before anything runs.
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise bad("--seed", self.seed, f"a whole number from 0 to {MAX_SEED}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise bad("--batch-size", self.batch_size, "a whole number of at least 1")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise bad("--lr", self.lr, "a positive learning rate such as 0.001")
        if self.optimizer not in OPTIMIZERS:
            raise bad("--optimizer", self.optimizer, " | ".join(OPTIMIZERS))
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise bad("--weight-decay", self.weight_decay, "a number >= 0")
        if self.lr_schedule not in LR_SCHEDULES:
            raise bad("--lr-schedule", self.lr_schedule, " | ".join(LR_SCHEDULES))
        if self.lr_step_size < 0 or not 0 < self.lr_gamma <= 1 or self.plateau_patience < 0:
            raise TrainingError(
                f"learning-rate schedule settings are out of range (step size {self.lr_step_size}, "
                f"gamma {self.lr_gamma}, plateau patience {self.plateau_patience}).",
                hint="Use a step size >= 0, 0 < gamma <= 1 and a patience >= 0.",
            )
        if not 0.0 <= self.val_fraction < 1.0:
            raise bad("--val-fraction", self.val_fraction, "a fraction from 0 (no validation) to below 1, e.g. 0.2")
        check_monitor(self.monitor)
        if self.early_stopping < 0:
            raise bad("--early-stopping", self.early_stopping, "a patience of 1 or more epochs (0 turns it off)")
        if not (math.isfinite(self.min_delta) and self.min_delta >= 0):
            raise bad("--min-delta", self.min_delta, "a number >= 0")
        if self.checkpoint_every < 0:
            raise bad("--checkpoint-every", self.checkpoint_every, "a number of epochs >= 0 (0: never)")

    @property
    def mode(self) -> Mode:
        """``"min"`` when ``monitor`` is a loss, else ``"max"``."""
        return monitor_mode(self.monitor)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (str, int, float, bool) for checkpoints and JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], **overrides: Any) -> "TrainConfig":
        """Rebuild from :meth:`to_dict` output; unknown keys (a newer evalstudio's) are ignored."""
        names = {f.name for f in fields(cls)}
        return replace(cls(**{k: v for k, v in d.items() if k in names}), **overrides)


def make_optimizer(params: Any, config: TrainConfig) -> "torch.optim.Optimizer":
    """The optimiser ``config`` names, over ``params``."""
    import torch

    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=SGD_MOMENTUM, weight_decay=config.weight_decay)


def make_scheduler(optimizer: "torch.optim.Optimizer", config: TrainConfig) -> Any:
    """The learning-rate schedule ``config`` names (None for "none"); stepped once per epoch.

    "step" multiplies the rate by ``lr_gamma`` every ``lr_step_size`` epochs (default: a third of
    the run), "cosine" anneals it to 0 over ``epochs``, "plateau" cuts it by ``lr_gamma`` after
    ``plateau_patience`` epochs without improvement of ``monitor``.
    """
    from torch.optim import lr_scheduler

    if config.lr_schedule == "step":
        step = config.lr_step_size or max(1, config.epochs // 3)
        return lr_scheduler.StepLR(optimizer, step_size=step, gamma=config.lr_gamma)
    if config.lr_schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.lr_schedule == "plateau":
        return lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=config.mode, factor=config.lr_gamma, patience=config.plateau_patience
        )
    return None


def schedule_depends_on_total(config: TrainConfig) -> bool:
    """Whether the schedule's shape follows ``epochs`` (cosine; step with its default step size)."""
    return config.lr_schedule == "cosine" or (config.lr_schedule == "step" and not config.lr_step_size)


def replay_schedule(optimizer: Any, scheduler: Any, config: TrainConfig, epochs_done: int) -> None:
    """Put ``scheduler`` (and the optimiser's learning rate) where a run planned for
    ``config.epochs`` from the start would be after ``epochs_done`` epochs.

    A resume that raises ``--epochs`` would otherwise continue a cosine that already reached 0
    (and climbs back up) or steps at the old total's pace.
    """
    import warnings

    import torch

    probe = torch.nn.Parameter(torch.zeros(1))
    fresh_opt = make_optimizer([probe], replace(config, lr=float(optimizer.param_groups[0].get("initial_lr", config.lr))))
    fresh = make_scheduler(fresh_opt, config)
    with warnings.catch_warnings():
        # Only the schedule is replayed; no optimiser step is due.
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(epochs_done):
            fresh.step()
    scheduler.load_state_dict(fresh.state_dict())
    for group in optimizer.param_groups:
        group["lr"] = fresh_opt.param_groups[0]["lr"]
