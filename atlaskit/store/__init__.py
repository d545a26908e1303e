"""The store: national Parquet / GeoParquet tables built once from the raw files, read per authority.

- ``tables``: read the live build's tables (whole, or the rows of some keys); every table's columns.
- ``build``: run build steps and make their tables the live store atomically; remove killed builds' partial folders.
- ``integrity``: each table's size and sha256 recorded at build time, checked when read and by ``atlas build --check``.
- ``loaders``: one authority's tables (``load``), the authorities, resolving user text to a code.
- ``geography``: LSOA polygons, lookups and authorities assembled from the raw geography files.
- ``registers``: the school registers combined into one row per URN, phases, state funding, capacity.
- ``locate``: school coordinates, their LSOA and their current authority.
- ``builders``: the build steps that write the store's tables.
"""

from atlaskit.store.build import BuildReport, build_store, remove_stale_partials
from atlaskit.store.integrity import StoreDamaged, verify_store
from atlaskit.store.tables import build_info, cached_table, current_folder, read_rows, read_table, store_exists, table_path

__all__ = [
    "BuildReport",
    "StoreDamaged",
    "remove_stale_partials",
    "verify_store",
    "build_info",
    "build_store",
    "cached_table",
    "current_folder",
    "read_rows",
    "read_table",
    "store_exists",
    "table_path",
]
