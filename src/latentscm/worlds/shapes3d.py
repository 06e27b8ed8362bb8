"""``shapes3d``: the 3D Shapes grid (Burgess & Kim 2018) as a world with an exact SCM.

Factors, in 3D Shapes' storage order (row-major, ``orientation`` fastest):

============ ===== ===============================================
floor_hue    10    ``linspace(0, 0.9, 10)`` (hue of the floor)
wall_hue     10    ``linspace(0, 0.9, 10)`` (hue of the back wall)
object_hue   10    ``linspace(0, 0.9, 10)`` (hue of the object)
scale        8     ``linspace(0.75, 1.25, 8)`` (object size)
shape        4     0, 1, 2, 3 = cube, cylinder, sphere, capsule
orientation  15    ``linspace(-30, 30, 15)`` degrees (camera azimuth around the object)
============ ===== ===============================================

10 * 10 * 10 * 8 * 4 * 15 = 480,000 combinations.

The scene is ray cast, not photoreal: an infinite floor (``y = 0``), an infinite back wall
(``z = WALL_Z``) and one object standing at the origin (cube, upright cylinder, sphere, upright
capsule), lit by one directional light with Lambertian shading, an ambient term and the object's
cast shadow. The camera orbits the object at the azimuth ``orientation`` (positive = camera moves
to the right), looking slightly down at it, so the floor / wall boundary tilts with the azimuth.

Rendering at speed: the geometry depends only on (scale, shape, orientation) — 480 cases. For
each, :func:`render_geometry` stores per-pixel region weights (3, H, W): for floor, wall and
object, the shading intensity times the fraction of the pixel's 4 x 4 sub-samples that see that
region (anti-aliased edges). An image is then ``sum_r colour(hue_r) * weights_r``: a gather of
the cached maps and one (3 x 3) @ (3 x H*W) product per image, in chunks small enough to stay in
cache. Geometries are ray cast lazily on first use and cached on the instance (15 camera views
per size are cached per process: their floor / wall hits and the rays that can meet an object).
Colours are HSV with the factor as hue, saturation ``SATURATION``, value 1, so the hue of every
floor pixel equals ``floor_hue`` whatever its shading (same for wall and object).

Symmetries: none; every change of one factor changes the image (``symmetries = {}``; measured
over random pairs in the tests). Rendering a batch is bit-identical to rendering its rows one by
one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.graph import CausalGraph
from latentscm.scm import Mechanism
from latentscm.worlds._raster import box_downsample, subpixel_centres
from latentscm.worlds.base import FactorSpec, World

__all__ = ["Shapes3D", "SHAPES", "render_geometry", "hsv_to_rgb"]

SHAPES = ("cube", "cylinder", "sphere", "capsule")
FLOOR, WALL, OBJECT = 0, 1, 2
MIN_SIZE = 16

SUPERSAMPLE = 4
SATURATION = 0.9
AMBIENT = 0.3
MAX_SHADE = 0.999  # brightest shading; keeps colour * weight sums below 1 despite float rounding
SHADOW = 0.35  # fraction of the direct light that still reaches shadowed floor or wall
HALF_SIZE = 0.55  # half-width of a scale-1 object in scene units
WALL_Z = 2.6
CAMERA_DISTANCE = 5.2
CAMERA_HEIGHT = 2.3
CAMERA_TARGET = np.array([0.0, 0.75, 0.0])
FIELD_OF_VIEW = np.deg2rad(44.0)
LIGHT = np.array([-0.45, 0.8, -0.55]) / np.linalg.norm([-0.45, 0.8, -0.55])  # towards the light
RENDER_CHUNK = 128  # images per gather + GEMM step: keeps the gathered maps in cache
_EPS = 1e-6


def hsv_to_rgb(hue: np.ndarray, saturation: float = SATURATION, value: float = 1.0) -> np.ndarray:
    """RGB (..., 3) float64 of hues (...) in [0, 1) at fixed saturation and value."""
    hue = np.asarray(hue, dtype=np.float64)
    sector = np.floor(hue * 6.0)
    fraction = hue * 6.0 - sector
    sector = sector.astype(np.int64) % 6
    p = np.full_like(hue, value * (1.0 - saturation))
    q = value * (1.0 - saturation * fraction)
    t = value * (1.0 - saturation * (1.0 - fraction))
    v = np.full_like(hue, value)
    table = np.stack([np.stack(c, axis=-1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v),
                                                      (v, p, q))], axis=0)  # (6, ..., 3)
    return np.take_along_axis(table, sector[None, ..., None], axis=0)[0]


# ---------------------------------------------------------------------- ray casting
# Rays: origins (P, 3) and unit directions (P, 3); each hit test returns distances t (P,)
# (inf where missed) and unit normals (P, 3).

def _closest(*hits: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    t = np.stack([h[0] for h in hits])
    which = np.argmin(t, axis=0)
    columns = np.arange(t.shape[1])
    normals = np.stack([h[1] for h in hits])[which, columns]
    return t[which, columns], normals


def _hit_sphere(origin, direction, centre_y: float, radius: float):
    oc = origin - np.array([0.0, centre_y, 0.0])
    b = np.einsum("pi,pi->p", oc, direction)
    c = np.einsum("pi,pi->p", oc, oc) - radius * radius
    disc = b * b - c
    ok = disc >= 0
    t = -b - np.sqrt(np.where(ok, disc, 0.0))
    ok &= t > _EPS
    t = np.where(ok, t, np.inf)
    point = origin + np.where(ok, t, 0.0)[:, None] * direction
    normal = (point - np.array([0.0, centre_y, 0.0])) / radius
    return t, normal


def _hit_cylinder_side(origin, direction, radius: float, y_low: float, y_high: float):
    a = direction[:, 0] ** 2 + direction[:, 2] ** 2
    b = origin[:, 0] * direction[:, 0] + origin[:, 2] * direction[:, 2]
    c = origin[:, 0] ** 2 + origin[:, 2] ** 2 - radius * radius
    disc = b * b - a * c
    ok = (disc >= 0) & (a > _EPS)
    t = (-b - np.sqrt(np.where(ok, disc, 0.0))) / np.where(ok, a, 1.0)
    y = origin[:, 1] + t * direction[:, 1]
    ok &= (t > _EPS) & (y >= y_low) & (y <= y_high)
    t = np.where(ok, t, np.inf)
    point = origin + np.where(ok, t, 0.0)[:, None] * direction
    normal = np.stack([point[:, 0] / radius, np.zeros_like(t), point[:, 2] / radius], axis=1)
    return t, normal


def _hit_disc_top(origin, direction, radius: float, height: float):
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (height - origin[:, 1]) / direction[:, 1]
    x = origin[:, 0] + t * direction[:, 0]
    z = origin[:, 2] + t * direction[:, 2]
    ok = np.isfinite(t) & (t > _EPS) & (x * x + z * z <= radius * radius)
    normal = np.zeros((t.size, 3))
    normal[:, 1] = 1.0
    return np.where(ok, t, np.inf), normal


def _hit_box(origin, direction, half: float, height: float):
    low = np.array([-half, 0.0, -half])
    high = np.array([half, height, half])
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (low - origin) / direction
        t2 = (high - origin) / direction
    near = np.nan_to_num(np.minimum(t1, t2), nan=-np.inf)
    far = np.nan_to_num(np.maximum(t1, t2), nan=np.inf)
    axis = np.argmax(near, axis=1)
    t_near = near.max(axis=1)
    t_far = far.min(axis=1)
    ok = (t_far >= t_near) & (t_near > _EPS)
    normal = np.zeros_like(origin)
    rows = np.arange(origin.shape[0])
    normal[rows, axis] = -np.sign(direction[rows, axis])
    return np.where(ok, t_near, np.inf), normal


def _hit_object(origin: np.ndarray, direction: np.ndarray, shape: int, scale: float):
    """Nearest hit of rays with the object (index into ``SHAPES``) of size ``scale``."""
    a = HALF_SIZE * scale
    if shape == 0:  # cube of side 2a standing on the floor
        return _hit_box(origin, direction, a, 2.0 * a)
    if shape == 1:  # upright cylinder, radius a, height 2a
        return _closest(_hit_cylinder_side(origin, direction, a, 0.0, 2.0 * a),
                        _hit_disc_top(origin, direction, a, 2.0 * a))
    if shape == 2:  # sphere of radius a resting on the floor
        return _hit_sphere(origin, direction, a, a)
    # upright capsule: radius 0.7a, total height 2.8a (a cylinder between two hemispheres)
    radius, height = 0.7 * a, 2.8 * a
    return _closest(_hit_cylinder_side(origin, direction, radius, radius, height - radius),
                    _hit_sphere(origin, direction, radius, radius),
                    _hit_sphere(origin, direction, height - radius, radius))


# Every object of every scale lies in this sphere (the largest capsule's is the tallest bound).
_BOUND_CENTRE_Y = 1.4 * HALF_SIZE * 1.25
_BOUND_RADIUS = np.sqrt(_BOUND_CENTRE_Y ** 2 + 2.0 * (HALF_SIZE * 1.25) ** 2)


@dataclass(frozen=True)
class _View:
    """Everything about the rays of one camera azimuth that does not depend on the object.

    ``directions`` (P, 3) unit camera rays (P = (size * SUPERSAMPLE)^2, rows top to bottom);
    ``t_floor``, ``t_wall`` (P,) distances to the floor and the wall (inf where missed);
    ``points`` (P, 3) where each ray meets the nearer of floor and wall; ``object_rays`` indices
    of rays that may hit an object (they meet the bounding sphere); ``shadow_rays`` indices of
    rays whose floor / wall point may lie in an object's shadow.
    """

    origin: np.ndarray
    directions: np.ndarray
    t_floor: np.ndarray
    t_wall: np.ndarray
    points: np.ndarray
    object_rays: np.ndarray
    shadow_rays: np.ndarray


def _meets_bound(origin: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Whether rays meet the bounding sphere ahead of their origin (P,) bool; origins may lie
    inside it (floor points near the object do)."""
    oc = origin - np.array([0.0, _BOUND_CENTRE_Y, 0.0])
    b = np.einsum("pi,pi->p", oc, direction)
    c = np.einsum("pi,pi->p", oc, oc) - _BOUND_RADIUS ** 2
    disc = b * b - c
    return (disc >= 0) & (-b + np.sqrt(np.maximum(disc, 0.0)) > _EPS)


@functools.lru_cache(maxsize=32)
def _view(size: int, orientation_deg: float) -> _View:
    """The cached :class:`_View` of one azimuth (15 per image size)."""
    azimuth = np.deg2rad(orientation_deg)
    origin = np.array([CAMERA_DISTANCE * np.sin(azimuth), CAMERA_HEIGHT, -CAMERA_DISTANCE * np.cos(azimuth)])
    forward = CAMERA_TARGET - origin
    forward /= np.linalg.norm(forward)
    right = np.cross([0.0, 1.0, 0.0], forward)
    right /= np.linalg.norm(right)
    up = np.cross(forward, right)
    coords = subpixel_centres(size, SUPERSAMPLE) / size * 2.0 - 1.0  # [-1, 1], left/top first
    u = coords[None, :, None]
    v = -coords[:, None, None]
    half_width = np.tan(FIELD_OF_VIEW / 2.0)
    directions = (forward + half_width * (u * right + v * up)).reshape(-1, 3)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(directions[:, 1] < -_EPS, -origin[1] / directions[:, 1], np.inf)
        t_wall = np.where(directions[:, 2] > _EPS, (WALL_Z - origin[2]) / directions[:, 2], np.inf)
    t_background = np.minimum(t_floor, t_wall)
    points = origin + np.where(np.isfinite(t_background), t_background, 0.0)[:, None] * directions
    object_rays = np.flatnonzero(_meets_bound(np.broadcast_to(origin, directions.shape), directions))
    shadow_rays = np.flatnonzero(_meets_bound(points, np.broadcast_to(LIGHT, points.shape)))
    view = _View(origin, directions, t_floor, t_wall, points, object_rays, shadow_rays)
    for array in vars(view).values():
        array.flags.writeable = False
    return view


def render_geometry(size: int, scale: float, shape: int, orientation_deg: float) -> np.ndarray:
    """Region weights float32 (3, size, size) of one geometry: for floor, wall and object, the
    shading intensity in [0, 1] times the share of the pixel's sub-samples that see the region."""
    view = _view(size, float(orientation_deg))
    n = view.directions.shape[0]
    region = np.where(view.t_floor <= view.t_wall, FLOOR, WALL)  # a ray that escapes sees the wall
    shade = np.where(region == FLOOR, AMBIENT + (1.0 - AMBIENT) * max(LIGHT[1], 0.0),
                     AMBIENT + (1.0 - AMBIENT) * max(-LIGHT[2], 0.0))

    rays = view.object_rays
    t_object, normal = _hit_object(np.broadcast_to(view.origin, (rays.size, 3)), view.directions[rays],
                                   shape, scale)
    hit = t_object < np.minimum(view.t_floor[rays], view.t_wall[rays])
    rays, normal = rays[hit], normal[hit]
    region[rays] = OBJECT
    shade[rays] = AMBIENT + (1.0 - AMBIENT) * np.clip(normal @ LIGHT, 0.0, None)

    # cast shadow: floor and wall points whose path to the light crosses the object
    rays = view.shadow_rays[region[view.shadow_rays] != OBJECT]
    t_shadow, _ = _hit_object(view.points[rays], np.broadcast_to(LIGHT, (rays.size, 3)), shape, scale)
    rays = rays[np.isfinite(t_shadow)]
    shade[rays] = AMBIENT + (shade[rays] - AMBIENT) * SHADOW

    samples = np.zeros((3, n), dtype=np.float32)
    samples[region, np.arange(n)] = MAX_SHADE * shade
    side = size * SUPERSAMPLE
    return box_downsample(samples.reshape(3, side, side), SUPERSAMPLE)


class Shapes3D(World):
    """3D Shapes: an object on a floor in front of a wall; three hues, object scale and shape,
    and the camera azimuth. See the module docstring for the scene and the rendering.

    Parameters
    ----------
    size:
        Image side in pixels (int >= 16; 64 is 3D Shapes).
    graph, mechanisms:
        Optional causal structure over the factors (see :meth:`World._init_structure`), e.g. a
        hue confounded with the shape. Values snap to the grids.
    """

    name = "shapes3d"

    def __init__(self, *, size: int = 64, graph: CausalGraph | str | None = None,
                 mechanisms: Mapping[str, Mechanism] | None = None):
        self.size = check_number(size, "size", "Shapes3D", low=MIN_SIZE, integer=True)
        self._options: dict[str, Any] = {"size": self.size, "graph": graph, "mechanisms": mechanisms}
        hues = np.linspace(0.0, 0.9, 10)
        self.factor_specs = (
            FactorSpec("floor_hue", values=hues, description="hue of the floor"),
            FactorSpec("wall_hue", values=hues, description="hue of the back wall"),
            FactorSpec("object_hue", values=hues, description="hue of the object"),
            FactorSpec("scale", values=np.linspace(0.75, 1.25, 8), description="object size"),
            FactorSpec("shape", values=np.arange(4.0), labels=SHAPES, description="object shape"),
            FactorSpec("orientation", values=np.linspace(-30.0, 30.0, 15),
                       description="camera azimuth around the object in degrees"),
        )
        self.image_shape = (3, self.size, self.size)
        self._init_structure(graph, mechanisms)
        self._palette = hsv_to_rgb(hues).astype(np.float32)  # (10, 3): one colour per hue value
        self._weights = np.zeros((8 * 4 * 15, 3, self.size, self.size), dtype=np.float32)
        self._ready = np.zeros(8 * 4 * 15, dtype=bool)

    @property
    def symmetries(self) -> dict[str, float]:
        """No factor change leaves an image unchanged (measured; see the tests)."""
        return {}

    def geometry_weights(self, geometry: np.ndarray) -> np.ndarray:
        """Region weights (G, 3, size, size) float32 of geometry indices ``(scale * 4 + shape) *
        15 + orientation`` (G,), ray casting the ones not cached yet."""
        geometry = np.asarray(geometry, dtype=np.int64)
        self._cache_geometry(geometry)
        return self._weights[geometry]

    def _cache_geometry(self, geometry: np.ndarray) -> None:
        missing = np.unique(geometry[~self._ready[geometry]])
        scales, orientations = self.factor_specs[3].values, self.factor_specs[5].values
        for g in missing:  # at most 480 geometries per instance, each ray cast once
            scale, rest = divmod(int(g), 4 * 15)
            shape, orientation = divmod(rest, 15)
            self._weights[g] = render_geometry(self.size, scales[scale], shape, orientations[orientation])
            self._ready[g] = True

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        """Factors (N, 6) on the grid -> float32 RGB images (N, 3, size, size) in [0, 1]."""
        n = factors.shape[0]
        index = [spec.index_of(factors[:, j]) for j, spec in enumerate(self.factor_specs)]
        floor, wall, obj, scale, shape, orientation = index
        geometry = (scale * 4 + shape) * 15 + orientation
        self._cache_geometry(geometry)
        # colours (N, channel, region): image = colours @ weights, one small GEMM per image
        colours = np.stack([self._palette[floor], self._palette[wall], self._palette[obj]], axis=2)
        pixels = self.size * self.size
        flat_weights = self._weights.reshape(-1, 3, pixels)
        images = np.empty((n, 3, pixels), dtype=np.float32)
        for begin in range(0, n, RENDER_CHUNK):
            stop = min(begin + RENDER_CHUNK, n)
            np.matmul(colours[begin:stop], flat_weights[geometry[begin:stop]], out=images[begin:stop])
        # colours <= 1 and weights sum to <= MAX_SHADE < 1, so no clipping is needed
        return images.reshape(n, 3, self.size, self.size)
