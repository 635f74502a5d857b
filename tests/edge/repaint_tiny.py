"""A tiny RePaint model (UNet2DModel + RePaintScheduler) the tests build and save."""

from __future__ import annotations

from pathlib import Path


def save_tiny_repaint(folder: Path, *, seed: int = 0, sample_size: int = 32) -> Path:
    """Build a randomly initialised tiny UNet and save it as a pipeline folder."""
    import torch
    from diffusers import RePaintScheduler, UNet2DModel

    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=sample_size, in_channels=3, out_channels=3,
                       block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=8,
                       down_block_types=("DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D"))
    unet.save_pretrained(folder / "unet")
    RePaintScheduler(num_train_timesteps=1000).save_pretrained(folder / "scheduler")
    return folder
