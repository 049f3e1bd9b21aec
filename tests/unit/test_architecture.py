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
