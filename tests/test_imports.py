"""The package's import structure, read from its source with `ast` (nothing is imported).

- Imports only go down: every top-level module or subpackage has a layer
  (`LAYERS`), and may import only from its own subpackage or a lower layer
  (so nothing but ``cli`` imports ``cli``).
- No import cycles among the package's modules (imports inside functions
  included: they are dependencies too).
- No module is over `MAX_LINES` lines.
- The homes of the facts that commands and the study read before any training
  (names, configs, a run folder's layout, a search's options), the study and
  the command lines load without Keras, TensorFlow or Keras Tuner.
"""

import ast

import pytest
from conftest import REPO

PACKAGE = "keras_resnet_opt"
MAX_LINES = 450
# Bottom to top. A new top-level module or subpackage gets a place here.
LAYERS = (
    # facts and plumbing, importing nothing of the package
    {"atomic", "optimizer_names", "model_names", "search_files"},
    {"data", "optimizers"},
    {"config"},  # reads CIFAR-10's size (data) to check a config
    {"config_file", "distribute", "environment", "models", "evaluation"},
    {"training"},
    {"study", "anchor", "jpeg_sensitivity", "model_card"},
    {"tuning", "experiments"},
    {"campaign", "campaign_collect"},  # runs training and tuning jobs; copies back what they wrote
    {"campaign_time"},  # how long a campaign has left, from its plan and its runs' paces
    {"cli"},
)
HEAVY = {"keras", "tensorflow", "keras_tuner", "tensorflow_datasets"}
KERAS_FREE = (
    "config", "config_file", "optimizer_names", "model_names", "search_files", "atomic", "distribute", "environment",
    "model_card", "training.run_folder", "training.run_lock", "training.errors", "tuning.options", "study", "cli",
)
# Modules of the KERAS_FREE subpackages that are Keras code themselves.
KERAS_MODULES = ("study.seed_port",)


def _modules():
    """``{dotted name: path}`` of every module of the package (a package's is its __init__)."""
    modules = {}
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _resolve(name):
    """The package module ``name`` refers to (itself, or the nearest enclosing module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path, import_time_only=False):
    """``(package modules, other top-level names)`` that ``path`` imports; with
    ``import_time_only``, not counting imports inside functions."""
    ours, others = set(), set()

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if import_time_only and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            names = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                # `from package import module` imports that module; `from module import name`, the module.
                names = [
                    f"{child.module}.{alias.name}" if f"{child.module}.{alias.name}" in MODULES else child.module
                    for alias in child.names
                ]
            for name in names:
                if name == PACKAGE or name.startswith(PACKAGE + "."):
                    ours.add(_resolve(name))
                else:
                    others.add(name.split(".")[0])
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return ours, others


def _top(module):
    """The top-level module or subpackage a module belongs to ("training" for keras_resnet_opt.training.runner)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _layer(top):
    for index, layer in enumerate(LAYERS):
        if top in layer:
            return index
    raise AssertionError(f"{PACKAGE}.{top} has no place in tests/test_imports.py's LAYERS; add it to one.")


GRAPH = {name: _imports(path)[0] - {name} for name, path in MODULES.items()}


def test_every_part_of_the_package_has_a_layer():
    for name in MODULES:
        if _top(name) is not None:
            _layer(_top(name))


def test_imports_only_go_down():
    upward = []
    for name, imported in GRAPH.items():
        top = _top(name)
        if top is None:
            continue
        for target in imported:
            target_top = _top(target)
            if target_top is not None and target_top != top and _layer(target_top) >= _layer(top):
                upward.append(f"{name} imports {target}")
    assert not upward, "imports that go up or sideways (see LAYERS):\n" + "\n".join(sorted(upward))


def test_only_the_command_lines_import_the_command_lines():
    offenders = [name for name, imported in GRAPH.items()
                 if _top(name) != "cli" and any(_top(t) == "cli" for t in imported)]
    assert not offenders


def test_no_import_cycles():
    state, cycles = {}, []

    def visit(module, path):
        state[module] = "open"
        path.append(module)
        for target in sorted(GRAPH.get(module, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path)
        path.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_module_is_too_long():
    lines = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    long = {name: n for name, n in lines.items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"


def _heavy_imports(module):
    """The heavy libraries importing ``module`` loads, following the package's
    import-time imports (parent packages included: importing a module runs them)."""
    seen, heavy = set(), set()
    parts = module.split(".")
    stack = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    while stack:
        name = stack.pop()
        if name in seen or name not in MODULES:  # a namespace package has no module of its own
            continue
        seen.add(name)
        ours, others = _imports(MODULES[name], import_time_only=True)
        heavy |= others & HEAVY
        for target in ours:
            target_parts = target.split(".")
            stack += [".".join(target_parts[:i]) for i in range(1, len(target_parts) + 1)]
    return heavy


@pytest.mark.parametrize("home", KERAS_FREE)
def test_keras_free_modules_stay_keras_free(home):
    prefix = f"{PACKAGE}.{home}"
    modules = [m for m in MODULES if (m == prefix or m.startswith(prefix + "."))
               and m not in {f"{PACKAGE}.{k}" for k in KERAS_MODULES}]
    assert modules, f"no module {prefix}"
    loaded = {m: sorted(h) for m in modules if (h := _heavy_imports(m))}
    assert not loaded, (
        "these load Keras or TensorFlow when imported (move the fact into a Keras-free module, or the import "
        f"into the function that needs it): {loaded}"
    )
