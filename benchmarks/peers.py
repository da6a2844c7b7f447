"""The peers' routes to VGG16's numbers, one per process: import torch, build VGG16, count.

    python benchmarks/peers.py ROUTE                  # cold: what `archviz summary` replaces
    python benchmarks/peers.py ROUTE --reanalyse N    # in-process: N counts at new input sizes
    python benchmarks/peers.py ROUTE --variants N     # in-process: N sweep variants (width, classes, input)

ROUTE is torchinfo, fvcore, ptflops, thop, flopcounter (FlopCounterMode on the meta device),
import-torch (import only) or bare (the interpreter alone). Each prints one JSON line: the count
it printed and, for the in-process modes, the seconds per count. VGG16 is built by hand as
plain PyTorch (torchvision's layout: features, AdaptiveAvgPool2d(7), classifier), so no
torchvision is needed and archviz is not imported. Used by benchmarks/run.py.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

CONFIG_D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
ROUTES = ("torchinfo", "fvcore", "ptflops", "thop", "flopcounter", "import-torch", "bare")


def vgg16(width: float = 1.0, num_classes: int = 1000, device: str = "cpu") -> Any:
    import torch
    from torch import nn

    layers: list[nn.Module] = []
    channels = 3
    with torch.device(device):
        for item in CONFIG_D:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                filters = int(item * width)  # type: ignore[operator]
                layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU(inplace=True)]
                channels = filters
        return nn.Sequential(
            nn.Sequential(*layers),
            nn.AdaptiveAvgPool2d((7, 7)),
            nn.Flatten(),
            nn.Linear(channels * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, num_classes),
        ).eval()


def count(route: str, model: Any, size: int) -> int:
    """The total the route prints for a 1x3xSIZExSIZE input."""
    import torch

    shape = (1, 3, size, size)
    if route == "torchinfo":
        from torchinfo import summary

        return int(summary(model, shape, verbose=0).total_mult_adds)
    if route == "fvcore":
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(model, torch.zeros(shape))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        return int(analysis.total())
    if route == "ptflops":
        from ptflops import get_model_complexity_info

        macs, _ = get_model_complexity_info(model, shape[1:], as_strings=False, print_per_layer_stat=False,
                                            backend="aten")
        return int(macs)  # type: ignore[arg-type]
    if route == "thop":
        import thop

        macs, _ = thop.profile(model, inputs=(torch.zeros(shape),), verbose=False)
        return int(macs)
    if route == "flopcounter":
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            model(torch.zeros(shape, device="meta"))
        return int(counter.get_total_flops())
    raise ValueError(route)


def main(argv: list[str]) -> None:
    route = argv[0]
    if route not in ROUTES:
        raise SystemExit(f"unknown route {route!r}; choose from {', '.join(ROUTES)}")
    if route == "bare":
        print(json.dumps({"route": route}))
        return
    import torch

    if route == "import-torch":
        print(json.dumps({"route": route, "torch": torch.__version__}))
        return
    torch.set_num_threads(1)  # one core, like archviz
    device = "meta" if route == "flopcounter" else "cpu"
    if len(argv) == 1:
        print(json.dumps({"route": route, "count": count(route, vgg16(device=device), 224)}))
        return
    mode, n = argv[1], int(argv[2])
    model = vgg16(device=device)
    count(route, model, 224)  # warm-up: first-call costs are not re-analysis
    times = []
    for i in range(n):
        start = time.perf_counter()
        if mode == "--variants":  # a new network each time: what a sweep of width x classes x input costs
            width, classes, size = (0.5, 1.0)[i % 2], (10, 1000)[(i // 2) % 2], 160 + 32 * (i % 3)
            count(route, vgg16(width, classes, device), size)
        else:
            count(route, model, 200 + 8 * (i % 4))
        times.append(time.perf_counter() - start)
    print(json.dumps({"route": route, "mode": mode, "seconds": times}))


if __name__ == "__main__":
    main(sys.argv[1:])
