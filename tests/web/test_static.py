"""The pages load only files this app serves: every /static/… reference in the templates and scripts
exists once the pinned npm bundles are vendored, and vendoring refuses to half-work without them."""

import re
from pathlib import Path

import pytest

from canbao.actors import ROLES
from web import vendor

WEB = Path(vendor.__file__).resolve().parent
REFERENCE = re.compile(r"""["'(](/static/[^"'()?#\s]+)""")


def test_every_static_reference_exists_after_vendoring(tmp_path):
    vendored = tmp_path / "vendor"
    vendor.copy(target=vendored)
    sources = [*WEB.glob("templates/*.html"), *WEB.glob("static/js/*.js"), *WEB.glob("static/css/*.css")]
    references = {m for f in sources for m in REFERENCE.findall(f.read_text(encoding="utf-8"))}
    assert "/static/vendor/bpmn-js/modeler.js" in references
    missing = []
    for ref in sorted(references):
        relative = ref.removeprefix("/static/")
        path = (
            vendored / relative.removeprefix("vendor/")
            if relative.startswith("vendor/")
            else WEB / "static" / relative
        )
        if not path.is_file():
            missing.append(ref)
    assert not missing, missing
    css = (vendored / "bpmn-js" / "bpmn-font" / "css" / "bpmn.css").read_text()
    for font in re.findall(r"url\('\.\./font/([^'?#]+)", css):
        assert (vendored / "bpmn-js" / "bpmn-font" / "font" / font).is_file(), font


def test_vendoring_without_npm_ci_names_what_is_missing(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"bpmn-js/dist/bpmn-navigated-viewer\.production\.min\.js.*npm ci"
    ):
        vendor.copy(node_modules=tmp_path / "node_modules", target=tmp_path / "vendor")
    assert not (tmp_path / "vendor").exists()  # nothing half-copied


def test_the_pages_name_roles_as_the_server_does():
    """ui.js carries the role names for the pages; they are canbao.actors.ROLES (第五条, 第二十三条)."""
    script = (WEB / "static" / "js" / "ui.js").read_text(encoding="utf-8")
    block = re.search(r"ROLE_NAMES = \{(.*?)\};", script, re.S).group(1)
    names = dict(re.findall(r'(\w+): "([^"]+)"', block))
    assert {k: v for k, v in names.items() if k != "system"} == ROLES
