"""Copies the pinned front-end bundles from node_modules/ (installed by `npm ci`) into web/static/vendor/,
so that pages load nothing from the internet. Run by `scripts/setup`: `python -m web.vendor`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = Path(__file__).resolve().parent / "static" / "vendor"

# (package, path inside the package, path under web/static/vendor/)
FILES = [
    ("bpmn-js", "dist/bpmn-navigated-viewer.production.min.js", "bpmn-js/bpmn-navigated-viewer.js"),
    ("bpmn-js", "dist/bpmn-modeler.production.min.js", "bpmn-js/bpmn-modeler.js"),
    ("bpmn-js", "dist/assets/diagram-js.css", "bpmn-js/diagram-js.css"),
    ("bpmn-js", "dist/assets/bpmn-js.css", "bpmn-js/bpmn-js.css"),
    ("bpmn-js", "dist/assets/bpmn-font/css/bpmn.css", "bpmn-js/bpmn-font/css/bpmn.css"),
    ("bpmn-js", "dist/assets/bpmn-font/font", "bpmn-js/bpmn-font/font"),
    ("bpmn-js", "LICENSE", "bpmn-js/LICENSE"),
    # axe-core: the accessibility checks the browser tests run on every page (tests/web/test_axe.py)
    ("axe-core", "axe.min.js", "axe-core/axe.min.js"),
    ("axe-core", "LICENSE", "axe-core/LICENSE"),
    ("swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"),
    ("swagger-ui-dist", "swagger-ui.css", "swagger-ui/swagger-ui.css"),
    ("swagger-ui-dist", "LICENSE", "swagger-ui/LICENSE"),
    ("swagger-ui-dist", "NOTICE", "swagger-ui/NOTICE"),
]


def copy(node_modules: Path = NODE_MODULES, target: Path = VENDOR) -> list[Path]:
    """Copy every bundle; raises FileNotFoundError naming the first one missing (run `npm ci` first)."""
    missing = [f"{pkg}/{src}" for pkg, src, _ in FILES if not (node_modules / pkg / src).exists()]
    if missing:
        raise FileNotFoundError(f"missing in {node_modules}: {', '.join(missing)} (run `npm ci` first)")
    if target.exists():
        shutil.rmtree(target)
    written = []
    for pkg, src, dest in FILES:
        source, out = node_modules / pkg / src, target / dest
        out.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, out)
        else:
            shutil.copyfile(source, out)
        written.append(out)
    return written


def main() -> int:
    try:
        written = copy()
    except FileNotFoundError as err:
        print(f"web.vendor: {err}", file=sys.stderr)
        return 1
    print(f"web.vendor: {len(written)} bundles copied into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
