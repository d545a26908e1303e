"""The Atlas app: one authority's schools, children, deprivation and catchments on one map.

:class:`AtlasApp` is a widget (an ``ipywidgets.VBox``) that receives its data and collaborators,
builds its child widgets and wires their observers to private ``_on_<thing>`` methods. It holds no
analysis: values, classes, colours and GeoJSON come from :mod:`atlaskit.mapping`, flows from
:mod:`atlaskit.analysis.flows`. Served by Voilà from ``notebooks/atlas.ipynb`` (``atlas serve``)::

    from atlaskit.app import AtlasApp
    app = AtlasApp.for_authority("E09000007")   # Camden, from the store
    app                                         # shows the app in a notebook

Every exception raised in a callback is caught at the widget boundary and shown as one plain
sentence in :attr:`AtlasApp.status` (never a traceback, never a server path).

Submodules:

- ``atlas``: the :class:`AtlasApp` widget (state, actions, observers, redrawing).
- ``layout``: its widgets: the controls, the map with its three GeoJSON layers, the side panel.
- ``authorities``: the picker's authorities, typed text resolved to a code, the unknown-authority message.
- ``directory``: names of the schools an area's children attend, and which of them are closed.
- ``query``: ``?authority=`` of the page, the served default authority, messages safe to show.
- ``serving``: under Voilà, keeping a kernel alive until its page has drawn the app.
"""

from .atlas import AtlasApp
from .query import SERVE_AUTHORITY_ENV, parse_authority_query, public_message, query_authority, served_default_authority

__all__ = ["SERVE_AUTHORITY_ENV", "AtlasApp", "parse_authority_query", "public_message", "query_authority", "served_default_authority"]
