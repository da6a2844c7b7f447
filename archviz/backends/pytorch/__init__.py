"""The PyTorch backend: build a spec as an ``nn.Module``, verify the analysis against PyTorch's
own measurements, benchmark it, and export readable PyTorch source.

Importing this package does not import torch; ``build``, ``verify`` and ``benchmark`` do, when
called. The source exporter (``archviz.backends.pytorch.source``) never imports torch.
"""
