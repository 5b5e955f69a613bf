"""Run settings from a file: ``--config FILE``, a JSON or TOML table of `RunConfig` fields.

For runs that outgrow flags (a schedule's ``lr_boundaries``, say, which has
no flag). The file holds any `RunConfig` fields, ``preset`` included::

    # he-short.toml
    preset = "he2016"
    epochs = 30
    lr_boundaries = [15, 22.5]

Precedence when a command resolves its run: the preset < tuned
hyperparameters (``--hparams``) < the file < flags given on the command line.
A key that is not a field, or a value of the wrong type, is refused with one
line naming it; ``null`` (JSON) means "not set", as an absent key does.
Ranges and combinations are checked afterwards by `RunConfig.validate`, as for
flags. Nothing here imports Keras.
"""

import dataclasses
import difflib
import json
import types
import typing
from pathlib import Path

from keras_resnet_opt.config import RunConfig

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10, where setup.cfg installs tomli
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None

SUFFIXES = (".json", ".toml")


def field_types():
    """``{field name: the type its value must have}`` of `RunConfig` (``None`` allowed where it is Optional)."""
    return typing.get_type_hints(RunConfig)


def load_config_file(path):
    """The `RunConfig` fields in the JSON or TOML file at ``path``, checked; ``null`` values left out.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a ``.json``/``.toml`` file, not parseable, not a
            table, an unknown key (naming it and the valid fields) or a value
            of the wrong type (naming the field).
    """
    path = Path(path)
    where = f"--config file {str(path)!r}"
    if not path.is_file():
        raise FileNotFoundError(f"{where} does not exist.")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{where} must end in .json or .toml. Received: {path.name!r}")
    data = _read_toml(path, where) if suffix == ".toml" else _read_json(path, where)
    if not isinstance(data, dict):
        raise ValueError(f"{where} must hold one table of RunConfig fields, not {type(data).__name__}.")
    return check_fields(data, where)


def _read_json(path, where):
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{where} is not valid JSON: {e}") from None


def _read_toml(path, where):
    if tomllib is None:
        raise ValueError(
            f"{where}: reading TOML needs Python >= 3.11 or the tomli package (pip install tomli); or write it as JSON."
        )
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{where} is not valid TOML: {e}") from None


def check_fields(data, where="config"):
    """``data`` without its ``None`` values, every key a `RunConfig` field with a value of its type.

    Integers are accepted for float fields (and converted); a list of numbers
    for a tuple field. Raises ValueError on the first bad key or value.
    """
    types_ = field_types()
    valid = ", ".join(f.name for f in dataclasses.fields(RunConfig))
    fields = {}
    for key, value in data.items():
        if key not in types_:
            close = difflib.get_close_matches(str(key), types_, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: unknown key {key!r}{hint}. Valid fields: {valid}")
        if value is not None:
            fields[key] = _checked(key, value, types_[key], where)
    return fields


def _checked(key, value, kind, where):
    allowed = [k for k in typing.get_args(kind) if k is not type(None)] if _is_union(kind) else [kind]
    for k in allowed:
        if k is bool and isinstance(value, bool):
            return value
        if k is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if k is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if k is str and isinstance(value, str):
            return value
        if (k is tuple or typing.get_origin(k) is tuple) and isinstance(value, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            return tuple(value)
    wanted = " or ".join(_TYPE_NAMES.get(k, getattr(k, "__name__", str(k))) for k in allowed)
    raise ValueError(f"{where}: `{key}` must be {wanted}. Received: {key}={value!r}")


def _is_union(kind):
    return typing.get_origin(kind) in (typing.Union, types.UnionType)


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string", tuple: "a list of numbers"}


def merge_with_flags(path, preset=None, given=None):
    """A command's `make_config` arguments from its ``--config`` file and the flags given.

    Args:
        path: the ``--config`` file, or None.
        preset: ``--preset`` if given, else None.
        given: the RunConfig fields set by flags (None values: not given).

    Returns:
        ``(preset, fields)``: the preset (the flag's, else the file's, else
        RunConfig's default) and the other fields, the flags' over the file's.
    """
    from_file = load_config_file(path) if path else {}
    file_preset = from_file.pop("preset", None)
    flags = {k: v for k, v in (given or {}).items() if v is not None}
    return preset or file_preset or RunConfig.preset, {**from_file, **flags}
