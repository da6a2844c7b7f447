"""The blocks figure's structure, measured in the SVG: branches as lanes (Inception's towers),
shortcut arcs and ×N marks counted against the published architectures, every pooling step
drawn by one rule, a legend of one entry per colour with equal gaps, whole-pixel PNGs, and a
fixed scale under which a 32×32 input is drawn a seventh of a 224×224 one."""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

import archviz
from archviz.cli.main import app
from archviz.render import figure
from archviz.render.figure import Branches, figure_boxes, render_blocks

SVG = "{http://www.w3.org/2000/svg}"


def _root(spec: str, **options: object) -> ET.Element:
    network = archviz.load(spec)
    return ET.fromstring(render_blocks(network.analyze(), network, "svg", **options))  # type: ignore[arg-type]


def _classed(root: ET.Element, name: str) -> list[ET.Element]:
    return [element for element in root.iter() if element.attrib.get("class") == name]


def _boxes(root: ET.Element) -> list[tuple[str, dict[str, float]]]:
    """Each drawn box in document order: its tooltip and its front face (x, y, width, height)."""
    boxes = []
    for element in root.iter(f"{SVG}g"):
        title = element.find(f"{SVG}title")
        front = element.find(f"{SVG}rect")
        if title is not None and front is not None:
            boxes.append((title.text or "", {key: float(front.attrib[key]) for key in ("x", "y", "width", "height")}))
    return boxes


def _lane_centres(root: ET.Element) -> list[float]:
    """The y each tower's line reaches: the first line of a tower ends at its lane's centre."""
    centres = []
    for tower in _classed(root, "blocks-tower"):
        first = tower.find(f"{SVG}polyline")
        assert first is not None
        centres.append(float(first.attrib["points"].split()[-1].split(",")[1]))
    return centres


def test_inception_towers_stand_side_by_side_into_the_concat() -> None:
    """GoogLeNet's inception (3a): four branches (1×1; 1×1 then 3×3; 1×1 then 5×5; 3×3 max pool
    then 1×1), each its own lane between the input and the filter concatenation."""
    root = _root("inception-block")
    assert len(_classed(root, "blocks-tower")) == 4
    assert _classed(root, "blocks-skip") == []  # no branch without a layer
    assert len(set(_lane_centres(root))) == 4  # four lanes, one above another
    boxes = _boxes(root)
    names = [title.split(":")[0].split(",")[0] for title, _ in boxes]
    assert names[0] == "input" and names[-1] == "output"  # the concat is drawn last, as its 256x28x28 output
    assert "concatenate, 256x28x28" in boxes[-1][0]
    kernels = [element.text for element in root.iter(f"{SVG}text") if "rotate" in element.attrib.get("transform", "")]
    assert sorted(text or "" for text in kernels) == ["1×1", "1×1", "1×1", "1×1", "3×3", "5×5"]  # all six convolutions
    # the lanes sit between the input and the concat along the flow
    first_left, last_left = boxes[0][1]["x"], boxes[-1][1]["x"]
    assert all(first_left < face["x"] < last_left for _, face in boxes[1:-1])


def test_resnet18_draws_every_shortcut_and_folds_identical_blocks() -> None:
    """ResNet-18: eight basic blocks, two per stage; the first block of layers 2-4 has a 1×1
    projection shortcut (a lane with its own box), the others an identity shortcut (an arc).
    layer1's two blocks are identical and drawn once, ×2."""
    root = _root("resnet18")
    repeats = [element.text for element in _classed(root, "blocks-repeat")]
    assert repeats == ["×2"]
    # identity shortcuts drawn: layer1 (folded into one), layer2_2, layer3_2, layer4_2
    assert len(_classed(root, "blocks-skip")) == 4
    # lanes: one per identity block (4), two per projection block (3 x 2)
    assert len(_classed(root, "blocks-tower")) == 10
    projections = [title for title, _ in _boxes(root) if "downsample_conv" in title]
    assert [title.split(":")[0] for title in projections] == [
        f"layer{n}_1.downsample_conv, layer{n}_1.shortcut" for n in (2, 3, 4)]
    assert all("kernel 1×1" in title for title in projections)
    adds = [element for element in root.iter(f"{SVG}g") if element.attrib.get("class") == "blocks-merge"
            and element.find(f"{SVG}title") is not None]  # not the legend's swatch
    assert len(adds) == 7  # eight adds, two of them drawn as one


@pytest.mark.parametrize(("spec", "repeats"), [
    # ResNet-50's stages have 3, 4, 6 and 3 bottleneck blocks; the first of each projects
    ("resnet50", ["×2", "×3", "×5", "×2"]),
    # MobileNetV2's Table 2: n = 1, 2, 3, 4, 3, 3, 1; a stage's blocks after its first are residual
    # (the 24-channel stage's single residual block is drawn as it is)
    ("mobilenet-v2", ["×2", "×3", "×2", "×2"]),
    # ConvNeXt-T's stage depths (3, 3, 9, 3); each stage's downsampling sits before its blocks
    ("convnext-tiny", ["×3", "×3", "×9", "×3"]),
    # ShuffleNetV2's stages repeat 4, 8, 4 units, the first of each downsampling with two branches
    ("shufflenet-v2", ["×3", "×7", "×3"]),
    # ViT-B/16's 12 encoder layers, each two residual halves (a pre-norm opens each branch: the
    # first layer's LN stays in its branch rather than joining the patch embedding's box)
    ("vit-b16", ["×12"]),
])
def test_repeated_blocks_are_counted_as_published(spec: str, repeats: list[str]) -> None:
    root = _root(spec)
    assert [element.text for element in _classed(root, "blocks-repeat")] == repeats


def test_squeeze_excitation_and_residuals_are_found_in_efficientnet() -> None:
    """EfficientNet-B0: every one of the 16 MBConv blocks scales its features by a squeeze-and-
    excitation gate (a branch into a multiply); the blocks after the first of each stage
    (n = 1, 2, 2, 3, 3, 4, 1) add a residual: 9."""
    analysis = archviz.load("efficientnet-b0").analyze()
    graph = figure._drawn_graph(analysis, {})
    assert graph is not None
    items = figure._decompose(*graph)
    assert items is not None

    def merges(row: tuple[figure.Item, ...] | list[figure.Item]) -> list[str]:
        found = []
        for before, after in itertools.pairwise(row):
            if isinstance(before, Branches):
                assert isinstance(after, figure.Box)
                found.append(after.symbol)
                for lane in before.lanes:
                    found.extend(merges(lane))
        return found

    found = merges(items)
    assert found.count("×") == 16 and found.count("+") == 9


def test_every_pooling_step_is_drawn_by_one_rule() -> None:
    """Pools 1-4 sat on their stage while pool5 stood apart: every spatial pooling step is now a
    thin slab one gap after the last box of its stage, and lower than it."""
    for spec in ("vgg16", "vgg19", "vgg16-bn", "vgg11", "vgg16-c"):
        boxes = _boxes(_root(spec))
        pools = [(previous, face) for (_, previous), (title, face) in itertools.pairwise(boxes)
                 if ": max pooling" in title]
        assert len(pools) == 5, spec
        gaps = [face["x"] - (previous["x"] + previous["width"]) for previous, face in pools]
        assert all(abs(gap - figure.GAP) <= 0.11 for gap in gaps), (spec, gaps)  # coordinates have one decimal
        assert all(face["height"] < previous["height"] and face["width"] < previous["width"]
                   for previous, face in pools), spec


def test_pool5_output_is_still_printed() -> None:
    texts = [(element.text, element.attrib["font-size"]) for element in _root("vgg16").iter(f"{SVG}text")]
    assert ("512x7x7", str(figure.SECOND_CAPTION_SIZE)) in texts


def test_stage_headers_lead_and_dimensions_follow() -> None:
    root = _root("vgg16")
    texts = {element.text: element.attrib for element in root.iter(f"{SVG}text")}
    header, caption = texts["conv3"], texts["256x56x56"]
    assert header.get("font-weight") == "bold" and float(header["font-size"]) > float(caption["font-size"])
    theme = archviz.render.theme.LIGHT
    assert header["fill"] == theme.text and caption["fill"] == theme.muted


@pytest.mark.parametrize("spec", ["vgg16", "vgg16-dense", "resnet18", "inception-block", "vit-b16"])
def test_legend_has_one_entry_per_colour_with_equal_gaps(spec: str) -> None:
    root = _root(spec)
    entries = [element for element in root.iter(f"{SVG}text") if element.attrib.get("class") == "blocks-legend"]
    xs = [float(element.attrib["x"]) for element in entries]
    ys = [float(element.attrib["y"]) for element in entries]
    # the swatch before each entry: its front face colour
    swatches = [child for element in root.iter(f"{SVG}g") if element.find(f"{SVG}title") is None
                for child in element if child.tag in (f"{SVG}rect", f"{SVG}circle")]
    colours = [swatch.attrib["fill"] for swatch in swatches]
    assert len(colours) == len(entries) == len(set(colours)), (spec, colours)
    for row in set(ys):
        row_xs = sorted(x for x, y in zip(xs, ys, strict=True) if y == row)
        steps = {round(b - a, 1) for a, b in itertools.pairwise(row_xs)}
        assert len(steps) <= 1, (spec, steps)


def test_vgg16_dense_has_one_convolution_entry() -> None:
    """vgg16-dense had three legend entries in the convolution colour."""
    texts = [element.text for element in _root("vgg16-dense").iter(f"{SVG}text")
             if element.attrib.get("class") == "blocks-legend"]
    assert [text for text in texts if text and text.startswith("convolution")] == [
        "convolution (+ ReLU, dropout on some)"]


def test_png_has_no_half_covered_last_column() -> None:
    """A fractional SVG width (1165.4) left the PNG's last pixel column at alpha 204."""
    pytest.importorskip("cairosvg")
    image_module = pytest.importorskip("PIL.Image")
    network = archviz.load("vgg16")
    svg = ET.fromstring(render_blocks(network.analyze(), network, "svg"))
    assert float(svg.attrib["width"]).is_integer() and float(svg.attrib["height"]).is_integer()
    image = image_module.open(io.BytesIO(render_blocks(network.analyze(), network, "png"))).convert("RGBA")
    width, height = image.size
    last_column = {image.getpixel((width - 1, y))[3] for y in range(height)}
    last_row = {image.getpixel((x, height - 1))[3] for x in range(width)}
    assert last_column == last_row == {image.getpixel((width // 2, 0))[3]} == {255}


def _face(root: ET.Element, name: str) -> dict[str, float]:
    return next(face for title, face in _boxes(root) if title.split(":")[0].split(",")[0] == name)


def test_fixed_scale_draws_a_cifar_input_a_seventh_of_an_imagenet_one() -> None:
    """Auto scale fits each figure, so 3x32x32 and 3x224x224 were both 168 px high; a fixed
    scale keeps sizes in proportion across figures and says so."""
    cifar, imagenet = _root("vgg16-cifar10", scale="fixed"), _root("vgg16", scale="fixed")
    for name, side in (("input", 32), ("conv1_1", 32), ("conv3_1", 8), ("conv4_1", 4), ("conv5_3", 2)):
        small, large = _face(cifar, name), _face(imagenet, name)
        # heights in the ratio of the sides, 224 / 32 = 7 (up to the SVG's one-decimal coordinates)
        assert small["height"] == pytest.approx(side / figure.FIXED_SIDE, abs=0.06), name
        assert large["height"] == pytest.approx(7 * side / figure.FIXED_SIDE, abs=0.06), name
        assert small["width"] == large["width"]  # same channels, same thickness
    assert _face(imagenet, "conv1_1")["height"] == pytest.approx(224 / figure.FIXED_SIDE, abs=0.1)
    assert _face(imagenet, "conv5_1")["width"] == pytest.approx(512 / figure.FIXED_CHANNELS, abs=0.1)
    notes = [element.text or "" for element in cifar.iter(f"{SVG}text")]
    assert "Fixed scale: side 1 px per 1.5 pixels, thickness 1 px per 8 channels" in " ".join(notes)
    auto_cifar, auto_imagenet = _root("vgg16-cifar10"), _root("vgg16")
    assert _face(auto_cifar, "input")["height"] == _face(auto_imagenet, "input")["height"] == figure.TALLEST
    assert any((element.text or "").startswith("Scale fitted to this figure: side as √pixels (224 pixels = 168 px)")
               for element in auto_imagenet.iter(f"{SVG}text"))


def test_explicit_scale_and_bad_scales() -> None:
    half = _root("vgg16", scale="3,16")
    assert _face(half, "conv1_1")["height"] == pytest.approx(224 / 3, abs=0.1)
    assert figure.parse_scale("2, 16") == figure.Scale(2.0, 16.0)
    for bad in ("big", "0,8", "1,2,3", "nan,8", "-1,8"):
        with pytest.raises(archviz.ArchvizError, match="Received: scale="):
            figure.parse_scale(bad)


def test_cli_scale_option(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    runner = CliRunner()
    out = folder / "cifar.svg"
    result = runner.invoke(app, ["diagram", "vgg16-cifar10", "--style", "blocks", "--scale", "fixed", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Fixed scale" in out.read_text(encoding="utf-8")
    bad = folder / "bad.svg"
    result = runner.invoke(app, ["diagram", "vgg16", "--style", "blocks", "--scale", "huge", "--out", str(bad)])
    assert result.exit_code == 2 and "error: the blocks scale" in result.output and "Received: scale='huge'" in result.output
    assert not bad.exists()


def _unfolded(items: tuple[figure.Item, ...]) -> list[figure.Box]:
    """Every box a figure stands for, a run marked ×N counted N times."""
    boxes: list[figure.Box] = []
    for item in items:
        if isinstance(item, figure.Box):
            boxes.append(item)
        elif isinstance(item, Branches):
            for lane in item.lanes:
                boxes.extend(_unfolded(lane))
        else:
            boxes.extend(_unfolded(item.items) * item.times)
    return boxes


def test_networks_too_wide_per_layer_are_drawn_one_box_per_block_instance() -> None:
    """EfficientNet-B0 at one box per layer is 7,048 px wide: it is drawn one box per MBConv
    block instance instead (it was one box per stage, the blocks lost). Counted from the spec:
    stages s1..s7 hold 1, 2, 2, 3, 3, 4, 1 blocks = 16, each but the first of a stage residual
    (0+1+1+2+2+3+0 = 9 adds); the stem and head convolutions, the pool and the classifier keep
    their own boxes."""
    network = archviz.load("efficientnet-b0")
    messages: list[str] = []
    root = ET.fromstring(render_blocks(network.analyze(), network, warn=messages.append))
    assert messages == [("Wider than 6,000 px at one box per layer (7,048 px): the figure shows one box per block "
                         "instance, each block's output tensor (a circled + after a block that ends in an add).")]
    assert float(root.attrib["width"]) < figure.MAX_WIDTH
    result = figure.block_figure(network.analyze(), network, "note")
    assert result is not None and result.level == "block" and not result.per_stage
    boxes = _unfolded(result.items)
    blocks = [box.names[0] for box in boxes if box.legend == "block instance"]
    counts = [sum(name.startswith(f"s{stage}_") for name in blocks) for stage in range(1, 8)]
    assert counts == [1, 2, 2, 3, 3, 4, 1] and len(blocks) == 16
    drawn = [box.names[0] for box in result.boxes if box.legend == "block instance"]
    assert len(drawn) == 16 - 1 - 1 - 2  # s4's and s5's last two drawn once (×2), s6's last three (×3)
    assert sum(box.symbol == "+" for box in boxes) == 9
    others = [box.names[0] for box in boxes if box.legend != "block instance" and not box.symbol]
    assert others == ["input", "conv0.conv", "conv_last.conv", "avgpool", "fc"]
    # the repeats are folded: s4's, s5's last two blocks ×2, s6's last three ×3, drawn once each
    assert [item.times for item in result.items if isinstance(item, figure.Repeat)] == [2, 2, 3]
    assert [box.kernel for box in boxes if box.names[0] in ("s1_1", "s3_1", "s6_1", "s7_1")] == ["3×3", "5×5", "5×5", "3×3"]
    # residual blocks: the shortcut is an arc into the add, one per drawn residual block
    assert len(_classed(root, "blocks-skip")) == 5
    assert figure_boxes(network.analyze(), network).per_stage is False  # the layer structure itself is found


def test_figures_too_wide_per_block_instance_too_fall_back_to_stages() -> None:
    network = archviz.load("efficientnet-b0")
    messages: list[str] = []
    root = ET.fromstring(render_blocks(network.analyze(), network, warn=messages.append, scale="0.3,0.5"))
    assert len(messages) == 1 and messages[0].startswith("Wider than 6,000 px at one box per layer (")
    assert "px) and at one box per block instance (" in messages[0]
    assert messages[0].endswith("px): the figure shows one box per stage, each stage's output tensor.")
    assert len(_boxes(root)) == 1 + 10  # the input and the ten stages


def test_figures_that_fit_per_layer_are_drawn_per_layer() -> None:
    for name in ("resnet18", "mobilenet-v2", "inception-block"):
        network = archviz.load(name)
        messages: list[str] = []
        render_blocks(network.analyze(), network, warn=messages.append)
        result = figure_boxes(network.analyze(), network)
        assert messages == [] and result.level == "layer" and result.note is None, name


def test_shortcut_arcs_leave_the_fork_and_enter_the_merge() -> None:
    """Each identity arc starts over the box or ⊕ before its block and ends on the ⊕ after it
    (they were drawn a margin to the right of both)."""
    root = _root("resnet18")
    centres = [float(circle.attrib["cx"]) for group in root.iter(f"{SVG}g")
               if group.attrib.get("class") == "blocks-merge" and group.find(f"{SVG}title") is not None
               for circle in group.iter(f"{SVG}circle")]
    for arc in _classed(root, "blocks-skip"):
        words = arc.attrib["d"].split()
        start_x = float(words[1])
        end_x = float(words[words.index("L") + 1])
        assert any(abs(end_x - centre) <= 0.1 for centre in centres), (end_x, centres)
        if start_x > 200:  # all but layer1's, which leaves the stem's pooling slab
            assert any(abs(start_x - centre) <= 0.1 for centre in centres), (start_x, centres)


def test_figure_classes_cannot_meet_the_report_stylesheet() -> None:
    """The HTML report inlines the figure; its '.legend' rule (font-size 13px) restyled the
    figure's legend texts when they were class="legend"."""
    from archviz.report.html import html_report

    network = archviz.load("resnet18")
    analysis = network.analyze()
    svg = render_blocks(analysis, network, "svg")
    classes = {element.attrib["class"] for element in ET.fromstring(svg).iter() if "class" in element.attrib}
    assert classes and all(name.startswith("blocks-") for name in classes), classes
    page = html_report(network, analysis, None, svg, None)
    style = page[page.index("<style>"):page.index("</style>")]
    assert ".blocks-" not in style


def test_branch_lines_run_from_the_fork_to_the_merge() -> None:
    """Each tower's lines leave the input's front face and end on the concat's (they started and
    ended a caption's width away, leaving gaps beside boxes whose caption is wider)."""
    root = _root("inception-block")
    boxes = _boxes(root)
    fork, merge = boxes[0][1], boxes[-1][1]
    for tower in _classed(root, "blocks-tower"):
        lines = [[tuple(float(v) for v in point.split(",")) for point in line.attrib["points"].split()]
                 for line in tower.iter(f"{SVG}polyline")]
        into, out = lines
        assert into[0][0] == pytest.approx(fork["x"] + fork["width"], abs=0.1)
        assert out[-1][0] == pytest.approx(merge["x"], abs=0.1)
        # and reach a box of their lane: some front face starts where the line in ends
        assert any(abs(face["x"] - into[-1][0]) <= 0.1 and face["y"] <= into[-1][1] <= face["y"] + face["height"]
                   for _, face in boxes)


def _nested_residuals(depth: int, chain: str) -> str:
    """A chain f1..f{depth} (convolutions with ``chain`` attributes) closed from the inside out by
    residual blocks: block k adds a 1x1 convolution of block k+1's output to f{k-1}, so each
    block sits inside the one before."""
    lines = ["archviz: 1", "name: nested", "input: [8, 16, 16]", "layers:",
             "  - conv2d: {name: f0, filters: 8, kernel: 3, padding: same}"]
    lines += [f"  - conv2d: {{name: f{k}, inputs: f{k - 1}, filters: 8, {chain}}}" for k in range(1, depth + 1)]
    previous = f"f{depth}"
    for k in range(depth, 0, -1):
        lines.append(f"  - conv2d: {{name: c{k}, inputs: {previous}, filters: 8, kernel: 1}}")
        lines.append(f"  - add: {{name: a{k}, inputs: [c{k}, f{k - 1}]}}")
        previous = f"a{k}"
    return "\n".join(lines) + "\n"


def test_deeply_nested_branches_are_measured_once() -> None:
    """Every branch point measured the rows inside it again, so each level of nesting doubled the
    work: 24 residual blocks each inside the last took hours; now well under a second."""
    import time

    depth = 24
    network = archviz.loads(_nested_residuals(depth, "kernel: 3, padding: same"))
    started = time.perf_counter()
    root = ET.fromstring(render_blocks(network.analyze(), network, warn=lambda _: None))
    assert time.perf_counter() - started < 10
    assert len(_classed(root, "blocks-skip")) == depth  # every level's shortcut, one inside the other


def test_a_long_residual_chain_decomposes_in_linear_time() -> None:
    """3,000 residual blocks in a row: each pair of cuts rescanned every box (2,000 took 4.8 s);
    the identical blocks fold into one ×3000."""
    import time

    lines = ["archviz: 1", "name: long", "input: [8, 16, 16]", "layers:",
             "  - conv2d: {name: f0, filters: 8, kernel: 3, padding: same}"]
    previous = "f0"
    for k in range(1, 3001):
        lines.append(f"  - conv2d: {{name: c{k}, inputs: {previous}, filters: 8, kernel: 3, padding: same}}")
        lines.append(f"  - add: {{name: a{k}, inputs: [c{k}, {previous}]}}")
        previous = f"a{k}"
    network = archviz.loads("\n".join(lines) + "\n")
    analysis = network.analyze()
    started = time.perf_counter()
    result = figure_boxes(analysis, network, max_boxes=10**6)
    assert time.perf_counter() - started < 5
    assert isinstance(result.items[-1], figure.Repeat) and result.items[-1].times == 3000


def test_branches_nested_past_the_stack_are_drawn_per_stage() -> None:
    depth = 600  # only reachable past --max-nodes: 1,801 boxes
    network = archviz.loads(_nested_residuals(depth, "kernel: 1"))
    result = figure_boxes(network.analyze(), network, max_boxes=10**6)
    assert result.per_stage and result.note is not None and result.note.startswith("Branches nested too deeply")
