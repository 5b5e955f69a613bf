"""A search's definition: what two searches must share to share a Keras Tuner project.

The definition (space, tuner and its options, objective, and the trials' run
config less the fields that do not define a run, `config.NOT_DEFINING`) is
stored in each project as ``search_definition.json``. Starting a search with
a different one raises `SearchDefinitionChanged` instead of mixing trials of
two searches, unless the project holds no finished trial and no trained
epoch (a start that failed, say on a wrong data folder): that one is
replaced, with a `SearchReplaced` warning. The number of trials is not part
of it, so a search can be extended.
"""

import json
import shutil
import warnings
from pathlib import Path

from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.config import RunConfig, safe_name_part
from keras_resnet_opt.tuning.options import OBJECTIVE
from keras_resnet_opt.tuning.trial_state import TRIAL_HISTORY

DEFINITION = "search_definition.json"


class SearchDefinitionChanged(ValueError):
    """A project directory holds a search with a different definition."""


class SearchReplaced(UserWarning):
    """A project with no finished trial was replaced by a search with another definition."""


def project_name(optimizer, partial=None):
    """The project folder of an optimizer's search: its name as a folder name, with the fixed p."""
    name = safe_name_part(optimizer)
    return name if partial is None else f"{name}-p{partial:g}"


def search_definition(config, space, tuner, grid=False, tuner_options=None):
    """The JSON-ready description of a search; two searches may share a project iff equal."""
    definition = {
        "space": space.to_dict(grid=grid),
        "tuner": tuner,
        "tuner_options": dict(tuner_options or {}),
        "objective": OBJECTIVE,
        "run": config.to_dict(),
    }
    return defining(json.loads(json.dumps(definition)))  # tuples -> lists, as read back


def defining(definition):
    """``definition`` with its run config reduced to `RunConfig.defining` (also for
    definitions stored before a field joined `config.NOT_DEFINING`, so they still resume).

    The run config is read through `RunConfig`, so a field added since a
    definition was stored takes its default (what that search used) instead of
    counting as a change.
    """
    run = definition.get("run", {})
    if run:
        run = json.loads(json.dumps(RunConfig.from_dict(run).defining()))
    return {**definition, "run": run}


def _changed_keys(old, new, prefix=""):
    keys = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}")
    return keys


def finished_work(project_dir):
    """How many trials of the project completed or trained at least one epoch."""
    done = 0
    for trial_dir in Path(project_dir).glob("trial_*"):
        state = trial_dir / "trial.json"
        try:
            completed = state.is_file() and json.loads(state.read_text()).get("status") == "COMPLETED"
        except ValueError:
            completed = False
        history = trial_dir / TRIAL_HISTORY
        trained = history.is_file() and len(history.read_text().strip().splitlines()) > 1
        done += completed or trained
    return done


def check_definition(project_dir, definition, write=True):
    """Compare ``definition`` with the one stored in ``project_dir``; store it if new.

    A project whose stored definition differs but which holds no finished
    work (`finished_work`) is deleted and started anew with ``definition``
    (when ``write``; a distributed worker leaves that to the chief), with a
    `SearchReplaced` warning.

    Raises:
        SearchDefinitionChanged: a different definition is stored in a
            project with finished work, or the directory holds Keras Tuner
            state but no definition.
    """
    project_dir = Path(project_dir)
    path = project_dir / DEFINITION
    hint = (
        "Rerun with the original settings to resume it, pass --overwrite to discard it, "
        "or choose another --directory."
    )
    if path.is_file():
        try:
            stored = defining(json.loads(path.read_text()))
            changed = _changed_keys(stored, definition)
        except ValueError:  # unreadable, or written by a newer version
            changed = [f"{DEFINITION} unreadable"]
        if not changed:
            return
        if not write or finished_work(project_dir):
            raise SearchDefinitionChanged(
                f"{str(project_dir)!r} holds a search with a different definition "
                f"(changed: {', '.join(changed)}). {hint}"
            )
        shutil.rmtree(project_dir)
        write_json(path, definition)
        warnings.warn(
            SearchReplaced(
                f"{str(project_dir)!r} held a search that never finished a trial, with a different definition "
                f"(changed: {', '.join(changed)}); it now holds this one."
            ),
            stacklevel=2,
        )
        return
    if (project_dir / "oracle.json").exists():
        raise SearchDefinitionChanged(
            f"{str(project_dir)!r} holds a Keras Tuner search without {DEFINITION}, so it cannot be checked "
            f"against this one. {hint}"
        )
    if write:
        write_json(path, definition)
