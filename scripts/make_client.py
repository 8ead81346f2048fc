"""Generate the Python client (clients/python/floniks_client) from the API's OpenAPI schema.

`make client` writes it; `--check` (and tests/test_client_generated.py) fails when the committed
package differs from what today's schema generates, so the client never goes stale.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "clients" / "python" / "floniks_client"
CONFIG = ROOT / "clients" / "openapi-python-client.yml"


def schema() -> dict[str, object]:
    """The schema exactly as GET /api/schema/ serves it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "floniks.settings")
    import django

    django.setup()
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def generate(into: Path) -> Path:
    """Generate the package under `into`; returns the package directory."""
    schema_file = into / "schema.json"
    schema_file.write_text(json.dumps(schema(), indent=1, sort_keys=True, default=str))
    target = into / "floniks_client"
    tool = Path(sys.executable).parent / "openapi-python-client"
    bindir = str(Path(sys.executable).parent)
    subprocess.run(
        [
            *(str(tool), "generate", "--path", str(schema_file), "--meta", "none", "--config", str(CONFIG)),
            *("--output-path", str(target), "--overwrite", "--fail-on-warning"),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")},
    )
    return target


def differences(left: Path, right: Path) -> list[str]:
    """Relative paths that differ between two trees (added, removed or changed)."""
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(prefix + name for name in cmp.left_only + cmp.right_only + cmp.diff_files)
        found.extend(prefix + name for name in cmp.funny_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    # Fresh files have fresh mtimes, so dircmp's stat shortcut never hides a content change here.
    walk(filecmp.dircmp(left, right, ignore=["__pycache__", ".ruff_cache"]), "")
    return sorted(set(found))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    with tempfile.TemporaryDirectory(prefix="floniks-client-") as tmp:
        fresh = generate(Path(tmp))
        if check:
            changed = differences(PACKAGE, fresh) if PACKAGE.exists() else ["(no committed client)"]
            if changed:
                print("clients/python/floniks_client is stale; run `make client`. Differs:", *changed[:20], sep="\n  ")
                return 1
            print("clients/python/floniks_client matches the schema.")
            return 0
        shutil.rmtree(PACKAGE, ignore_errors=True)
        shutil.copytree(fresh, PACKAGE)
    print(f"wrote {PACKAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
