"""Where things live in the repository (one place, so nothing hard-codes a checkout path)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["BUILD_DIR", "LAMBDAS_DIR", "LAYERS_DIR", "PROJECTS_DIR", "REPO_ROOT", "display_path"]

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDAS_DIR = REPO_ROOT / "lambdas"
LAYERS_DIR = REPO_ROOT / "layers"
PROJECTS_DIR = REPO_ROOT / "projects"
BUILD_DIR = REPO_ROOT / "build"


def display_path(path: Path) -> str:
    """``path`` relative to the repository root when inside it (for messages), else absolute."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
