"""Schools Atlas toolkit: data store, flows, demand, maps and reports for every English education authority.

The most used entry points are re-exported lazily (importing ``atlaskit`` stays cheap)::

    import atlaskit
    camden = atlaskit.load("E09000007")      # one authority's tables from the store
    atlaskit.authorities()                   # the 153 education authorities
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "load": "atlaskit.store.loaders",
    "authorities": "atlaskit.store.loaders",
    "resolve_authority": "atlaskit.store.loaders",
    "AuthorityData": "atlaskit.store.loaders",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'atlaskit' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
