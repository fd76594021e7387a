"""国土TXT (界址点坐标交换格式) reader.

The boundary-point exchange file every land application carries::

    [属性描述]
    格式版本号=1.01
    坐标系=2000国家大地坐标系
    几度分带=3
    投影类型=高斯克吕格
    计量单位=米
    带号=39
    精度=0.0001
    转换参数=,,,,,,
    [地块坐标]
    5,1.2000,1,某地块,面,K50G001001,采矿用地,0602,@
    J1,1,4863012.3456,39419700.1234
    …

Each parcel is a header line ending in ``@`` (界址点数, 地块面积 in hectares,
地块编号, 地块名称, 记录图形属性 面/线/点, 图幅号, 地块用途, 地类编码, sometimes
more) followed by one line per vertex ``点号,圈号,X,Y``.  X is the *northing*
and Y the *easting* (zone number in front, or not), the reverse of GIS x/y.

What real files look like, and what this reader therefore accepts (see the
public converters and format notes the tests are modelled on): GBK or UTF-8
(with or without BOM), CRLF, full-width commas and digits, blank lines,
trailing spaces and stray trailing commas, an optional ``[扩展信息]`` section,
header lines with 7 to 13 fields, 点号 written ``J1`` or ``1``, and rings
written *without* the closing repeat (several ArcGIS export tools have a
"首末点不重合" option): such rings are closed, with a note.  Everything else
that does not make sense is a :class:`~ecogis.errors.GuotuTxtError` naming the
file and the line.
"""

from __future__ import annotations

import codecs
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecogis.errors import CRSError, GuotuTxtError
from ecogis.fileutil import check_input_file
from ecogis.notes import Notes
from ecogis.read.crs import GKZone, check_coordinates
from ecogis.settings import settings

__all__ = ["read_guotu", "HEADER_KEYS", "RECORD_TYPES", "zone_half_width"]

ATTR_SECTION = "属性描述"
COORD_SECTION = "地块坐标"
RECORD_TYPES = ("面", "线", "点")

#: Canonical 属性描述 keys and the spellings seen in files.
HEADER_KEYS: dict[str, tuple[str, ...]] = {
    "格式版本号": ("格式版本号", "版本号", "格式版本"),
    "数据产生单位": ("数据产生单位", "数据生产单位", "生产单位"),
    "数据产生日期": ("数据产生日期", "数据生产日期", "生产日期"),
    "坐标系": ("坐标系", "坐标系统", "大地坐标系", "平面坐标系"),
    "几度分带": ("几度分带", "分带", "分带方式", "投影分带", "分带类型"),
    "投影类型": ("投影类型", "投影方式", "投影"),
    "计量单位": ("计量单位", "坐标单位", "长度单位", "单位"),
    "带号": ("带号", "投影带号", "分带号"),
    "精度": ("精度",),
    "转换参数": ("转换参数", "七参数"),
}
_ALIAS = {alias: key for key, aliases in HEADER_KEYS.items() for alias in aliases}

# Full-width ASCII (！…～) to ASCII, ideographic space to space, 【】 to [].
_FW = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_FW.update({0x3000: 0x20, ord("【"): ord("["), ord("】"): ord("]")})

_SECTION_RE = re.compile(r"^\[\s*(.+?)\s*\]$")
_FIELD_SPLIT = re.compile(r"[,，]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_METRES = {"米", "m", "metre", "meter", "metres", "meters", "公尺"}

#: Northings in China are positive and below ~6 200 km (53.6°N).
_MAX_NORTHING = 6_200_000.0


def zone_half_width(width: int) -> float:
    """Largest accepted distance (m) of an easting from the zone's central meridian.

    A 3-degree zone is about ±130 km wide at 40°N; 400 km leaves room for data
    computed in a neighbouring zone's projection but refuses numbers that
    cannot belong to it.  6-degree zones get 700 km, as in
    :func:`ecogis.read.crs.check_coordinates`.
    """
    return 400_000.0 if width == 3 else 700_000.0


def _clip(value: object, width: int = 40) -> str:
    """``repr(value)``, cut to about ``width`` characters so a hostile value cannot flood a message."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…'"


def _fw(text: str) -> str:
    """Full-width ASCII to half-width, stripped."""
    return text.translate(_FW).strip()


@dataclass
class _Parsed:
    """What the line scan found, before any checks on the numbers."""

    header: dict[str, str] = field(default_factory=dict)
    header_lines: dict[str, int] = field(default_factory=dict)
    attr_line: int | None = None
    coord_line: int | None = None
    parcels: list[tuple[int, list[str]]] = field(default_factory=list)
    v_line: list[int] = field(default_factory=list)
    v_parcel: list[int] = field(default_factory=list)
    v_pid: list[str] = field(default_factory=list)
    v_ring: list[str] = field(default_factory=list)
    v_x: list[str] = field(default_factory=list)
    v_y: list[str] = field(default_factory=list)
    ignored: list[int] = field(default_factory=list)
    n_lines: int = 0
    last_line: int = 0
    complete: bool = True


class _Reader:
    """One read of one file: holds the path and notes so every error can name them."""

    def __init__(self, path: Path, notes: Notes) -> None:
        self.path = path
        self.notes = notes
        self.parsed = _Parsed()

    # -- errors -----------------------------------------------------------

    def error(self, message: str, line: int | None, hint: str | None = None) -> GuotuTxtError:
        p = self.parsed
        if line is not None and not p.complete and line == p.last_line:
            message = "the file ends in the middle of this line (truncated?): " + message
            hint = hint or "the file was probably cut off while copying or downloading; get the whole file again"
        return GuotuTxtError(message, path=self.path, where=None if line is None else f"line {line}", hint=hint)

    # -- bytes to text ----------------------------------------------------

    def decode(self) -> str:
        path = self.path
        if path.is_file() and path.stat().st_size == 0:
            raise GuotuTxtError("file is empty (0 bytes); a 国土TXT file needs [属性描述] and [地块坐标]",
                                path=path, where="line 1")
        check_input_file(path)
        data = path.read_bytes()
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            try:
                text, enc = data.decode("utf-16"), "UTF-16"
            except UnicodeDecodeError as exc:
                raise self._bad_bytes(data, exc.start, "is marked UTF-16 but does not decode") from None
        else:
            nul = data.find(b"\x00")
            if nul >= 0:
                raise self._bad_bytes(data, nul, "holds binary data (a zero byte), not text")
            try:
                text = data.decode("utf-8-sig")
                enc = "UTF-8 with BOM" if data.startswith(codecs.BOM_UTF8) else "UTF-8"
            except UnicodeDecodeError:
                try:
                    text, enc = data.decode("gb18030"), "GB18030 (GBK)"
                except UnicodeDecodeError as exc:
                    raise self._bad_bytes(data, exc.start, "is neither UTF-8 nor GBK/GB18030 text") from None
        text = text.rstrip("\x1a")  # DOS end-of-file marker some old tools append
        m = _CONTROL_RE.search(text)
        if m:
            line = text.count("\n", 0, m.start()) + 1
            raise GuotuTxtError(
                f"holds binary data (control character U+{ord(m.group()):04X}), not text",
                path=path, where=f"line {line}", hint="is this really the 国土TXT coordinate file?",
            )
        self.notes.add("encoding", f"国土TXT read as {enc}")
        return text

    def _bad_bytes(self, data: bytes, offset: int, what: str) -> GuotuTxtError:
        line = data.count(b"\n", 0, offset) + 1
        return GuotuTxtError(
            f"{what} (byte 0x{data[offset]:02X} at offset {offset})",
            path=self.path, where=f"line {line}", hint="is this really the 国土TXT coordinate file?",
        )

    # -- line scan ----------------------------------------------------------

    def scan(self, text: str) -> _Parsed:
        p = self.parsed
        p.complete = text.endswith(("\n", "\r")) or not text
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        p.n_lines = len(lines) - (1 if p.complete else 0)
        section: str | None = None
        for no, raw in enumerate(lines, start=1):
            s = raw.strip()
            if not s:
                continue
            p.last_line = no
            m = _SECTION_RE.match(_fw(s)) if s[0] in "[［【" else None
            if m:
                name = m.group(1).replace(" ", "")
                section = name
                if name == ATTR_SECTION and p.attr_line is None:
                    p.attr_line = no
                elif name == COORD_SECTION and p.coord_line is None:
                    p.coord_line = no
                continue
            if section == COORD_SECTION:
                self._coord_line(no, s)
            elif section in (None, ATTR_SECTION):
                self._attr_line(no, s, known_only=section is None)
            # other sections ([扩展信息] …) are skipped
        return p

    def _attr_line(self, no: int, s: str, *, known_only: bool) -> None:
        p = self.parsed
        m = re.match(r"^([^=＝:：]+)[=＝:：](.*)$", s)
        if not m:
            p.ignored.append(no)
            return
        key = _fw(m.group(1)).replace(" ", "")
        value = m.group(2).strip()
        canon = _ALIAS.get(key, key)
        if known_only and canon not in HEADER_KEYS:
            p.ignored.append(no)
            return
        if canon not in p.header:
            p.header[canon] = value
            p.header_lines[canon] = no

    def _coord_line(self, no: int, s: str) -> None:
        p = self.parsed
        fields = s.translate(_FW).split(",")
        while fields and not fields[-1].strip():
            fields.pop()  # stray trailing commas
        if fields and fields[-1].strip().endswith("@"):
            raw = [f.strip() for f in _FIELD_SPLIT.split(s)]
            while raw and raw[-1] == "":
                raw.pop()
            body = raw[:-1]
            if fields[-1].strip() != "@":  # "…,0602@"
                body.append(raw[-1].rstrip("@＠").strip())
            p.parcels.append((no, body))
            return
        if not p.parcels:
            raise self.error(
                f"vertex line before the first parcel header: {s[:60]!r}", no,
                hint="each parcel starts with a line 界址点数,地块面积,地块编号,地块名称,面/线/点,图幅号,地块用途,地类编码,@",
            )
        if len(fields) != 4:
            hint = None
            if len(fields) >= 5:
                hint = "if this is a parcel header it must end with ,@"
            raise self.error(
                f"vertex line has {len(fields)} fields; expected 4 (点号,圈号,X,Y): {s[:60]!r}", no, hint=hint,
            )
        p.v_line.append(no)
        p.v_parcel.append(len(p.parcels) - 1)
        p.v_pid.append(fields[0].strip())
        p.v_ring.append(fields[1].strip())
        p.v_x.append(fields[2].strip())
        p.v_y.append(fields[3].strip())

    # -- parcel headers -----------------------------------------------------

    def parcel_table(self) -> pd.DataFrame:
        rows = []
        for no, f in self.parsed.parcels:
            if len(f) < 5:
                raise self.error(
                    f"parcel header has {len(f)} fields before @; needs at least 5 "
                    "(界址点数,地块面积,地块编号,地块名称,记录图形属性)", no,
                )
            count_text = _fw(f[0])
            if not re.fullmatch(r"\d+", count_text):
                raise self.error(f"界址点数 {_clip(f[0])} is not a whole number", no)
            kind = _fw(f[4])
            if kind not in RECORD_TYPES:
                raise self.error(f"unknown 记录图形属性 {_clip(f[4])}; expected 面, 线 or 点", no)
            area_text = re.sub(r"(公顷|ha|hm2|hm²)$", "", _fw(f[1]), flags=re.I).strip()
            try:
                area = float(area_text) if area_text else math.nan
            except ValueError:
                self.notes.add("value", f"line {no}: 地块面积 {_clip(f[1])} is not a number; taken as not declared")
                area = math.nan
            rows.append({
                "count": int(count_text),
                "site_id": f[2],
                "name": f[3],
                "declared_area_ha": area if math.isfinite(area) else math.nan,
                "record_type": kind,
                "sheet": f[5] if len(f) > 5 else "",
                "land_use": f[6] if len(f) > 6 else "",
                "land_class": f[7] if len(f) > 7 else "",
                "source_line": no,
            })
        return pd.DataFrame(rows)

    # -- numbers --------------------------------------------------------------

    def numbers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """圈号, X (northing) and Y (easting) as arrays, or an error naming the first bad line."""
        p = self.parsed
        lines = np.asarray(p.v_line)
        ring_text = pd.Series(p.v_ring, dtype=object)
        ring_ok = ring_text.str.fullmatch(r"\d+").to_numpy(dtype=bool)
        if not ring_ok.all():
            i = int(np.flatnonzero(~ring_ok)[0])
            raise self.error(f"圈号 {_clip(p.v_ring[i])} is not a whole number", int(lines[i]))
        ring = ring_text.astype(np.int64).to_numpy()
        cols = []
        for name, values in (("X", p.v_x), ("Y", p.v_y)):
            text = pd.Series(values, dtype=object)
            num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
            nan_text = text.str.lower().str.lstrip("+-").isin(["nan"]).to_numpy(dtype=bool)
            bad = np.isnan(num) & ~nan_text
            cols.append((name, values, num, bad))
        bad_any = cols[0][3] | cols[1][3]
        nonfinite = ~(np.isfinite(cols[0][2]) & np.isfinite(cols[1][2])) & ~bad_any
        first_bad = np.flatnonzero(bad_any)
        first_nf = np.flatnonzero(nonfinite)
        if len(first_bad) and (not len(first_nf) or first_bad[0] < first_nf[0]):
            i = int(first_bad[0])
            name, values = (cols[0][0], cols[0][1]) if cols[0][3][i] else (cols[1][0], cols[1][1])
            raise self.error(f"coordinate {name} {_clip(values[i])} is not a number", int(lines[i]))
        if len(first_nf):
            i = int(first_nf[0])
            raise self.error(
                f"coordinate is not a finite number (X {_clip(p.v_x[i])}, Y {_clip(p.v_y[i])})", int(lines[i]),
            )
        return ring, cols[0][2], cols[1][2]

    # -- header ---------------------------------------------------------------

    def header_line(self, key: str) -> int | None:
        p = self.parsed
        return p.header_lines.get(key, p.attr_line)

    def check_header(self) -> None:
        """Datum, projection and units: refuse what ecogis cannot read correctly."""
        h = self.parsed.header
        datum = h.get("坐标系", "").strip()
        if not datum:
            self.notes.add("crs", "国土TXT gives no 坐标系; taken as CGCS2000 (2000国家大地坐标系), the national standard")
        elif not ("2000" in datum or "cgcs" in datum.lower()):
            low = datum.lower()
            if "80" in datum or "西安" in datum or "xian" in low:
                named = "Xian 1980 (1980西安坐标系)"
            elif "54" in datum or "北京" in datum or "beijing" in low:
                named = "Beijing 1954 (1954北京坐标系)"
            elif "wgs" in low:
                named = "WGS84"
            else:
                named = f"{_clip(datum)}"
            params = h.get("转换参数", "")
            if re.search(r"[1-9]", _fw(params)):
                msg = (f"坐标系 is {named}; only CGCS2000 (2000国家大地坐标系) is supported. The file gives "
                       f"转换参数 {_clip(params)}, but ecogis does not apply datum parameters from 国土TXT files")
                hint = "convert the coordinates to CGCS2000 with the surveying software, then export again"
            else:
                msg = (f"坐标系 is {named}; only CGCS2000 (2000国家大地坐标系) is supported: converting it needs "
                       "datum parameters (转换参数) the file does not carry")
                hint = "convert the coordinates to CGCS2000 with the surveying software, then export again"
            raise self.error(msg, self.header_line("坐标系"), hint=hint)
        proj = _fw(h.get("投影类型", ""))
        if proj and not ("高斯" in proj or "gauss" in proj.lower() or "克吕格" in proj):
            raise self.error(f"投影类型 {_clip(proj)} is not supported; only 高斯克吕格 (Gauss-Krüger) is",
                             self.header_line("投影类型"))
        unit = _fw(h.get("计量单位", ""))
        if not unit:
            self.notes.add("crs", "国土TXT gives no 计量单位; coordinates taken as metres")
        elif unit.lower() not in _METRES:
            raise self.error(f"计量单位 is {_clip(unit)}; coordinates must be in metres (计量单位=米)",
                             self.header_line("计量单位"))

    def zone_from_header(self) -> tuple[int | None, int | None]:
        h = self.parsed.header
        width = None
        w = _fw(h.get("几度分带", ""))
        if w:
            w = w.replace("三", "3").replace("六", "6")
            m = re.search(r"\d+", w)
            if not m or int(m.group()) not in (3, 6):
                raise self.error(f"几度分带 {_clip(h['几度分带'])} is not 3 or 6", self.header_line("几度分带"))
            width = int(m.group())
        zone = None
        z = _fw(h.get("带号", ""))
        if z:
            m = re.fullmatch(r"第?\s*(\d+)\s*带?", z)
            if not m:
                raise self.error(f"带号 {_clip(h['带号'])} is not a zone number", self.header_line("带号"))
            zone = int(m.group(1))
        return zone, width

    # -- coordinates against the zone ------------------------------------------

    def crs_for(self, northing: np.ndarray, easting: np.ndarray) -> GKZone:
        """Check the coordinate magnitudes and settle zone, width and prefix."""
        lines = np.asarray(self.parsed.v_line)
        north_ok = (northing > 0) & (northing < _MAX_NORTHING)
        plain = (easting > 0) & (easting < 1_000_000)
        pref = (easting >= 13_000_000) & (easting < 46_000_000)
        bad = ~(north_ok & (plain | pref))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            x, y = northing[i], easting[i]
            x_as_east = (0 < x < 1_000_000) or (13_000_000 <= x < 46_000_000)
            if x_as_east and 0 < y < _MAX_NORTHING:
                raise self.error(
                    f"X and Y look swapped: X = {x:.3f} looks like an easting and Y = {y:.3f} like a northing",
                    int(lines[i]),
                    hint="in 国土TXT the third field X is the northing (7 digits before the point) and the "
                         "fourth Y the easting (zone number + 6 digits)",
                )
            raise self.error(
                f"coordinates X = {x:.3f}, Y = {y:.3f} are not Gauss-Krüger metres in China "
                "(X: northing 0…6 200 km; Y: easting of 6 digits, or 8 with the zone number in front)",
                int(lines[i]),
            )
        if pref.any() and plain.any():
            minority = pref if pref.sum() < plain.sum() else plain
            i = int(np.flatnonzero(minority)[0])
            raise self.error(
                f"eastings mix values with the zone number in front (8 digits) and without (6 digits): Y = {easting[i]:.3f}",
                int(lines[i]),
            )
        prefix = bool(pref.all())
        zone, width = self.zone_from_header()
        if prefix:
            zones = (easting // 1_000_000).astype(np.int64)
            odd = np.flatnonzero(zones != zones[0])
            if len(odd):
                i = int(odd[0])
                raise self.error(
                    f"easting {easting[i]:.3f} carries zone number {zones[i]} but earlier ones carry {zones[0]}; "
                    "one file must stay in one zone", int(lines[i]),
                )
            found = int(zones[0])
            if zone is None:
                self.notes.add("crs", f"国土TXT gives no 带号; zone {found} taken from the zone number in front of the eastings")
                zone = found
            elif zone != found:
                raise self.error(
                    f"eastings carry zone number {found} but the header says 带号={zone}", int(lines[0]),
                    hint=f"check 带号 in [属性描述] (line {self.header_line('带号')})",
                )
        elif zone is None:
            where = self.parsed.attr_line or (self.parsed.coord_line or 1)
            raise self.error(
                "带号 (zone number) is missing and the eastings carry no zone number in front; "
                "the Gauss-Krüger zone cannot be told", where,
                hint="add 带号=NN to [属性描述] (e.g. 带号=39 for the 3-degree zone with central meridian 117°E)",
            )
        if width is None:
            if 13 <= zone <= 23:
                width = 6
            elif 24 <= zone <= 45:
                width = 3
            else:
                raise self.error(f"带号 {zone} is not a Gauss-Krüger zone in China", self.header_line("带号"))
            self.notes.add("crs", f"国土TXT gives no 几度分带; zone {zone} can only be a {width}-degree zone")
        try:
            gk = GKZone(zone, width, prefix)
            gk.epsg  # validates the range
        except CRSError as exc:
            raise self.error(f"带号={zone} with 几度分带={width}: {exc.message}",
                             self.header_line("带号") or self.header_line("几度分带")) from None
        off = np.abs(easting - gk.false_easting)
        far = np.flatnonzero(off > zone_half_width(width))
        if len(far):
            i = int(far[0])
            raise self.error(
                f"easting {easting[i]:.3f} is {off[i] / 1000:.0f} km from the central meridian of zone {zone} "
                f"({gk.central_meridian:g}°E); the coordinates do not belong to the declared zone",
                int(lines[i]),
                hint=f"no point of a {width}-degree zone is more than {zone_half_width(width) / 1000:.0f} km "
                     "from its central meridian: check 带号 and the eastings",
            )
        bounds = (float(easting.min()), float(northing.min()), float(easting.max()), float(northing.max()))
        try:
            check_coordinates(bounds, gk.epsg, path=self.path)
        except CRSError as exc:  # pragma: no cover - the checks above are stricter
            raise self.error(exc.message, int(lines[0]), hint=exc.hint) from None
        return gk


def read_guotu(path: str | os.PathLike, *, notes: Notes | None = None) -> gpd.GeoDataFrame:
    """Read a 国土TXT (界址点坐标交换格式) file.

    Parameters
    ----------
    path:
        The ``.txt`` file (GBK/GB18030, UTF-8 or UTF-8 with BOM).
    notes:
        Where to report the encoding, assumed header values, closed rings and
        declared areas that do not match the coordinates.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per parcel with ``site_id`` (地块编号), ``name`` (地块名称),
        ``declared_area_ha``, ``record_type`` (面/线/点), ``sheet`` (图幅号),
        ``land_use`` (地块用途), ``land_class`` (地类编码), ``point_count``,
        ``source_line`` (line of the parcel header) and the geometry, in the
        CGCS2000 Gauss-Krüger CRS of the file (x = easting = Y in the file).
        ``attrs["guotu_header"]`` holds the ``[属性描述]`` block.

    Raises
    ------
    GuotuTxtError
        When the file is not a readable 国土TXT file; the message names the
        line and what is wrong.
    """
    notes = notes if notes is not None else Notes()
    r = _Reader(Path(path), notes)
    text = r.decode()
    p = r.scan(text)
    if p.coord_line is None:
        raise r.error("no [地块坐标] section: this is not a 国土TXT coordinate file, or it is cut short",
                      max(p.n_lines, 1), hint="the parcels must follow a line [地块坐标]")
    if not p.parcels:
        raise r.error("the [地块坐标] section holds no parcels", p.coord_line,
                      hint="each parcel starts with a header line ending in ,@ followed by its vertex lines")
    if p.ignored:
        notes.add("value", "lines without key=value in [属性描述] ignored: " + ", ".join(map(str, p.ignored[:20])))
    parcels = r.parcel_table()
    r.check_header()

    # -- structure: vertex counts and ring numbers ---------------------------
    n_par = len(parcels)
    v_line = np.asarray(p.v_line, dtype=np.int64)
    v_par = np.asarray(p.v_parcel, dtype=np.int64)
    n_lines = np.bincount(v_par, minlength=n_par)
    empty = np.flatnonzero(n_lines == 0)
    if len(empty):
        i = int(empty[0])
        raise r.error(f"parcel {_clip(parcels.site_id[i])} has no vertex lines", int(parcels.source_line[i]))
    ring, northing, easting = r.numbers()
    first_of_parcel = np.r_[True, v_par[1:] != v_par[:-1]]
    prev = np.r_[0, ring[:-1]]
    step = ring - prev
    bad = (first_of_parcel & (ring != 1)) | (~first_of_parcel & (step != 0) & (step != 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if first_of_parcel[i]:
            msg = f"the first vertex of a parcel must have 圈号 1, not {ring[i]}"
        else:
            msg = f"圈号 {ring[i]} follows 圈号 {prev[i]}; rings must be numbered 1, 2, 3 … in order"
        raise r.error(msg, int(v_line[i]))

    ring_start = first_of_parcel | (step != 0)
    ring_id = np.cumsum(ring_start) - 1
    r_first = np.flatnonzero(ring_start)
    r_last = np.r_[r_first[1:] - 1, len(ring) - 1]
    r_n = r_last - r_first + 1
    r_par = v_par[r_first]
    kind = parcels.record_type.to_numpy()
    r_poly = kind[r_par] == "面"
    same_xy = (northing[r_first] == northing[r_last]) & (easting[r_first] == easting[r_last]) & (r_n > 1)
    r_closed = r_poly & same_xy

    declared = parcels["count"].to_numpy()
    closing = np.bincount(r_par[r_closed], minlength=n_par)
    mismatch = np.flatnonzero(declared != n_lines)
    excl = mismatch[(declared[mismatch] == n_lines[mismatch] - closing[mismatch]) & (closing[mismatch] > 0)]
    hard = np.setdiff1d(mismatch, excl)
    if len(hard):
        i = int(hard[0])
        msg = (f"界址点数 is {declared[i]} but parcel {_clip(parcels.site_id[i])} has {n_lines[i]} vertex lines")
        hint = None
        if not p.complete and i == n_par - 1:
            hint = "the file does not end with a line break: it may be truncated"
        raise r.error(msg, int(parcels.source_line[i]), hint=hint)
    if len(excl):
        notes.add("value", "界址点数 does not count the closing points of the rings; accepted",
                  parcels.site_id.to_numpy()[excl])

    # -- coordinates and CRS -------------------------------------------------
    gk = r.crs_for(northing, easting)

    # -- ring checks -----------------------------------------------------------
    pid_same = np.asarray(p.v_pid, dtype=object)
    pid_same = (pid_same[r_first] == pid_same[r_last]) & (r_n > 1)
    broken = np.flatnonzero(r_poly & pid_same & ~same_xy)
    if len(broken):
        k = int(broken[0])
        a, b = r_first[k], r_last[k]
        raise r.error(
            f"ring {ring[a]} of parcel {_clip(parcels.site_id[r_par[k]])} is not closed: it ends on {p.v_pid[b]} at "
            f"({northing[b]:.4f}, {easting[b]:.4f}) but {p.v_pid[a]} is at ({northing[a]:.4f}, {easting[a]:.4f}) "
            f"(line {v_line[a]})", int(v_line[b]),
            hint="the last point of a ring must repeat the first",
        )
    uniq = np.unique(np.column_stack([ring_id, northing, easting]), axis=0)
    distinct = np.bincount(uniq[:, 0].astype(np.int64), minlength=len(r_first))
    few = np.flatnonzero(r_poly & (distinct < 3))
    if len(few):
        k = int(few[0])
        raise r.error(
            f"ring {ring[r_first[k]]} of parcel {_clip(parcels.site_id[r_par[k]])} has {r_n[k]} points "
            f"({distinct[k]} distinct); a polygon ring needs at least 4 points, 3 of them distinct",
            int(v_line[r_first[k]]),
        )
    _refuse_flat_rings(r, ring, northing, easting, ring_id, r_first, r_poly, r_par, v_line, parcels)
    short = np.flatnonzero((kind[r_par] == "线") & (distinct < 2))
    if len(short):
        k = int(short[0])
        raise r.error(
            f"line part {ring[r_first[k]]} of parcel {_clip(parcels.site_id[r_par[k]])} has fewer than 2 distinct points",
            int(v_line[r_first[k]]),
        )
    opened = np.flatnonzero(r_poly & ~same_xy)
    if len(opened):
        notes.add("repair", f"{len(opened)} polygon rings did not repeat their first point at the end; closed them",
                  pd.unique(parcels.site_id.to_numpy()[r_par[opened]]))

    # -- geometry ------------------------------------------------------------
    coords = np.column_stack([easting, northing])
    geoms = np.empty(n_par, dtype=object)
    is_poly_v = kind[v_par] == "面"
    if is_poly_v.any():
        geoms_poly = _polygons(coords[is_poly_v], ring_id[is_poly_v], r_par)
        for i, g in geoms_poly.items():
            geoms[i] = g
    is_line_v = kind[v_par] == "线"
    if is_line_v.any():
        _fill_lines(geoms, coords[is_line_v], ring_id[is_line_v], r_par)
    is_pt_v = kind[v_par] == "点"
    if is_pt_v.any():
        _fill_points(geoms, coords[is_pt_v], v_par[is_pt_v])

    # -- table ---------------------------------------------------------------
    site = parcels.site_id.astype(str).str.strip()
    blank = (site == "").to_numpy()
    if blank.any():
        seq = pd.Series(np.arange(1, n_par + 1).astype(str))
        site = site.where(~blank, seq)
        notes.add("value", f"{int(blank.sum())} parcels have no 地块编号; numbered by their order in the file",
                  site[blank].tolist())
    dup = site[site.duplicated(keep=False)]
    if len(dup):
        notes.add("value", "地块编号 used by more than one parcel", pd.unique(dup.to_numpy()))
    gdf = gpd.GeoDataFrame(
        {
            "site_id": site.to_numpy(dtype=object),
            "name": parcels.name.to_numpy(dtype=object),
            "declared_area_ha": parcels.declared_area_ha.to_numpy(dtype=float),
            "record_type": kind,
            "sheet": parcels.sheet.to_numpy(dtype=object),
            "land_use": parcels.land_use.to_numpy(dtype=object),
            "land_class": parcels.land_class.to_numpy(dtype=object),
            "point_count": n_lines.astype(np.int64),
            "source_line": parcels.source_line.to_numpy(dtype=np.int64),
            # an array with its CRS, named as the geometry: the constructor's GeoSeries path costs twice the time
            "geometry": gpd.array.from_shapely(geoms, crs=gk.epsg),
        },
        geometry="geometry",
    )
    _check_areas(gdf, notes)
    gdf.attrs["guotu_header"] = dict(p.header)
    return gdf


def _refuse_flat_rings(r, ring, northing, easting, ring_id, r_first, r_poly, r_par, v_line, parcels) -> None:
    """Refuse a 面 ring whose points lie on one line (zero area): it would become a line, not a parcel."""
    on_poly = r_poly[ring_id]
    if not on_poly.any():
        return
    ids = ring_id[on_poly]
    # relative to each ring's first point, so that 8-digit eastings lose no precision
    xy = np.column_stack([easting[on_poly] - easting[r_first][ids], northing[on_poly] - northing[r_first][ids]])
    uniq, local = np.unique(ids, return_inverse=True)
    rings = shapely.linearrings(xy, indices=local)
    area = shapely.area(shapely.convex_hull(rings))  # a bow-tie's signed area is zero too; its hull's is not
    length = shapely.length(rings)
    flat = np.flatnonzero(area <= 1e-9 * length**2)
    if len(flat):
        k = int(uniq[flat[0]])
        a = r_first[k]
        raise r.error(
            f"ring {ring[a]} of 面 parcel {_clip(parcels.site_id[r_par[k]])} (header line "
            f"{int(parcels.source_line[r_par[k]])}) has zero area: its points lie on one line",
            int(v_line[a]),
            hint="a 面 parcel must enclose an area; check the coordinates, or record a line as 线",
        )


def _polygons(coords: np.ndarray, ring_id: np.ndarray, r_par: np.ndarray) -> dict[int, shapely.Geometry]:
    """Polygons and multipolygons from rings; holes and further parts decided by containment.

    A ring inside an even number of other rings of its parcel is an outer
    ring (a part); inside an odd number, it is a hole of the smallest ring
    containing it.  An island in a hole is therefore a further part.
    """
    ids, local = np.unique(ring_id, return_inverse=True)
    rings = shapely.linearrings(coords, indices=local)
    par = r_par[ids]
    n = len(rings)
    depth = np.zeros(n, dtype=np.int64)
    parent = np.arange(n)
    counts = np.bincount(par)
    multi = counts[par] > 1
    if multi.any():
        sub = np.flatnonzero(multi)
        polys = shapely.polygons(rings[sub])
        area = shapely.area(polys)
        tree = shapely.STRtree(polys)
        a, b = tree.query(polys, predicate="covers")  # polys[a] covers polys[b]
        keep = (a != b) & (par[sub[a]] == par[sub[b]])
        # identical rings cover each other: let the earlier one be the container
        keep &= (area[a] > area[b]) | ((area[a] == area[b]) & (a < b))
        a, b = a[keep], b[keep]
        d = np.bincount(b, minlength=len(sub))
        depth[sub] = d
        # parent of a hole: its container one level up
        is_parent = d[a] == d[b] - 1
        holes_b, holes_a = b[is_parent], a[is_parent]
        odd = d[holes_b] % 2 == 1
        parent[sub[holes_b[odd]]] = sub[holes_a[odd]]
    is_hole = depth % 2 == 1
    outer = np.where(is_hole, parent, np.arange(n))
    order = np.lexsort((np.arange(n), is_hole, outer, par))
    poly_key = outer[order]
    poly_idx = np.cumsum(np.r_[True, poly_key[1:] != poly_key[:-1]]) - 1
    polys = shapely.polygons(rings[order], indices=poly_idx)
    poly_par = par[order][np.r_[True, poly_key[1:] != poly_key[:-1]]]
    upar, pinv = np.unique(poly_par, return_inverse=True)
    mp = shapely.multipolygons(polys, indices=pinv)
    single = shapely.get_num_geometries(mp) == 1
    mp[single] = shapely.get_geometry(mp[single], 0)
    return dict(zip(upar.tolist(), mp))


def _fill_lines(out: np.ndarray, coords: np.ndarray, ring_id: np.ndarray, r_par: np.ndarray) -> None:
    ids, local = np.unique(ring_id, return_inverse=True)
    lines = shapely.linestrings(coords, indices=local)
    upar, pinv = np.unique(r_par[ids], return_inverse=True)
    ml = shapely.multilinestrings(lines, indices=pinv)
    single = shapely.get_num_geometries(ml) == 1
    ml[single] = shapely.get_geometry(ml[single], 0)
    out[upar] = ml


def _fill_points(out: np.ndarray, coords: np.ndarray, v_par: np.ndarray) -> None:
    pts = shapely.points(coords)
    upar, pinv = np.unique(v_par, return_inverse=True)
    mp = shapely.multipoints(pts, indices=pinv)
    single = shapely.get_num_geometries(mp) == 1
    mp[single] = shapely.get_geometry(mp[single], 0)
    out[upar] = mp


def _check_areas(gdf: gpd.GeoDataFrame, notes: Notes, *, detailed: int = 50) -> None:
    """Note parcels whose declared 地块面积 is off the planar GK area by more than the tolerance.

    One note per parcel for the first ``detailed`` parcels, then one note
    listing the rest.
    """
    poly = (gdf.record_type == "面").to_numpy()
    declared = gdf.declared_area_ha.to_numpy()
    computed = shapely.area(gdf.geometry.values) / 10_000.0
    check = poly & np.isfinite(declared) & (computed > 0)
    rel = np.full(len(gdf), np.nan)
    rel[check] = np.abs(declared[check] - computed[check]) / computed[check]
    tol = settings.guotu_area_tolerance
    off = np.flatnonzero(check & (rel > tol))
    site = gdf.site_id.to_numpy()
    lines = gdf.source_line.to_numpy()
    for i in off[:detailed]:
        d, c = declared[i], computed[i]
        ratio = d / c
        hint = ""
        if 9_000 < ratio < 11_000:
            hint = "; the declared figure looks like square metres"
        elif 14 < ratio < 16:
            hint = "; the declared figure looks like 亩"
        notes.add(
            "area",
            f"parcel {site[i]} (line {lines[i]}): 地块面积 declares {d:.4f} ha but the coordinates give "
            f"{c:.4f} ha (planar Gauss-Krüger area), {rel[i] * 100:.1f} % off{hint}",
            [site[i]],
        )
    rest = off[detailed:]
    if len(rest):
        notes.add(
            "area",
            f"{len(rest)} more parcels declare a 地块面积 more than {tol * 100:g} % off the planar "
            "Gauss-Krüger area of their coordinates",
            site[rest].tolist(),
        )
