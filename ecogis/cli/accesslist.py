"""``ecogis accesslist import|list|validate``: 生态环境准入清单 in a workspace."""

from __future__ import annotations

import argparse
import json
import sys


def _defaults(a: argparse.Namespace) -> dict[str, str]:
    return {k: v for k, v in (("doc", a.doc), ("doc_number", a.doc_number), ("attachment", a.attachment),
                              ("page", a.page)) if v}


def _cmd_import(a: argparse.Namespace) -> int:
    from ecogis.accesslist.store import import_accesslist
    from ecogis.workspace import printable_uri

    rep = import_accesslist(a.file, a.workspace, name=a.name, version=a.version, encoding=a.encoding, sheet=a.sheet,
                            defaults=_defaults(a), strict=a.strict)
    print(f"imported list {rep.list_id} into {printable_uri(a.workspace)}: {rep.items} items, version {rep.version},"
          f" SHA-256 {rep.sha256}")
    print(f"  parser coverage: {rep.coverage.line()}")
    for line in rep.check.lines():
        print(f"  check: {line}")
    for n in rep.notes:
        print(f"  note {n}")
    return 0


def _cmd_list(a: argparse.Namespace) -> int:
    from ecogis.accesslist.store import TABLE, lists_in
    from ecogis.workspace import open_workspace, printable_uri

    ws = open_workspace(a.workspace)
    lists = lists_in(ws)
    if a.json:
        info = ws.table_info(TABLE)
        print(json.dumps({"table": info.as_dict() if info else None, "history": [h.as_dict() for h in ws.table_history(TABLE)]},
                         ensure_ascii=False, indent=2))
        return 0
    if not lists:
        print(f"{printable_uri(a.workspace)}: no access lists")
        return 0
    print(f"{'list':<28} {'items':>6} {'machine':>8} {'industry→clause':>16}  {'version':<22} sha256")
    for lid, li in lists.items():
        c = li.get("coverage", {})
        share = f"{c.get('naming_industry_machine', 0)}/{c.get('naming_industry', 0)}"
        print(f"{lid:<28} {li.get('items', 0):>6} {c.get('machine', 0) + c.get('partial', 0):>8} {share:>16}"
              f"  {li.get('version', ''):<22} {li.get('sha256', '')[:16]}")
    return 0


def _cmd_validate(a: argparse.Namespace) -> int:
    from ecogis.accesslist.reader import read_accesslist
    from ecogis.accesslist.store import check_units, coverage_of, parse_items
    from ecogis.notes import Notes

    notes = Notes()
    items = parse_items(read_accesslist(a.file, encoding=a.encoding, sheet=a.sheet, notes=notes, defaults=_defaults(a)))
    cov = coverage_of(items)
    print(f"{a.file}: {len(items)} items would import; parser coverage: {cov.line()}")
    bad = False
    if a.workspace:
        from ecogis.workspace import open_workspace

        check = check_units(items, open_workspace(a.workspace))
        for line in check.lines():
            print(f"  check: {line}")
        bad = bool(check.entries_without_unit or check.class_mismatch)
    if a.show_text:
        for r in items[items["status"] != "machine"][["row", "unit_code", "dimension", "text_parts"]].to_dict("records"):
            print(f"  row {r['row']} {r['unit_code']} {r['dimension']}: text {r['text_parts']}")
    for n in notes:
        print(f"  note {n}", file=sys.stderr)
    return 2 if bad and a.strict else 0


def register(sub) -> None:
    """Add ``ecogis accesslist`` to the command line."""
    p = sub.add_parser("accesslist", help="import, list and validate 生态环境准入清单 (access lists of control units)")
    s = p.add_subparsers(dest="accesslist_command", metavar="SUBCOMMAND")

    def source_opts(sp):
        sp.add_argument("--encoding", help="override the detected text encoding of a CSV (e.g. gbk)")
        sp.add_argument("--sheet", help="read only this sheet of a workbook")
        sp.add_argument("--doc", help="source document for rows that name none, e.g. 《…实施意见》")
        sp.add_argument("--doc-number", help="its number, e.g. 内政发〔2020〕24号")
        sp.add_argument("--attachment", help="its attachment, e.g. 附件2")
        sp.add_argument("--page", help="page")

    imp = s.add_parser("import", help="read a list (XLSX or CSV) and store it in the workspace, versioned")
    imp.add_argument("file")
    imp.add_argument("--workspace", required=True)
    imp.add_argument("--name", help="list name in the workspace (default: the file name)")
    imp.add_argument("--version", help="version recorded with the list (default: date + SHA-256 prefix)")
    imp.add_argument("--strict", action="store_true", help="refuse entries naming units the control_unit layer lacks")
    source_opts(imp)
    imp.set_defaults(func=_cmd_import)

    ls = s.add_parser("list", help="the lists in a workspace with versions and parser coverage")
    ls.add_argument("--workspace", required=True)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_cmd_list)

    val = s.add_parser("validate", help="read and parse a list without importing; check codes against a workspace")
    val.add_argument("file")
    val.add_argument("--workspace", help="check unit codes against this workspace's control_unit layer")
    val.add_argument("--strict", action="store_true", help="exit 2 when codes do not match the layer")
    val.add_argument("--show-text", action="store_true", help="print the parts left as text")
    source_opts(val)
    val.set_defaults(func=_cmd_validate)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
