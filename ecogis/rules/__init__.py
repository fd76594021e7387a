"""Rules stage: screening rules as data a reviewer can read.

Each YAML file under ``rules/national`` or ``rules/local`` is one regulation
or one plan; each rule names the layer kind it tests, the projects it is
about, the spatial test, a severity and its legal basis.  See
``rules/README.md``.

>>> from ecogis.rules import load_rules
>>> rules = load_rules()                     # the bundled rule set
>>> mask = rules["RL-142-MINING"].applies_mask(sites_df)   # doctest: +SKIP
"""

from __future__ import annotations

from ecogis.rules.activities import Activities, Activity, load_activities
from ecogis.rules.load import collect_rule_files, default_rule_paths, layer_attributes, load_rules, read_yaml
from ecogis.rules.match import PreparedSites, applies_mask, feature_mask, prepare_sites
from ecogis.rules.model import (
    FLAGS, LAYER_KINDS, NATURES, PLACE_KINDS, PLACEHOLDERS, SEVERITIES, SEVERITY_RANK, SEVERITY_ZH, TESTS,
    Applicability, Case, Clause, Parameter, Rule, RuleFile, RuleSet, Source, SpatialTest, WhereTerm, max_severity,
    parse_place, severity_rank, spatial_expect,
)
from ecogis.rules.taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "load_rules", "RuleSet", "Rule", "RuleFile", "Parameter", "Case", "Clause", "Applicability", "WhereTerm",
    "SpatialTest", "Source", "Taxonomy", "load_taxonomy", "Activities", "Activity", "load_activities",
    "PreparedSites", "prepare_sites", "applies_mask", "feature_mask", "collect_rule_files", "default_rule_paths",
    "layer_attributes", "read_yaml", "parse_place", "spatial_expect", "severity_rank", "max_severity",
    "SEVERITIES", "SEVERITY_RANK", "SEVERITY_ZH", "LAYER_KINDS", "FLAGS", "NATURES", "TESTS", "PLACE_KINDS",
    "PLACEHOLDERS",
]
