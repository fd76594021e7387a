"""满洲里市 Manzhouli (150781): small border city on the Hulunbuir steppe.

Plan: MZL = seed 002 (《满洲里市“十四五”生态环境保护规划》).  Calibrated to
the red line of 71.39 km² (MZL L7) and 15 control units, 5 优先保护 + 10
重点管控 (MZL L230).  Place names from the plan (二卡, 霍勒金布拉格, 第二水源地,
新开河, 乌日根河, 霍尔津河, 东湖区, 二子湖) and BACKGROUND (滨洲铁路, G301);
all positions and sizes are synthetic.
"""

from __future__ import annotations

from ..geom import clean, union
from ..layers import City
from ..sites import Site, beside, blob_in, box_at, box_in, line_through, point_in, ray, straddle
from ..units import KeyArea, build_units

KEY = "manzhouli"
RED_TARGET_KM2 = 71.39
COUNTS = (5, 10, 0)


def build() -> City:
    c = City(KEY, "150781", "满洲里市")
    P = c.places
    P.update({
        "center": (117.425, 49.586), "donghu": (117.565, 49.551), "xinkaihe": (117.665, 49.518),
        "port": (117.352, 49.624), "erka": (117.832, 49.466), "second_ws": (117.300, 49.562),
        "donghu_ws": (117.585, 49.566), "huolejin": (117.287, 49.598),
    })
    c.add("admin", c.boundary, clip=False, name="满洲里市", adcode=c.adcode, level="县级")

    # --- lines ---------------------------------------------------------------
    rail = c.line([(117.336, 49.640), (117.400, 49.594), (117.480, 49.572), (117.580, 49.546), (117.660, 49.522),
                   (117.730, 49.492), (117.768, 49.445), (117.762, 49.350)], amp=150, wavelength=9000, tag="rail")
    c.add("railway", rail, name="滨洲铁路", level="国家铁路")
    spur = c.line([(117.768, 49.445), (117.790, 49.420), (117.792, 49.402)], amp=60, tag="spur")
    c.add("railway", spur, name="南区煤矿铁路专用线", level="专用线")
    g301 = c.line([(117.360, 49.612), (117.440, 49.583), (117.560, 49.550), (117.650, 49.522),
                   (117.725, 49.497), (117.756, 49.460), (117.752, 49.355)], amp=180, tag="g301")
    c.add("road", g301, name="G301", level="国道")
    road_s = c.line([(117.400, 49.585), (117.372, 49.545), (117.352, 49.515)], amp=120, tag="s")
    c.add("road", road_s, name="满洲里至新巴尔虎右旗公路", level="省道")
    road_x = c.line([(117.565, 49.550), (117.700, 49.513), (117.800, 49.500), (117.828, 49.470)], amp=150, tag="x")
    c.add("road", road_x, name="满洲里至二卡公路", level="县道")
    road_b = c.line([(117.275, 49.626), (117.352, 49.628), (117.450, 49.617)], amp=80, tag="border")
    c.add("road", road_b, name="中俄边境巡逻路", level="乡道")

    huoerjin = c.line([(117.268, 49.626), (117.290, 49.592), (117.330, 49.556), (117.362, 49.531),
                       (117.382, 49.512)], amp=250, wavelength=4000, tag="huoerjin")
    c.add("river", huoerjin, name="霍尔津河", level="支流")
    xinkai = c.line([(117.515, 49.612), (117.552, 49.572), (117.600, 49.542), (117.650, 49.527),
                     (117.720, 49.507), (117.792, 49.488)], amp=220, wavelength=4000, tag="xinkai")
    c.add("river", xinkai, name="新开河", level="支流")
    wurigen = c.line([(117.748, 49.366), (117.772, 49.418), (117.795, 49.462)], amp=150, tag="wurigen")
    c.add("river", wurigen, name="乌日根河", level="支流")
    dalan = c.line([(117.738, 49.440), (117.790, 49.466), (117.830, 49.492), (117.862, 49.506)], amp=200,
                   wavelength=3000, tag="dalan")
    c.add("river", dalan, name="达兰鄂罗木河", level="干流")

    # --- settlements, parks, mines -----------------------------------------------
    urban_c = c.fitted_blob(P["center"], 2900, aspect=2.6, angle=-12, tag="urban_c")
    urban_d = c.fitted_blob(P["donghu"], 480, aspect=1.6, angle=-20, tag="urban_d")
    urban_x = c.fitted_blob(P["xinkaihe"], 120, aspect=1.5, angle=-25, tag="urban_x")
    c.add("urban_boundary", urban_c, name="满洲里市中心城区城镇开发边界")
    c.add("urban_boundary", urban_d, name="东湖区城镇开发边界")
    c.add("urban_boundary", urban_x, name="新开河镇城镇开发边界")
    urban = union([urban_c, urban_d, urban_x])
    c.add("no_burn_zone", c.fitted_blob((117.428, 49.587), 1600, within=urban_c, aspect=2.2, angle=-12, tag="nb"),
          clip=False, name="满洲里市中心城区高污染燃料禁燃区")

    trade = c.fitted_blob(P["port"], 300, aspect=1.8, tag="trade")
    bonded = c.fitted_blob((117.468, 49.566), 250, aspect=1.3, tag="bonded")
    border_zone = c.fitted_blob((117.505, 49.600), 520, aspect=1.5, angle=30, tag="bez")
    processing = c.fitted_blob((117.530, 49.574), 300, aspect=1.4, tag="proc")

    mines = [
        ("满洲里市南区露天煤矿", "煤炭", "在产", "露天", "自治区级绿色矿山", "2031-06-30", "采场", (117.772, 49.398), 160),
        ("满洲里市南区露天煤矿", "煤炭", "在产", "露天", "自治区级绿色矿山", "2031-06-30", "排土场", (117.760, 49.378), 120),
        ("满洲里市南区露天煤矿", "煤炭", "在产", "露天", "自治区级绿色矿山", "2031-06-30", "工业场地", (117.758, 49.414), 18),
        ("满洲里市南区井工煤矿", "煤炭", "责任主体灭失", "井工", "否", "2012-12-31", "采煤沉陷区", (117.795, 49.424), 110),
        ("满洲里市西郊建筑用砂石矿", "建筑用砂石", "在产", "露天", "否", "2027-03-31", "采场", (117.268, 49.575), 35),
        ("满洲里市北郊历史遗留采石场", "建筑用石料", "历史遗留", "露天", "否", "2008-12-31", "采场", (117.300, 49.621), 25),
    ]
    mine_all = c.add_mines(mines)

    # Protected areas (MZL L11, L254, L306); sizes are assumptions.
    erka = c.fitted_blob(P["erka"], 2600, aspect=2.2, angle=75, tag="erka")
    c.protected_area("满洲里市二卡湿地自然保护区", "自然保护区", "自治区级", erka, "new")
    erka_park = clean(c.fitted_blob((117.812, 49.507), 620, aspect=1.5, angle=20, tag="erka_park").difference(erka))
    c.protected_area("二卡国家湿地公园", "湿地公园", "国家级", erka_park, "park")
    hl = c.fitted_blob(P["huolejin"], 480, aspect=1.4, angle=60, tag="hl")
    c.protected_area("霍勒金布拉格国家湿地公园", "湿地公园", "国家级", hl, "park")
    pa = c.union_of("protected_area")

    # Water sources: groundwater well fields (MZL L277 names the 第二水源地).
    c.water_source("满洲里市第二水源地", "地下水", c.fitted_blob(P["second_ws"], 45, tag="ws2"), (500.0, 900.0))
    c.water_source("满洲里市东湖水源地", "地下水", c.fitted_blob(P["donghu_ws"], 25, tag="ws_d"), (400.0, 700.0))
    ws = c.union_of("water_source")

    # Farmland: the 东湖区 vegetable base along 新开河 and 二子湖 (MZL L225).
    fexcl = union([urban, c.union_of("water_source", grade="一级保护区"), processing,
                   c.buffer_ll(xinkai, 40), bonded, border_zone])
    for i, (center, ha) in enumerate([((117.535, 49.546), 520), ((117.612, 49.545), 330), ((117.690, 49.512), 160)]):
        g = clean(c.fitted_blob(center, ha, aspect=1.8, angle=-20, tag=f"farm{i}").difference(fexcl))
        c.add("farmland", g, name=f"东湖区永久基本农田保护片块{i + 1:02d}")
    farmland = c.union_of("farmland")

    # Wetlands.
    c.add("wetland", c.corridor(dalan, 900, tag="w_dalan"), name="达兰鄂罗木河湿地", level="国家重要湿地")
    c.add("wetland", clean(c.fitted_blob((117.835, 49.455), 700, aspect=2.0, angle=75, tag="w_erka")
                           .intersection(erka)), name="二卡湿地", level="自治区重要湿地")
    c.add("wetland", c.fitted_blob((117.588, 49.543), 110, aspect=1.3, tag="w_erzi").difference(urban),
          name="二子湖湿地", level="自治区重要湿地")
    c.add("wetland", clean(c.corridor(xinkai, 260, tag="w_xinkai").difference(urban)), name="新开河河流湿地",
          level="一般湿地")
    c.add("wetland", clean(c.corridor(huoerjin, 220, tag="w_huo").difference(urban)), name="霍尔津河河流湿地",
          level="一般湿地")
    wet = c.union_of("wetland")

    c.add("sand_closure", c.fitted_blob((117.262, 49.538), 240, aspect=1.6, angle=10, tag="sand"),
          name="满洲里市西南部沙化土地封禁保护区")
    sand = c.union_of("sand_closure")

    # --- red line (MZL L7: 71.39 km²) ---------------------------------------------
    key_geoms = union([trade, bonded, border_zone, processing])
    patches = [c.fitted_blob(p, ha, aspect=1.6, angle=a, rough=0.3, tag=f"red{i}") for i, (p, ha, a) in enumerate([
        ((117.362, 49.542), 320, 40), ((117.475, 49.536), 260, -20), ((117.808, 49.432), 240, 70),
        ((117.455, 49.613), 180, 0), ((117.300, 49.535), 150, 10)])]
    core = union([pa, c.union_of("wetland", level=("国家重要湿地", "自治区重要湿地")), sand,
                  c.buffer_ll(huoerjin, 150), *patches])
    exclude = union([c.buffer_ll(urban, 200), key_geoms, farmland, c.buffer_ll(mine_all, 250),
                     c.buffer_ll(rail, 60), c.buffer_ll(g301, 60)])
    red = c.redline(core, exclude, RED_TARGET_KM2 * 1e6, [
        ((117.830, 49.470), "生物多样性维护"), ((117.290, 49.595), "水源涵养"), ((117.770, 49.385), "防风固沙"),
        ((117.640, 49.530), "水土保持"), ((117.540, 49.600), "水源涵养"), ((117.262, 49.540), "防风固沙"),
    ], dmax=3000)

    # --- grassland (MZL L254, L304) ------------------------------------------------
    extent = clean(c.boundary.difference(union([urban, farmland, mine_all, key_geoms, c.union_of("wetland"),
                                                 c.buffer_ll(rail, 30)])))
    no_graze = union([red, c.union_of("protected_area", zone="核心保护区"),
                      c.union_of("water_source", grade=("一级保护区", "二级保护区"))])
    c.grassland(extent, [
        ((117.300, 49.600), "满洲里市西部", "基本草原"), ((117.470, 49.545), "满洲里市南郊", "一般草原"),
        ((117.560, 49.600), "东湖区北部", "基本草原"), ((117.760, 49.500), "二卡牧场", "基本草原"),
        ((117.780, 49.400), "满洲里市南区", "基本草原"),
    ], no_graze)

    # --- control units (MZL L230: 5 优先保护 + 10 重点管控) ----------------------------
    priority = union([red, pa, ws, wet, sand])
    keys = [
        KeyArea("中俄互市贸易区重点管控单元", trade, {}),
        KeyArea("满洲里综合保税区重点管控单元", bonded, {"risk_control": "保税仓储危险货物实行专区存放。"}),
        KeyArea("满洲里边境经济合作区重点管控单元", border_zone, {}),
        KeyArea("满洲里进口资源加工园区重点管控单元", processing,
                {"pollution_control": "木材加工企业执行VOCs无组织排放控制要求。"}),
        KeyArea("满洲里市中心城区重点管控单元", urban_c,
                {"pollution_control": "建成区10蒸吨/小时及以下燃煤锅炉全部淘汰（MZL L267）。"}),
        KeyArea("东湖区重点管控单元", union([urban_d, farmland]), {}),
        KeyArea("新开河镇重点管控单元", c.buffer_ll(urban_x, 300), {}),
        KeyArea("满洲里市南区采矿用地重点管控单元", c.buffer_ll(union(c.geoms("mine", name=(
            "满洲里市南区露天煤矿", "满洲里市南区井工煤矿"))), 300),
                {"spatial_constraint": "到2025年全部矿山达到国家或自治区级绿色矿山建设标准（MZL L306）。"}),
        KeyArea("满洲里市西郊采矿用地重点管控单元", c.buffer_ll(union(c.geoms("mine", name=(
            "满洲里市西郊建筑用砂石矿", "满洲里市北郊历史遗留采石场"))), 300), {}),
        KeyArea("二卡生态需水补给区重点管控单元", c.fitted_blob((117.790, 49.445), 900, aspect=1.4, tag="eco_water"),
                {"resource_efficiency": "保障二卡湿地生态流量（MZL L276）。"}),
    ]
    build_units(c, priority, keys, COUNTS, priority_extra={
        "spatial_constraint": "饮用水水源一级保护区内禁止新建、改建、扩建与供水设施和保护水源无关的建设项目。"})
    c.facts.update(red_source="MZL L7 (71.39 km², 15.36%)", units_source="MZL L230 (5 + 10 + 0)")
    c.sites = sites(c)
    return c


def sites(c: City) -> list[Site]:
    red = c.union_of("redline")
    pa_core = c.union_of("protected_area", zone="核心保护区")
    pa_gen = c.union_of("protected_area", zone="一般控制区")
    ws1 = c.union_of("water_source", grade="一级保护区")
    ws2 = c.union_of("water_source", grade="二级保护区")
    farm = c.union_of("farmland")
    grass = c.union_of("grassland")
    wet = c.union_of("wetland")
    nb = c.union_of("no_burn_zone")
    dump = c.union_of("mine", feature=("排土场", "采煤沉陷区"))
    rail = c.geoms("railway", name="滨洲铁路")[0]
    protected = c.union_of("redline").union(c.union_of("protected_area")).union(c.union_of("water_source"))
    urban = c.union_of("urban_boundary")
    quiet = clean(urban.difference(union([protected, farm, wet, grass, nb])))
    pa = c.union_of("protected_area")
    red_open = clean(red.difference(union([pa, wet, c.union_of("water_source")])))
    grass_open = clean(grass.difference(union([red, pa, c.union_of("water_source"), farm, wet])))
    heat = ray(c, (117.405, 49.578), 215.0)
    return [
        Site("MZL-01", "二卡地区新建建筑用砂石矿", "B1019", "新建", blob_in(c, red_open, (117.808, 49.432), 12, "s1"),
             ("redline_mining",), "位于生态保护红线内：新建采矿不属于允许的有限人为活动，禁止。", guotu="gbk"),
        Site("MZL-02", "达赉湖热电公司至满洲里市长距离供热管线", "E4852", "新建", heat,
             ("redline_linear", "plan_fixture"),
             "线性工程穿越生态保护红线（霍尔津河段）：需不可避让论证，符合县级以上国土空间规划方可；MZL L266 规划项目。",
             linear=True, unavoidable=True),
        Site("MZL-03", "满洲里市南郊铜多金属矿普查", "M7472", "新建", blob_in(c, red_open, (117.475, 49.536), 40, "s3"),
             ("strategic_mineral",), "红线内战略性矿产勘查：属允许的有限人为活动（第7类），需报批并落实生态保护措施。"),
        Site("MZL-04", "二卡国家湿地公园基础设施建设项目", "N7869", "新建",
             blob_in(c, clean(pa_gen.difference(pa_core)), (117.815, 49.505), 3, "s4"),
             ("pa_tourism", "plan_fixture"),
             "位于二卡国家湿地公园一般控制区（红线内）：适度旅游及配套设施限制准入，需符合总体规划；MZL L306 规划项目。"),
        Site("MZL-05", "二卡湿地保护区内养殖场", "A0314", "新建", blob_in(c, pa_core, (117.835, 49.46), 4, "s5"),
             ("pa_core_production",), "位于二卡湿地自然保护区核心保护区：原则上禁止人为活动，禁止建设生产设施。", guotu="utf-8"),
        Site("MZL-06", "第二水源地二级保护区内牲畜屠宰厂", "C1351", "新建",
             blob_in(c, ws2, (117.292, 49.568), 2, "s6"), ("water_grade2_polluting",),
             "位于满洲里市第二水源地二级保护区：禁止新建排放污染物的建设项目（水污染防治法第66条）。", guotu="gbk"),
        Site("MZL-07", "第二水源地新增取水井", "D4610", "扩建", point_in(c, ws1, c.places["second_ws"]),
             ("water_grade1_supply",), "位于一级保护区：与供水设施和保护水源有关的建设项目可以建设（第65条）。"),
        Site("MZL-08", "滨洲铁路满洲里段扩能改造（国家重大项目）", "E4811", "改建",
             box_in(c, clean(farm.buffer(0.004).intersection(c.boundary)), (117.540, 49.548), 1400, 60, -15),
             ("farmland_national_major",), "占用永久基本农田：国家重大项目确实难以避让的，经国务院批准后方可占用（土地管理法第35条）。",
             linear=False, national_major=True),
        Site("MZL-09", "东湖区物流仓储园", "E4790", "新建", blob_in(c, farm, (117.612, 49.546), 6, "s9"),
             ("farmland_ordinary",), "占用永久基本农田：一般建设项目禁止占用。", guotu="utf-8"),
        Site("MZL-10", "满洲里市西郊新建褐煤露天矿", "B0620", "新建", blob_in(c, grass_open, (117.45, 49.535), 30, "s10"),
             ("grassland_mining",), "位于草原（红线外）：严禁在草原上新上矿产资源开发等工业项目（MZL L304）。"),
        Site("MZL-11", "滨洲铁路旁建筑用砂石矿", "B1019", "新建", beside(c, rail, (117.700, 49.507), 180, 220, 160, -1),
             ("mine_setback",), "距滨洲铁路约180米：铁路线路安全保护区及两侧禁止采矿，需铁路部门同意（铁路安全管理条例）。"),
        Site("MZL-12", "新开河湿地旁物流停车场", "E4790", "新建",
             box_at(c, c.union_of("wetland", name="新开河河流湿地"), (117.69, 49.513), 120, 80),
             ("wetland_occupation",), "占用河流湿地：需湿地占用审批并落实补偿（湿地保护法）。"),
        Site("MZL-13", "中心城区新建燃煤热水锅炉房", "D4430", "新建", blob_in(c, nb, (117.43, 49.588), 0.6, "s13"),
             ("boiler_no_burn",), "位于高污染燃料禁燃区：禁止新建燃用高污染燃料的设施（MZL L6、L266）。"),
        Site("MZL-14", "互市贸易区商业综合体", "E4790", "新建", blob_in(c, quiet, (117.40, 49.585), 3, "s14"),
             ("clear",), "位于城镇开发边界和重点管控单元内，不涉及红线、保护地、水源地、农田、湿地：无空间冲突。"),
        Site("MZL-15", "中俄边境跨境物流通道", "E4812", "新建", straddle(c, (117.34, 49.64), 400, 600),
             ("partly_outside",), "部分位于满洲里市域外（俄罗斯境内）：超出工作空间范围，应报 not_covered。"),
        Site("MZL-16", "南区采煤沉陷区光伏+生态治理项目", "D4416", "新建",
             blob_in(c, dump, (117.795, 49.424), 20, "s16"), ("energy_on_mine_land",),
             "位于采煤沉陷区：新建光伏重点布局在采煤沉陷区、露天矿排土场，鼓励（MZL L304）。", guotu="gbk"),
        Site("MZL-17", "中俄边境界务巡逻道路维护工程", "E4812", "改建",
             line_through(c, [(117.300, 49.628), (117.330, 49.630)]), ("border_works",),
             "边境巡逻道路维护：属红线内允许的边境界务活动（第9类）或边防设施，提示。", linear=True),
    ]
