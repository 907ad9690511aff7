"""Paths every test needs: the repository and the shared real PBS samples."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = (REPO.parent / "shared" / "pbs-samples").resolve()


def load_filter_plugin(stem):
    """Import filter_plugins/<stem>.py the way the tests need it: by path, once per session."""
    import importlib.util
    import sys

    name = "%s_filter_plugin" % stem
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, str(REPO / "filter_plugins" / ("%s.py" % stem)))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
