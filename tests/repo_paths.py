"""Paths every test needs: the repository and the shared real PBS samples."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = (REPO.parent / "shared" / "pbs-samples").resolve()
