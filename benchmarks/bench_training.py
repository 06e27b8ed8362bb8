"""Training throughput: latentscm's loop against a bare hand-written PyTorch loop.

Both train the same β-VAE network (the disentanglement_lib encoder/decoder from
``latentscm.nn``, 64x64 images, batch 64, Adam 1e-4, Bernoulli likelihood, β = 4) on the same
pre-rendered images, in the same process and interleaved: our loop trains a block of steps, then
(called from its evaluation hook) the bare loop trains a block, and so on, so machine noise on a
shared computer hits both alike. Warm-up blocks are dropped; the time our loop spends waiting
for the hook is not counted against it.

    python benchmarks/bench_training.py                 # 64x64, batch 64, 8 blocks x 5 steps each
    python benchmarks/bench_training.py --blocks 20 --block 10 --threads 2
    python benchmarks/bench_training.py --device cuda --blocks 20 --block 50
    python benchmarks/bench_training.py --checkpoints   # our loop also writes a run dir + checkpoints

The issue's target: ours within 10% of the bare loop. Data loading is one ``index_select`` on a
tensor already on the device, so it is never the bottleneck (``data ms/step`` column).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

from latentscm.learners.vae import BetaVAE
from latentscm.nn import ConvDecoder, ConvEncoder


def training_images(n: int, size: int, seed: int) -> np.ndarray:
    """Sprites at ``size`` if that world is installed, else random Gaussian blobs; (n, 1, size, size)."""
    try:
        from latentscm.worlds import make

        return make("sprites", size=size).sample(n, seed=seed).images
    except Exception:
        rng = np.random.default_rng(seed)
        grid = np.arange(size) + 0.5
        centre = rng.uniform(0, size, size=(n, 2))
        width = rng.uniform(size / 16, size / 4, size=n)
        rows = (grid[None, :, None] - centre[:, 0, None, None]) ** 2
        d2 = rows + (grid[None, None, :] - centre[:, 1, None, None]) ** 2
        return np.exp(-d2 / (2 * width[:, None, None] ** 2))[:, None].astype(np.float32)


class BareLoop:
    """A plain loop: sample indices, forward, ELBO, backward, Adam step — nothing else."""

    def __init__(self, images: torch.Tensor, batch: int, latent_dim: int, beta: float, seed: int):
        torch.manual_seed(seed)
        shape = tuple(images.shape[1:])
        self.images, self.batch, self.beta = images, batch, beta
        self.encoder = ConvEncoder(shape, 2 * latent_dim).to(images.device)
        self.decoder = ConvDecoder(latent_dim, shape).to(images.device)
        self.optimizer = torch.optim.Adam([*self.encoder.parameters(), *self.decoder.parameters()], lr=1e-4)
        self.generator = torch.Generator(device=images.device).manual_seed(seed)
        self.data_seconds = 0.0

    def run(self, steps: int) -> float:
        """Train ``steps`` steps; returns the seconds they took."""
        _sync(self.images.device)
        start = time.perf_counter()
        for _ in range(steps):
            t0 = time.perf_counter()
            index = torch.randint(0, self.images.shape[0], (self.batch,), generator=self.generator,
                                  device=self.images.device)
            x = self.images.index_select(0, index)
            self.data_seconds += time.perf_counter() - t0
            mean, logvar = self.encoder(x).chunk(2, dim=1)
            z = mean + (0.5 * logvar).exp() * torch.randn(mean.shape, generator=self.generator, device=x.device)
            logits = self.decoder(z)
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()
            kl = (0.5 * (mean.square() + logvar.exp() - logvar - 1)).sum(1).mean()
            loss = recon + self.beta * kl
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        _sync(self.images.device)
        return time.perf_counter() - start


def interleaved(images_np: np.ndarray, *, blocks: int, block: int, warmup_blocks: int, batch: int, device: str,
                checkpoints: bool) -> tuple[list[float], list[float], float]:
    """Alternate blocks of ``block`` steps: our loop runs a block, then (from its eval hook, on
    the same machine state) the bare loop runs a block. Returns per-block seconds for both and
    the bare loop's data time per step (ms); warm-up blocks are dropped."""
    images = torch.from_numpy(images_np).to(device)
    bare = BareLoop(images, batch, 10, 4.0, seed=0)
    bare.run(2)  # its first steps pay one-off costs, as our loop's warm-up blocks do
    bare.data_seconds = 0.0
    ours_times: list[float] = []
    bare_times: list[float] = []
    marks = {"resume": None}

    def hook(learner, step: int) -> None:
        _sync(images.device)
        now = time.perf_counter()
        ours_times.append(now - (marks["resume"] if marks["resume"] is not None else marks["start"]))
        bare_times.append(bare.run(block))
        marks["resume"] = time.perf_counter()

    learner = BetaVAE(beta=4.0, latent_dim=10, batch_size=batch, steps=(blocks + warmup_blocks) * block, lr=1e-4,
                      seed=0, device=device)
    with tempfile.TemporaryDirectory() as run_dir:
        marks["start"] = time.perf_counter()
        learner.fit(images_np, out=run_dir if checkpoints else None, eval_every=block, eval_hook=hook,
                    checkpoint_every=max(block, learner.steps // 4) if checkpoints else None, progress=False)
    data_ms = 1000 * bare.data_seconds / (len(bare_times) * block)
    return ours_times[warmup_blocks:], bare_times[warmup_blocks:], data_ms


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=8, help="timed blocks per loop")
    parser.add_argument("--block", type=int, default=5, help="steps per block")
    parser.add_argument("--warmup-blocks", type=int, default=1)
    parser.add_argument("--n-images", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoints", action="store_true", help="our loop writes a run dir and 4 checkpoints")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    images = training_images(args.n_images, args.size, seed=0)
    print(f"beta-VAE {args.size}x{args.size}, batch {args.batch}, {args.blocks} blocks x {args.block} steps per loop "
          f"(+{args.warmup_blocks} warm-up), interleaved; device {args.device}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}")
    ours, bare, data_ms = interleaved(images, blocks=args.blocks, block=args.block, warmup_blocks=args.warmup_blocks,
                                      batch=args.batch, device=args.device, checkpoints=args.checkpoints)
    ratios = [b / o for o, b in zip(ours, bare)]  # our speed relative to bare, block by block
    bare_rate = args.block * len(bare) / sum(bare)
    our_rate = args.block * len(ours) / sum(ours)
    label = "latentscm (+checkpoints)" if args.checkpoints else "latentscm train()"
    print()
    print("| loop                     | steps/s | relative (total) | relative (median of blocks) | data ms/step |")
    print("|--------------------------|---------|------------------|-----------------------------|--------------|")
    print(f"| bare PyTorch             | {bare_rate:7.2f} |            1.00x |                       1.00x | "
          f"{data_ms:12.3f} |")
    print(f"| {label:24s} | {our_rate:7.2f} | {our_rate / bare_rate:15.2f}x | {float(np.median(ratios)):26.2f}x |"
          f"            - |")
    print(f"\nseconds per block of {args.block} steps (ours / bare): "
          + ", ".join(f"{o:.2f}/{b:.2f}" for o, b in zip(ours, bare)))
    relative = our_rate / bare_rate
    verdict = "within" if relative >= 0.9 else "NOT within"
    print(f"\nlatentscm is {verdict} 10% of the bare loop ({100 * (relative - 1):+.1f}%).")


if __name__ == "__main__":
    main()
