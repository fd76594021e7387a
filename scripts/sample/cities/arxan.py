"""阿尔山市 Arxan (152202): Greater Khingan forest city on the Mongolian border.

Plan: ARX = seed 001 (《兴安盟阿尔山市“十四五”生态环境保护规划》).  The red
line is calibrated to 86.17 % of the (real) county area (ARX L179; the plan
gives no km²).  The plan gives no control-unit counts: the sample assumes 8
优先保护 + 8 重点管控 + 2 一般管控 (see ``layers/README.md``).  Names from the
plan (哈拉哈河, 洮儿河, 伊尔施, 白狼, 五岔沟, 天池, 明水河, 杜拉尔, 好森沟, 阿尔山
国家森林公园, 火山温泉地质公园, 白狼洮儿河 and 奥伦布坎 wetland parks) and
BACKGROUND (forest-park sectors and the 白狼洮儿河 park with their bounding
boxes and areas, 白阿铁路, 伊阿铁路, G331, S203); positions are synthetic.
"""

from __future__ import annotations

import shapely
import shapely.ops
from shapely.geometry import Point

from ..geom import area_m2, clean, union
from ..layers import City
from ..sites import Site, beside, blob_in, box_at, line_through, point_in, straddle
from ..units import KeyArea, build_units

KEY = "arxan"
RED_SHARE = 0.8617  # ARX L179
COUNTS = (8, 8, 2)


def build() -> City:
    c = City(KEY, "152202", "阿尔山市")
    P = c.places
    P.update({
        "seat": (119.945, 47.178), "yirshi": (119.868, 47.314), "bailang": (120.140, 46.978),
        "wuchagou": (120.600, 46.765), "tianchi": (120.330, 47.330), "mingshuihe": (121.200, 47.060),
        "port": (119.530, 47.333), "airport": (119.925, 47.300),
    })
    c.add("admin", c.boundary, clip=False, name="阿尔山市", adcode=c.adcode, level="县级")

    # --- lines -------------------------------------------------------------------
    halaha = c.line([(120.620, 47.280), (120.450, 47.330), (120.300, 47.312), (120.150, 47.282), (120.000, 47.300),
                     (119.870, 47.328), (119.760, 47.430), (119.820, 47.540)], amp=600, wavelength=5000, tag="halaha")
    c.add("river", halaha, name="哈拉哈河", level="干流")
    taoer = c.line([(120.150, 47.055), (120.175, 47.000), (120.300, 46.920), (120.450, 46.840), (120.620, 46.780),
                    (120.800, 46.700)], amp=500, wavelength=5000, tag="taoer")
    c.add("river", taoer, name="洮儿河", level="干流")
    numu = c.line([(119.680, 47.230), (119.600, 47.280), (119.520, 47.330)], amp=300, tag="numu")
    c.add("river", numu, name="努木尔根河", level="支流")
    rail_ba = c.line([(120.800, 46.690), (120.600, 46.760), (120.400, 46.850), (120.105, 46.995), (120.020, 47.080),
                      (119.948, 47.170)], amp=250, wavelength=12000, tag="baia")
    c.add("railway", rail_ba, name="白阿铁路", level="国家铁路")
    rail_ya = c.line([(119.948, 47.178), (119.880, 47.310), (119.890, 47.450), (119.850, 47.540)], amp=250,
                     wavelength=12000, tag="yia")
    c.add("railway", rail_ya, name="伊阿铁路", level="国家铁路")
    g331 = c.line([(119.530, 47.333), (119.700, 47.320), (119.868, 47.314), (120.100, 47.340), (120.330, 47.330),
                   (120.600, 47.380), (120.700, 47.400)], amp=500, wavelength=12000, tag="g331")
    c.add("road", g331, name="G331", level="国道")
    s203 = c.line([(119.945, 47.178), (119.868, 47.314), (119.960, 47.480), (120.000, 47.560)], amp=500, tag="s203")
    c.add("road", s203, name="S203阿尔山至杜拉尔段", level="省道")
    wua = c.line([(119.945, 47.178), (120.060, 47.060), (120.140, 46.978), (120.450, 46.830), (120.600, 46.765),
                  (120.820, 46.700)], amp=400, tag="wua")
    c.add("road", wua, name="乌阿一级公路", level="省道")
    east = c.line([(120.600, 46.765), (120.900, 46.950), (121.200, 47.060)], amp=600, tag="east")
    c.add("road", east, name="五岔沟至明水河公路", level="县道")

    # --- settlements -----------------------------------------------------------------
    urbans = [("阿尔山市中心城区", "seat", 1540, 1.8, 30), ("伊尔施街道", "yirshi", 600, 1.5, 60),
              ("白狼镇", "bailang", 160, 1.4, 20), ("五岔沟镇", "wuchagou", 220, 1.4, 20),
              ("天池镇", "tianchi", 80, 1.3, 0), ("明水河镇", "mingshuihe", 110, 1.3, 0),
              ("阿尔山口岸", "port", 130, 1.3, 0)]
    towns = {}
    for name, place, ha, aspect, angle in urbans:
        g = c.fitted_blob(P[place], ha, aspect=aspect, angle=angle, tag=name)
        towns[place] = g
        c.add("urban_boundary", g, name=f"{name}城镇开发边界")
    urban = union(towns.values())
    airport = c.fitted_blob(P["airport"], 140, aspect=3.0, angle=80, tag="airport")
    c.add("no_burn_zone", c.fitted_blob((119.945, 47.178), 800, within=towns["seat"], aspect=1.6, angle=30, tag="nb"),
          clip=False, name="阿尔山市中心城区高污染燃料禁燃区")

    # --- mines (none named in the plan; 「大山矿」 only as a section name, ARX L374) ---------
    mines = [
        ("阿尔山市大山矿区历史遗留矿山", "铁", "历史遗留", "露天", "否", "2005-12-31", "采场", (120.060, 47.285), 45),
        ("阿尔山市大山矿区历史遗留矿山", "铁", "历史遗留", "露天", "否", "2005-12-31", "排土场", (120.075, 47.270), 30),
        ("五岔沟镇建筑用砂石矿", "建筑用砂石", "在产", "露天", "否", "2028-05-31", "采场", (120.520, 46.790), 25),
        ("白狼镇建筑用石料矿", "建筑用石料", "停产", "露天", "否", "2025-08-31", "采场", (120.230, 46.925), 18),
        ("明水河铜矿", "铜", "关闭", "井工", "否", "2019-12-31", "工业场地", (121.150, 47.080), 12),
    ]
    mine_all = c.add_mines(mines)

    # --- farmland (semi-pastoral south-east, ARX L476–L480) ------------------------------
    fexcl = union([c.buffer_ll(urban, 300), c.buffer_ll(mine_all, 300), c.buffer_ll(taoer, 100)])
    for i, (center, ha, label) in enumerate([((120.640, 46.745), 2600, "五岔沟镇"), ((121.230, 47.020), 2200, "明水河镇"),
                                             ((120.330, 46.880), 900, "白狼镇南部")]):
        g = clean(c.fitted_blob(center, ha, aspect=1.8, angle=20, tag=f"farm{i}").difference(fexcl))
        c.add("farmland", g, name=f"{label}永久基本农田保护片块")
    farmland = c.union_of("farmland")

    # --- water sources (ARX L94–L96, L402–L404; none named) -----------------------------
    c.water_source("阿尔山市温泉街道集中式饮用水水源地", "地下水", c.fitted_blob((119.915, 47.150), 40, tag="ws_seat"),
                   (600.0, 1200.0))
    c.river_source("伊尔施哈拉哈河饮用水水源地", halaha, (119.905, 47.318), (1000.0, 3000.0, 8000.0), (120.0, 600.0, 1200.0))
    c.water_source("白狼镇集中式饮用水水源地", "地下水", c.fitted_blob((120.115, 46.965), 12, tag="ws_bl"), (400.0, 800.0))
    ws = c.union_of("water_source")

    # --- protected areas (ARX L102, L212–L219) ----------------------------------------
    avoid = union([c.buffer_ll(urban, 500), c.buffer_ll(mine_all, 300), farmland, airport])
    room = clean(c.boundary.difference(avoid))
    sectors = [((119.607, 47.074, 119.911, 47.381), 31451), ((119.893, 47.072, 120.066, 47.151), 4225),
               ((120.268, 47.262, 120.726, 47.650), 67474)]
    parts = []
    for i, (bbox, ha) in enumerate(sectors):
        box = clean(shapely.box(*bbox).intersection(room))
        center = box.representative_point().coords[0]
        parts.append(c.fitted_blob(center, ha, within=box, aspect=1.3, rough=0.3, tag=f"afp{i}"))
    c.protected_area("阿尔山国家森林公园", "森林公园", "国家级", union(parts), "park")
    geo = c.fitted_blob((120.250, 47.300), 365321, within=room, aspect=1.8, angle=5, rough=0.3, n=80, tag="geo")
    c.protected_area("阿尔山火山温泉世界地质公园", "地质公园", "国家级", geo, "park")
    bl_box = clean(shapely.box(120.111, 46.999, 120.178, 47.022).intersection(room))
    c.protected_area("内蒙古白狼洮儿河国家湿地公园", "湿地公园", "国家级",
                     c.fitted_blob(bl_box.representative_point().coords[0], 1135, within=bl_box, tag="blte"), "park")
    others = [
        ("内蒙古杜拉尔自治区级自然保护区", "自然保护区", "自治区级", "legacy", (120.080, 47.480), 30000, 1.6, 60),
        ("五岔沟湿地自然保护区", "自然保护区", "盟市级", "new", (120.720, 46.820), 9000, 1.8, 30),
        ("好森沟国家森林公园", "森林公园", "国家级", "park", (120.450, 46.960), 20000, 1.5, 30),
        ("内蒙古白狼奥伦布坎国家湿地公园（试点）", "湿地公园", "国家级", "park", (120.215, 47.070), 1800, 1.6, 60),
    ]
    for name, type_, level, style, center, ha, aspect, angle in others:
        g = c.fitted_blob(center, ha, within=room, aspect=aspect, angle=angle, tag=name)
        c.protected_area(name, type_, level, g, style)
    pa = c.union_of("protected_area")

    # --- wetlands ------------------------------------------------------------------------
    c.add("wetland", clean(c.corridor(taoer, 2600, tag="w_taoer").difference(urban)), name="洮儿河源头湿地",
          level="国家重要湿地")
    c.add("wetland", clean(c.corridor(halaha, 3200, tag="w_halaha").difference(urban)), name="哈拉哈河河流湿地",
          level="自治区重要湿地")
    c.add("wetland", c.fitted_blob((120.760, 46.830), 1500, aspect=1.5, angle=30, tag="w_wcg"), name="五岔沟湿地",
          level="自治区重要湿地")
    c.add("wetland", c.fitted_blob((120.450, 47.330), 160, tag="w_duj"), name="杜鹃湖湿地", level="一般湿地")
    wet = c.union_of("wetland")

    # --- red line: 86.17 % of the county (ARX L179) ------------------------------------
    county = area_m2(c.boundary)
    core = union([pa, wet])
    exclude = union([c.buffer_ll(urban, 800), c.buffer_ll(mine_all, 400), farmland, airport])
    red = c.redline(core, exclude, RED_SHARE * county, [
        ((120.300, 47.450), "水源涵养"), ((119.750, 47.250), "生物多样性维护"), ((120.100, 47.450), "生物多样性维护"),
        ((120.200, 47.050), "水源涵养"), ((120.600, 46.850), "水土保持"), ((121.150, 47.050), "水土保持"),
        ((120.600, 47.250), "水源涵养"), ((119.600, 47.350), "防风固沙"),
    ], dmax=40000)

    # --- grassland (ARX L124, L253) --------------------------------------------------------
    grass_region = union([c.fitted_blob((120.660, 46.790), 60000, aspect=1.6, angle=20, tag="g_se"),
                          c.fitted_blob((121.180, 47.050), 30000, aspect=1.6, angle=0, tag="g_e"),
                          c.fitted_blob((119.600, 47.300), 25000, aspect=1.4, angle=80, tag="g_w")])
    extent = clean(grass_region.difference(union([urban, farmland, mine_all, wet, airport])))
    no_graze = union([c.union_of("protected_area", zone=("核心区", "缓冲区", "核心保护区")),
                      c.union_of("water_source", grade=("一级保护区", "二级保护区"))])
    c.grassland(extent, [((120.660, 46.790), "五岔沟镇", "基本草原"), ((121.180, 47.050), "明水河镇", "基本草原", "休牧区"),
                         ((119.600, 47.300), "阿尔山口岸周边", "一般草原")], no_graze)

    # --- control units (assumed 8 + 8 + 2) ------------------------------------------------
    priority = union([red, pa, ws, c.union_of("wetland", level=("国家重要湿地", "自治区重要湿地"))])
    keys = [
        KeyArea("阿尔山市中心城区重点管控单元", c.buffer_ll(towns["seat"], 600),
                {"pollution_control": "城市建成区10蒸吨/小时及以下燃煤锅炉全部拆除（ARX L98）。"}),
        KeyArea("伊尔施街道重点管控单元", c.buffer_ll(union([towns["yirshi"], airport]), 600), {}),
        KeyArea("白狼镇重点管控单元", c.buffer_ll(towns["bailang"], 500), {}),
        KeyArea("五岔沟镇重点管控单元", c.buffer_ll(towns["wuchagou"], 500), {}),
        KeyArea("天池镇重点管控单元", c.buffer_ll(towns["tianchi"], 400), {}),
        KeyArea("明水河镇重点管控单元", c.buffer_ll(towns["mingshuihe"], 400), {}),
        KeyArea("阿尔山口岸重点管控单元", c.buffer_ll(towns["port"], 500), {"risk_control": "禁止洋垃圾入境（ARX L539）。"}),
        KeyArea("阿尔山市采矿用地重点管控单元", c.buffer_ll(mine_all, 400),
                {"spatial_constraint": "力争2025年在建和生产矿山全部达到绿色矿山标准（ARX L259）。"}),
    ]
    build_units(c, priority, keys, COUNTS, priority_extra={
        "spatial_constraint": "饮用水水源一级保护区内禁止新建、改建、扩建与供水设施和保护水源无关的建设项目。"})
    c.facts.update(red_source="ARX L179 (86.17 % of the county)", units_source="assumed 8 + 8 + 2 (plan gives none)")
    c.sites = sites(c)
    return c


def sites(c: City) -> list[Site]:
    red = c.union_of("redline")
    pa = c.union_of("protected_area")
    ws_all = c.union_of("water_source")
    red_open = clean(red.difference(union([pa, ws_all, c.union_of("wetland")])))
    dl_exp = c.union_of("protected_area", name="内蒙古杜拉尔自治区级自然保护区", zone="实验区")
    dl_buf = c.union_of("protected_area", name="内蒙古杜拉尔自治区级自然保护区", zone="缓冲区")
    ws1 = c.union_of("water_source", name="伊尔施哈拉哈河饮用水水源地", grade="一级保护区")
    ws2 = c.union_of("water_source", name="阿尔山市温泉街道集中式饮用水水源地", grade="二级保护区")
    farm_w = c.union_of("farmland", name="五岔沟镇永久基本农田保护片块")
    rail = c.geoms("railway", name="白阿铁路")[0]
    wet = c.union_of("wetland", name="洮儿河源头湿地")
    nb = c.union_of("no_burn_zone")
    yirshi = c.union_of("urban_boundary", name="伊尔施街道城镇开发边界")
    quiet = clean(yirshi.difference(union([red, pa, ws_all, c.union_of("farmland"), c.union_of("wetland"),
                                           c.union_of("grassland"), nb])))
    forest_park = c.union_of("protected_area", name="阿尔山国家森林公园")
    urban = c.union_of("urban_boundary")
    port = c.union_of("urban_boundary", name="阿尔山口岸城镇开发边界").representative_point()
    yi = c.union_of("urban_boundary", name="伊尔施街道城镇开发边界").representative_point()
    taoer = c.geoms("river", name="洮儿河")[0]
    songhua = clean(c.buffer_ll(taoer, 2500).difference(union([red, pa, ws_all, urban, c.union_of("farmland"),
                                                              c.union_of("wetland")])))
    rail_farm = clean(c.buffer_ll(rail, 150).intersection(farm_w))
    return [
        Site("ARX-01", "阿尔山市新建建筑石料矿（红线内）", "B1019", "新建", blob_in(c, red_open, (120.380, 47.100), 15, "s1",
             max_shift=20000), ("redline_mining",), "位于生态保护红线内：红线内禁止工业化活动（ARX L196），新建采矿禁止。",
             guotu="gbk"),
        Site("ARX-02", "阿尔山至蒙古国跨境铁路（伊尔施至口岸段）", "E4811", "新建",
             _line(c, [(yi.x, yi.y), (119.700, 47.300), (port.x, port.y)]), ("redline_linear", "plan_fixture"),
             "跨境铁路穿越生态保护红线及阿尔山国家森林公园、火山温泉地质公园一般控制区：线性基础设施无法避让的，需不可避让论证并报批；ARX L321–L323 规划项目。",
             linear=True, unavoidable=True, national_major=True),
        Site("ARX-03", "阿尔山市铜钼矿普查", "M7472", "新建", blob_in(c, red_open, (120.700, 47.100), 100, "s3",
             max_shift=20000), ("strategic_mineral",), "红线内战略性矿产勘查：属允许的有限人为活动，需依法报批。"),
        Site("ARX-04", "杜拉尔自然保护区实验区生态旅游服务站", "N7869", "新建",
             blob_in(c, dl_exp, (120.000, 47.440), 1, "s4", max_shift=20000), ("pa_tourism",),
             "位于自治区级自然保护区实验区：可适度开展生态旅游，需符合总体规划（条例第32条）。", guotu="utf-8"),
        Site("ARX-05", "杜拉尔保护区缓冲区矿泉水灌装厂", "C1522", "新建",
             blob_in(c, dl_buf, (120.080, 47.480), 2, "s5", max_shift=20000), ("pa_core_production",),
             "位于自然保护区缓冲区：禁止建设任何生产设施（条例第32条）。"),
        Site("ARX-06", "温泉街道水源地二级保护区内畜产品屠宰厂", "C1351", "新建", blob_in(c, ws2, (119.905, 47.150), 1, "s6"),
             ("water_grade2_polluting",), "位于二级保护区：禁止新建排放污染物的建设项目（第66条）。", guotu="gbk"),
        Site("ARX-07", "伊尔施水源地取水口改造工程", "E4821", "改建", point_in(c, ws1, (119.905, 47.318), 10.0),
             ("water_grade1_supply",), "一级保护区内供水设施改建：与供水设施有关，允许（第65条）。"),
        Site("ARX-08", "白阿铁路扩能改造工程（国家重大项目）", "E4811", "改建",
             _line(c, list(max(shapely.get_parts(c.frame.ll(c.frame.m(rail).offset_curve(60.0)).intersection(
                 c.buffer_ll(rail_farm, 300))), key=lambda g: g.length).coords)),
             ("farmland_national_major",), "占用永久基本农田：国家重大项目难以避让的，报国务院批准；并穿越生态保护红线，需不可避让论证。",
             linear=True, national_major=True, unavoidable=True),
        Site("ARX-09", "五岔沟镇农产品冷链仓储项目", "E4790", "新建", blob_in(c, farm_w, (120.650, 46.745), 3, "s9"),
             ("farmland_ordinary",), "占用永久基本农田：一般项目禁止占用。", guotu="utf-8"),
        Site("ARX-10", "白狼镇新建建筑用砂石矿（临白阿铁路）", "B1019", "新建",
             beside(c, rail, (120.300, 46.915), 200, 250, 180, -1), ("mine_setback",),
             "距白阿铁路约200米：铁路线路两侧一定范围内禁止采矿、爆破（铁路安全管理条例）；且位于生态保护红线内，新建采矿禁止。"),
        Site("ARX-11", "白狼镇洮儿河湿地旅游停车场", "N7869", "新建", box_at(c, wet, (120.250, 46.950), 150, 100),
             ("wetland_occupation",), "占用国家重要湿地：除重大项目外不得占用（湿地保护法）。"),
        Site("ARX-12", "温泉街道新建燃煤供热锅炉（10蒸吨）", "D4430", "新建", blob_in(c, nb, (119.945, 47.178), 0.5, "s12"),
             ("boiler_no_burn",), "位于高污染燃料禁燃区：禁止新建燃用高污染燃料设施（ARX L349）。"),
        Site("ARX-13", "伊尔施街道社区养老服务中心", "E4790", "新建", blob_in(c, quiet, (119.868, 47.314), 1, "s13"),
             ("clear",), "位于伊尔施城镇开发边界内，不涉及红线、保护地、水源地、农田、湿地：无空间冲突。"),
        Site("ARX-14", "阿尔山口岸跨境物流园", "E4790", "新建", straddle(c, (119.500, 47.335), 800, 600),
             ("partly_outside",), "部分位于国境外（蒙古国）：超出工作空间范围，应报 not_covered。"),
        Site("ARX-15", "中蒙边境界务设施维护工程", "E4812", "改建", _border(c, (119.700, 47.170)), ("border_works",),
             "边境界务设施维护：属红线内允许的边境活动（第9类），提示。", linear=True),
        Site("ARX-16", "阿尔山国家森林公园内分散式污水治理工程", "D4620", "新建",
             blob_in(c, forest_park, (119.800, 47.200), 0.5, "s16", max_shift=20000), ("plan_fixture",),
             "ARX L417 规划项目：森林公园一般控制区内环保设施，生态保护红线内属允许的必要设施，提示。"),
        Site("ARX-17", "洮儿河沿岸一般工业固废堆场", "C4220", "新建", blob_in(c, songhua, (120.450, 46.845), 2, "s17",
             max_shift=20000), ("river_3km",),
             "位于松花江流域洮儿河沿岸3公里内：固废堆场须排查整治（ARX L539）。"),
    ]


def _line(c: City, points) -> shapely.Geometry:
    return line_through(c, points)


def _border(c: City, near) -> shapely.Geometry:
    """A 2 km line 400 m inside the county edge near ``near``."""
    edge = c.frame.m(c.boundary.exterior)
    s = edge.project(Point(c.frame.xy(near)))
    piece = shapely.ops.substring(edge, s - 1000.0, s + 1000.0)
    inner = piece.offset_curve(-400.0) if c.frame.m(c.boundary).contains(piece.offset_curve(-400.0)) \
        else piece.offset_curve(400.0)
    return _line(c, list(c.frame.ll(inner).coords))
