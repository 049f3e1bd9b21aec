"""The layering rules of the code base, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "exif_service"
FORBIDDEN_IN_DOMAIN = (
    "fastapi",
    "starlette",
    "mangum",
    "aws_lambda_powertools",
    "boto3",
    "botocore",
    "pynamodb",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_imports_no_framework_or_aws_sdk() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in (PACKAGE / "domain").glob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN_IN_DOMAIN
    }
    assert not offenders


def test_only_the_engine_starts_exiftool() -> None:
    """subprocess is used by the engine (and the CLI/local runtime), never by services or routes."""
    allowed = {PACKAGE / "engine" / "exiftool.py"}
    users = {
        path
        for path in PACKAGE.rglob("*.py")
        if "subprocess" in _imports(path) and path not in allowed
    }
    assert not {p for p in users if p.parts[-2] in {"services", "api", "domain", "store"}}


def _runtime_imports(path: Path) -> set[str]:
    """Modules `path` imports when it runs: `if TYPE_CHECKING:` blocks are left out."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _layer_imports(layer: str, *, runtime_only: bool = False) -> set[tuple[str, str]]:
    read = _runtime_imports if runtime_only else _imports
    return {
        (str(path.relative_to(PACKAGE)), name)
        for path in (PACKAGE / layer).rglob("*.py")
        for name in read(path)
    }


def test_api_reaches_storage_and_the_engine_only_through_services() -> None:
    """Routes talk to services; only the app factory binds the store's models at assembly."""
    offenders = {
        (path, name)
        for path, name in _layer_imports("api")
        if name.startswith(("exif_service.store", "exif_service.engine"))
        and (path, name) != ("api/app.py", "exif_service.store.bind")
    }
    assert not offenders


def test_no_router_imports_another_router() -> None:
    offenders = {
        (str(path.relative_to(PACKAGE)), name)
        for path in PACKAGE.rglob("*router.py")
        for name in _imports(path)
        if name.rsplit(".", 1)[-1].endswith("router")
    }
    assert not offenders


def test_services_import_nothing_from_the_http_edge() -> None:
    offenders = {
        (path, name)
        for path, name in _layer_imports("services")
        if name.startswith(("exif_service.api", "exif_service.web", "exif_service.handlers"))
        or name.split(".")[0] in ("fastapi", "starlette", "mangum")
    }
    assert not offenders


def test_domain_imports_no_other_layer_at_run_time() -> None:
    """Plain data and rules: the domain may name engine types for the type checker, no more."""
    layers = ("api", "services", "store", "engine", "handlers", "web", "local")
    offenders = {
        (path, name)
        for path, name in _layer_imports("domain", runtime_only=True)
        if name.startswith(tuple(f"exif_service.{layer}" for layer in layers))
    }
    assert not offenders


def test_surfaces_are_named_where_apps_are_assembled_not_registered_on_import() -> None:
    """No module-level registry filled as modules get imported: apps are given their surfaces."""
    source = (PACKAGE / "api" / "errors.py").read_text()
    assert "register_surface" not in source and "_SURFACES" not in source
    for handler in (PACKAGE / "handlers").glob("*.py"):
        tree = ast.parse(handler.read_text())
        # a bare `import exif_service.x` whose name goes unused is an import for its side effect
        bare = [
            alias.name
            for node in tree.body
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.name.startswith("exif_service.")
        ]
        assert not bare, handler.name


def test_settings_and_the_parameter_store_do_not_import_each_other() -> None:
    assert "exif_service.settings" not in _imports(PACKAGE / "store" / "parameters.py")
