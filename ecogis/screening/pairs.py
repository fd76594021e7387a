"""Exact overlaps of candidate (site, feature) pairs, on several threads.

The screening engine finds candidate pairs by bounding box and hands them
here.  For each pair this decides, with vectorised shapely calls:

* ``inside``: the feature holds the site in its interior (prepared
  ``contains_properly``), so the overlap is the site itself and no
  intersection is computed — about 80 % of the pairs in a province-scale
  screen.  ``contains_properly`` costs half of ``covers`` where many sites
  straddle a boundary (measured: 0.34 s against 0.64 s for 186,629 pairs), so
  ``covers`` is asked only with ``exact_inside`` (a rule tests ``within``),
  and only of the pairs that intersect without being inside: a site that
  touches the boundary from inside is then inside too.  Without it such a
  pair takes the intersection, whose result is the site, with the same area;
* ``holds``: the reverse, the site holds the feature in its interior
  (``contains_properly`` of the site, asked only where the feature's
  bounding box lies within the site's): the overlap is the feature, and no
  intersection is computed — small patches within large sites;
* ``hit``: the two intersect at all (prepared ``intersects``, asked only of
  the pairs neither inside nor held);
* ``overlap``: the site for pairs inside, the feature for pairs held, the
  exact intersection for the other hits, ``None`` otherwise.  A convex site
  (most parcels) is intersected by Sutherland–Hodgman clipping in C
  (:mod:`ecogis.screening.convexclip`, 1–2 µs a pair instead of GEOS's
  ~30); the pairs it declines go to GEOS, large features clipped to the
  site's bounding box first and large sites to the feature's
  (:func:`clip_to_features`, :func:`clip_to_sites`);
* ``part_area``: optionally, the area of those intersections, computed on
  the same threads.

**Threads.**  shapely releases the GIL, so the pairs are cut into chunks run
on a thread pool.  A prepared GEOS geometry builds its indexes lazily on
first use and is not safe to share between threads (measured: heap
corruption), so the chunks are cut *by feature*: every feature, and so every
prepared geometry, belongs to exactly one chunk and one thread at a time
(features given as one object at several indices run on one thread).
Sites are only read (never prepared here); their envelopes are computed
before the threads start.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import shapely

from ecogis.parallel import thread_count, thread_map
from ecogis.screening.convexclip import DECLINED as CLIP_DECLINED
from ecogis.screening.convexclip import HOLDS as CLIP_HOLDS
from ecogis.screening.convexclip import INSIDE as CLIP_INSIDE
from ecogis.screening.convexclip import OK as CLIP_OK
from ecogis.screening.convexclip import Ragged, convex_intersection, convex_intersection_swapped, convex_sites
from ecogis.screening.convexclip import available as clip_available

#: Below this many pairs one thread does all the work (thread start-up would cost more than it saves).
MIN_PAIRS_PER_THREAD = 4_000
#: Chunks per thread, for load balance (features differ in size, and a pair inside costs a tenth of one
#: cut by a boundary): measured on 260,728 pairs, 16 chunks per thread left 7 % of the two cores idle (1.22 s),
#: 4 left 9 % (1.31 s).
CHUNKS_PER_THREAD = 16


def _chunk(sites: np.ndarray, feats: np.ndarray, s: np.ndarray, f: np.ndarray, area: Callable | None = None,
           exact_inside: bool = True, convex: np.ndarray | None = None, feat_convex: np.ndarray | None = None,
           ragged: tuple[Ragged, Ragged] | None = None):
    a = sites[s]
    # convex sites clipped in C; then jagged sites by convex features, roles swapped; the rest by GEOS
    overlap, status = convex_intersection(sites, feats, f, None if convex is None else convex[s], s_idx=s,
                                          ragged=ragged)
    dec = np.flatnonzero(status == CLIP_DECLINED)
    if len(dec) and feat_convex is not None:
        overlap[dec], status[dec] = convex_intersection_swapped(sites, feats, f[dec], feat_convex, s_idx=s[dec],
                                                                ragged=ragged)
    inside = status == CLIP_INSIDE
    hit = inside | (status == CLIP_OK) | (status == CLIP_HOLDS)
    overlap[inside] = a[inside]
    dec = np.flatnonzero(status == CLIP_DECLINED)
    if len(dec):
        inside[dec], hit[dec], overlap[dec] = _geos_pairs(a[dec], feats[f[dec]], exact_inside)
    part_area = np.full(len(a), np.nan)
    part = np.flatnonzero(hit & ~inside)
    if len(part) and area is not None:
        part_area[part] = area(overlap[part])
    return inside, hit, overlap, part_area


def _geos_pairs(a: np.ndarray, b: np.ndarray, exact_inside: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``inside``, ``hit`` and ``overlap`` of the pairs ``(a[i], b[i])`` by GEOS (see the module notes)."""
    shapely.prepare(b)  # this chunk's own features: no other thread touches them
    inside = shapely.contains_properly(b, a)
    hit = inside.copy()
    rest = np.flatnonzero(~inside)
    holds = np.zeros(len(a), dtype=bool)
    if len(rest):
        holds[rest] = _site_holds(a[rest], b[rest])
        ask = rest[~holds[rest]]
        hit[rest] = holds[rest]
        if len(ask):
            hit[ask] = shapely.intersects(b[ask], a[ask])
        if exact_inside:  # sites touching the boundary from inside: covered, so inside too
            edge = ask[hit[ask]]
            if len(edge):
                inside[edge] = shapely.covers(b[edge], a[edge])
    overlap = np.full(len(a), None, dtype=object)
    overlap[inside] = a[inside]
    overlap[holds] = b[holds]
    cut = np.flatnonzero(hit & ~inside & ~holds)
    if len(cut):
        overlap[cut] = shapely.intersection(clip_to_features(a[cut], b[cut]), clip_to_sites(b[cut], a[cut]))
    return inside, hit, overlap


def _site_holds(sites: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """Whether each site holds its feature in its interior (``contains_properly``): the overlap is the feature.

    The reverse of ``inside``: small features (wetland patches, wells, plots of farmland) within large
    sites.  Asked only where the feature's bounding box lies within the site's, so a pair cut by a
    boundary costs one comparison of boxes; the sites are not prepared (several threads read them).
    Measured on 112,139 pairs of 12-vertex patches in 60-vertex sites, 82 % held: 0.27 s of tests
    spared 1.1 s of intersections.
    """
    out = np.zeros(len(sites), dtype=bool)
    bs, bf = shapely.bounds(sites), shapely.bounds(feats)
    box_in = (bf[:, 0] > bs[:, 0]) & (bf[:, 1] > bs[:, 1]) & (bf[:, 2] < bs[:, 2]) & (bf[:, 3] < bs[:, 3])
    i = np.flatnonzero(box_in)
    if len(i):
        out[i] = shapely.contains_properly(sites[i], feats[i])
    return out


#: Margin (degrees, about 0.1 mm) by which the clipping box exceeds the site's bounding box.
CLIP_MARGIN_DEG = 1e-9
#: Features with more vertices than this are clipped to the site's bounding box before the intersection.
CLIP_MIN_VERTICES = 64
#: Sites with more vertices than this are clipped to the feature's bounding box before the intersection.
CLIP_SITE_MIN_VERTICES = 48


def clip_to_sites(feats: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """Each feature clipped to its site's bounding box where that pays (large features), else as it is.

    ``site ∩ feature = site ∩ (feature ∩ box(site))``, and clipping to a
    rectangle (GEOS ``ClipByRect``) is far cheaper than a general overlay:
    a 400-vertex red-line polygon around a 300 m parcel keeps a few dozen
    vertices (measured: the intersections of 6,146 boundary pairs took 0.31 s
    CPU instead of 0.43 s, clipping included; areas equal to 1e-8).
    """
    return _clip_to_boxes(feats, sites, CLIP_MIN_VERTICES)


def clip_to_features(sites: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """Each large site clipped to its feature's bounding box (the reverse of :func:`clip_to_sites`).

    A large site cut by small features (wetland patches, plots of farmland
    across its edge) keeps the few vertices near each one (measured: 39,944
    pairs of 61-vertex sites and 13-vertex patches, 7 vertices kept on
    average; 0.90 s of intersections became 0.78 s, clipping included, with
    the same areas to 1e-17).  Clipping both members of a pair is exact:
    ``S ∩ F = (S ∩ box(F)) ∩ (F ∩ box(S))``.
    """
    return _clip_to_boxes(sites, feats, CLIP_SITE_MIN_VERTICES)


def _clip_to_boxes(geoms: np.ndarray, others: np.ndarray, min_vertices: int) -> np.ndarray:
    """Each of ``geoms`` with more than ``min_vertices`` vertices clipped to the bounding box of its partner in
    ``others`` (a hair wider), where the clip is valid; the others as they are."""
    big = shapely.get_num_coordinates(geoms) > min_vertices
    clip = getattr(shapely.lib, "clip_by_rect", None)  # the ufunc broadcasts over per-pair rectangles
    if clip is None or not big.any():
        return geoms
    out = geoms.copy()
    box = shapely.bounds(others[big])
    # a box a hair wider than the site's: its edges then never pass through the site's extreme vertices, which
    # spares the overlay those degenerate coincidences (measured: 15 % less CPU per intersection; same result)
    m = CLIP_MARGIN_DEG
    clipped = clip(geoms[big], box[:, 0] - m, box[:, 1] - m, box[:, 2] + m, box[:, 3] + m)
    # a clipped polygon is valid for valid input; keep the original where GEOS gave anything else
    bad = ~shapely.is_valid(clipped)
    if bad.any():
        clipped[bad] = geoms[big][bad]
    out[big] = clipped
    return out


def distinct_indices(idx: np.ndarray, n: int) -> np.ndarray:
    """The distinct values of ``idx`` (indices into an array of ``n``), sorted: ``np.unique`` by a mask, in
    O(n) (885,000 indices: 8 ms instead of NumPy 2's hashing, 0.2 s)."""
    seen = np.zeros(n, dtype=bool)
    seen[idx] = True
    return np.flatnonzero(seen)


def _shares_objects(geoms: np.ndarray) -> bool:
    """Whether the same geometry object appears more than once (e.g. a list built as ``[poly] * n``)."""
    ids = np.frompyfunc(id, 1, 1)(geoms).astype(np.int64)
    return bool((np.diff(np.sort(ids)) == 0).any())


def _feature_chunks(f_idx: np.ndarray, n_chunks: int) -> list[np.ndarray]:
    """Positions of the pairs, sorted by feature and cut into about ``n_chunks`` runs at feature boundaries."""
    order = np.argsort(f_idx, kind="stable")
    sorted_f = f_idx[order]
    cuts = np.linspace(0, len(order), n_chunks + 1).astype(int)[1:-1]
    # move every cut to the start of its feature's run so no feature spans two chunks
    cuts = np.unique(np.searchsorted(sorted_f, sorted_f[cuts], side="left"))
    cuts = cuts[(cuts > 0) & (cuts < len(order))]
    return [c for c in np.split(order, cuts) if len(c)]


def overlay_pairs(
    sites: np.ndarray, feats: np.ndarray, s_idx: np.ndarray, f_idx: np.ndarray, *,
    area: Callable[[np.ndarray], np.ndarray] | None = None, threads: int | None = None,
    done: Callable[[int], object] | None = None, exact_inside: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``inside``, ``hit``, ``overlap`` and ``part_area`` for each candidate pair (see the module notes).

    Parameters
    ----------
    sites, feats:
        Object arrays of shapely geometries.
    s_idx, f_idx:
        The candidate pairs, as indices into ``sites`` and ``feats``.
    area:
        Optional function giving the areas of an array of geometries; it is
        applied, on the same threads, to the overlaps of the pairs that are
        hit but not inside (``part_area``; NaN for the other pairs).
    threads:
        Threads to use (default: :attr:`ecogis.settings.Settings.threads`,
        0 meaning every core).  Small inputs use one.
    done:
        Called with the number of pairs of each chunk as it is finished
        (a progress bar's ``update``).
    exact_inside:
        ``inside`` is ``covers`` (sites touching the feature's boundary from
        inside count); ``False`` gives ``contains_properly``, cheaper, for
        callers that only need the overlaps and their areas.
    """
    n = len(s_idx)
    if n == 0:
        return np.zeros(0, bool), np.zeros(0, bool), np.zeros(0, dtype=object), np.zeros(0)
    k = min(thread_count(threads), max(1, n // MIN_PAIRS_PER_THREAD))
    used_f = distinct_indices(f_idx, len(feats))
    if k > 1 and _shares_objects(feats[used_f]):
        k = 1  # one geometry object at two indices could reach two threads: stay on one
    used = distinct_indices(s_idx, len(sites))
    convex = np.zeros(len(sites), dtype=bool)  # the sites the C kernel takes, found once
    convex[used] = convex_sites(sites[used])
    feat_convex = None
    if not convex[used].all():  # some sites are not convex: convex features may clip them instead
        feat_convex = np.zeros(len(feats), dtype=bool)
        feat_convex[used_f] = convex_sites(feats[used_f])
    ragged = None
    if clip_available():  # every site and feature converted once, before the threads
        ragged = (Ragged(sites, used), Ragged(feats, used_f))
        ragged[1].boxes
        if feat_convex is not None:
            ragged[0].boxes
    if k == 1:
        out = _chunk(sites, feats, s_idx, f_idx, area, exact_inside, convex, feat_convex, ragged)
        if done is not None:
            done(n)
        return out
    shapely.bounds(sites[used])  # envelopes computed once, here, before any thread reads them
    chunks = _feature_chunks(f_idx, k * CHUNKS_PER_THREAD)
    inside = np.zeros(n, dtype=bool)
    hit = np.zeros(n, dtype=bool)
    overlap = np.full(n, None, dtype=object)
    part_area = np.full(n, np.nan)
    def run(pos: np.ndarray):
        out = _chunk(sites, feats, s_idx[pos], f_idx[pos], area, exact_inside, convex, feat_convex, ragged)
        if done is not None:
            done(len(pos))
        return out

    results = thread_map(run, chunks, k, "overlay")
    for pos, (i, h, o, pa) in zip(chunks, results):
        inside[pos], hit[pos], overlap[pos], part_area[pos] = i, h, o, pa
    return inside, hit, overlap, part_area
