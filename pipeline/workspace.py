"""Create a workspace: config.toml, intake/, intake/scans/, output/, the Word templates, and
the catalogues of the plan's wording (translations/) for an organisation to edit."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from .config import CONFIG_FILENAME, DEFAULT_CONFIG_TOML, Config, load_config
from .files import write_new_bytes
from .wording.catalogue import SHIPPED as SHIPPED_CATALOGUES

# The templates committed at the repository root, when running from a checkout.
_REPOSITORY_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
REVIEW_TEMPLATE = "review_pack.docx"


def _builders() -> dict[str, Callable[[Path], None]]:
    from .render.review_template import build_review_template
    from .render.template_builder import build_template

    return {"support_plan.docx": build_template, REVIEW_TEMPLATE: build_review_template}


def default_template_bytes(name: str = "support_plan.docx") -> bytes:
    shipped = _REPOSITORY_TEMPLATES / name
    if shipped.is_file():
        return shipped.read_bytes()
    with tempfile.TemporaryDirectory() as folder:  # installed without the templates
        target = Path(folder) / name
        _builders()[name](target)
        return target.read_bytes()


def init_workspace(folder: Path) -> tuple[Config, list[Path]]:
    """Create what is missing in `folder`; never overwrites. Returns the config and what
    was created."""
    folder.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    config_path = folder / CONFIG_FILENAME
    if not config_path.exists():
        write_new_bytes(config_path, DEFAULT_CONFIG_TOML.encode("utf-8"))
        created.append(config_path)
    config = load_config(config_path)
    for path in (config.intake_dir, config.scans_dir, config.output_dir):
        if not path.exists():
            path.mkdir(parents=True)
            created.append(path)
    templates = {config.template_path: "support_plan.docx",
                 config.template_path.with_name(REVIEW_TEMPLATE): REVIEW_TEMPLATE}
    for target, name in templates.items():
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            write_new_bytes(target, default_template_bytes(name))
            created.append(target)
    # Each catalogue is copied once: an organisation's edits are never overwritten, and what
    # a later version adds still comes from the shipped catalogues (wording/catalogue.py).
    translations = config.path("translations")
    for source in sorted(SHIPPED_CATALOGUES.glob("*.po*")):
        target = translations / source.name
        if not target.exists():
            translations.mkdir(parents=True, exist_ok=True)
            write_new_bytes(target, source.read_bytes())
            created.append(target)
    return config, created
