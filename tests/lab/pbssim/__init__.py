"""pbssim: a deterministic PBS Pro command simulator for the local test lab.

Public API:
  build_cluster(system, seed=1, scale=1.0, jobs=None, now=None)      -> Cluster   (model)
  render_jobs / render_nodes / render_queues / render_rstat_full / render_rstat_short (render)
  expected_payload(cluster, lost=None), records_lost(cluster, command, fault)       (expected)
  cli.run(argv, env=None) / cli.main()
  GENERATIONS, QUIRKS, MODES
"""
from .model import Cluster, build_cluster, fmt_size, mem_to_kb  # noqa: F401
from .render import (GENERATIONS, QUIRKS, LOSSY_QUIRKS, quirk_targets, render_jobs,  # noqa: F401
                     render_nodes, render_queues, render_rstat_full, render_rstat_short)
from .expected import expected_payload, records_lost  # noqa: F401
from .cli import MODES  # noqa: F401

__all__ = ["Cluster", "build_cluster", "render_jobs", "render_nodes", "render_queues",
           "render_rstat_full", "render_rstat_short", "expected_payload", "records_lost",
           "quirk_targets", "GENERATIONS", "QUIRKS", "LOSSY_QUIRKS", "MODES"]
