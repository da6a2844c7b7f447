"""Advertised peak FLOP/s of a few accelerators, to express measured speed as a share of the peak.

Dense figures (no structured sparsity) from NVIDIA's data sheets, in TFLOP/s:

| device (torch.cuda.get_device_name)       | fp32 | tf32  | bf16  | fp16  |
|-------------------------------------------|------|-------|-------|-------|
| A100 (SXM4 and PCIe, 40/80 GB)            | 19.5 | 156   | 312   | 312   |
| H100 SXM5 ("H100 80GB HBM3", "H100 SXM")  | 67   | 494.7 | 989.4 | 989.4 |
| H100 PCIe                                 | 51   | 378   | 756   | 756   |
| H200 SXM ("NVIDIA H200")                  | 67   | 494.7 | 989.4 | 989.4 |
| H200 NVL                                  | 60   | 417.5 | 835.5 | 835.5 |

The sheets print the tensor-core rows "with sparsity"; the dense peaks above are half of those.
A float32 run on CUDA lets cuDNN use TF32 tensor cores for convolutions by default
(``torch.backends.cudnn.allow_tf32``), so its share is taken of the TF32 peak then; dense layers
stay in true fp32 unless ``torch.backends.cuda.matmul.allow_tf32`` is set. CPUs have no entry:
their peak depends on the model, clock and vector units; pass ``--peak-tflops`` to give one.
"""

from __future__ import annotations

import re

from archviz.backends.pytorch.records import Peak

TERA = 1e12
NVIDIA_SHEETS = "NVIDIA data sheet, dense (half the 'with sparsity' tensor-core figure)"

# (pattern on the device name, device label, {precision: TFLOP/s}); the first match wins.
DEVICE_PEAKS: tuple[tuple[str, str, dict[str, float]], ...] = (
    (r"H200 NVL", "NVIDIA H200 NVL", {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5, "fp16": 835.5}),
    (r"H200", "NVIDIA H200 SXM", {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4}),
    (r"H100 PCIe", "NVIDIA H100 PCIe", {"fp32": 51.0, "tf32": 378.0, "bf16": 756.0, "fp16": 756.0}),
    (r"H100 (80GB HBM3|SXM)", "NVIDIA H100 SXM5", {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4}),
    (r"A100", "NVIDIA A100", {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0}),
)


def find_peak(device_name: str, precision: str) -> Peak | None:
    """The advertised dense peak of ``device_name`` at ``precision`` (fp32, tf32, bf16, fp16), if known."""
    for pattern, label, peaks in DEVICE_PEAKS:
        if re.search(pattern, device_name) and precision in peaks:
            return Peak(label, precision, peaks[precision] * TERA, NVIDIA_SHEETS)
    return None


def given_peak(device_name: str, precision: str, tflops: float) -> Peak:
    """A peak the user gave on the command line."""
    return Peak(device_name, precision, tflops * TERA, "given with --peak-tflops")
