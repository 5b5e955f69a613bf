"""The report's sections on what was run and what it can be compared with: Setup, Runs, Published numbers.

Each section is a list of Markdown lines built from the runs as read
(`runs.Study`) and the descriptive summary (`aggregate`); none decides
anything. They say what a reader needs before trusting a number: the
settings, data, devices and code each run used, which planned runs are
missing, and which published results the setup really matches (and which
are context only). What limits every conclusion is `report_caveats`.
"""

import math
import re

from keras_resnet_opt.environment import CPU_DETAILS
from keras_resnet_opt.study import aggregate, measures, published
from keras_resnet_opt.study.optimizer_notes import optimizer_notes
from keras_resnet_opt.study.runs import is_main_variant, variant_of, variant_sort_key
from keras_resnet_opt.study.tables import fmt_pm, fmt_setting, fmt_value, markdown_table
from keras_resnet_opt.training.run_folder import STATUS_DIVERGED, epochs_seconds


def _pct(mean, half):
    return fmt_pm(mean, half, 100.0) + " %"


def _rows_by_variant(summary, workload):
    rows = summary[summary["workload"] == workload]
    return {r.variant: r for r in rows.itertuples(index=False)}


def _distinct(values):
    """The distinct values, formatted, numbers in numeric order, joined by commas."""
    seen = {fmt_setting(v) if not isinstance(v, (list, tuple)) else str(list(v)) for v in values}

    def key(text):
        try:
            return (0, float(text), text)
        except ValueError:
            return (1, 0.0, text)

    return ", ".join(sorted(seen, key=key)) if seen else "n/a"


def data_caveat(sources):
    """The caveat on the data copy, from the manifests' data sources ("" for the official release)."""
    if any(re.search(r"jpe?g", s, re.IGNORECASE) for s in sources):
        return (
            "Data: a JPEG re-encoding of CIFAR-10 (lossy, quality 75), not the official binary release; "
            "accuracies can sit a little below published ones."
        )
    if any(s.startswith("image-folder") for s in sources):
        return (
            "Data: an image-folder copy of CIFAR-10, not the official binary release; if it is a JPEG "
            "re-encoding (as the shared copy is: lossy, quality 75), accuracies can sit a little below published ones."
        )
    return ""


def is_cpu(devices):
    devices = [d.lower() for d in devices]
    return bool(devices) and all("cpu" in d and not re.search(r"gpu|cuda|tpu", d) for d in devices)


def _machines(devices):
    """The distinct machines among device strings.

    A bare name (written before runs recorded their CPU's details) is not
    counted apart from the same name with details (`environment.CPU_DETAILS`):
    it may be that machine, and says nothing to tell them apart.
    """
    detailed = {d for d in devices if CPU_DETAILS.search(d)}
    return detailed | (set(devices) - detailed - {CPU_DETAILS.sub("", d) for d in detailed})


def devices_row(runs, named_up_to=3):
    """The Setup table's device row: each device a finished run recorded, with its runs when there are several.

    A manifest's ``device`` is the machine a run finished on; its
    ``sessions`` (newer runs) name every machine that trained a part of it.
    When a study's runs ran on different machines (a campaign that moved
    between sessions), their float rounding can differ, so the row says which
    runs ran where: a count per device, the run names for a device with few
    of them, and the runs that moved between machines part-way.
    """
    by_device, moved, unrecorded = {}, [], []
    for run in runs:
        device = run.manifest.get("device")
        if device:
            by_device.setdefault(str(device), []).append(run.name)
        if "sessions" not in run.manifest and run.manifest.get("resumed_from_epoch"):
            unrecorded.append(run.name)
        legs = {str(leg.get("device")) for leg in run.manifest.get("sessions") or [] if leg.get("device")}
        if len(_machines(legs | ({str(device)} if device else set()))) > 1:
            moved.append(run.name)

    def named(names):
        count = f"{len(names)} run{'s' if len(names) != 1 else ''}"
        return count + (f": {', '.join(sorted(names))}" if len(names) <= named_up_to else "")

    if len(by_device) <= 1 and not moved and not unrecorded:
        return next(iter(by_device), "unknown")
    finished = [f"{device} ({named(names)})"
                for device, names in sorted(by_device.items(), key=lambda item: (-len(item[1]), item[0]))]
    text = "; ".join(finished) + ", by the machine each run finished on (its manifest's `device`)."
    if moved:
        text += f" Trained on more than one machine ({named(moved)}; their manifests' `sessions` say which epochs)."
    if unrecorded:
        text += (f" Resumed part-way by code that did not yet record each leg's machine, so the machine of their "
                 f"earlier epochs is not recorded ({named(unrecorded)}).")
    return text


def setup_section(study):
    """"## Setup": what every run shared or differed in, so that a reader can tell what was compared."""
    configs = [r.config for r in study.runs]
    manifests = [r.manifest for r in study.ended_runs]
    plan = study.plan or {}

    def values(key):
        return _distinct(c.get(key) for c in configs if key in c)

    data_blocks = [m.get("data") or {} for m in manifests]
    data = sorted({f"{d.get('source', '?')} (checksum {d.get('checksum', '?')})" for d in data_blocks})
    devices = devices_row(study.ended_runs)
    versions = {}
    for m in manifests:
        for key, value in sorted((m.get("versions") or {}).items()):
            versions.setdefault(key, set()).add(str(value))
    subsets = sorted({c.get("train_subset") for c in configs}, key=lambda s: (s is not None, s or 0))
    held_out = {int(c.get("val_size") or 0) for c in configs}
    whole = "full training set" + (" less the validation images" if any(held_out) else "")
    train = ", ".join(whole if s is None else f"subset of {s} images" for s in subsets)
    schedules = sorted(
        {
            f"step: x{c.get('lr_decay_factor')} at epochs {list(c.get('lr_boundaries') or [])}"
            if c.get("lr_schedule", "step") == "step"
            else str(c.get("lr_schedule"))
            for c in configs
        }
    )
    rows = [
        ("Preset", values("preset")),
        ("Model", values("model")),
        ("Optimizers (variants)", ", ".join(sorted({r.variant for r in study.runs}, key=variant_sort_key)) or "n/a"),
        ("Seeds", _distinct(c.get("seed") for c in configs)),
        ("Epochs", values("epochs")),
        ("Batch size", values("batch_size")),
        ("Training data", train or "n/a"),
        ("Validation images held out", values("val_size")),
        ("Learning-rate schedule", "; ".join(schedules) or "n/a"),
        ("Data source", "; ".join(data) or "unknown (no run has finished)"),
        ("Data directory", values("data_dir")),
        ("Device", devices),
        ("Versions", "; ".join(f"{k} {', '.join(sorted(v))}" for k, v in sorted(versions.items())) or "unknown"),
    ]
    commits = sorted(
        {
            f"{code['commit'][:12]}" + (" (uncommitted changes)" if code.get("dirty") else "")
            for code in ((m.get("code") or {}) for m in manifests)
            if code.get("commit")
        }
    )
    if commits:
        rows.append(("Code commit(s)", ", ".join(commits)))
    if plan.get("command"):
        rows.append(("Grid command", f"`{plan['command']}`"))
    lines = ["## Setup", "", markdown_table(["Item", "Value"], rows), ""]
    settings = aggregate.variant_settings(study)
    if len(settings):
        several = settings["workload"].nunique() > 1
        header = ["Variant", "Learning rate", "Weight decay", "p", "Schedule", "Batch"]
        header = (["Workload"] if several else []) + header
        body = [
            ([r.workload] if several else [])
            + [r.variant, r.learning_rate, r.weight_decay, r.partial, r.lr_schedule, r.batch_size]
            for r in settings.itertuples(index=False)
        ]
        lines += ["Optimizer settings as run:", "", markdown_table(header, body), ""]
    return lines + design_notes(plan) + optimizer_notes(study)


def design_notes(plan):
    """study.json's ``design_notes``: choices the settings table cannot show, each with its reason.

    A study that departs from the protocol it was asked to run, or that reads
    a claim's terms in a particular way, says so where its numbers are read,
    not only in the script that planned its runs.
    """
    notes = (plan or {}).get("design_notes") or []
    if not notes:
        return []
    return ["Design notes (from `study.json`):", ""] + [f"- {note}" for note in notes] + [""]


def _planned_missing(study):
    """What study.json planned that has no run directory.

    Main cells are optimizer x seed. `scripts/compare.py` runs the p sweep at
    one seed, a campaign may run it at every seed: once any sweep value has
    runs at more than one seed, every value is expected at the study's seeds,
    otherwise a value counts as present when any seed of it was run.
    """
    plan = study.plan or {}
    seeds = plan.get("seeds") or []
    present = {(r.variant, r.config.get("seed")) for r in study.runs}
    missing = [f"{o} seed {s}" for o in plan.get("optimizers") or [] for s in seeds if (o, s) not in present]
    sweep = [v for v in dict.fromkeys(variant_of("padam", p) for p in plan.get("partial_sweep") or [])
             if not is_main_variant(v)]  # fmt: skip
    swept_seeds = {s for v, s in present if v in sweep}
    if len(swept_seeds) > 1:
        missing += [f"{v} seed {s}" for v in sweep for s in seeds if (v, s) not in present]
    else:
        missing += [v for v in sweep if v not in {pv for pv, _ in present}]
    return missing


def _training_minutes(run):
    """Minutes of a run's recorded epochs (`run_folder.epochs_seconds`), "n/a" when any is untimed."""
    seconds = epochs_seconds(run.history.to_dict("records"))
    return "n/a" if seconds is None else fmt_value(seconds / 60.0, digits=0)


def runs_section(study):
    """"## Runs": every run folder with its status, including the unfinished, unreadable and missing ones."""
    ended = study.ended_runs
    diverged = [r for r in ended if r.status == STATUS_DIVERGED]
    lines = [
        "## Runs",
        "",
        f"{len(study.runs)} run directories: {len(ended) - len(diverged)} finished, {len(diverged)} diverged,"
        f" {len(study.unfinished_runs)} unfinished. Diverged runs count in the statistics; unfinished ones do not.",
        "",
    ]
    if ended:
        body = []
        for r in ended:
            final = measures.final_metrics(r)
            body.append(
                [
                    r.name,
                    r.variant,
                    r.config.get("seed"),
                    r.status
                    + (f" at epoch {r.manifest.get('diverged_at_epoch')}" if r.status == STATUS_DIVERGED else ""),
                    f"{r.epochs_completed}/{r.epochs}",
                    fmt_value(final["test_error"], 100.0),
                    _training_minutes(r),
                ]
            )
        header = ["Run", "Variant", "Seed", "Status", "Epochs", "Final test error %", "Training time (min)"]
        lines += [
            markdown_table(header, body),
            "",
            "Training time: the sum of the run's epoch wall times in its history, over every leg of a resumed run "
            "(the manifest's `wall_time_s` times its last leg only). Epochs only: start-up, the final save and "
            "export, and work lost to an interruption are left out. An epoch's time includes whatever the machine "
            "did meanwhile (another job, a pause during the epoch), so the column describes the run and compares "
            "no optimizers.",
            "",
        ]
    if study.unfinished_runs:
        lines += ["Unfinished runs (no manifest; left out of every statistic):", ""]
        lines += [
            f"- `{r.name}`: {r.variant}, seed {r.config.get('seed')}, {r.epochs_completed}/{r.epochs} epochs recorded"
            for r in study.unfinished_runs
        ]
        lines.append("")
    if study.unreadable:
        lines += ["Unreadable run directories (skipped):", ""]
        lines += [f"- `{name}`: {reason}" for name, reason in study.unreadable]
        lines.append("")
    missing = _planned_missing(study)
    if missing:
        lines += [f"Planned in study.json but without a run directory: {', '.join(missing)}.", ""]
    return lines


def published_section(summary, curves, workload_setups, data_note=""):
    """"## Published numbers": side by side only where the setup matches; otherwise context, marked so.

    Args:
        workload_setups: ``{workload: {"model", "epochs", "train_subset"}}``
            of the workloads reported.
        data_note: the caveat on the data copy (`data_caveat`), if any.
    """
    lines = ["## Published numbers", ""]
    for workload, setup in workload_setups.items():
        rows = _rows_by_variant(summary, workload)
        variants = [v for v in rows if is_main_variant(v)]
        matched, context = [], []
        for result in published.PUBLISHED:
            if result.optimizer not in variants:
                continue
            differences = published.setup_differences(result, setup["model"], setup["epochs"], setup["train_subset"])
            if not differences:
                matched.append(result)
            elif result.final and (result.model == setup["model"] or result.source in published.OPTIMIZER_COMPARISONS):
                context.append((result, differences))
        if len(workload_setups) > 1:
            lines += [f"### {workload}", ""]
        if matched:
            body = []
            for result in matched:
                mean, half = _study_error_at(rows[result.optimizer], curves, workload, result)
                diff = fmt_value(mean * 100.0 - result.test_error_pct, digits=2)
                body.append(
                    [
                        result.source, result.model, result.optimizer, result.epoch,
                        f"{result.test_error_pct:.2f}", _pct(mean, half), diff, result.note,
                    ]
                )  # fmt: skip
            lines += [
                "Where this study's setup matches a published one "
                "(same model, optimizer, epochs within 10%, full training set):",
                "",
                markdown_table(
                    ["Source", "Model", "Optimizer", "Epoch", "Published test error %", "This study", "Difference (pp)",
                     "Note"],  # fmt: skip
                    body,
                ),
                "",
            ]
        else:
            lines += [
                f"No published number matches this setup (model {setup['model']}, {setup['epochs']} epochs, "
                + ("full training set" if not setup["train_subset"] else f"{setup['train_subset']}-image subset")
                + "): nothing here is a reproduction target.",
                "",
            ]
        if context:
            body = [
                [r.source, r.model, r.optimizer, r.epochs, f"{r.test_error_pct:.2f}", "; ".join(d), r.note]
                for r, d in context
            ]
            lines += [
                "Context only — these setups differ from this study's, so the numbers are not comparable targets:",
                "",
                markdown_table(
                    ["Source", "Model", "Optimizer", "Epochs", "Published test error %", "Differs in", "Note"], body
                ),
                "",
            ]
    if data_note:
        lines += [data_note, ""]
    lines += ["Sources:", ""] + [f"- {key}: {text}" for key, text in sorted(published.SOURCES.items())] + [""]
    return lines


def _study_error_at(row, curves, workload, result):
    if result.final:
        return row.test_error_mean, row.test_error_ci
    points = curves[
        (curves["workload"] == workload) & (curves["variant"] == result.optimizer) & (curves["epoch"] == result.epoch)
    ]
    if points.empty:
        return math.nan, math.nan
    return float(points["test_error_mean"].iloc[0]), float(points["test_error_ci"].iloc[0])
