"""Evaluation: quality metrics (PSNR, SSIM), classical inpainting baselines and the harness."""
