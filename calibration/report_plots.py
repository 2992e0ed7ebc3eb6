"""PNG plots of a calibration report (matplotlib, Agg backend: no display needed).

- ``learning_curves.png``: SAMBA's linear probe (inner-CV held-out loss per L2 strength,
  the chosen one marked) and, when deeper layers are fine-tuned, the training and held-out
  loss and held-out balanced accuracy per epoch with the early-stopping epoch marked; for
  the final fit and every cross-validation fold.
- ``confusion.png``: one confusion matrix per method (summed over the test folds).
- ``per_class_accuracy.png``: per-class accuracy of every method side by side, with the
  balanced accuracy of each method in the legend.
"""

from __future__ import annotations

from pathlib import Path
import matplotlib

matplotlib.use("Agg")  # file output only: never needs (or grabs) a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402



def _save(fig, path: Path) -> Path:
    """Write a report figure and free it (figures are many and Agg keeps them alive otherwise)."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

def _probe_panel(report, ax) -> None:
    """Inner-CV held-out loss of the linear probe against its L2 strength."""
    for i, path in enumerate(report.scores.get("samba", {}).get("probe_paths", [])):
        if path:
            ax.plot([r["l2"] for r in path], [r["val_loss"] for r in path], "o-", color="tab:orange", alpha=0.35, lw=1,
                    label="CV folds" if i == 0 else None)
    path = report.final_fit.get("probe_path", [])
    if path:
        ax.plot([r["l2"] for r in path], [r["val_loss"] for r in path], "o-", color="tab:red", lw=2, label="final fit")
    if report.final_fit.get("probe_l2"):
        ax.axvline(report.final_fit["probe_l2"], color="k", ls="--", lw=1, label="chosen")
    ax.set_xscale("log")
    ax.set(xlabel="L2 strength", ylabel="held-out cross-entropy (nats)", title="linear probe (inner CV)")


def _fine_tune_panels(report, ax_loss, ax_acc) -> None:
    """Training / held-out loss and held-out balanced accuracy per fine-tuning epoch."""
    for i, curve in enumerate(report.scores.get("samba", {}).get("learning_curves", [])):
        epochs = [r["epoch"] for r in curve]
        ax_loss.plot(epochs, [r["val_loss"] for r in curve], color="tab:orange", alpha=0.35, lw=1,
                     label="held-out (CV folds)" if i == 0 else None)
        ax_acc.plot(epochs, [r["val_balanced_accuracy"] for r in curve], color="tab:orange", alpha=0.35, lw=1,
                    label="CV folds" if i == 0 else None)
    final = report.final_fit.get("history", [])
    if final:
        epochs = [r["epoch"] for r in final]
        ax_loss.plot(epochs, [r["train_loss"] for r in final], color="tab:blue", lw=2, label="training (final)")
        ax_loss.plot(epochs, [r["val_loss"] for r in final], color="tab:red", lw=2, label="held-out (final)")
        ax_acc.plot(epochs, [r["val_balanced_accuracy"] for r in final], color="tab:red", lw=2, label="final fit")
        if report.final_fit.get("best_phase") == "fine-tune":
            for ax in (ax_loss, ax_acc):
                ax.axvline(report.final_fit["best_epoch"], color="k", ls="--", lw=1)
    if not final and not any(report.scores.get("samba", {}).get("learning_curves", [])):
        for ax in (ax_loss, ax_acc):
            ax.text(0.5, 0.5, f"train = {report.train}:\nno fine-tuning epochs", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy (nats)", title="fine-tuning loss")
    ax_acc.set(xlabel="epoch", ylabel="balanced accuracy", title="early-stopping split", ylim=(0, 1.02))
    ax_acc.axhline(1 / max(len(report.classes), 1), color="grey", ls=":", lw=1, label="chance")


def _learning_curves(report, path: Path) -> Path:
    fig, (ax_probe, ax_loss, ax_acc) = plt.subplots(1, 3, figsize=(14, 4))
    _probe_panel(report, ax_probe)
    _fine_tune_panels(report, ax_loss, ax_acc)
    for ax in (ax_probe, ax_loss, ax_acc):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return _save(fig, path)


def _confusions(report, path: Path) -> Path:
    methods = list(report.scores)
    fig, axes = plt.subplots(1, len(methods), figsize=(3.6 * len(methods), 3.4), squeeze=False)
    for ax, name in zip(axes[0], methods):
        cm = np.asarray(report.scores[name]["confusion"], dtype=float)
        rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(rows, vmin=0, vmax=1, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, f"{int(v)}", ha="center", va="center", color="white" if rows[i, j] > 0.5 else "black")
        ticks = range(len(report.classes))
        ax.set_xticks(ticks, report.classes, rotation=30)
        ax.set_yticks(ticks, report.classes)
        ax.set(xlabel="predicted", ylabel="true", title=f"{name}: {report.scores[name]['balanced_accuracy']:.2f}")
    return _save(fig, path)


def _per_class(report, path: Path) -> Path:
    methods = list(report.scores)
    width = 0.8 / max(len(methods), 1)
    x = np.arange(len(report.classes))
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(report.classes) * max(len(methods), 1) / 2, 3.8))
    for k, name in enumerate(methods):
        s = report.scores[name]
        ax.bar(x + (k - (len(methods) - 1) / 2) * width, [s["per_class_accuracy"][c] for c in report.classes], width,
               label=f"{name} (balanced {s['balanced_accuracy']:.2f})")
    ax.axhline(1 / max(len(report.classes), 1), color="grey", ls=":", lw=1)
    ax.set_xticks(x, report.classes)
    ax.set(ylabel="accuracy (CV)", ylim=(0, 1.05), title="per-class accuracy")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=min(len(methods), 3), frameon=False)
    return _save(fig, path)


def save_plots(report, directory: Path) -> list[Path]:
    """Write the three PNG files into ``directory``; return their paths.

    report : :class:`calibration.report.CalibrationReport` (read only: ``scores``, the probe's
    and the fine-tuning's curves).
    """
    paths = [_per_class(report, directory / "per_class_accuracy.png")] if report.scores else []
    if report.scores:
        paths.append(_confusions(report, directory / "confusion.png"))
    paths.append(_learning_curves(report, directory / "learning_curves.png"))
    return paths
