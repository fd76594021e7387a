"""Patrols for inspectors: change clues from rasters, targets, routes, field packages and the ledger.

- :mod:`ecogis.patrol.clues`: ``detect_clues`` — vegetation-loss patches between two rasters, tagged.
- :mod:`ecogis.patrol.targets`: ``gather_targets`` — clues, open ledger items, mines near reserves, findings.
- :mod:`ecogis.patrol.route`: ``plan_route`` — day routes within a time budget (roads via networkx or straight lines).
- :mod:`ecogis.patrol.fieldpkg`: ``write_field_package`` — GPX, KML, GeoJSON, checklists, offline map.
- :mod:`ecogis.patrol.ledger`: ``update_ledger``, ``open_items`` — the append-only 台账.
- :mod:`ecogis.patrol.synth`: ``build_pair`` — deterministic synthetic raster pairs with known disturbances.
- :mod:`ecogis.patrol.demo`: ``demo(out_dir, sample_dir)`` — the whole loop on one sample city.
"""
