"""Pipelines: the store and the analysis wired end to end (the store build, England's flows, the validations).

- ``modelled_flows``: the store build step writing the ``flows`` table (observed and modelled rows).
- ``england_flows``: the store's flow model calibrated on the London flows and applied to all England, both phases.
- ``validation``: the flow models' cross-validation by borough and cross-border check (``atlas validate flows``).
"""
