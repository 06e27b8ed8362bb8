"""Rendering speed of the ``sprites`` and ``shapes3d`` worlds, each against a naive per-image
reference measured in the same run.

* sprites: the full dSprites grid (737,280 images, 64 x 64) rendered in chunks through
  ``World.render``; wall time and the process' peak resident memory. Reference: one Pillow
  ``ImageDraw.polygon`` call per image (square, 64-gon ellipse, parametric heart) on a random
  subset, extrapolated to the grid.
* shapes3d: images per second of ``World.render`` on random grid points once the 480 geometry
  maps are cached (the one-off ray casting of the cache is timed separately). Reference: ray
  casting every image's geometry on its own (no cache) on a small subset.

Run: ``.venv/bin/python benchmarks/bench_worlds_render.py`` (``--quick`` renders 1/16 of the
sprites grid). The load average is printed: on a shared machine wall times move with it, so CPU
time (``time.process_time``, all threads of this process) is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
from PIL import Image, ImageDraw

from latentscm.worlds import make
from latentscm.worlds.shapes3d import hsv_to_rgb, render_geometry
from latentscm.worlds.sprites import SPRITE_RADIUS


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def sprite_polygon(shape: int, scale: float, orientation: float, cx: float, cy: float, size: int) -> list:
    """Outline of one sprite in image coordinates (y down) for the Pillow reference."""
    t = np.linspace(0.0, 2.0 * np.pi, 64, endpoint=False)
    if shape == 0:
        x, y = np.array([-0.7, 0.7, 0.7, -0.7]), np.array([-0.7, -0.7, 0.7, 0.7])
    elif shape == 1:
        x, y = np.cos(t), 0.5 * np.sin(t)
    else:  # the classic parametric heart, scaled into the unit disc
        x = 16 * np.sin(t) ** 3 / 17.0
        y = (13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)) / 17.0
    radius = SPRITE_RADIUS * size * scale
    c, s = np.cos(orientation), np.sin(orientation)
    px = cx + radius * (x * c - y * s)
    py = cy - radius * (x * s + y * c)
    return list(zip(px.tolist(), py.tolist()))


def pillow_reference(factors: np.ndarray, size: int) -> float:
    """Seconds per image of a naive per-image Pillow loop over ``factors`` (M, 5)."""
    margin = 2 * int(np.ceil(SPRITE_RADIUS * size)) + 2
    start = time.perf_counter()
    out = np.empty((factors.shape[0], 1, size, size), dtype=np.float32)
    for i, (shape, scale, orientation, pos_x, pos_y) in enumerate(factors):
        image = Image.new("L", (size, size), 0)
        cx = margin / 2 + pos_x * (size - margin)
        cy = margin / 2 + pos_y * (size - margin)
        ImageDraw.Draw(image).polygon(sprite_polygon(int(shape), scale, orientation, cx, cy, size), fill=255)
        out[i, 0] = np.asarray(image, dtype=np.float32) / 255.0
    return (time.perf_counter() - start) / factors.shape[0]


def bench_sprites(chunk: int, fraction: int, reference_n: int) -> list[tuple[str, str]]:
    world = make("sprites", size=64)
    start = time.perf_counter()
    masks = world.masks
    mask_seconds = time.perf_counter() - start
    total = int(world.n_combinations) // fraction
    rss_before = peak_rss_mb()
    pixel_sum = 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    for begin in range(0, total, chunk):
        images = world.render(world.grid_factors(begin, min(begin + chunk, total)))
        pixel_sum += float(images.sum(dtype=np.float64))
    grid_seconds = time.perf_counter() - start
    grid_cpu = time.process_time() - cpu_start
    rss_after = peak_rss_mb()
    # every mask appears at all 32 x 32 positions once when the whole grid is rendered
    expected = float(masks.sum(dtype=np.float64)) * 1024 / fraction if fraction == 1 else None
    rng = np.random.default_rng(0)
    subset = world.grid_factors()[rng.choice(int(world.n_combinations), reference_n, replace=False)]
    per_image = pillow_reference(subset, 64)
    per_image_ours = grid_seconds / total
    rows = [
        ("sprites: mask drawing (720 masks, once per size)", f"{mask_seconds:.2f} s"),
        (f"sprites: {total:,} images rendered (chunks of {chunk})", f"{grid_seconds:.1f} s wall, "
         f"{grid_cpu:.1f} s CPU ({total / grid_seconds:,.0f} images/s wall)"),
        ("sprites: full grid" + (", extrapolated" if fraction > 1 else ""), f"{per_image_ours * 737_280:.1f} s"),
        ("sprites: peak RSS before / after the grid", f"{rss_before:.0f} / {rss_after:.0f} MiB"),
        (f"sprites: Pillow per-image loop ({reference_n} images)", f"{1 / per_image:,.0f} images/s; "
         f"full grid ~{per_image * 737_280:.0f} s"),
        ("sprites: speed-up over the Pillow loop", f"{per_image / per_image_ours:.1f}x"),
    ]
    if expected is not None:
        verdict = "ok" if pixel_sum == expected else f"MISMATCH {pixel_sum} != {expected}"
        rows.append(("sprites: pixel checksum", verdict))
    return rows


def bench_shapes3d(n: int, reference_n: int) -> list[tuple[str, str]]:
    world = make("shapes3d", size=64)
    start = time.perf_counter()
    world.geometry_weights(np.arange(480))
    cache_seconds = time.perf_counter() - start
    rng = np.random.default_rng(1)
    factors = world.grid_factors()[rng.choice(int(world.n_combinations), n, replace=False)]
    world.render(factors[:64])  # warm the code path
    start, cpu_start = time.perf_counter(), time.process_time()
    world.render(factors)
    render_seconds = time.perf_counter() - start
    render_cpu = time.process_time() - cpu_start

    start = time.perf_counter()
    for row in factors[:reference_n]:
        weights = render_geometry(64, row[3], int(row[4]), row[5])  # no cache: ray cast each image
        np.einsum("rc,rhw->chw", hsv_to_rgb(row[:3]), weights)  # region colours (3, rgb)
    reference_seconds = (time.perf_counter() - start) / reference_n
    return [
        ("shapes3d: ray casting the 480 geometry maps (once per size)", f"{cache_seconds:.1f} s"),
        (f"shapes3d: render {n:,} random images (cached geometry)", f"{n / render_seconds:,.0f} images/s wall, "
         f"{n / render_cpu:,.0f} images/s CPU"),
        (f"shapes3d: per-image ray casting, no cache ({reference_n} images)", f"{1 / reference_seconds:,.1f} images/s"),
        ("shapes3d: speed-up over per-image ray casting", f"{reference_seconds * n / render_seconds:,.0f}x"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="render 1/16 of the sprites grid")
    parser.add_argument("--chunk", type=int, default=8192, help="sprites images per render call")
    parser.add_argument("--shapes-n", type=int, default=20_000, help="shapes3d images to render")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    rows = bench_sprites(args.chunk, 16 if args.quick else 1, reference_n=2000)
    rows += bench_shapes3d(args.shapes_n, reference_n=20)
    width = max(len(name) for name, _ in rows)
    print(f"{'measurement':<{width}}  result")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
