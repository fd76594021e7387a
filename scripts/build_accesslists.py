"""Build the sample 生态环境准入清单 under layers/accesslists/ (same content every run; XLSX files carry a timestamp).

Real texts are quoted verbatim with their document (and, for the seed plans, file and line);
per-unit items come from the sample control_unit layers (whose four dimension texts were
themselves built from the seed plans) plus one constructed item per unit class, marked 构建.
See layers/accesslists/README.md for what is real and what is constructed.

    python scripts/build_accesslists.py [--sample-dir layers/sample] [--out layers/accesslists]
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from pathlib import Path

import pyogrio

REPO = Path(__file__).resolve().parent.parent
GENHE = "《根河市国家生态文明建设示范市规划（2023-2035）》"
ARXAN = "《阿尔山市“十四五”生态环境保护规划（2021-2025年）》"
MZL = "《满洲里市“十四五”生态环境保护规划》"
XLH = "《锡林浩特市国家生态文明建设示范市创建规划（2023-2030）》"
NMG24 = "《内蒙古自治区人民政府关于实施“三线一单”生态环境分区管控的意见》"
GXT = "内蒙古自治区工业和信息化厅《关于进一步严格高耗能高污染项目布局的通知》（2021-03-26）"
FGB = "《〈内蒙古自治区人民政府关于贯彻落实大气污染防治行动计划的意见〉重点工作部门分工方案》"
MEE2H = "生态环境部《关于加强高耗能、高排放建设项目生态环境源头防控的指导意见》（2021）"

# (place, class filter, dimension, text, document, number, where)
REGION = [
    ("内蒙古自治区", "优先保护单元", "空间布局约束", "以生态环境保护优先为原则，依法禁止或限制大规模、高强度的工业开发和城镇建设，确保生态环境功能不降低。",
     NMG24, "内政发〔2020〕24号", "分类管控要求；措辞据满洲里规划 002 L230、锡林浩特规划 004 L728 转述，未与原文逐字核对"),
    ("内蒙古自治区", "重点管控单元", "污染物排放管控", "应不断提升资源利用效率，有针对性地加强污染物排放控制和环境风险防控，改善生态环境质量，降低生态环境风险。",
     NMG24, "内政发〔2020〕24号", "分类管控要求；措辞据满洲里规划 002 L230 转述"),
    ("内蒙古自治区", "一般管控单元", "空间布局约束", "落实生态环境保护基本要求。", NMG24, "内政发〔2020〕24号", "措辞据锡林浩特规划 004 L728 转述"),
    ("内蒙古自治区", "", "空间布局约束", "新上重化工项目必须入园，对布局在园区外的现有重化工企业，严禁在原址审批新增产能项目。", GXT, "",
     "一；转载 http://www.sussteel.com/news/show-1827.html"),
    ("内蒙古自治区", "", "空间布局约束", "不再审批铁合金、电石、电石法聚氯乙烯（PVC）、水泥（熟料）、超高功率以下石墨电极、普通平板玻璃等新增产能项目。",
     GXT, "", "四；转载 http://www.sussteel.com/news/show-1827.html"),
    ("内蒙古自治区", "", "空间布局约束", "全区不再审批钢铁、水泥、电解铝、平板玻璃等产能严重过剩行业新增产能项目，新改扩建项目必须等量或减量置换。",
     FGB, "内政办发〔2014〕46号", "一（一）；转载 http://www.nmgqq.com.cn/shuzishizhi/nianjian/neimengguniajian/2015juan/33/2020/16653.html"),
    ("内蒙古自治区", "", "空间布局约束", "新建、扩建石化、化工、焦化、有色金属冶炼、平板玻璃项目应布设在依法合规设立并经规划环评的产业园区。",
     MEE2H, "", "二（三）；国家要求，适用全区；转载 https://aisoutu.com.cn/a/628858"),
]
# county-wide (the plans' own wording, with seed file and line)
COUNTY = {
    "genhe": [("根河市", "污染物排放管控", "禁止新建、扩建高污染工业项目。", GENHE, "000 L688"),
              ("根河市", "空间布局约束", "新建（改建、扩建）矿山要充分论证其对生态环境的影响，严格限制在生态环境脆弱区、地质灾害易发区内新建普通砂石粘土矿山及开采固体矿产资源。",
               GENHE, "000 L657")],
    "manzhouli": [("满洲里市", "污染物排放管控", "禁止新建燃料类煤气发生炉。", MZL, "002 L265"),
                  ("满洲里市", "资源利用效率", "从严控制新建高耗能项目审批。", MZL, "002 L232"),
                  ("满洲里市", "空间布局约束", "控制传统化工产业产能总规模。", MZL, "002 L248")],
    "xilinhot": [("锡林浩特市", "资源利用效率", "坚决杜绝新建高耗水项目。", XLH, "004 L695"),
                 ("锡林浩特市", "资源利用效率", "严禁工业新增取用地下水。", XLH, "004 L710")],
    "arxan": [("阿尔山市", "资源利用效率", "限制高耗水产业准入。", ARXAN, "001 L408"),
              ("阿尔山市", "空间布局约束", "严格限制污染型工业进入。", ARXAN, "001 L190"),
              ("阿尔山市", "污染物排放管控", "禁止新建燃料类煤气发生炉。", ARXAN, "001 L345"),
              ("阿尔山市", "污染物排放管控", "新建重金属污染物排放企业清洁生产相关指标须达到国际先进水平，执行特别排放限值。", ARXAN, "001 L553")],
}
# one constructed item per unit class (构建), naming industries, built from the plans' wording
CONSTRUCTED = {
    "优先保护": ("空间布局约束", "禁止新建、扩建工业项目和畜禽养殖场，国家重大项目除外。",
                 "构建：据各规划优先保护单元“依法禁止或限制大规模、高强度的工业开发”（002 L230、004 L728）具体化"),
    "重点管控": ("空间布局约束", "禁止新建每小时35蒸吨以下燃煤锅炉；新建化工项目须进入依法合规设立的化工园区。",
                 "构建：样例条目，锅炉规模与入园要求为常见写法，非本市原文"),
    "一般管控": ("空间布局约束", "严格控制露天矿、砂石土矿开采（经批准的除外）。",
                 "构建：样例条目，据“落实生态环境保护基本要求”（004 L728）具体化"),
}
DIM_FIELDS = [("spatial_constraint", "空间布局约束"), ("pollution_control", "污染物排放管控"),
              ("risk_control", "环境风险防控"), ("resource_efficiency", "资源利用效率")]
PLAN = {"genhe": GENHE, "manzhouli": MZL, "xilinhot": XLH, "arxan": ARXAN}


def units(sample_dir: Path, city: str):
    df = pyogrio.read_dataframe(sample_dir / f"{city}.gpkg", layer="control_unit", read_geometry=False)
    return df.sort_values("code").to_dict("records")


def numbered(text: str) -> str:
    """'a；b。' → '1.a。\\n2.b。' (a multi-line numbered cell, as lists print them)."""
    parts = [p.strip() for p in re.split(r"[；;]", str(text or "")) if p.strip()]
    if len(parts) <= 1:
        return parts[0] if parts else ""
    return "\n".join(f"{i}.{p.rstrip('。')}。" for i, p in enumerate(parts, 1))


def region_csv(out: Path) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["单元编码", "单元名称", "管控单元类别", "管控维度", "管控要求", "依据", "文号"])
    for place, cls, dim, text, doc, num, where in REGION:
        w.writerow([place, "内蒙古自治区总体准入要求", cls, dim, text, f"{doc} {where}", num])
    path = out / "neimenggu_region.csv"
    path.write_bytes(buf.getvalue().encode("gbk"))
    return path


def xlsx(out: Path, name: str, cities: list[str], sample_dir: Path, headers: list[str], title: str) -> Path:
    import openpyxl
    from openpyxl.styles import Alignment

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "单元准入清单"
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.append(headers)
    for city in cities:
        for place, dim, text, doc, where in COUNTY.get(city, []):
            row = [place, f"{place}总体准入要求", "", "", "", "", "", f"{doc} {where}"]
            row[3 + [d for _, d in DIM_FIELDS].index(dim)] = text
            ws.append(row)
        for u in units(sample_dir, city):
            first = ws.max_row + 1
            ws.append([u["code"], u["name"], u["class"] + "单元"] + [numbered(u[f]) for f, _ in DIM_FIELDS]
                      + [f"构建：单元文字取自样例图层，出自 {PLAN[city]}"])
            dim, text, basis = CONSTRUCTED[u["class"]]
            row = ["", "", ""] + [""] * 4 + [basis]
            row[3 + [d for _, d in DIM_FIELDS].index(dim)] = text
            ws.append(row)
            for col in (1, 2, 3):  # merged cells: code, name and class span the unit's two rows
                ws.merge_cells(start_row=first, start_column=col, end_row=first + 1, end_column=col)
    for r in ws.iter_rows(min_row=2):
        for c in r:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    path = out / name
    wb.save(path)
    return path


def xilinhot_csv(out: Path, sample_dir: Path) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["HJGKDYBM", "DYMC", "DYLB", "管控维度", "管控要求", "依据"])
    for place, dim, text, doc, where in COUNTY["xilinhot"]:
        w.writerow([place, f"{place}总体准入要求", "", dim, text, f"{doc} {where}"])
    for u in units(sample_dir, "xilinhot"):
        for f, dim in DIM_FIELDS:
            if u[f]:
                w.writerow([u["code"], u["name"], u["class"], dim, u[f], f"构建：单元文字取自样例图层，出自 {XLH}"])
        dim, text, basis = CONSTRUCTED[u["class"]]
        w.writerow(["", "", "", dim, text, basis])  # blank code: continues the unit above (merged-cell export)
    path = out / "xilinhot.csv"
    path.write_bytes(buf.getvalue().encode("gbk"))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample-dir", default=str(REPO / "layers" / "sample"))
    ap.add_argument("--out", default=str(REPO / "layers" / "accesslists"))
    a = ap.parse_args(argv)
    out, sd = Path(a.out), Path(a.sample_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        region_csv(out),
        xlsx(out, "hulunbuir.xlsx", ["genhe", "manzhouli"], sd,
             ["环境管控单元编码", "环境管控单元名称", "管控单元类别", "空间布局\n约束", "污染物排放\n管控", "环境风险\n防控", "资源利用\n效率",
              "依据"], "呼伦贝尔市（根河市、满洲里市）环境管控单元生态环境准入清单（样例，据规划文本构建）"),
        xlsx(out, "arxan.xlsx", ["arxan"], sd,
             ["单元编码", "单元名称", "单元类别", "空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求", "来源"],
             "兴安盟阿尔山市环境管控单元生态环境准入清单（样例，据规划文本构建）"),
        xilinhot_csv(out, sd),
    ]
    for p in paths:
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
