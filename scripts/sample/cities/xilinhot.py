"""锡林浩特市 Xilinhot (152502): steppe city with the 胜利 open-pit coal field.

Plan: XLH = seed 004 (《锡林浩特市国家生态文明建设示范市创建规划（2023-2030）》).
Calibrated to the red line of 7,019.9 km² (XLH L348, L726), protected
areas of 「57万多公顷」 (XLH L361), the 11.4 km² no-burn zone (XLH L699) and
19 control units, 9 优先保护 + 9 重点管控 + 1 一般管控 (XLH L728).  Names
from the plan (锡林河, 锡林浩特水库, 一棵树, 柴达木, 巴彦宝力格, 胜利西三号,
胜利一号, 鲁地矿业, 吉尔嘎朗图, 白银库伦, 毛登, 浑善达克, 锡林大街, 额尔敦路) and
BACKGROUND (G207, G303, 阿尔善宝拉格镇); positions and sizes are synthetic.
"""

from __future__ import annotations

from ..geom import area_m2, clean, union
from ..layers import City
from ..sites import Site, beside, blob_in, box_at, line_through, point_in, ray, straddle
from ..units import KeyArea, build_units

KEY = "xilinhot"
RED_TARGET_KM2 = 7019.9
PA_TOTAL_HA = 576_000  # 「57万多公顷」 (XLH L361)
COUNTS = (9, 9, 1)


def build() -> City:
    c = City(KEY, "152502", "锡林浩特市")
    P = c.places
    P.update({
        "center": (116.080, 43.938), "devzone": (116.175, 43.968), "arshan": (116.300, 43.400),
        "xi3": (115.950, 43.990), "sl1": (116.045, 44.020), "jiergalangtu": (116.300, 44.560),
        "ludi": (115.760, 44.400), "reservoir": (116.150, 43.892), "yikeshu": (115.985, 43.895),
        "chaidamu": (115.820, 43.870), "bayanbaolige": (115.720, 44.180),
    })
    c.add("admin", c.boundary, clip=False, name="锡林浩特市", adcode=c.adcode, level="县级")

    # --- lines ---------------------------------------------------------------------
    xilin = c.line([(116.900, 43.610), (116.640, 43.700), (116.420, 43.790), (116.230, 43.860), (116.150, 43.892),
                    (116.085, 43.935), (115.990, 44.040), (115.860, 44.150), (115.790, 44.290)],
                   amp=900, wavelength=7000, step=350, tag="xilin")
    c.add("river", xilin, name="锡林河", level="干流")
    dairy = c.line([(116.020, 43.800), (116.060, 43.870), (116.085, 43.925)], amp=250, tag="dairy")
    c.add("river", dairy, name="奶牛场河", level="支流")
    trib = c.line([(116.780, 43.900), (116.560, 43.830), (116.420, 43.790)], amp=500, tag="trib")
    c.add("river", trib, name="锡林河东支", level="支流")
    g207 = c.line([(116.080, 43.935), (116.150, 43.700), (116.230, 43.450), (116.300, 43.250), (116.360, 43.040)],
                  amp=500, wavelength=15000, tag="g207")
    c.add("road", g207, name="G207", level="国道")
    g303 = c.line([(116.970, 43.900), (116.600, 43.960), (116.300, 43.950), (116.082, 43.940),
                   (115.700, 43.960), (115.340, 43.985)], amp=600, wavelength=15000, tag="g303")
    c.add("road", g303, name="G303", level="国道")
    north = c.line([(116.085, 43.945), (116.080, 44.200), (116.150, 44.500), (116.250, 44.860)], amp=700, tag="north")
    c.add("road", north, name="锡林浩特至东乌珠穆沁旗公路", level="省道")
    west = c.line([(116.080, 43.940), (115.800, 44.100), (115.560, 44.300)], amp=600, tag="west")
    c.add("road", west, name="锡林浩特至阿巴嘎旗公路", level="省道")
    east = c.line([(116.150, 43.970), (116.450, 44.100), (116.650, 44.150)], amp=400, tag="east")
    c.add("road", east, name="锡林浩特至白银库伦牧场公路", level="县道")
    rail_e = c.line([(116.090, 43.950), (116.400, 44.020), (116.760, 44.080)], amp=300, wavelength=20000, tag="rail_e")
    c.add("railway", rail_e, name="锡乌铁路", level="国家铁路")
    rail_s = c.line([(116.085, 43.945), (115.980, 43.700), (115.970, 43.560)], amp=300, wavelength=20000, tag="rail_s")
    c.add("railway", rail_s, name="桑锡铁路", level="国家铁路")
    rail_m = c.line([(116.095, 43.955), (116.040, 44.010), (115.960, 44.000)], amp=120, tag="rail_m")
    c.add("railway", rail_m, name="胜利矿区铁路专用线", level="专用线")

    # --- settlements, industry, mines -----------------------------------------------
    urban_c = c.fitted_blob(P["center"], 7200, aspect=1.6, angle=20, tag="urban_c")
    urban_a = c.fitted_blob(P["arshan"], 320, aspect=1.3, tag="urban_a")
    devzone = clean(c.fitted_blob(P["devzone"], 2400, aspect=1.5, angle=-10, tag="dev").difference(urban_c))
    c.add("urban_boundary", urban_c, name="锡林浩特市中心城区城镇开发边界")
    c.add("urban_boundary", urban_a, name="阿尔善宝拉格镇城镇开发边界")
    c.add("urban_boundary", devzone, name="锡林郭勒经济技术开发区城镇开发边界")
    urban = union([urban_c, urban_a, devzone])
    c.add("no_burn_zone", c.fitted_blob((116.078, 43.936), 1140, within=urban_c, aspect=1.4, angle=20, tag="nb"),
          clip=False, name="锡林浩特市高污染燃料禁燃区（锡林大街、额尔敦路中心街道核心区）")

    mines = [
        ("锡林浩特市蒙能胜利西三号露天煤矿", "煤炭", "在产", "露天", "自治区级绿色矿山", "2034-12-31", "采场", (115.950, 43.985), 1700),
        ("锡林浩特市蒙能胜利西三号露天煤矿", "煤炭", "在产", "露天", "自治区级绿色矿山", "2034-12-31", "排土场", (115.915, 44.015), 1400),
        ("锡林浩特市神华胜利一号露天矿", "煤炭", "在产", "露天", "国家级绿色矿山", "2037-06-30", "采场", (116.040, 44.015), 2400),
        ("锡林浩特市神华胜利一号露天矿", "煤炭", "在产", "露天", "国家级绿色矿山", "2037-06-30", "排土场", (116.070, 44.050), 1900),
        ("锡林浩特市神华胜利一号露天矿", "煤炭", "在产", "露天", "国家级绿色矿山", "2037-06-30", "工业场地", (116.075, 43.998), 220),
        ("锡林浩特市胜利矿区井工煤矿", "煤炭", "停产", "井工", "否", "2026-09-30", "采煤沉陷区", (116.130, 44.070), 650),
        ("锡林浩特鲁地矿业有限公司", "铜锌", "在产", "井工", "自治区级绿色矿山", "2029-04-30", "工业场地", (115.760, 44.400), 90),
        ("锡林浩特鲁地矿业有限公司", "铜锌", "在产", "井工", "自治区级绿色矿山", "2029-04-30", "尾矿库", (115.775, 44.385), 140),
        ("吉尔嘎朗图煤层气田", "煤层气", "在建", "井工", "否", "2040-12-31", "矿区范围", P["jiergalangtu"], 3600),
        ("锡林浩特市历史遗留废弃采坑（已治理）", "建筑用砂石", "历史遗留", "露天", "否", "2010-12-31", "采场", (115.900, 43.880), 320),
        ("锡林浩特市北部历史遗留废弃采坑", "建筑用砂石", "责任主体灭失", "露天", "否", "2009-06-30", "采场", (116.200, 44.150), 180),
        ("锡林浩特市南郊建筑用砂石矿", "建筑用砂石", "在产", "露天", "否", "2028-10-31", "采场", (116.120, 43.830), 60),
    ]
    mine_all = c.add_mines(mines)
    solid = c.fitted_blob((116.205, 43.935), 500, aspect=1.3, tag="solid")  # 固废产业园 (XLH L712)

    # --- water sources (XLH L14, L696, L697) -------------------------------------------
    c.water_source("一棵树城镇集中式饮用水水源地", "地下水", c.fitted_blob(P["yikeshu"], 60, tag="ws1"), (900.0, 1800.0))
    c.water_source("柴达木集中式饮用水水源地", "地下水", c.fitted_blob(P["chaidamu"], 40, tag="ws2"), (800.0, 1500.0))
    c.water_source("巴彦宝力格水源地", "地下水", c.fitted_blob(P["bayanbaolige"], 35, tag="ws3"), (700.0, 1400.0))
    ws = c.union_of("water_source")

    # --- farmland (XLH L676, L709, L749) ---------------------------------------------
    fexcl = union([c.buffer_ll(urban, 500), c.buffer_ll(mine_all, 500), c.buffer_ll(xilin, 200), ws])
    farms = [((116.720, 44.020), 2200, "白银库伦牧场现代化种植园区"), ((116.280, 44.300), 1300, "毛登牧场"),
             ((116.030, 43.850), 700, "锡林浩特市南郊"), ((116.200, 43.560), 1100, "G207沿线")]
    for i, (center, ha, label) in enumerate(farms):
        g = clean(c.fitted_blob(center, ha, aspect=1.7, angle=-15, tag=f"farm{i}").difference(fexcl))
        c.add("farmland", g, name=f"{label}永久基本农田保护片块")
    farmland = c.union_of("farmland")

    # --- sand-closure zones (XLH L676; 浑善达克, L672, L738) ------------------------------
    for i, (center, ha) in enumerate([((116.250, 43.200), 11000), ((116.420, 43.380), 5500)]):
        g = clean(c.fitted_blob(center, ha, aspect=1.8, angle=15, rough=0.3, tag=f"sand{i}").difference(
            c.buffer_ll(urban_a, 1500)))
        c.add("sand_closure", g, name=f"浑善达克沙地锡林浩特段沙化土地封禁保护区{i + 1:02d}")
    sand = c.union_of("sand_closure")

    # --- protected areas (XLH L18, L736, L744; total L361) ----------------------------
    avoid = union([c.buffer_ll(urban_c, 6000), c.buffer_ll(devzone, 3000), c.buffer_ll(mine_all, 3000), ws,
                   c.buffer_ll(farmland, 500), c.buffer_ll(sand, 2000),
                   c.buffer_ll(urban_a, 3000), c.buffer_ll(solid, 2000)])
    room = clean(c.boundary.difference(avoid))
    parks = [
        ("内蒙古白银库伦遗鸥自然保护区", "自然保护区", "自治区级", "new", (116.640, 44.200), 8000, 1.4, 30),
        ("内蒙古锡林郭勒草原火山国家地质公园", "地质公园", "国家级", "park", (115.700, 43.800), 22000, 1.7, 10),
        ("白银库伦牧场国家草原自然公园（试点）", "草原自然公园", "国家级", "park", (116.520, 44.240), 5800, 1.5, 60),
        ("毛登牧场国家草原自然公园（试点）", "草原自然公园", "国家级", "park", (116.330, 44.400), 6600, 1.5, 20),
    ]
    taken = avoid
    for name, type_, level, style, center, ha, aspect, angle in parks:
        g = c.fitted_blob(center, ha, within=clean(c.boundary.difference(taken)), aspect=aspect, angle=angle, tag=name)
        c.protected_area(name, type_, level, g, style)
        taken = union([taken, c.buffer_ll(g, 500)])
    wpark_line = xilin.intersection(c.buffer_ll(c.point((116.300, 43.828)), 14000))
    wpark = c.corridor(wpark_line, 3600, within=clean(c.boundary.difference(taken)), tag="wpark")
    c.protected_area("内蒙古锡林河国家湿地公园", "湿地公园", "国家级", wpark, "park")
    taken = union([taken, c.buffer_ll(wpark, 300)])
    others = area_m2(c.union_of("protected_area")) / 1e4
    limit = c.blob((116.560, 43.830), 1300000, aspect=2.0, angle=10, rough=0.25, tag="reserve_limit")
    reserve_room = clean(c.boundary.intersection(limit).difference(taken))
    reserve = c.fitted_blob((116.580, 43.780), PA_TOTAL_HA - others, within=reserve_room,
                            aspect=1.5, angle=25, rough=0.35, n=90, tag="reserve")
    c.protected_area("锡林郭勒草原国家级自然保护区", "自然保护区", "国家级", reserve, "legacy")
    pa = c.union_of("protected_area")

    # --- wetlands ----------------------------------------------------------------------
    c.add("wetland", c.fitted_blob(P["reservoir"], 420, aspect=1.8, angle=30, tag="res").difference(urban_c),
          name="锡林浩特水库湿地", level="自治区重要湿地")
    c.add("wetland", clean(c.corridor(xilin, 9000, tag="w_xilin").intersection(reserve)), name="锡林河上游河流湿地",
          level="国家重要湿地")
    down = xilin.intersection(c.buffer_ll(c.point((115.900, 44.110)), 22000))
    c.add("wetland", clean(c.corridor(down, 1500, tag="w_down").difference(union([urban_c, mine_all, pa]))),
          name="锡林河下游河流湿地", level="一般湿地")
    c.add("wetland", c.fitted_blob((116.660, 44.180), 900, within=pa, tag="w_gull"), clip=False,
          name="白银库伦淖尔湿地", level="国家重要湿地")
    wet = c.union_of("wetland")

    # --- red line (XLH L348, L726: 7,019.9 km²) ---------------------------------------------
    core = union([pa, sand, c.union_of("wetland", level=("国家重要湿地", "自治区重要湿地")),
                  c.fitted_blob((116.520, 43.350), 60000, aspect=1.5, angle=20, rough=0.3, tag="red_s")])
    coalfield = c.fitted_blob((115.990, 43.995), 22000, aspect=2.0, angle=10, tag="coalfield")  # 胜利煤田规划开采区
    exclude = union([c.buffer_ll(urban, 1500), c.buffer_ll(mine_all, 800), farmland, solid, coalfield,
                     c.buffer_ll(g207, 100), c.buffer_ll(g303, 100), c.buffer_ll(rail_e, 100),
                     c.buffer_ll(rail_s, 100)])
    red = c.redline(core, exclude, RED_TARGET_KM2 * 1e6, [
        ((116.600, 43.800), "生物多样性维护"), ((116.350, 43.300), "防风固沙"), ((116.650, 44.200), "生物多样性维护"),
        ((115.950, 43.650), "水土保持"), ((116.800, 43.620), "水源涵养"), ((116.200, 43.850), "水源涵养"),
        ((116.300, 44.450), "防风固沙"), ((115.600, 44.300), "防风固沙"), ((115.600, 43.900), "防风固沙"),
    ], dmax=25000)

    # --- grassland (XLH L672, L676, L736) ---------------------------------------------------
    extent = clean(c.boundary.difference(union([urban, farmland, mine_all, solid, c.union_of("wetland")])))
    green = union([c.buffer_ll(g207, 1000), c.buffer_ll(g303, 1000)])  # 绿色通道
    no_graze = union([c.union_of("protected_area", zone=("核心区", "缓冲区", "核心保护区")),
                      c.union_of("water_source", grade=("一级保护区", "二级保护区")), green, sand])
    c.grassland(extent, [
        ((115.600, 44.450), "巴彦宝拉格苏木", "基本草原"), ((116.150, 44.650), "朝克乌拉苏木", "基本草原"),
        ((116.300, 44.300), "毛登牧场", "基本草原", "轮牧区"), ((116.650, 44.100), "白银库伦牧场", "基本草原"),
        ((115.650, 43.900), "宝力根苏木", "基本草原", "休牧区"), ((116.100, 43.900), "锡林浩特市城郊", "一般草原"),
        ((116.650, 43.700), "白音锡勒牧场", "基本草原", "休牧区"), ((116.000, 43.600), "贝力克牧场", "基本草原"),
        ((116.300, 43.300), "阿尔善宝拉格镇", "基本草原"),
    ], no_graze)

    # --- control units (XLH L728: 9 + 9 + 1) -------------------------------------------
    priority = union([red, pa, ws, sand, c.union_of("wetland", level=("国家重要湿地", "自治区重要湿地"))])
    sl_west = union(c.geoms("mine", name="锡林浩特市蒙能胜利西三号露天煤矿"))
    sl_one = union(c.geoms("mine", name="锡林浩特市神华胜利一号露天矿"))
    keys = [
        KeyArea("锡林郭勒经济技术开发区重点管控单元", c.buffer_ll(devzone, 300),
                {"spatial_constraint": "入区项目须符合开发区规划环评（XLH L681）。"}),
        KeyArea("锡林浩特市工业固废资源化综合利用产业园重点管控单元", c.buffer_ll(solid, 300), {}),
        KeyArea("锡林浩特市中心城区重点管控单元", c.buffer_ll(urban_c, 1200),
                {"pollution_control": "禁燃区内散煤清零（XLH L699）。"}),
        KeyArea("蒙能胜利西三号露天煤矿重点管控单元", c.buffer_ll(sl_west, 800),
                {"pollution_control": "健全粉状物料堆场全封闭工程建设（XLH L702）。"}),
        KeyArea("神华胜利一号露天矿重点管控单元", c.buffer_ll(sl_one, 800),
                {"pollution_control": "健全粉状物料堆场全封闭工程建设（XLH L702）。"}),
        KeyArea("胜利矿区井工煤矿沉陷区重点管控单元",
                c.buffer_ll(union(c.geoms("mine", name="锡林浩特市胜利矿区井工煤矿")), 600),
                {"spatial_constraint": "采煤沉陷区优先布局光伏、风电（XLH L754）。"}),
        KeyArea("吉尔嘎朗图煤层气田重点管控单元", c.buffer_ll(union(c.geoms("mine", name="吉尔嘎朗图煤层气田")), 500), {}),
        KeyArea("锡林浩特鲁地矿业重点管控单元", c.buffer_ll(union(c.geoms("mine", name="锡林浩特鲁地矿业有限公司")), 1500),
                {"pollution_control": "严格新、改、扩建排放重点重金属污染物建设项目准入（XLH L707）。"}),
        KeyArea("阿尔善宝拉格镇重点管控单元", c.buffer_ll(urban_a, 1000), {}),
    ]
    build_units(c, priority, keys, COUNTS, priority_extra={
        "spatial_constraint": "饮用水水源一级保护区内禁止新建、改建、扩建与供水设施和保护水源无关的建设项目。"})
    c.facts.update(red_source="XLH L348, L726 (7,019.9 km²; 47.43 %)", units_source="XLH L728 (9 + 9 + 1)",
                   pa_total_ha=PA_TOTAL_HA)
    c.sites = sites(c)
    return c


def sites(c: City) -> list[Site]:
    red = c.union_of("redline")
    pa = c.union_of("protected_area")
    reserve_exp = c.union_of("protected_area", name="锡林郭勒草原国家级自然保护区", zone="实验区")
    reserve_buf = c.union_of("protected_area", name="锡林郭勒草原国家级自然保护区", zone="缓冲区")
    ws_all = c.union_of("water_source")
    red_open = clean(red.difference(union([pa, ws_all, c.union_of("wetland"), c.union_of("sand_closure")])))
    ws1 = c.union_of("water_source", grade="一级保护区")
    ws2 = c.union_of("water_source", name="一棵树城镇集中式饮用水水源地", grade="二级保护区")
    farm = c.union_of("farmland")
    nb = c.union_of("no_burn_zone")
    dump = c.union_of("mine", name="锡林浩特市神华胜利一号露天矿", feature="排土场")
    subs = c.union_of("mine", feature="采煤沉陷区")
    g303 = c.geoms("road", name="G303")[0]
    dev = c.union_of("urban_boundary", name="锡林郭勒经济技术开发区城镇开发边界")
    quiet = clean(dev.difference(union([red, pa, ws_all, farm, c.union_of("wetland"), c.union_of("grassland"), nb])))
    wet_down = c.union_of("wetland", name="锡林河下游河流湿地")
    sand = c.union_of("sand_closure")
    cbm = c.union_of("mine", name="吉尔嘎朗图煤层气田")
    g207_farm = c.union_of("farmland", name="G207沿线永久基本农田保护片块")
    g207 = c.frame.m(c.geoms("road", name="G207")[0])
    shifted = c.frame.ll(g207.offset_curve(80.0))
    highway = line_through(c, list(shifted.intersection(c.buffer_ll(g207_farm, 150)).coords))
    return [
        Site("XLH-01", "锡林浩特市新建褐煤露天矿（红线内）", "B0620", "新建",
             blob_in(c, red_open, (116.500, 43.350), 60, "s1"), ("redline_mining",),
             "位于生态保护红线内（防风固沙）：新建采矿禁止。", guotu="gbk"),
        Site("XLH-02", "锡盟特高压配套500千伏送出线路", "D4420", "新建", ray(c, (116.150, 44.000), 30.0),
             ("redline_linear",), "输电线路穿越生态保护红线和锡林郭勒草原国家级自然保护区实验区：线性基础设施确实无法避让的，需不可避让论证并报批；未进入核心区、缓冲区。",
             linear=True, unavoidable=True),
        Site("XLH-03", "锡林浩特市钼矿普查", "M7472", "新建", blob_in(c, red_open, (116.400, 43.250), 150, "s3"),
             ("strategic_mineral",), "红线内战略性矿产勘查：属允许的有限人为活动，需依法报批。"),
        Site("XLH-04", "锡林郭勒草原自然保护区实验区牧家乐旅游营地", "N7869", "新建",
             blob_in(c, reserve_exp, (116.450, 44.080), 3, "s4", max_shift=30000), ("pa_tourism",),
             "位于国家级自然保护区实验区：可开展参观旅游，需符合总体规划，不得建设污染、破坏设施（条例第32条）。", guotu="utf-8"),
        Site("XLH-05", "保护区缓冲区内饲草加工厂", "C1329", "新建",
             blob_in(c, reserve_buf, (116.450, 43.850), 4, "s5", max_shift=30000),
             ("pa_core_production",), "位于国家级自然保护区缓冲区：禁止建设任何生产设施（条例第32条）。"),
        Site("XLH-06", "一棵树水源地二级保护区内乳制品加工厂", "C1441", "新建",
             blob_in(c, ws2, c.places["yikeshu"], 3, "s6"), ("water_grade2_polluting",),
             "位于一棵树水源地二级保护区：禁止新建排放污染物的建设项目（水污染防治法第66条）。", guotu="gbk"),
        Site("XLH-07", "巴彦宝力格水源地取水工程", "E4821", "新建", point_in(c, ws1, c.places["bayanbaolige"]),
             ("water_grade1_supply", "plan_fixture"), "一级保护区内供水设施：与供水有关，允许（第65条）；XLH L697 规划项目。"),
        Site("XLH-08", "锡林浩特至太仆寺旗高速公路（国家重大项目）", "E4812", "新建",
             highway,
             ("farmland_national_major",), "占用永久基本农田：国家重大项目难以避让的，报国务院批准（土地管理法第35条）。",
             linear=True, national_major=True),
        Site("XLH-09", "白银库伦牧场农机仓储项目", "E4790", "新建",
             blob_in(c, c.union_of("farmland", name="白银库伦牧场现代化种植园区永久基本农田保护片块"), (116.720, 44.020),
                     4, "s9"), ("farmland_ordinary",), "占用永久基本农田：一般建设项目禁止占用。", guotu="utf-8"),
        Site("XLH-10", "胜利一号露天矿排土场光伏项目", "D4416", "新建", blob_in(c, dump, (116.070, 44.050), 120, "s10"),
             ("energy_on_mine_land", "plan_fixture"), "排土场光伏：“以光治荒”，鼓励（XLH L754）。", guotu="gbk"),
        Site("XLH-11", "胜利矿区采煤沉陷区风电项目", "D4415", "新建", blob_in(c, subs, (116.130, 44.070), 60, "s11"),
             ("energy_on_mine_land",), "采煤沉陷区风电：优先布局，鼓励。"),
        Site("XLH-12", "胜利西三号露天煤矿南扩区", "B0620", "扩建", beside(c, g303, (115.930, 43.962), 250, 500, 300, -1),
             ("mine_setback",), "距G303约250米：国道两侧一定范围内禁止采矿、爆破（公路安全保护条例），需论证；占用草原（绿色通道禁牧区）须办理征占用审批。"),
        Site("XLH-13", "锡林河湿地旅游码头", "N7869", "新建", box_at(c, wet_down, (115.880, 44.130), 150, 100),
             ("wetland_occupation",), "占用锡林河河流湿地：需湿地占用审批并补偿（湿地保护法）。"),
        Site("XLH-14", "锡林大街新建燃煤锅炉房", "D4430", "新建", blob_in(c, nb, (116.078, 43.936), 0.5, "s14"),
             ("boiler_no_burn",), "位于11.4平方公里高污染燃料禁燃区：禁止新建燃煤设施（XLH L699）。"),
        Site("XLH-15", "锡林郭勒经济技术开发区风机装备制造项目", "C3415", "新建", blob_in(c, quiet, c.places["devzone"], 12, "s15"),
             ("clear",), "位于开发区城镇开发边界内，不涉及红线、保护地、水源地、农田、湿地、草原：无空间冲突（仍需符合园区规划环评）。"),
        Site("XLH-16", "锡林浩特—阿巴嘎旗跨界光伏项目", "D4416", "新建", straddle(c, (115.330, 43.990), 2000, 1200),
             ("partly_outside",), "部分位于锡林浩特市域外（阿巴嘎旗）：超出工作空间范围，应报 not_covered。"),
        Site("XLH-17", "浑善达克沙地封禁区内新建牧业设施", "A0314", "新建", blob_in(c, sand, (116.250, 43.230), 2, "s17"),
             ("sand_closure",), "位于沙化土地封禁保护区：禁止一切破坏植被的活动和建设（XLH L676，防沙治沙法）。"),
        Site("XLH-18", "吉尔嘎朗图煤层气勘探开发", "B0721", "新建", blob_in(c, cbm, c.places["jiergalangtu"], 80, "s18"),
             ("plan_fixture",), "XLH L754 规划项目：位于重点管控单元，需符合矿产规划和草原征占用审批。"),
        Site("XLH-19", "锡林浩特市垃圾焚烧发电项目", "D4417", "新建", blob_in(c, quiet, (116.190, 43.960), 8, "s19"),
             ("plan_fixture",), "XLH L754 规划项目：位于开发区，需规划环评一致性审查。"),
    ]
