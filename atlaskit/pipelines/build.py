"""The full store build: the store's own builders, then the modelled flows and the flows' final sort.

``atlas build`` runs :data:`BUILD_STEPS` through :func:`atlaskit.store.build_store`.
"""

from __future__ import annotations

from atlaskit.store.build import STORE_STEPS

__all__ = ["BUILD_STEPS"]

#: Every build step in order: (name, "module:function"); each takes (data_dir, tables built so far)
#: and returns new tables by name.
BUILD_STEPS: list[tuple[str, str]] = [
    *STORE_STEPS,
    ("modelled flows", "atlaskit.pipelines.modelled_flows:build"),
    ("finalise flows", "atlaskit.store.builders.summary:finalise_flows"),
]
