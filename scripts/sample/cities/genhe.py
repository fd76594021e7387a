"""根河市 Genhe (150785): cold-temperate forest city in the northern Greater Khingan.

Plans: GH = seed 000 (《内蒙古自治区根河市国家生态文明建设示范市规划（2023-2035）》),
GN = seed 003 (government notices).  Neither gives a red-line figure or
control-unit counts: the sample assumes a red line of 80 % of the county and 9
优先保护 + 8 重点管控 + 3 一般管控 units (see ``layers/README.md``).  Names from
the plans (汗马, 根河源, 满归贝尔茨河, 阿龙山敖鲁古雅, 伊克萨玛, 根河, 激流河, 金河,
乌鲁吉气河, 敖鲁古雅河, 潮查河, 得耳布尔河, 山金, 森鑫, 比利亚, 根满公路, 牛耳河至
汗马 forest road) and BACKGROUND (汗马 107,348 ha in its bounding box, 根河源
59,060.48 ha in its box, 伊克萨玛 15,565 ha, 牙林铁路, town positions);
everything else is synthetic.
"""

from __future__ import annotations

import shapely
import shapely.ops

from ..geom import area_m2, clean, spot_in, union
from ..layers import City
from ..sites import Site, beside, blob_in, box_at, line_through, point_in, straddle
from ..units import KeyArea, build_units

KEY = "genhe"
RED_SHARE = 0.80  # assumption: the plans give no figure
COUNTS = (9, 8, 3)


def build() -> City:
    c = City(KEY, "150785", "根河市")
    P = c.places
    P.update({
        "seat": (121.520, 50.785), "aoluguya": (121.440, 50.815), "derbur": (120.900, 50.950),
        "jinhe": (121.550, 51.330), "niuerhe": (121.700, 51.500), "alongshan": (121.873, 51.686),
        "mangui": (122.090, 52.050), "airport": (121.400, 50.715), "lengji": (121.460, 51.250),
    })
    c.add("admin", c.boundary, clip=False, name="根河市", adcode=c.adcode, level="县级")

    # --- rivers, railways, roads -------------------------------------------------------
    genhe_r = c.line([(122.550, 51.200), (122.200, 51.050), (121.850, 50.900), (121.520, 50.785), (121.250, 50.730),
                      (120.950, 50.680), (120.600, 50.690), (120.420, 50.720)], amp=900, wavelength=6000, tag="genhe")
    c.add("river", genhe_r, name="根河", level="干流")
    jiliu = c.line([(122.720, 51.820), (122.400, 51.740), (122.100, 51.720), (121.900, 51.700), (121.950, 51.850),
                    (122.050, 51.980), (122.090, 52.050), (121.950, 52.150), (121.820, 52.220), (121.650, 52.290)],
                   amp=900, wavelength=6000, tag="jiliu")
    c.add("river", jiliu, name="激流河", level="干流")
    for name, pts in [
        ("金河", [(121.350, 51.050), (121.550, 51.330), (121.700, 51.500), (121.880, 51.690)]),
        ("乌鲁吉气河", [(122.720, 51.890), (122.400, 51.880), (122.100, 51.800), (121.960, 51.780)]),
        ("敖鲁古雅河", [(121.650, 51.880), (121.800, 51.820), (121.930, 51.760)]),
        ("潮查河", [(121.640, 50.930), (121.580, 50.850), (121.530, 50.790)]),
        ("得耳布尔河", [(121.250, 51.120), (120.900, 50.950), (120.500, 50.960), (120.300, 50.950)]),
    ]:
        c.add("river", c.line(pts, amp=500, wavelength=5000, tag=name), name=name, level="支流")
    rail = c.line([(121.420, 50.540), (121.500, 50.780), (121.550, 51.330), (121.700, 51.500), (121.873, 51.686),
                   (122.090, 52.050)], amp=400, wavelength=15000, tag="yalin")
    c.add("railway", rail, name="牙林铁路", level="国家铁路")
    forest_rail = c.line([(121.525, 50.790), (121.650, 50.880), (121.780, 50.950)], amp=200, tag="forest_rail")
    c.add("railway", forest_rail, name="根河市森林铁路专线", level="专用线")
    genman = c.line([(121.520, 50.785), (121.560, 51.330), (121.700, 51.510), (121.880, 51.680), (122.080, 52.040)],
                    amp=700, wavelength=9000, tag="genman")
    c.add("road", genman, name="根满公路", level="省道")
    s301 = c.line([(121.520, 50.785), (121.200, 50.760), (120.900, 50.720), (120.600, 50.700), (120.440, 50.730)],
                  amp=600, tag="s301")
    c.add("road", s301, name="S301根河至拉布大林公路", level="省道")
    for name, pts in [("根河至白鹿岛林区公路", [(121.520, 50.785), (121.700, 50.900), (121.900, 51.000)]),
                      ("得耳布尔至上护林林区公路", [(120.900, 50.950), (120.700, 51.020), (120.500, 51.040)]),
                      ("满归河西林场至富克山林区公路", [(122.090, 52.050), (122.250, 52.200), (122.300, 52.350)]),
                      ("根河至得耳布尔公路", [(121.520, 50.785), (121.200, 50.880), (120.900, 50.950)])]:
        c.add("road", c.line(pts, amp=400, tag=name), name=name, level="县道")

    # --- settlements ---------------------------------------------------------------
    towns = {}
    for name, place, ha, aspect, angle in [("根河市中心城区", "seat", 1300, 1.8, 35), ("敖鲁古雅乡", "aoluguya", 90, 1.3, 0),
                                            ("得耳布尔镇", "derbur", 160, 1.5, 20), ("金河镇", "jinhe", 220, 1.6, 70),
                                            ("阿龙山镇", "alongshan", 150, 1.5, 50), ("满归镇", "mangui", 260, 1.6, 60)]:
        g = c.fitted_blob(P[place], ha, aspect=aspect, angle=angle, tag=name)
        towns[place] = g
        c.add("urban_boundary", g, name=f"{name}城镇开发边界")
    urban = union(towns.values())
    airport = c.fitted_blob(P["airport"], 120, aspect=3.0, angle=60, tag="airport")

    # --- mines: the western 「绿色矿产开发区」 (GH L656, L721, L748) ------------------------
    mines = [
        ("呼伦贝尔山金矿业有限公司", "铅锌", "在产", "井工", "国家级绿色矿山", "2032-10-31", "工业场地", (120.620, 50.980), 40),
        ("呼伦贝尔山金矿业有限公司", "铅锌", "在产", "井工", "国家级绿色矿山", "2032-10-31", "尾矿库", (120.595, 51.000), 65),
        ("森鑫矿业", "铅锌", "在产", "井工", "自治区级绿色矿山", "2030-05-31", "工业场地", (120.760, 50.860), 25),
        ("森鑫矿业", "铅锌", "在产", "井工", "自治区级绿色矿山", "2030-05-31", "尾矿库", (120.780, 50.845), 35),
        ("比利亚矿业", "铅锌", "在产", "井工", "自治区级绿色矿山", "2029-03-31", "工业场地", (120.560, 50.880), 22),
        ("比利亚矿业", "铅锌", "在产", "井工", "自治区级绿色矿山", "2029-03-31", "尾矿库", (120.540, 50.865), 30),
        ("根河市得耳布尔铅锌矿", "铅锌", "停产", "井工", "自治区级绿色矿山", "2026-06-30", "工业场地", (120.850, 51.020), 15),
        ("金河镇历史遗留采石场", "建筑用石料", "历史遗留", "露天", "否", "2006-12-31", "采场", (121.490, 51.300), 12),
        ("根河市北部废弃砂金矿", "金", "责任主体灭失", "露天", "否", "2003-12-31", "采场", (121.980, 51.420), 20),
    ]
    mine_all = c.add_mines(mines)
    west_zone = c.fitted_blob((120.680, 50.940), 26000, aspect=1.8, angle=10, tag="west_zone")  # 西部绿色矿产开发区

    # --- farmland (GH L33: cropland + construction < 1 %) ---------------------------------
    fexcl = union([c.buffer_ll(urban, 200), c.buffer_ll(mine_all, 300), c.buffer_ll(genhe_r, 80), airport])
    for i, (center, ha, label) in enumerate([((121.468, 50.700), 600, "好里堡"), ((120.960, 50.920), 280, "得耳布尔镇"),
                                             ((121.610, 51.300), 180, "金河镇")]):
        g = clean(c.fitted_blob(center, ha, aspect=1.7, angle=20, tag=f"farm{i}").difference(fexcl))
        c.add("farmland", g, name=f"{label}永久基本农田保护片块")
    farmland = c.union_of("farmland")

    # --- water sources (GH L696–L699: none named) -----------------------------------------
    c.river_source("根河市城区根河饮用水水源地", genhe_r, (121.600, 50.815), (1000.0, 3000.0, 8000.0), (150.0, 700.0, 1500.0))
    for name, center, ha in [("满归镇集中式饮用水水源地", (122.120, 52.030), 15), ("金河镇集中式饮用水水源地", (121.520, 51.350), 12),
                             ("阿龙山镇集中式饮用水水源地", (121.850, 51.700), 10)]:
        c.water_source(name, "地下水", c.fitted_blob(center, ha, tag=name), (400.0, 800.0))
    ws = c.union_of("water_source")

    # --- protected areas (GH L642, L769, L983; GN L911; BACKGROUND sizes) ------------------
    avoid = union([c.buffer_ll(urban, 500), c.buffer_ll(mine_all, 500), farmland, airport, west_zone])
    room = clean(c.boundary.difference(avoid))
    hanma_box = clean(shapely.box(122.393, 51.334, 122.880, 51.830).intersection(room))
    hanma = c.fitted_blob((122.640, 51.580), 107348, within=hanma_box, aspect=1.3, angle=80, rough=0.3, n=80,
                          tag="hanma")
    c.protected_area("汗马国家级自然保护区", "自然保护区", "国家级", hanma, "legacy")
    gy_box = clean(shapely.box(121.567, 50.800, 122.567, 51.217).intersection(room))
    gy_line = genhe_r.intersection(gy_box)
    gy = c.corridor(gy_line, 59060.48, within=gy_box, tag="genheyuan")
    c.protected_area("根河源国家湿地公园", "湿地公园", "国家级", gy, "park")
    taken = union([c.buffer_ll(hanma, 300), c.buffer_ll(gy, 300)])
    for name, type_, center, ha, aspect, angle in [
        ("伊克萨玛国家森林公园", "森林公园", (121.820, 52.220), 15565, 1.5, 20),
        ("满归贝尔茨河国家湿地公园", "湿地公园", (122.000, 52.110), 9000, 1.8, 40),
        ("阿龙山敖鲁古雅国家湿地公园", "湿地公园", (121.960, 51.790), 6000, 1.6, 30),
    ]:
        g = c.fitted_blob(center, ha, within=clean(room.difference(taken)), aspect=aspect, angle=angle, tag=name)
        c.protected_area(name, type_, "国家级", g, "park")
        taken = union([taken, c.buffer_ll(g, 300)])
    pa = c.union_of("protected_area")

    # --- wetlands --------------------------------------------------------------------------
    c.add("wetland", c.corridor(gy_line, 20291.01, within=gy, tag="w_gy"), clip=False, name="根河源湿地",
          level="国家重要湿地")
    c.add("wetland", clean(c.corridor(jiliu, 9000, tag="w_jiliu").difference(union([urban, gy]))),
          name="激流河（贝尔茨河）河流湿地", level="自治区重要湿地")
    jinhe_line = c.geoms("river", name="金河")[0]
    c.add("wetland", clean(c.corridor(jinhe_line, 1800, tag="w_jinhe").difference(urban)), name="金河河流湿地",
          level="一般湿地")
    c.add("wetland", c.fitted_blob((122.550, 51.700), 2500, within=hanma, tag="w_hanma"), clip=False,
          name="汗马沼泽湿地", level="国家重要湿地")
    wet = c.union_of("wetland")

    # --- grassland (small: 16,000 head of livestock, GN L977) ----------------------------------
    grass_region = union([c.fitted_blob((121.330, 50.720), 3000, aspect=1.6, tag="g1"),
                          c.fitted_blob((121.050, 50.880), 2000, aspect=1.6, tag="g2")])
    extent = clean(grass_region.difference(union([urban, farmland, mine_all, wet, airport])))

    # --- red line (assumed 80 % of the county) -------------------------------------------
    # Commercial-forest management areas of the forest-industry companies stay outside (一般管控).
    forests = [((121.300, 51.100), 35000, 60), ((121.780, 51.420), 25000, 30), ((121.650, 51.900), 22000, 80),
               ((122.350, 52.000), 22000, 20)]
    commercial = union([c.fitted_blob(p, ha, aspect=1.6, angle=a, rough=0.35, tag=f"commercial{i}")
                        for i, (p, ha, a) in enumerate(forests)])
    commercial = clean(commercial.difference(c.buffer_ll(union([pa, wet, ws]), 1000)))
    county = area_m2(c.boundary)
    core = union([pa, wet, c.buffer_ll(union(c.geoms("river")), 300)])
    exclude = union([c.buffer_ll(urban, 1000), c.buffer_ll(mine_all, 500), farmland, airport, west_zone,
                     extent, commercial])
    red = c.redline(core, exclude, RED_SHARE * county, [
        ((122.640, 51.580), "生物多样性维护"), ((122.000, 51.000), "水源涵养"), ((121.850, 52.200), "水源涵养"),
        ((121.300, 51.300), "水源涵养"), ((122.300, 52.200), "生物多样性维护"), ((120.600, 50.700), "水土保持"),
        ((121.800, 51.600), "水源涵养"), ((121.000, 51.000), "水土保持"), ((122.300, 51.150), "生物多样性维护"),
    ], dmax=60000)
    no_graze = union([c.union_of("water_source", grade=("一级保护区", "二级保护区")), red])
    c.grassland(extent, [((121.330, 50.720), "好里堡", "一般草原"), ((121.050, 50.880), "得耳布尔镇", "一般草原")], no_graze)

    # --- control units (assumed 9 + 8 + 3) ------------------------------------------------
    priority = union([red, pa, ws, c.union_of("wetland", level=("国家重要湿地", "自治区重要湿地"))])
    keys = [
        KeyArea("根河市中心城区重点管控单元", c.buffer_ll(towns["seat"], 800),
                {"pollution_control": "城市建成区10蒸吨及以下燃煤锅炉已取消，不得新建（GH L26）。"}),
        KeyArea("敖鲁古雅乡重点管控单元", c.buffer_ll(towns["aoluguya"], 500),
                {"spatial_constraint": "敖鲁古雅乡民俗历史文化保护区实行整体保护（GH L819）。"}),
        KeyArea("根河航空护林站及通用机场重点管控单元", c.buffer_ll(airport, 500), {}),
        KeyArea("得耳布尔镇重点管控单元", c.buffer_ll(towns["derbur"], 600), {}),
        KeyArea("金河镇重点管控单元", c.buffer_ll(towns["jinhe"], 600), {}),
        KeyArea("阿龙山镇重点管控单元", c.buffer_ll(towns["alongshan"], 600), {}),
        KeyArea("满归镇重点管控单元", c.buffer_ll(towns["mangui"], 600), {}),
        KeyArea("西部绿色矿产开发区重点管控单元", union([west_zone, c.buffer_ll(mine_all, 500)]),
                {"spatial_constraint": "到2025年在期生产矿山全部达到绿色矿山建设标准（GH L683）。"}),
    ]
    build_units(c, priority, keys, COUNTS, priority_extra={
        "spatial_constraint": "饮用水水源一级保护区内禁止新建、改建、扩建与供水设施和保护水源无关的建设项目。"})
    c.facts.update(red_source="assumed 80 % of the county (the plans give no figure)",
                   units_source="assumed 9 + 8 + 3 (the plans give no counts)")
    c.sites = sites(c)
    return c


def sites(c: City) -> list[Site]:
    red = c.union_of("redline")
    pa = c.union_of("protected_area")
    ws_all = c.union_of("water_source")
    red_open = clean(red.difference(union([pa, ws_all, c.union_of("wetland")])))
    hm_exp = c.union_of("protected_area", name="汗马国家级自然保护区", zone="实验区")
    hm_buf = c.union_of("protected_area", name="汗马国家级自然保护区", zone="缓冲区")
    mg_park = c.union_of("protected_area", name="满归贝尔茨河国家湿地公园")
    ws1 = c.union_of("water_source", name="根河市城区根河饮用水水源地", grade="一级保护区")
    ws2 = c.union_of("water_source", name="根河市城区根河饮用水水源地", grade="二级保护区")
    ws2_land = clean(ws2.difference(c.buffer_ll(c.geoms("river", name="根河")[0], 60)))
    farm = c.union_of("farmland", name="好里堡永久基本农田保护片块")
    rail = c.geoms("railway", name="牙林铁路")[0]
    seat = c.union_of("urban_boundary", name="根河市中心城区城镇开发边界")
    quiet = clean(seat.difference(union([red, pa, ws_all, c.union_of("farmland"), c.union_of("wetland"),
                                         c.union_of("grassland")])))
    jinhe_wet = c.union_of("wetland", name="金河河流湿地")
    tailings = c.union_of("mine", name="呼伦贝尔山金矿业有限公司", feature="尾矿库")
    rail_farm = clean(c.buffer_ll(rail, 200).intersection(farm))
    offset = c.frame.ll(c.frame.m(rail).offset_curve(50.0)).intersection(c.buffer_ll(rail_farm, 300))
    offset = max(shapely.get_parts(offset), key=lambda g: g.length)
    # the forest road: from the railway at 牛耳河 to 500 m inside 汗马's experimental zone
    commercial = clean(c.union_of("control_unit", **{"class": "一般管控"}).difference(red))
    start = c.point(c.frame.lonlat(spot_in(c.frame, commercial, (121.800, 51.480), 200.0, 20000.0)))
    end = shapely.ops.nearest_points(hm_exp, c.point((122.300, 51.560)))[0]
    end_m = c.frame.m(end)
    inner = shapely.ops.nearest_points(c.frame.m(hm_exp).buffer(-500), end_m)[0]
    road = line_through(c, [(start.x, start.y), ((start.x + end.x) / 2, (start.y + end.y) / 2 + 0.03),
                            c.frame.lonlat((inner.x, inner.y))])
    return [
        Site("GH-01", "根河市汗马自然保护区生态疗养基地建设项目", "Q8416", "新建",
             blob_in(c, hm_exp, (122.450, 51.500), 3, "s1", max_shift=30000), ("pa_tourism", "plan_fixture"),
             "位于汗马国家级自然保护区实验区（红线内）：疗养公寓属旅游设施，限制，须符合保护区总体规划；GH L1105–L1110 规划项目（规划自身冲突）。",
             guotu="gbk"),
        Site("GH-02", "牛耳河至汗马林区公路", "E4812", "新建", road, ("redline_linear", "plan_fixture"),
             "林区公路自商品林经营区穿越生态保护红线并进入汗马保护区实验区：线性工程需不可避让论证，进入保护区需主管部门同意；GN L1212–L1216 规划项目。",
             linear=True, unavoidable=True),
        Site("GH-03", "呼伦贝尔山金矿业有限公司尾矿库治理及扩建工程", "B0912", "扩建",
             beside(c, tailings.boundary, (120.595, 51.010), 0, 500, 400, 1), ("plan_fixture",),
             "尾矿库扩建：需审查；GH L991–L1013 规划项目（232万立方米，上游新尾矿库）。"),
        Site("GH-04", "得耳布尔新建铅锌矿（红线内）", "B0912", "新建", blob_in(c, red_open, (121.150, 51.100), 30, "s4",
             max_shift=20000), ("redline_mining",), "位于生态保护红线内：新建采矿禁止（GEN-01）。", guotu="utf-8"),
        Site("GH-05", "根河市铜钼矿普查", "M7472", "新建", blob_in(c, red_open, (122.300, 51.300), 120, "s5",
             max_shift=30000), ("strategic_mineral",), "红线内战略性矿产勘查：属允许的有限人为活动，需依法报批。"),
        Site("GH-06", "汗马保护区缓冲区内木材加工点", "C2011", "新建", blob_in(c, hm_buf, (122.600, 51.450), 1, "s6",
             max_shift=30000), ("pa_core_production",), "位于国家级自然保护区缓冲区：禁止建设生产设施（条例第32条）。",
             guotu="gbk"),
        Site("GH-07", "根河蓝莓饮品有限公司野生浆果深加工项目", "C1523", "新建",
             blob_in(c, ws2_land, (121.630, 50.830), 2, "s7", max_shift=8000),
             ("water_grade2_polluting", "plan_fixture"),
             "位于城区水源地二级保护区：禁止新建排放污染物的建设项目；GH L1142–L1151 规划项目。"),
        Site("GH-08", "根河市城区水源地取水工程改造", "E4821", "改建", point_in(c, ws1, (121.600, 50.815), 10.0),
             ("water_grade1_supply",), "一级保护区内供水设施改建：允许（第65条）。"),
        Site("GH-09", "牙林铁路扩能改造工程（国家重大项目）", "E4811", "改建", line_through(c, list(offset.coords)),
             ("farmland_national_major",), "占用永久基本农田：国家重大项目难以避让的，报国务院批准；并穿越生态保护红线，需不可避让论证。",
             linear=True, national_major=True, unavoidable=True),
        Site("GH-10", "好里堡物流仓储项目", "E4790", "新建", blob_in(c, farm, (121.450, 50.700), 3, "s10"),
             ("farmland_ordinary",), "占用永久基本农田：一般项目禁止占用。", guotu="utf-8"),
        Site("GH-11", "金河镇新建建筑用砂石矿（临牙林铁路）", "B1019", "新建", beside(c, rail, (121.560, 51.250), 200, 240, 180, 1),
             ("mine_setback",), "距牙林铁路约200米：铁路线路两侧一定范围内禁止采矿、爆破（铁路安全管理条例）；且位于生态保护红线内，新建采矿禁止。"),
        Site("GH-12", "内蒙古冷极村建设项目（湿地公园、自驾营地、栈道）", "N7869", "新建",
             box_at(c, jinhe_wet, c.places["lengji"], 300, 200), ("wetland_occupation", "plan_fixture"),
             "占用金河河流湿地且位于生态保护红线内：严禁擅自改变湿地用途（GH L845），旅游设施限制；GH L1093–L1102 规划项目。"),
        Site("GH-13", "飞行器极寒测试基地锅炉房", "D4430", "新建", blob_in(c, quiet, (121.500, 50.775), 0.5, "s13"),
             ("boiler_no_burn", "plan_fixture"), "位于城市建成区：不得新建10蒸吨及以下燃煤锅炉（GH L26、GEN-39），宜采用清洁能源；GH L1154–L1159 规划项目。"),
        Site("GH-14", "河西街道保障性住房项目", "E4710", "新建", blob_in(c, quiet, (121.530, 50.790), 2, "s14"),
             ("clear",), "位于中心城区城镇开发边界内，不涉及红线、保护地、水源地、农田、湿地：无空间冲突。"),
        Site("GH-15", "根河至额尔古纳跨界旅游服务区", "N7869", "新建", straddle(c, (120.450, 50.720), 800, 600),
             ("partly_outside",), "部分位于额尔古纳市境内：超出工作空间范围，应报 not_covered。"),
        Site("GH-16", "满归贝尔茨河国家湿地公园建设项目", "N7869", "新建", blob_in(c, mg_park, (122.000, 52.110), 2, "s16",
             max_shift=10000), ("pa_tourism", "plan_fixture"),
             "位于国家湿地公园（一般控制区，红线内）：宣教、合理利用设施需符合总体规划；GH L982–L987 规划项目。"),
    ]
