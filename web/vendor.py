"""Copies the pinned front-end bundles from node_modules/ (installed by `npm ci`) into web/static/vendor/,
and builds with esbuild those that npm ships only as modules (the modeler with its properties panel), so
that pages load nothing from the internet. Run by `scripts/setup`: `python -m web.vendor`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
WEB = Path(__file__).resolve().parent
VENDOR = WEB / "static" / "vendor"

# (package, path inside the package, path under web/static/vendor/)
FILES = [
    ("bpmn-js", "dist/bpmn-navigated-viewer.production.min.js", "bpmn-js/bpmn-navigated-viewer.js"),
    ("bpmn-js", "dist/assets/diagram-js.css", "bpmn-js/diagram-js.css"),
    ("bpmn-js", "dist/assets/bpmn-js.css", "bpmn-js/bpmn-js.css"),
    ("bpmn-js", "dist/assets/bpmn-font/css/bpmn.css", "bpmn-js/bpmn-font/css/bpmn.css"),
    ("bpmn-js", "dist/assets/bpmn-font/font", "bpmn-js/bpmn-font/font"),
    ("bpmn-js", "LICENSE", "bpmn-js/LICENSE"),
    ("@bpmn-io/properties-panel", "dist/assets/properties-panel.css", "bpmn-js/properties-panel.css"),
    ("@bpmn-io/properties-panel", "LICENSE", "bpmn-js/properties-panel.LICENSE"),
    ("bpmn-js-properties-panel", "LICENSE", "bpmn-js/bpmn-js-properties-panel.LICENSE"),
    # axe-core: the accessibility checks the browser tests run on every page (tests/web/test_axe.py)
    ("axe-core", "axe.min.js", "axe-core/axe.min.js"),
    ("axe-core", "LICENSE", "axe-core/LICENSE"),
    ("swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"),
    ("swagger-ui-dist", "swagger-ui.css", "swagger-ui/swagger-ui.css"),
    ("swagger-ui-dist", "LICENSE", "swagger-ui/LICENSE"),
    ("swagger-ui-dist", "NOTICE", "swagger-ui/NOTICE"),
]

# (entry under web/bundles/, path under web/static/vendor/, the global it defines): built by esbuild
BUNDLES = [("modeler.js", "bpmn-js/modeler.js", "CanbaoModeler")]
# The properties panel writes its two containers with style attributes, which the pages' Content Security
# Policy (style-src 'self') refuses; office.css holds the same rules. A release that changes them fails
# the build rather than leaving the panel unstyled.
PATCHES = {
    "bpmn-js/modeler.js": [
        ('<div style="height: 100%" tabindex="-1" class=', '<div tabindex="-1" class='),
        ('<div style="flex: none; height: auto" class=', "<div class="),
    ]
}
ESBUILD = Path(".bin") / "esbuild"


def copy(node_modules: Path = NODE_MODULES, target: Path = VENDOR) -> list[Path]:
    """Copy and build every bundle; raises FileNotFoundError naming what is missing (run `npm ci` first)."""
    missing = [f"{pkg}/{src}" for pkg, src, _ in FILES if not (node_modules / pkg / src).exists()]
    if BUNDLES and not (node_modules / ESBUILD).exists():
        missing.append(str(ESBUILD))
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
    for entry, dest, name in BUNDLES:
        out = target / dest
        build = [str(node_modules / ESBUILD), str(WEB / "bundles" / entry), "--bundle", "--format=iife"]
        build += [
            f"--global-name={name}",
            "--minify",
            "--legal-comments=none",
            f"--outfile={out}",
            "--log-level=warning",
        ]
        subprocess.run(
            build, check=True, cwd=node_modules.parent, env={**os.environ, "NODE_PATH": str(node_modules)}
        )
        patch(out, PATCHES.get(dest, []))
        written.append(out)
    return written


def patch(path: Path, replacements: list[tuple[str, str]]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        if old not in text:
            raise RuntimeError(f"{path.name}: `{old}` not found; check PATCHES against the new release")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


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
