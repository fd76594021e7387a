"""Interface text of the web app: Chinese first, English on request."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "title": {"zh": "ecogis 选址生态审查", "en": "ecogis site screening"},
    "login": {"zh": "登录", "en": "Sign in"},
    "logout": {"zh": "退出", "en": "Sign out"},
    "user": {"zh": "用户名", "en": "User name"},
    "password": {"zh": "密码", "en": "Password"},
    "login_failed": {"zh": "用户名或密码错误", "en": "Wrong user name or password"},
    "screen": {"zh": "选址审查", "en": "Screen a site"},
    "batch": {"zh": "批量审查", "en": "Batch screening"},
    "history": {"zh": "审查记录", "en": "History"},
    "layers": {"zh": "图层", "en": "Layers"},
    "users": {"zh": "用户", "en": "Users"},
    "files": {"zh": "选址文件（国土TXT、KML/KMZ、Shapefile压缩包、GeoJSON、CSV）",
              "en": "Site file (国土TXT, KML/KMZ, zipped Shapefile, GeoJSON, CSV)"},
    "or_draw": {"zh": "或在地图上绘制", "en": "or draw on the map"},
    "point": {"zh": "点", "en": "Point"}, "line": {"zh": "线", "en": "Line"},
    "polygon": {"zh": "面", "en": "Polygon"}, "finish": {"zh": "完成", "en": "Finish"},
    "clear": {"zh": "清除", "en": "Clear"},
    "industry": {"zh": "行业（GB/T 4754-2017，可输入代码、名称或拼音首字母）",
                 "en": "Industry (GB/T 4754-2017: code, name or pinyin initials)"},
    "nature": {"zh": "建设性质", "en": "Nature"},
    "activity": {"zh": "申报活动", "en": "Declared activities"},
    "name": {"zh": "项目名称", "en": "Project name"},
    "submit": {"zh": "开始审查", "en": "Screen"},
    "verdict": {"zh": "结论", "en": "Verdict"},
    "findings": {"zh": "冲突", "en": "Findings"},
    "downloads": {"zh": "下载", "en": "Downloads"},
    "rescreen": {"zh": "按现行数据重新审查", "en": "Re-screen against today's data"},
    "changes": {"zh": "与上次审查相比的变化", "en": "What changed since the earlier screening"},
    "no_changes": {"zh": "结论与冲突均无变化", "en": "No change in verdicts or findings"},
    "search": {"zh": "搜索", "en": "Search"},
    "when": {"zh": "时间", "en": "When"}, "who": {"zh": "审查人", "en": "Who"},
    "input": {"zh": "输入", "en": "Input"}, "sites": {"zh": "地块", "en": "Sites"},
    "versions": {"zh": "数据与规则版本", "en": "Data and rule versions"},
    "rule": {"zh": "规则", "en": "Rule"}, "severity": {"zh": "程度", "en": "Severity"},
    "feature": {"zh": "要素", "en": "Feature"}, "overlap": {"zh": "重叠", "en": "Overlap"},
    "basis": {"zh": "依据", "en": "Legal basis"},
    "progress": {"zh": "进度", "en": "Progress"},
    "import": {"zh": "导入图层", "en": "Import a layer"},
    "kind": {"zh": "图层类型", "en": "Layer kind"}, "version": {"zh": "版本", "en": "Version"},
    "replace": {"zh": "替换现有图层", "en": "Replace the existing layer"},
    "role": {"zh": "角色", "en": "Role"}, "add_user": {"zh": "添加用户", "en": "Add user"},
    "error": {"zh": "错误", "en": "Error"}, "forbidden": {"zh": "无权执行此操作", "en": "You may not do this"},
    "new": {"zh": "新建", "en": "new"}, "rebuild": {"zh": "改建", "en": "rebuild"},
    "extend": {"zh": "扩建", "en": "extension"},
    "token": {"zh": "API 令牌", "en": "API token"},
}


def t(key: str, lang: str) -> str:
    e = TEXT.get(key)
    return (e.get(lang) or e["zh"]) if e else key
