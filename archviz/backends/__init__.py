"""Optional backends that turn an analysed network into a framework's own model.

Each backend imports its framework lazily: importing ``archviz`` never imports torch.
"""
