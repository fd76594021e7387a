"""三线一单 生态环境准入清单 as data: every control unit's access list, checked item by item.

* :mod:`~ecogis.accesslist.reader` reads lists as published (XLSX, CSV; GBK-safe);
* :mod:`~ecogis.accesslist.clause` turns their wording into machine clauses;
* :mod:`~ecogis.accesslist.store` keeps them in a workspace (versioned, SHA-256);
* :mod:`~ecogis.accesslist.screen` judges every (site, unit, item): 不符合 / 符合 / 需人工核对;
* :mod:`~ecogis.accesslist.output` puts the table into findings.json, findings.xlsx and report.html.
"""

from ecogis.accesslist.clause import Clause, parse_item
from ecogis.accesslist.reader import UNIT_CODE_RE, read_accesslist
from ecogis.accesslist.screen import AccessResult, screen_access
from ecogis.accesslist.store import TABLE, check_units, coverage_of, import_accesslist, lists_in, parse_items, read_items

__all__ = ["Clause", "parse_item", "UNIT_CODE_RE", "read_accesslist", "AccessResult", "screen_access", "TABLE",
           "check_units", "coverage_of", "import_accesslist", "lists_in", "parse_items", "read_items"]
