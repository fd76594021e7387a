/*
 * Intersections of (convex site, feature) pairs without an overlay graph.
 *
 * The Python side is ecogis/screening/convexclip.py, which documents the
 * contract; in short: each pair is a convex site (one ring, no holes) and a
 * feature (Polygon or MultiPolygon, as ragged arrays).  Each feature part's
 * shell is cut to the site's box and then intersected with the site by
 * following crossings (Weiler–Atherton); holes are kept only where they lie
 * wholly inside the site.  Whenever the answer could be unsure — a vertex
 * within rounding of the other's boundary (shared or touching boundaries), a
 * crossing at a site corner, a hole cut by the site, a result ring that is
 * not simple — the pair is *declined* and the caller asks GEOS.
 * So every result given here is a valid polygon equal to GEOS's intersection
 * up to rounding and vertex order (shells clockwise, holes counter-clockwise,
 * as GEOS's overlay writes them).
 *
 * No NumPy C API: arrays come in through the buffer protocol; the GIL is
 * released for the whole batch, so chunks run on threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ST_OK 0
#define ST_EMPTY 1
#define ST_DECLINE 2
#define ST_INSIDE 3
#define ST_HELD 4

/* relative tolerance of an orientation (cross product) treated as zero */
#define REL_TOL 1e-12
/* positional tolerance relative to the coordinates' magnitude (about 1e-10 degree, 0.01 mm, at 117°E):
 * points computed by a clip carry errors of a few units in the last place */
#define POS_TOL 1e-12
/* sites with more vertices than this are declined */
#define MAX_SITE_VERTS 256
/* result rings with more vertices than this are declined (the simplicity check is quadratic) */
#define MAX_RING_VERTS 512

typedef struct { double *v; Py_ssize_t n, cap; } dbuf;
typedef struct { int64_t *v; Py_ssize_t n, cap; } ibuf;

static int dgrow(dbuf *b, Py_ssize_t need) {
    if (b->n + need <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + need) cap *= 2;
    double *v = (double *)realloc(b->v, (size_t)cap * sizeof(double));
    if (!v) return -1;
    b->v = v; b->cap = cap; return 0;
}

static int ipush(ibuf *b, int64_t x) {
    if (b->n == b->cap) {
        Py_ssize_t cap = b->cap ? 2 * b->cap : 1024;
        int64_t *v = (int64_t *)realloc(b->v, (size_t)cap * sizeof(int64_t));
        if (!v) return -1;
        b->v = v; b->cap = cap;
    }
    b->v[b->n++] = x; return 0;
}

/* Orientation of p against the directed line a->b, with its error scale: |d| <= REL_TOL * scale means p lies
 * within rounding of the line (the products' own rounding) or within `eps` of it (a point computed by an
 * earlier step carries an error of a few units in the last place of its coordinates). */
static inline double orient(double ax, double ay, double bx, double by, double px, double py, double eps,
                            double *scale) {
    double l = (bx - ax) * (py - ay), r = (by - ay) * (px - ax);
    *scale = fabs(l) + fabs(r) + (eps / REL_TOL) * (fabs(bx - ax) + fabs(by - ay));
    return l - r;
}

/* Clip the ring in `in` (n points, x,y interleaved, not closed) to the half-plane x*sx >= c*sx (axis 0) or
 * y*sy >= c*sy (axis 1); writes to `out`, returns the new count or -1 on no memory. */
static Py_ssize_t clip_axis(const double *in, Py_ssize_t n, dbuf *out, int axis, double c, int keep_ge) {
    out->n = 0;
    if (n == 0) return 0;
    if (dgrow(out, 4 * n + 4)) return -1;
    double *o = out->v;
    Py_ssize_t k = 0;
    double px = in[2 * (n - 1)], py = in[2 * (n - 1) + 1];
    double pv = axis ? py : px;
    int pin = keep_ge ? pv >= c : pv <= c;
    for (Py_ssize_t i = 0; i < n; i++) {
        double cx = in[2 * i], cy = in[2 * i + 1];
        double cv = axis ? cy : cx;
        int cin = keep_ge ? cv >= c : cv <= c;
        if (cin != pin) {
            double t = (c - pv) / (cv - pv);
            if (axis) { o[2 * k] = px + t * (cx - px); o[2 * k + 1] = c; }
            else { o[2 * k] = c; o[2 * k + 1] = py + t * (cy - py); }
            k++;
        }
        if (cin) { o[2 * k] = cx; o[2 * k + 1] = cy; k++; }
        px = cx; py = cy; pv = cv; pin = cin;
    }
    out->n = 2 * k;
    return k;
}

static inline int sgn_tol(double d, double s) { return fabs(d) <= REL_TOL * s ? 0 : (d > 0 ? 1 : -1); }

/* The sign of orient(), 0 within rounding. */
static inline int orient_sign(double ax, double ay, double bx, double by, double px, double py, double eps) {
    double s, d = orient(ax, ay, bx, by, px, py, eps, &s);
    return sgn_tol(d, s);
}

/* Whether segments p1p2 and p3p4 meet (touching and near-touching count). */
static int seg_meet(const double *p1, const double *p2, const double *p3, const double *p4, double eps) {
    if (fmax(p1[0], p2[0]) < fmin(p3[0], p4[0]) || fmax(p3[0], p4[0]) < fmin(p1[0], p2[0]) ||
        fmax(p1[1], p2[1]) < fmin(p3[1], p4[1]) || fmax(p3[1], p4[1]) < fmin(p1[1], p2[1]))
        return 0;
    int o1 = orient_sign(p1[0], p1[1], p2[0], p2[1], p3[0], p3[1], eps);
    int o2 = orient_sign(p1[0], p1[1], p2[0], p2[1], p4[0], p4[1], eps);
    int o3 = orient_sign(p3[0], p3[1], p4[0], p4[1], p1[0], p1[1], eps);
    int o4 = orient_sign(p3[0], p3[1], p4[0], p4[1], p2[0], p2[1], eps);
    if (o1 * o2 > 0 || o3 * o4 > 0) return 0;
    return 1; /* crossing, touching, or collinear with overlapping boxes */
}

/* Whether the ring (n points, not closed) is simple, with no tiny edge and no fold-back. */
static int ring_simple(const double *r, Py_ssize_t n, double min_edge, double eps) {
    if (n < 3 || n > MAX_RING_VERTS) return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *a = r + 2 * i, *b = r + 2 * ((i + 1) % n), *c = r + 2 * ((i + 2) % n);
        if (fabs(b[0] - a[0]) + fabs(b[1] - a[1]) <= min_edge) return 0;
        double s;
        double d = orient(a[0], a[1], b[0], b[1], c[0], c[1], eps, &s);
        if (fabs(d) <= REL_TOL * s && (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) <= 0) return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *a = r + 2 * i, *b = r + 2 * ((i + 1) % n);
        for (Py_ssize_t j = i + 2; j < n; j++) {
            if (i == 0 && j == n - 1) continue; /* adjacent through the closing vertex */
            if (seg_meet(a, b, r + 2 * j, r + 2 * ((j + 1) % n), eps)) return 0;
        }
    }
    return 1;
}

static double ring_area2(const double *r, Py_ssize_t n) {
    double s = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *a = r + 2 * i, *b = r + 2 * ((i + 1) % n);
        s += (a[0] - r[0]) * (b[1] - r[1]) - (b[0] - r[0]) * (a[1] - r[1]);
    }
    return s;
}

/* Append ring r (n points) to the output, closed, in orientation ccw (1) or cw (0). */
static int emit_ring(dbuf *xy, ibuf *ring_off, const double *r, Py_ssize_t n, int want_ccw) {
    if (dgrow(xy, 2 * n + 2)) return -1;
    int is_ccw = ring_area2(r, n) > 0;
    double *o = xy->v + xy->n;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t j = (is_ccw == want_ccw) ? i : (n - i) % n;
        o[2 * i] = r[2 * j]; o[2 * i + 1] = r[2 * j + 1];
    }
    o[2 * n] = o[0]; o[2 * n + 1] = o[1];
    xy->n += 2 * n + 2;
    return ipush(ring_off, (int64_t)(xy->n / 2));
}

/* The site's ring as CCW, not closed, into `site`, repeated and collinear vertices dropped; 0 if it is not
 * strictly convex and simple, -1 on no memory. */
static int site_ring(const double *c, Py_ssize_t n, dbuf *site, double eps) {
    if (n > 1 && c[0] == c[2 * (n - 1)] && c[1] == c[2 * (n - 1) + 1]) n--;
    if (n < 3 || n > MAX_SITE_VERTS) return 0;
    site->n = 0;
    if (dgrow(site, 4 * n)) return -1;
    double *u = site->v + 2 * n; /* scratch: the ring without repeated points */
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (k && c[2 * i] == u[2 * (k - 1)] && c[2 * i + 1] == u[2 * (k - 1) + 1]) continue;
        u[2 * k] = c[2 * i]; u[2 * k + 1] = c[2 * i + 1]; k++;
    }
    while (k > 1 && u[0] == u[2 * (k - 1)] && u[1] == u[2 * (k - 1) + 1]) k--;
    if (k < 3) return 0;
    /* drop vertices on the straight line through their neighbours (a fold-back is not convex) */
    Py_ssize_t m = 0;
    double *v = site->v;
    for (Py_ssize_t i = 0; i < k; i++) {
        const double *a = u + 2 * ((i + k - 1) % k), *b = u + 2 * i, *d = u + 2 * ((i + 1) % k);
        if (orient_sign(a[0], a[1], b[0], b[1], d[0], d[1], eps) == 0) {
            if ((b[0] - a[0]) * (d[0] - b[0]) + (b[1] - a[1]) * (d[1] - b[1]) <= 0) return 0;
            continue;
        }
        v[2 * m] = b[0]; v[2 * m + 1] = b[1]; m++;
    }
    if (m < 3) return 0;
    int sign = 0, xchanges = 0, ychanges = 0, lastdx = 0, lastdy = 0, firstdx = 0, firstdy = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        const double *a = v + 2 * i, *b = v + 2 * ((i + 1) % m), *d = v + 2 * ((i + 2) % m);
        int t = orient_sign(a[0], a[1], b[0], b[1], d[0], d[1], eps);
        if (t == 0 || (sign && t != sign)) return 0;
        sign = t;
        int dx = (b[0] > a[0]) - (b[0] < a[0]), dy = (b[1] > a[1]) - (b[1] < a[1]);
        if (dx) { if (lastdx && dx != lastdx) xchanges++; if (!firstdx) firstdx = dx; lastdx = dx; }
        if (dy) { if (lastdy && dy != lastdy) ychanges++; if (!firstdy) firstdy = dy; lastdy = dy; }
    }
    if (firstdx && lastdx != firstdx) xchanges++;
    if (firstdy && lastdy != firstdy) ychanges++;
    if (xchanges > 2 || ychanges > 2) return 0; /* winds more than once (a star polygon) */
    if (sign < 0) { /* reverse in place to counter-clockwise */
        for (Py_ssize_t i = 0, j = m - 1; i < j; i++, j--) {
            double tx = v[2 * i], ty = v[2 * i + 1];
            v[2 * i] = v[2 * j]; v[2 * i + 1] = v[2 * j + 1]; v[2 * j] = tx; v[2 * j + 1] = ty;
        }
    }
    site->n = 2 * m;
    return 1;
}

typedef struct {
    dbuf a, b, site, ring;
    ibuf keep;
} scratch;

static inline int outcode(double x, double y, const double *box) {
    return (x < box[0]) | ((x > box[2]) << 1) | ((y < box[1]) << 2) | ((y > box[3]) << 3);
}

/* Vertices per chunk of a feature ring, for the chunk boxes computed once per call (see reduce_ring). */
#define CHUNK 16

static inline int box_side(const double *cb, const double *box) {
    return (cb[2] < box[0]) | ((cb[0] > box[2]) << 1) | ((cb[3] < box[1]) << 2) | ((cb[1] > box[3]) << 3);
}

/* The ring with every vertex dropped whose two neighbours (as kept so far) lie outside the box on a side it
 * lies outside too: the triangle they make is then wholly outside the box, so the ring's intersection with the
 * box is unchanged (Cohen–Sutherland outcodes).  A chunk of CHUNK vertices whose box (`cbox`, its next vertex
 * included) lies outside one side keeps only its first vertex, by the same argument.  A 400-vertex red-line
 * polygon around a parcel keeps the few vertices near the parcel.  Writes to w->a; returns the count (0 if
 * the ring lies outside one side), -1 on no memory. */
static Py_ssize_t reduce_ring(scratch *w, const double *ring, Py_ssize_t n, const double *cbox, const double *box) {
    ibuf *kp = &w->keep;
    kp->n = 0;
    if (kp->cap < n) {
        int64_t *v = (int64_t *)realloc(kp->v, (size_t)n * sizeof(int64_t));
        if (!v) return -1;
        kp->v = v; kp->cap = n;
    }
    int64_t *kv = kp->v;
    Py_ssize_t kn = 0;
    int all = 15;
    for (Py_ssize_t j = 0; j * CHUNK < n; j++) {
        Py_ssize_t lo = j * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        int side = box_side(cbox + 4 * j, box);
        if (side) hi = lo + 1; /* the whole chunk lies outside one side: its first vertex stands for it */
        for (Py_ssize_t i = lo; i < hi; i++) {
            int c = outcode(ring[2 * i], ring[2 * i + 1], box);
            all &= c;
            while (kn >= 2 && (kv[kn - 2] & kv[kn - 1] & c & 15)) kn--;
            kv[kn++] = ((int64_t)i << 4) | c;
        }
    }
    kp->n = kn;
    if (all) return 0;
    Py_ssize_t lo = 0, hi = kn; /* the ring closes: drop at the seam in the same way */
    int changed = 1;
    while (changed && hi - lo > 3) {
        changed = 0;
        if (kv[hi - 2] & kv[hi - 1] & kv[lo] & 15) { hi--; changed = 1; }
        else if (kv[hi - 1] & kv[lo] & kv[lo + 1] & 15) { lo++; changed = 1; }
    }
    Py_ssize_t k = hi - lo;
    w->a.n = 0;
    if (dgrow(&w->a, 2 * k)) return -1;
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_ssize_t j = (Py_ssize_t)(kv[lo + i] >> 4);
        w->a.v[2 * i] = ring[2 * j]; w->a.v[2 * i + 1] = ring[2 * j + 1];
    }
    w->a.n = 2 * k;
    return k;
}

/* Boxes of each ring's chunks of CHUNK vertices (the vertex after each chunk included), for every ring of
 * the features; chunk_off[r] is the first chunk of ring r (rings taken without their closing vertex). */
static double *chunk_boxes(const double *xy, const int64_t *roff, Py_ssize_t nrings, int64_t **chunk_off) {
    int64_t *off = (int64_t *)malloc((size_t)(nrings + 1) * sizeof(int64_t));
    if (!off) return NULL;
    off[0] = 0;
    for (Py_ssize_t r = 0; r < nrings; r++) {
        int64_t n = roff[r + 1] - roff[r] - 1;
        if (n < 0) n = 0;
        off[r + 1] = off[r] + (n + CHUNK - 1) / CHUNK;
    }
    double *cb = (double *)malloc((size_t)(off[nrings] > 0 ? off[nrings] : 1) * 4 * sizeof(double));
    if (!cb) { free(off); return NULL; }
    for (Py_ssize_t r = 0; r < nrings; r++) {
        const double *c = xy + 2 * roff[r];
        int64_t n = roff[r + 1] - roff[r] - 1; /* the ring's last coordinate closes it */
        for (int64_t j = 0; j * CHUNK < n; j++) {
            double *b = cb + 4 * (off[r] + j);
            b[0] = b[1] = INFINITY; b[2] = b[3] = -INFINITY;
            int64_t hi = (j + 1) * CHUNK < n ? (j + 1) * CHUNK : n;
            for (int64_t i = j * CHUNK; i <= hi; i++) { /* the next chunk's first vertex too */
                b[0] = fmin(b[0], c[2 * i]); b[1] = fmin(b[1], c[2 * i + 1]);
                b[2] = fmax(b[2], c[2 * i]); b[3] = fmax(b[3], c[2 * i + 1]);
            }
        }
    }
    *chunk_off = off;
    return cb;
}

/* The ring cut to the box (outcode reduction, then the four box passes), counter-clockwise, into w->ring.
 * Returns the count, 0 if nothing is left, -1 no memory, -2 decline (a degenerate ring). */
static Py_ssize_t box_ring(scratch *w, const double *ring, Py_ssize_t n, const double *cbox, const double *box) {
    n--; /* rings are closed: the last coordinate repeats the first */
    if (n < 3) return -2;
    Py_ssize_t k;
    if ((k = reduce_ring(w, ring, n, cbox, box)) <= 0) return k;
    if ((k = clip_axis(w->a.v, k, &w->b, 0, box[0], 1)) <= 0) return k;
    if ((k = clip_axis(w->b.v, k, &w->a, 0, box[2], 0)) <= 0) return k;
    if ((k = clip_axis(w->a.v, k, &w->b, 1, box[1], 1)) <= 0) return k;
    if ((k = clip_axis(w->b.v, k, &w->a, 1, box[3], 0)) <= 0) return k;
    w->ring.n = 0;
    if (dgrow(&w->ring, 2 * k)) return -1;
    double area2 = ring_area2(w->a.v, k); /* zero-width bridges along the box add nothing */
    if (area2 == 0) return -2;
    double *r = w->ring.v;
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_ssize_t j = area2 > 0 ? i : k - 1 - i;
        r[2 * i] = w->a.v[2 * j]; r[2 * i + 1] = w->a.v[2 * j + 1];
    }
    w->ring.n = 2 * k;
    return k;
}

/* A crossing of the feature's ring with the site's boundary. */
typedef struct {
    double x, y;  /* the point */
    double key;   /* where on the site's boundary: edge index + fraction along it */
    Py_ssize_t edge; /* the ring's edge it lies on */
    int entry;    /* 1 entering the site, 0 leaving it */
} crossing;

/* relative tolerances of a crossing's place along the ring's edge and along the site's edge */
#define T_TOL 1e-10

/* The intersection of the counter-clockwise ring r (k points, the feature within the box) with the convex
 * counter-clockwise site (m points), by following the ring inside the site and the site's boundary inside the
 * ring from crossing to crossing (Weiler–Atherton; the site being convex, each ring edge crosses its boundary
 * at most twice).  Pieces go to `out` as rings (points) with their sizes in `sizes`.
 * Returns ST_OK (pieces written), ST_EMPTY, ST_INSIDE (the site lies in the ring: no crossing and a site
 * vertex inside), ST_DECLINE (a vertex or a crossing within rounding of the other's boundary or corner),
 * or -1 on no memory. */
static int wa_clip(const double *r, Py_ssize_t k, const double *c, Py_ssize_t m, double eps, dbuf *out,
                   ibuf *sizes, crossing **evbuf, Py_ssize_t *evcap) {
    out->n = 0; sizes->n = 0;
    int any_in = 0, any_out = 0;
    /* vertices: strictly inside, strictly outside, or too near the boundary (declined) */
    for (Py_ssize_t i = 0; i < k; i++) {
        int in = 1, near = 0;
        for (Py_ssize_t e = 0; e < m; e++) {
            const double *a = c + 2 * e, *b = c + 2 * ((e + 1) % m);
            int g = orient_sign(a[0], a[1], b[0], b[1], r[2 * i], r[2 * i + 1], eps);
            if (g < 0) { in = 0; near = 0; break; }
            if (g == 0) { in = 0; near = 1; }
        }
        if (near) return ST_DECLINE;
        if (in) any_in = 1; else any_out = 1;
    }
    if (!any_out) { /* the whole ring lies in the site: it is its own overlap */
        if (dgrow(out, 2 * k) || ipush(sizes, k)) return -1;
        memcpy(out->v, r, (size_t)(2 * k) * sizeof(double));
        out->n = 2 * k;
        return ST_HELD;
    }
    /* crossings, edge by edge (Cyrus–Beck) */
    Py_ssize_t ne = 0;
    for (Py_ssize_t i = 0; i < k; i++) {
        const double *u = r + 2 * i, *v = r + 2 * ((i + 1) % k);
        double t_in = 0, t_out = 1;
        double ttol = T_TOL + eps / (fabs(v[0] - u[0]) + fabs(v[1] - u[1]) + 1e-300);
        Py_ssize_t e_in = -1, e_out = -1;
        int apart = 0;
        for (Py_ssize_t e = 0; e < m && !apart; e++) {
            const double *a = c + 2 * e, *b = c + 2 * ((e + 1) % m);
            double su, sv;
            double du = orient(a[0], a[1], b[0], b[1], u[0], u[1], eps, &su);
            double dv = orient(a[0], a[1], b[0], b[1], v[0], v[1], eps, &sv);
            int gu = sgn_tol(du, su), gv = sgn_tol(dv, sv);
            if (gu >= 0 && gv >= 0) {
                if (gu == 0 && gv == 0) return ST_DECLINE; /* along a site edge's line */
                continue;
            }
            if (gu <= 0 && gv <= 0) { apart = 1; break; }
            double t = du / (du - dv);
            if (gu < 0) { /* entering this half-plane */
                if (e_in >= 0 && fabs(t - t_in) <= ttol) return ST_DECLINE; /* through a site corner */
                if (t > t_in) { t_in = t; e_in = e; }
            } else {
                if (e_out >= 0 && fabs(t - t_out) <= ttol) return ST_DECLINE;
                if (t < t_out) { t_out = t; e_out = e; }
            }
        }
        if (apart) continue;
        if (t_in > t_out + ttol) continue; /* misses the site */
        if (t_in >= t_out - ttol) return ST_DECLINE; /* grazes it */
        for (int pass = 0; pass < 2; pass++) {
            Py_ssize_t e = pass ? e_out : e_in;
            if (e < 0) continue;
            double t = pass ? t_out : t_in;
            if (ne + 1 > *evcap) {
                Py_ssize_t cap = *evcap ? 2 * *evcap : 64;
                crossing *nv = (crossing *)realloc(*evbuf, (size_t)cap * sizeof(crossing));
                if (!nv) return -1;
                *evbuf = nv; *evcap = cap;
            }
            crossing *x = *evbuf + ne++;
            x->x = u[0] + t * (v[0] - u[0]); x->y = u[1] + t * (v[1] - u[1]);
            const double *a = c + 2 * e, *b = c + 2 * ((e + 1) % m);
            double ex = b[0] - a[0], ey = b[1] - a[1];
            double lam = ((x->x - a[0]) * ex + (x->y - a[1]) * ey) / (ex * ex + ey * ey);
            double ltol = T_TOL + eps / (fabs(ex) + fabs(ey));
            if (lam <= ltol || lam >= 1 - ltol) return ST_DECLINE; /* at a site corner */
            x->key = (double)e + lam;
            x->edge = i;
            x->entry = !pass;
        }
    }
    crossing *ev = *evbuf;
    if (ne == 0) {
        if (any_in) return ST_DECLINE; /* vertices on both sides and no crossing: rounding; let GEOS say */
        /* the ring keeps clear of the site: the site lies in it or apart (crossing number of a site vertex) */
        int odd = 0;
        double px = c[0], py = c[1];
        for (Py_ssize_t i = 0; i < k; i++) {
            const double *u = r + 2 * i, *v = r + 2 * ((i + 1) % k);
            if ((u[1] > py) != (v[1] > py)) {
                double xc = u[0] + (py - u[1]) * (v[0] - u[0]) / (v[1] - u[1]);
                if (xc > px) odd = !odd;
            }
        }
        return odd ? ST_INSIDE : ST_EMPTY;
    }
    if (ne % 2) return ST_DECLINE;
    for (Py_ssize_t j = 0; j < ne; j++) /* along the ring, entries and exits alternate */
        if (ev[j].entry == ev[(j + 1) % ne].entry) return ST_DECLINE;
    /* rank of each crossing along the site's boundary (few crossings: insertion sort of indices) */
    Py_ssize_t *order = (Py_ssize_t *)malloc((size_t)ne * 3 * sizeof(Py_ssize_t));
    if (!order) return -1;
    Py_ssize_t *rank = order + ne, *seen = order + 2 * ne;
    for (Py_ssize_t j = 0; j < ne; j++) {
        Py_ssize_t q = j;
        while (q > 0 && ev[order[q - 1]].key > ev[j].key) { order[q] = order[q - 1]; q--; }
        order[q] = j;
    }
    int st = ST_OK;
    for (Py_ssize_t q = 0; q < ne; q++) {
        rank[order[q]] = q;
        seen[q] = 0;
        if (q && ev[order[q]].key - ev[order[q - 1]].key <= 1e-9) st = ST_DECLINE; /* two at one place */
    }
    for (Py_ssize_t j0 = 0; j0 < ne && st == ST_OK; j0++) {
        if (!ev[j0].entry || seen[j0]) continue;
        Py_ssize_t start = out->n, j = j0, guard = 0;
        do {
            if (seen[j] || !ev[j].entry || ++guard > ne) { st = ST_DECLINE; break; }
            seen[j] = 1;
            Py_ssize_t x = (j + 1) % ne; /* the exit that follows along the ring */
            seen[x] = 1;
            Py_ssize_t from = ev[j].edge, to = ev[x].edge;
            Py_ssize_t nv = (to - from + k) % k; /* ring vertices between the two crossings */
            if (to == from && x < j) nv = k;      /* around the whole ring (one crossing pair on one edge) */
            Py_ssize_t nxt = order[(rank[x] + 1) % ne]; /* the next crossing along the site's boundary */
            double kx = ev[x].key, kn = ev[nxt].key;
            Py_ssize_t ex = (Py_ssize_t)kx, en = (Py_ssize_t)kn;
            Py_ssize_t nc = (en - ex + m) % m;   /* site corners between them */
            if (en == ex && kn < kx) nc = m;
            if (dgrow(out, 2 * (2 + nv + nc))) { st = -1; break; }
            double *o = out->v + out->n;
            Py_ssize_t p = 0;
            o[p++] = ev[j].x; o[p++] = ev[j].y;
            for (Py_ssize_t t = 1; t <= nv; t++) {
                const double *q = r + 2 * ((from + t) % k);
                o[p++] = q[0]; o[p++] = q[1];
            }
            o[p++] = ev[x].x; o[p++] = ev[x].y;
            for (Py_ssize_t t = 1; t <= nc; t++) {
                const double *q = c + 2 * ((ex + t) % m);
                o[p++] = q[0]; o[p++] = q[1];
            }
            out->n += p;
            j = nxt;
        } while (j != j0);
        if (st != ST_OK) break;
        if (ipush(sizes, (out->n - start) / 2)) { st = -1; break; }
    }
    if (st == ST_OK) {
        for (Py_ssize_t j = 0; j < ne; j++)
            if (!seen[j]) { st = ST_DECLINE; break; }
    }
    free(order);
    return st;
}

static PyObject *clip_pairs(PyObject *self, PyObject *args) {
    Py_buffer b_sxy, b_sbeg, b_send, b_fxy, b_roff, b_poff, b_goff, b_cbox, b_coff, b_ps, b_pf;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*", &b_sxy, &b_sbeg, &b_send, &b_fxy, &b_roff, &b_poff,
                          &b_goff, &b_cbox, &b_coff, &b_ps, &b_pf))
        return NULL;
    Py_buffer *all[] = {&b_sxy, &b_sbeg, &b_send, &b_fxy, &b_roff, &b_poff, &b_goff, &b_cbox, &b_coff, &b_ps, &b_pf};
    const double *sxy = (const double *)b_sxy.buf, *fxy = (const double *)b_fxy.buf;
    const double *cboxes = (const double *)b_cbox.buf;
    const int64_t *sbeg = (const int64_t *)b_sbeg.buf, *send = (const int64_t *)b_send.buf;
    const int64_t *roff = (const int64_t *)b_roff.buf, *coff = (const int64_t *)b_coff.buf;
    const int64_t *poff = (const int64_t *)b_poff.buf, *goff = (const int64_t *)b_goff.buf;
    const int64_t *pf = (const int64_t *)b_pf.buf, *ps = (const int64_t *)b_ps.buf;
    Py_ssize_t npairs = b_pf.len / (Py_ssize_t)sizeof(int64_t);
    PyObject *ret = NULL;
    int failed = 0;
    {   /* every offset and index within its array (a wrong one would read out of bounds) */
        Py_ssize_t nsites = b_sbeg.len / 8, ngeoms = b_goff.len / 8 - 1, nparts = b_poff.len / 8 - 1;
        Py_ssize_t nrings = b_roff.len / 8 - 1, nsxy = b_sxy.len / 16, nfxy = b_fxy.len / 16;
        Py_ssize_t nchunks = b_cbox.len / 32;
        int bad = b_ps.len != b_pf.len || b_send.len != b_sbeg.len || nsites < 0 || ngeoms < 0 || nparts < 0 ||
                  nrings < 0 || b_coff.len != b_roff.len;
        for (Py_ssize_t i = 0; !bad && i < npairs; i++)
            bad = ps[i] < 0 || ps[i] >= nsites || pf[i] < 0 || pf[i] >= ngeoms;
        for (Py_ssize_t i = 0; !bad && i < nsites; i++)
            bad = sbeg[i] < 0 || send[i] > nsxy || send[i] < sbeg[i];
        for (Py_ssize_t i = 0; !bad && i <= ngeoms; i++)
            bad = goff[i] < 0 || goff[i] > nparts || (i && goff[i] < goff[i - 1]);
        for (Py_ssize_t i = 0; !bad && i <= nparts; i++)
            bad = poff[i] < 0 || poff[i] > nrings || (i && poff[i] < poff[i - 1]) || (i && poff[i] == poff[i - 1]);
        for (Py_ssize_t i = 0; !bad && i <= nrings; i++)
            bad = roff[i] < 0 || roff[i] > nfxy || (i && roff[i] < roff[i - 1]) ||
                  (i && coff[i] - coff[i - 1] < (roff[i] - roff[i - 1] - 1 + CHUNK - 1) / CHUNK) || coff[i] > nchunks;
        if (bad) {
            PyErr_SetString(PyExc_ValueError, "offsets or indices out of range");
            goto done;
        }
    }
    char *status = (char *)malloc((size_t)npairs + 1);
    dbuf xy = {0}; ibuf ro = {0}, po = {0}, go = {0};
    scratch w = {{0}, {0}, {0}, {0}, {0}};
    dbuf part = {0};
    ibuf sizes = {0}, holes = {0};
    crossing *evbuf = NULL;
    Py_ssize_t evcap = 0;
    Py_BEGIN_ALLOW_THREADS
    if (!status || ipush(&ro, 0) || ipush(&po, 0) || ipush(&go, 0)) failed = 1;
    for (Py_ssize_t p = 0; p < npairs && !failed; p++) {
        char st = ST_EMPTY;
        int held = 0; /* parts lying wholly in the site */
        Py_ssize_t xy0 = xy.n, ro0 = ro.n, po0 = po.n;
        /* positional tolerance: a few units in the last place of the site's coordinates */
        double mag = 0;
        int64_t sp = ps[p];
        for (int64_t i = sbeg[sp]; i < send[sp]; i++)
            mag = fmax(mag, fmax(fabs(sxy[2 * i]), fabs(sxy[2 * i + 1])));
        double eps = POS_TOL * mag;
        int ok = site_ring(sxy + 2 * sbeg[sp], (Py_ssize_t)(send[sp] - sbeg[sp]), &w.site, eps);
        if (ok < 0) { failed = 1; break; }
        if (!ok) { status[p] = ST_DECLINE; continue; }
        Py_ssize_t m = w.site.n / 2;
        double box[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
        for (Py_ssize_t i = 0; i < m; i++) {
            box[0] = fmin(box[0], w.site.v[2 * i]); box[1] = fmin(box[1], w.site.v[2 * i + 1]);
            box[2] = fmax(box[2], w.site.v[2 * i]); box[3] = fmax(box[3], w.site.v[2 * i + 1]);
        }
        double span = (box[2] - box[0]) + (box[3] - box[1]);
        double margin = fmax(span * 1e-6, 1e-12);
        double ebox[4] = {box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin};
        double min_edge = span * 1e-10;
        int64_t f = pf[p];
        for (int64_t q = goff[f]; q < goff[f + 1] && st != ST_DECLINE; q++) {
            int64_t r0 = poff[q], r1 = poff[q + 1];
            Py_ssize_t k = box_ring(&w, fxy + 2 * roff[r0], (Py_ssize_t)(roff[r0 + 1] - roff[r0]),
                                    cboxes + 4 * coff[r0], ebox);
            if (k == -1) { failed = 1; break; }
            if (k == -2) { st = ST_DECLINE; break; }
            if (k == 0) continue; /* this part misses the site's box */
            int got = wa_clip(w.ring.v, k, w.site.v, m, eps, &part, &sizes, &evbuf, &evcap);
            if (got < 0) { failed = 1; break; }
            if (got == ST_DECLINE) { st = ST_DECLINE; break; }
            if (got == ST_EMPTY) continue;
            if (got == ST_HELD) { held++; got = ST_OK; }
            /* holes: kept if wholly inside the site, skipped if their box misses it, else declined */
            holes.n = 0;
            for (int64_t h = r0 + 1; h < r1 && st != ST_DECLINE; h++) {
                const double *hr = fxy + 2 * roff[h];
                Py_ssize_t hn = (Py_ssize_t)(roff[h + 1] - roff[h]);
                double hb[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
                for (Py_ssize_t i = 0; i < hn; i++) {
                    hb[0] = fmin(hb[0], hr[2 * i]); hb[1] = fmin(hb[1], hr[2 * i + 1]);
                    hb[2] = fmax(hb[2], hr[2 * i]); hb[3] = fmax(hb[3], hr[2 * i + 1]);
                }
                if (hb[2] < box[0] || hb[0] > box[2] || hb[3] < box[1] || hb[1] > box[3]) continue;
                int inside = 1;
                for (Py_ssize_t i = 0; i < hn && inside; i++)
                    for (Py_ssize_t e = 0; e < m && inside; e++) {
                        const double *a = w.site.v + 2 * e, *b = w.site.v + 2 * ((e + 1) % m);
                        double s, d = orient(a[0], a[1], b[0], b[1], hr[2 * i], hr[2 * i + 1], eps, &s);
                        if (d <= REL_TOL * s) inside = 0;
                    }
                if (!inside) st = ST_DECLINE;
                else if (ipush(&holes, h)) { failed = 1; break; }
            }
            if (failed || st == ST_DECLINE) break;
            if (got == ST_INSIDE) {
                if (holes.n == 0) { /* the site lies in this part's interior */
                    if (st == ST_OK) { st = ST_DECLINE; break; } /* and in another part's: unsure */
                    st = ST_INSIDE;
                    continue;
                }
                /* the site with the holes that lie in it */
                part.n = 0; sizes.n = 0;
                if (dgrow(&part, 2 * m) || ipush(&sizes, m)) { failed = 1; break; }
                memcpy(part.v, w.site.v, (size_t)(2 * m) * sizeof(double));
                part.n = 2 * m;
            }
            if (st == ST_INSIDE || (sizes.n > 1 && holes.n)) { st = ST_DECLINE; break; }
            const double *pc = part.v;
            for (Py_ssize_t g = 0; g < sizes.n && st != ST_DECLINE; g++) {
                Py_ssize_t pn = (Py_ssize_t)sizes.v[g];
                if (!ring_simple(pc, pn, min_edge, eps) || ring_area2(pc, pn) <= 0) { st = ST_DECLINE; break; }
                if (emit_ring(&xy, &ro, pc, pn, 0)) { failed = 1; break; }
                for (Py_ssize_t h = 0; h < holes.n; h++) {
                    const double *hr = fxy + 2 * roff[holes.v[h]];
                    Py_ssize_t hk = (Py_ssize_t)(roff[holes.v[h] + 1] - roff[holes.v[h]]) - 1;
                    if (emit_ring(&xy, &ro, hr, hk, 1)) { failed = 1; break; }
                }
                if (failed) break;
                if (ipush(&po, (int64_t)(ro.n - 1))) { failed = 1; break; }
                pc += 2 * pn;
            }
            if (failed || st == ST_DECLINE) break;
            st = ST_OK;
        }
        if (failed) break;
        if (st == ST_OK) {
            if (ipush(&go, (int64_t)(po.n - 1))) { failed = 1; break; }
            if (held == 1 && po.n - po0 == 1) st = ST_HELD; /* the overlap is the feature's one part, whole */
        } else { /* roll back what this pair wrote */
            xy.n = xy0; ro.n = ro0; po.n = po0;
        }
        status[p] = st;
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
    } else {
        ret = Py_BuildValue("(y#y#y#y#y#)", status, npairs, (const char *)xy.v, xy.n * (Py_ssize_t)sizeof(double),
                            (const char *)ro.v, ro.n * (Py_ssize_t)sizeof(int64_t),
                            (const char *)po.v, po.n * (Py_ssize_t)sizeof(int64_t),
                            (const char *)go.v, go.n * (Py_ssize_t)sizeof(int64_t));
    }
    free(status); free(xy.v); free(ro.v); free(po.v); free(go.v);
    free(w.a.v); free(w.b.v); free(w.site.v); free(w.ring.v); free(w.keep.v); free(part.v);
    free(sizes.v); free(holes.v); free(evbuf);
done:
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) PyBuffer_Release(all[i]);
    return ret;
}

static PyObject *convex_rings(PyObject *self, PyObject *args) {
    Py_buffer b_xy, b_off;
    if (!PyArg_ParseTuple(args, "y*y*", &b_xy, &b_off)) return NULL;
    const double *xy = (const double *)b_xy.buf;
    const int64_t *off = (const int64_t *)b_off.buf;
    Py_ssize_t n = b_off.len / (Py_ssize_t)sizeof(int64_t) - 1;
    PyObject *ret = NULL;
    char *flag = (char *)malloc((size_t)(n > 0 ? n : 1));
    dbuf site = {0};
    int failed = flag == NULL;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        double mag = 0;
        for (int64_t j = off[i]; j < off[i + 1]; j++) mag = fmax(mag, fmax(fabs(xy[2 * j]), fabs(xy[2 * j + 1])));
        int ok = site_ring(xy + 2 * off[i], (Py_ssize_t)(off[i + 1] - off[i]), &site, POS_TOL * mag);
        if (ok < 0) failed = 1;
        flag[i] = ok > 0;
    }
    Py_END_ALLOW_THREADS
    if (failed) PyErr_NoMemory();
    else ret = PyBytes_FromStringAndSize(flag, n > 0 ? n : 0);
    free(flag); free(site.v);
    PyBuffer_Release(&b_xy); PyBuffer_Release(&b_off);
    return ret;
}

static PyObject *py_chunk_boxes(PyObject *self, PyObject *args) {
    Py_buffer b_xy, b_roff;
    if (!PyArg_ParseTuple(args, "y*y*", &b_xy, &b_roff)) return NULL;
    Py_ssize_t nrings = b_roff.len / 8 - 1;
    const int64_t *roff = (const int64_t *)b_roff.buf;
    PyObject *ret = NULL;
    int bad = nrings < 0;
    for (Py_ssize_t i = 0; !bad && i <= nrings; i++)
        bad = roff[i] < 0 || roff[i] > b_xy.len / 16 || (i && roff[i] < roff[i - 1]);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "ring offsets out of range");
    } else {
        int64_t *off = NULL;
        double *cb;
        Py_BEGIN_ALLOW_THREADS
        cb = chunk_boxes((const double *)b_xy.buf, roff, nrings, &off);
        Py_END_ALLOW_THREADS
        if (!cb) PyErr_NoMemory();
        else ret = Py_BuildValue("(y#y#)", (const char *)cb, (Py_ssize_t)(off[nrings] * 4 * sizeof(double)),
                                 (const char *)off, (Py_ssize_t)((nrings + 1) * sizeof(int64_t)));
        free(cb); free(off);
    }
    PyBuffer_Release(&b_xy); PyBuffer_Release(&b_roff);
    return ret;
}

static PyMethodDef methods[] = {
    {"chunk_boxes", py_chunk_boxes, METH_VARARGS,
     "chunk_boxes(xy, ring_offsets) -> (boxes, chunk_offsets): boxes of each ring's runs of 16 vertices."},
    {"convex_rings", convex_rings, METH_VARARGS,
     "convex_rings(xy, offsets) -> bytes: 1 where the ring is strictly convex and simple (as clip_pairs needs)."},
    {"clip_pairs", clip_pairs, METH_VARARGS,
     "clip_pairs(site_xy, site_begin, site_end, feat_xy, ring_offsets, part_offsets, geom_offsets, chunk_boxes,\n"
     "           chunk_offsets, pair_site, pair_feature)\n"
     "-> (status, xy, ring_offsets, part_offsets, geom_offsets); see ecogis.screening.convexclip."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_convexclip",
                                    "Sutherland-Hodgman intersections of convex sites and features.", -1, methods};

PyMODINIT_FUNC PyInit__convexclip(void) { return PyModule_Create(&module); }
