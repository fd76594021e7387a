"""Access-list wording for the control units, quoted from the seed plans.

Each entry is ``(text, citation)``; the citation names the seed file and
line (``MZL L230`` = seed 002, line 230).  Texts are verbatim substrings of
the cited line once the PDF's stray spaces are removed (checked by
``tests/test_sample_layers.py``).  Where a plan has no class-level wording
for a dimension, the sample borrows the closest rule of the same plan; the
one borrowed sentence across plans (Genhe 一般管控, from XLH L728) is marked
in ``layers/README.md``.
"""

from __future__ import annotations

#: Seed file of each citation prefix.
SEEDS = {
    "GH": "000_d3cb95a7d047a5de.txt",
    "ARX": "001_9eefa554868fb371.txt",
    "MZL": "002_3f5c957f5bbab001.txt",
    "GN": "003_d890ebfaf2f90188.txt",
    "XLH": "004_98f8068e618280a6.txt",
}

DIMENSIONS = ("spatial_constraint", "pollution_control", "risk_control", "resource_efficiency")

Quote = tuple[str, str]

CLASS_TEXT: dict[str, dict[str, dict[str, list[Quote]]]] = {
    "manzhouli": {
        "优先保护": {
            "spatial_constraint": [
                ("以生态环境保护优先为原则，依法禁止或限制大规模、高强度的工业开发和城镇建设，确保生态环境功能不降低", "MZL L230"),
                ("严禁不符合主体功能定位的各类开发活动", "MZL L300"),
                ("严禁在草原上乱采滥挖、新上矿产资源开发等工业项目", "MZL L304"),
            ],
            "pollution_control": [
                ("推进河湖湿地与缓冲带生态恢复和保育", "MZL L277"),
                ("严格管控自然保护地范围内非生态活动", "MZL L302"),
            ],
            "risk_control": [
                ("依法实施自然保护区内矿业权有序退出后续工作", "MZL L302"),
                ("开展中俄界河等国际界河（湖）环境风险管控", "MZL L283"),
            ],
            "resource_efficiency": [
                ("严格执行基本草原保护、禁牧休牧和草畜平衡制度", "MZL L304"),
            ],
        },
        "重点管控": {
            "spatial_constraint": [
                ("严格控制城镇开发边界防止城镇无序扩张", "MZL L225"),
                ("禁止新建燃料类煤气发生炉", "MZL L265"),
            ],
            "pollution_control": [
                ("有针对性地加强污染物排放控制和环境风险防控", "MZL L230"),
                ("确保园区内企业污水全收集、全处理、稳定达标", "MZL L288"),
            ],
            "risk_control": [
                ("以化工企业及化工园区、危险化学品运输道路为重点，强化环境风险评估和完善环境风险防范措施", "MZL L327"),
            ],
            "resource_efficiency": [
                ("应不断提升资源利用效率", "MZL L230"),
                ("新、改扩建项目优先利用污水处理厂再生水", "MZL L288"),
            ],
        },
    },
    "xilinhot": {
        "优先保护": {
            "spatial_constraint": [
                ("以生态环境保护优先为原则，依法禁止或限制大规模、高强度的工业开发和城镇建设，确保生态环境功能不降低", "XLH L728"),
                ("严禁不符合主体功能定位的各类开发活动，严禁任意改变用途", "XLH L675"),
            ],
            "pollution_control": [
                ("杜绝锡林河沿线工矿企业污染物超标排放", "XLH L693"),
            ],
            "risk_control": [
                ("实时监控生态状况和人类活动等基础，及时掌握生态保护红线生态功能状况及动态变化", "XLH L728"),
            ],
            "resource_efficiency": [
                ("严格执行草畜平衡制度、禁牧制度、划区轮牧制度、季节性休牧制度", "XLH L672"),
            ],
        },
        "重点管控": {
            "spatial_constraint": [
                ("在符合现行法律法规的前提下，除国家重大项目外，仅允许对生态功能不造成破坏的有限人为活动，"
                 "严禁开展与其主导功能定位不相符的开发利用活动", "XLH L728"),
                ("推动工业企业退城入园", "XLH L752"),
            ],
            "pollution_control": [
                ("实施VOCs重点排放企业“一厂一策”制度，完成在线监控系统建设", "XLH L700"),
                ("杜绝锡林河沿线工矿企业污染物超标排放", "XLH L693"),
            ],
            "risk_control": [
                ("以化工企业、危险化学品运输道路为重点，强化环境风险评估和完善环境风险防范措施", "XLH L719"),
            ],
            "resource_efficiency": [
                ("坚决杜绝新建高耗水项目", "XLH L695"),
                ("严禁工业新增取用地下水", "XLH L710"),
            ],
        },
        "一般管控": {
            "spatial_constraint": [
                ("落实生态环境保护基本要求", "XLH L728"),
                ("严格控制在不适宜种树的草原区和干旱少雨的荒漠草原区植树造林", "XLH L672"),
            ],
            "pollution_control": [("落实生态环境保护基本要求", "XLH L728")],
            "risk_control": [("落实生态环境保护基本要求", "XLH L728")],
            "resource_efficiency": [
                ("实施禁牧休牧、划区轮牧和草畜平衡等制度", "XLH L676"),
            ],
        },
    },
    "genhe": {
        "优先保护": {
            "spatial_constraint": [
                ("严禁不符合主体功能定位的各类开发活动", "GH L637"),
                ("严格管控自然保护地范围内非生态活动", "GH L642"),
            ],
            "pollution_control": [
                ("禁止工业和生活污水直接排入河流", "GH L664"),
            ],
            "risk_control": [
                ("开展自然保护地人类活动遥感监测点位实地核查和处理", "GH L643"),
            ],
            "resource_efficiency": [
                ("国有林区全面禁伐", "GH L33"),
            ],
        },
        "重点管控": {
            "spatial_constraint": [
                ("禁止新建、扩建高污染工业项目", "GH L688"),
                ("严格控制城镇开发边界防止城镇无序扩张", "GH L646"),
            ],
            "pollution_control": [
                ("对35-65蒸吨燃煤锅炉开展超低排放改造", "GH L677"),
                ("对污染环境、破坏生态的矿山依法予以关闭", "GH L684"),
            ],
            "risk_control": [
                ("进一步强化对山金矿业、森鑫矿业、比利亚矿业等铅锌矿行业尾矿库企业的监督管理", "GH L721"),
            ],
            "resource_efficiency": [
                ("新、改扩建项目优先利用污水处理厂再生水", "GH L703"),
            ],
        },
        "一般管控": {
            "spatial_constraint": [
                ("落实生态环境保护基本要求", "XLH L728"),
                ("严格落实林地征占用审批管理和生态损害赔偿制度", "GH L30"),
            ],
            "pollution_control": [("禁止工业和生活污水直接排入河流", "GH L664")],
            "risk_control": [("落实生态环境保护基本要求", "XLH L728")],
            "resource_efficiency": [("采矿活动中加强水资源循环利用，降低水资源消耗", "GH L664")],
        },
    },
    "arxan": {
        "优先保护": {
            "spatial_constraint": [
                ("严控各项开发建设活动，严禁不符合主体功能定位的各类开发活动，生态保护红线内禁止城镇化和工业化活动", "ARX L196"),
            ],
            "pollution_control": [
                ("严格限制污染型工业进入", "ARX L190"),
            ],
            "risk_control": [
                ("严厉查处自然保护地内的违法违规问题", "ARX L204"),
            ],
            "resource_efficiency": [
                ("全面停止天然林商品性采伐", "ARX L241"),
            ],
        },
        "重点管控": {
            "spatial_constraint": [
                ("继续控制城镇发展规模", "ARX L190"),
            ],
            "pollution_control": [
                ("有序推进每小时65蒸吨及以上燃煤锅炉超低排放改造", "ARX L349"),
            ],
            "risk_control": [
                ("强化松花江流域干流和主要支流沿岸3公里范围内工矿企业、尾矿库、固废堆场、矿山排土场和生活污染源等排查整治", "ARX L539"),
            ],
            "resource_efficiency": [
                ("推进阿尔山市污水处理中心再生水回用工程", "ARX L412"),
            ],
        },
        "一般管控": {
            "spatial_constraint": [
                ("严格落实基本草原保护、草畜平衡、禁牧休牧轮牧和草原生态保护监测评估四项制度", "ARX L253"),
            ],
            "pollution_control": [("强化草原征占用审核审批管理，落实草原用途管制制度", "ARX L253")],
            "risk_control": [("推进环境风险隐患排查整治", "ARX L259")],
            "resource_efficiency": [("全面停止天然林商品性采伐", "ARX L241")],
        },
    },
}


def class_text(city: str, klass: str) -> dict[str, str]:
    """The four access-list texts of ``klass`` in ``city`` (quotes joined by '；', ending '。')."""
    dims = CLASS_TEXT[city][klass]
    return {d: "；".join(t for t, _ in dims[d]) + "。" for d in DIMENSIONS}


def all_quotes() -> list[tuple[str, str, str]]:
    """Every ``(city, text, citation)`` (for the verbatim check)."""
    out = []
    for city, classes in CLASS_TEXT.items():
        for dims in classes.values():
            for quotes in dims.values():
                out.extend((city, t, c) for t, c in quotes)
    return out
