"""Create a workspace: config.toml, intake/, intake/scans/, output/, the Word template."""

from __future__ import annotations

from pathlib import Path

from .config import CONFIG_FILENAME, DEFAULT_CONFIG_TOML, Config, load_config
from .files import write_new_bytes

# The template committed at the repository root, when running from a checkout.
_REPOSITORY_TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "support_plan.docx"


def default_template_bytes() -> bytes:
    if _REPOSITORY_TEMPLATE.is_file():
        return _REPOSITORY_TEMPLATE.read_bytes()
    import tempfile

    from .render.template_builder import build_template  # only when installed without it

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "support_plan.docx"
        build_template(target)
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
    if not config.template_path.exists():
        config.template_path.parent.mkdir(parents=True, exist_ok=True)
        write_new_bytes(config.template_path, default_template_bytes())
        created.append(config.template_path)
    return config, created
