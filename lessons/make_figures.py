#!/usr/bin/env python
"""Draw the course's figures into lessons/figures/ with Pillow, from tinycoat's own code.

    python lessons/make_figures.py              # every figure
    python lessons/make_figures.py 04 08        # only those whose name starts with 04 or 08
    python lessons/make_figures.py --train      # first re-run the training of lessons 08 and 10
    python lessons/make_figures.py --record-full runs/fashion_full    # record the full run, then draw

Every figure is computed by the library itself (a real graph, a real im2col matrix, real
attention weights). The training curves and the learned relative-position biases come
from a real run of train_cifar.py, recorded in lessons/figures/fashion_full/ (all of Fashion-MNIST)
or, until that exists, lessons/figures/fashion_run/ (a 2,000-image demonstration; see
``record_run``); the figures say which run they show. The tests never redraw the figures.
"""
from __future__ import annotations

import json
import math
import pathlib
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "figures"
sys.path.insert(0, str(ROOT))

import tinycoat as tc  # noqa: E402
from tinycoat import backend  # noqa: E402

# ----------------------------------------------------------------------------- drawing kit

WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (30, 30, 30), (120, 120, 120), (225, 225, 225)
BLUE, ORANGE, GREEN, RED, PURPLE = (31, 119, 180), (230, 126, 34), (44, 160, 44), (214, 39, 40), (148, 103, 189)
PALETTE = [BLUE, ORANGE, GREEN, RED, PURPLE, (140, 86, 75), (227, 119, 194), (127, 127, 127)]
_FONT_FILES = {
    (False, False): ["DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"],
    (True, False): ["DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"],
    (False, True): ["DejaVuSansMono.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"],
    (True, True): ["DejaVuSansMono-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"],
}
_fonts = {}


def font(size=14, bold=False, mono=False):
    """DejaVu (it has Σ, ⊙, √ …) where installed, else Pillow's built-in scalable font."""
    key = (size, bold, mono)
    if key not in _fonts:
        for name in _FONT_FILES[(bold, mono)]:
            try:
                _fonts[key] = ImageFont.truetype(name, size)
                break
            except OSError:
                continue
        else:
            _fonts[key] = ImageFont.load_default(size=size)
    return _fonts[key]


def text(draw, xy, s, size=14, fill=BLACK, anchor="la", bold=False, mono=False):
    draw.text(xy, s, font=font(size, bold, mono), fill=fill, anchor=anchor)


def text_width(s, size=14, bold=False, mono=False):
    return font(size, bold, mono).getlength(s)


def lerp_colors(stops, t):
    """Piecewise-linear colour map: t in [0, 1] -> RGB, stops evenly spaced."""
    t = min(max(float(t), 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    f = t - i
    return tuple(int(round(a + (b - a) * f)) for a, b in zip(stops[i], stops[i + 1]))


SEQUENTIAL = [(255, 255, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107)]
MAGMA = [(0, 0, 4), (81, 18, 124), (183, 55, 121), (252, 137, 97), (252, 253, 191)]
DIVERGING = [(5, 48, 97), (67, 147, 195), (247, 247, 247), (214, 96, 77), (103, 0, 31)]


def heatmap(values, cell=12, stops=SEQUENTIAL, vmin=None, vmax=None, grid=None):
    """A 2-D array drawn as coloured cells (optionally with grid lines every ``grid`` cells)."""
    values = np.asarray(values, dtype=np.float64)
    vmin = values.min() if vmin is None else vmin
    vmax = values.max() if vmax is None else vmax
    span = (vmax - vmin) or 1.0
    rows, cols = values.shape
    img = Image.new("RGB", (cols * cell, rows * cell), WHITE)
    d = ImageDraw.Draw(img)
    for r in range(rows):
        for c in range(cols):
            d.rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1],
                        fill=lerp_colors(stops, (values[r, c] - vmin) / span))
    if grid:
        for k in range(0, cols + 1, grid):
            d.line([k * cell, 0, k * cell, rows * cell], fill=GREY)
        for k in range(0, rows + 1, grid):
            d.line([0, k * cell, cols * cell, k * cell], fill=GREY)
    return img


def colorbar(width, height, stops, vmin, vmax, label=""):
    full = int(max(width, text_width(label, 12) + 4))
    img = Image.new("RGB", (full, height + 34), WHITE)
    d = ImageDraw.Draw(img)
    x0 = (full - width) // 2
    for x in range(width):
        d.line([x0 + x, 0, x0 + x, height], fill=lerp_colors(stops, x / max(1, width - 1)))
    d.rectangle([x0, 0, x0 + width - 1, height], outline=GREY)
    text(d, (x0, height + 4), f"{vmin:.3g}", 12, GREY)
    text(d, (x0 + width, height + 4), f"{vmax:.3g}", 12, GREY, anchor="ra")
    if label:
        text(d, (full / 2, height + 18), label, 12, GREY, anchor="ma")
    return img


def nice_ticks(lo, hi, n=5):
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / n)) if span > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if span / (m * step) <= n:
            step *= m
            break
    start = math.ceil(lo / step) * step
    return [start + k * step for k in range(int(math.floor((hi - start) / step + 1e-9)) + 1)]


def fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-4:
        return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{v:g}"


def line_plot(series, size=(520, 340), title="", xlabel="", ylabel="", logx=False, logy=False,
              xlim=None, ylim=None, legend="upper right", markers=False, hlines=(), joined=True):
    """series: [(xs, ys, colour, label, dashed)] -> a plot with axes, ticks and a legend.
    ``joined=False``: points only (markers, no line), for runs that are not one curve."""
    W, H = size
    left, right, top, bottom = 80, 16, 34 if title else 14, 48
    img = Image.new("RGB", size, WHITE)
    d = ImageDraw.Draw(img)
    tx = (lambda v: math.log10(v)) if logx else (lambda v: v)
    ty = (lambda v: math.log10(v)) if logy else (lambda v: v)
    xs_all = [tx(x) for s in series for x in s[0]]
    ys_all = [ty(y) for s in series for y in s[1] if (y > 0 or not logy) and math.isfinite(y)]
    x0, x1 = (tx(xlim[0]), tx(xlim[1])) if xlim else (min(xs_all), max(xs_all))
    y0, y1 = (ty(ylim[0]), ty(ylim[1])) if ylim else (min(ys_all), max(ys_all))
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    if not ylim:
        pad = 0.05 * (y1 - y0)
        y0, y1 = y0 - pad, y1 + pad
    px = lambda v: left + (tx(v) - x0) / (x1 - x0) * (W - left - right)          # noqa: E731
    py = lambda v: H - bottom - (ty(v) - y0) / (y1 - y0) * (H - top - bottom)    # noqa: E731
    # grid and ticks
    xticks = [10 ** k for k in range(math.ceil(x0), math.floor(x1) + 1)] if logx else nice_ticks(x0, x1)
    if logy:
        every = 1 if y1 - y0 <= 9 else 2
        yticks = [10 ** k for k in range(math.ceil(y0), math.floor(y1) + 1) if k % every == 0]
    else:
        yticks = nice_ticks(y0, y1)
    for v in xticks:
        d.line([px(v), top, px(v), H - bottom], fill=LIGHT)
        text(d, (px(v), H - bottom + 5), fmt(v), 12, GREY, anchor="ma")
    for v in yticks:
        d.line([left, py(v), W - right, py(v)], fill=LIGHT)
        text(d, (left - 6, py(v)), fmt(v), 12, GREY, anchor="rm")
    d.rectangle([left, top, W - right, H - bottom], outline=GREY)
    for value, colour, label, *where in hlines:
        d.line([left, py(value), W - right, py(value)], fill=colour, width=1)
        fx = where[0] if where else 1.0           # label position along the line, 0..1
        text(d, (left + fx * (W - right - left) - 4, py(value) - 3), label, 11, colour,
             anchor="rb" if fx > 0.5 else "lb")
    for s in series:
        xs, ys, colour, label = s[:4]
        dashed = len(s) > 4 and s[4]
        pts = [(px(x), py(y)) for x, y in zip(xs, ys) if (y > 0 or not logy) and math.isfinite(y)
               and y0 - 1e-9 <= ty(y) <= y1 + 1e-9]
        if joined and dashed:
            for (a, b), (c, e) in zip(pts[::2], pts[1::2]):
                d.line([a, b, c, e], fill=colour, width=2)
        elif joined:
            d.line(pts, fill=colour, width=2, joint="curve")
        if markers or not joined:
            r = 3 if joined else 5
            for x, y in pts:
                d.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    if title:
        text(d, (W / 2, 8), title, 15, BLACK, anchor="ma", bold=True)
    text(d, ((left + W - right) / 2, H - 20), xlabel, 13, BLACK, anchor="ma")
    ylab = Image.new("RGB", (H - top - bottom, 18), WHITE)
    text(ImageDraw.Draw(ylab), ((H - top - bottom) / 2, 0), ylabel, 13, BLACK, anchor="ma")
    img.paste(ylab.rotate(90, expand=True), (4, top))
    labelled = [s for s in series if s[3]]
    if labelled and legend:
        lw = max(text_width(s[3], 12) for s in labelled) + 36
        lx = W - right - lw - 8 if "right" in legend else left + 8
        ly = top + 8 if "upper" in legend else H - bottom - 8 - 18 * len(labelled)
        d.rectangle([lx, ly, lx + lw, ly + 18 * len(labelled) + 4], fill=WHITE, outline=LIGHT)
        for k, s in enumerate(labelled):
            yy = ly + 11 + 18 * k
            d.line([lx + 6, yy, lx + 26, yy], fill=s[2], width=3)
            text(d, (lx + 31, yy), s[3], 12, BLACK, anchor="lm")
    return img


def stack(images, horizontal=True, gap=10, bg=WHITE):
    if horizontal:
        W, H = sum(i.width for i in images) + gap * (len(images) - 1), max(i.height for i in images)
    else:
        W, H = max(i.width for i in images), sum(i.height for i in images) + gap * (len(images) - 1)
    out = Image.new("RGB", (W, H), bg)
    pos = 0
    for i in images:
        out.paste(i, (pos, 0) if horizontal else (0, pos))
        pos += (i.width if horizontal else i.height) + gap
    return out


def captioned(img, caption, size=13, note="", pad=8):
    """A title above the image and an optional grey note below it."""
    h_cap = 22 if caption else 0
    note_lines = note.split("\n") if note else []
    h_note = 17 * len(note_lines) + (6 if note_lines else 0)
    W = max(img.width, int(max([text_width(caption, size, bold=True)] + [text_width(n, 12) for n in note_lines])) + 2 * pad)
    out = Image.new("RGB", (W + 2 * pad, img.height + h_cap + h_note + 2 * pad), WHITE)
    d = ImageDraw.Draw(out)
    if caption:
        text(d, (out.width / 2, pad), caption, size, BLACK, anchor="ma", bold=True)
    out.paste(img, ((out.width - img.width) // 2, pad + h_cap))
    for k, line in enumerate(note_lines):
        text(d, (out.width / 2, pad + h_cap + img.height + 6 + 17 * k), line, 12, GREY, anchor="ma")
    return out


def fit(img, width, height=None):
    """``img`` centred on a white canvas of the given size (so panels line up)."""
    height = img.height if height is None else height
    out = Image.new("RGB", (max(width, img.width), max(height, img.height)), WHITE)
    out.paste(img, ((out.width - img.width) // 2, (out.height - img.height) // 2))
    return out


def ink_for(rgb):
    """Black or white text, whichever reads on a cell of colour ``rgb``."""
    return BLACK if 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140 else WHITE


def arrow(d, a, b, fill=GREY, width=2, head=8):
    d.line([a, b], fill=fill, width=width)
    ang = math.atan2(b[1] - a[1], b[0] - a[0])
    for s in (-0.45, 0.45):
        d.line([b, (b[0] - head * math.cos(ang + s), b[1] - head * math.sin(ang + s))], fill=fill, width=width)


def save(img, name):
    OUT.mkdir(exist_ok=True)
    path = OUT / name
    img = img.convert("RGB")
    colours = img.getcolors(maxcolors=256)
    if colours is not None:  # few colours: a palette PNG is much smaller and identical
        img = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    img.save(path, optimize=True)
    size = path.stat().st_size
    if size > 200_000:
        img.convert("RGB").quantize(colors=128, dither=Image.Dither.NONE).save(path, optimize=True)
        size = path.stat().st_size
    print(f"{path.relative_to(ROOT)}: {img.width}×{img.height}, {size / 1024:.1f} KB")
    assert size < 200_000, f"{name} is too large ({size} bytes)"
    return path


FIGURES = {}


def figure(fn):
    FIGURES[fn.__name__] = fn
    return fn


# ----------------------------------------------------------------------------- 01 autograd

@figure
def fig01_graph():
    """The graph recorded by loss = mean(tanh(x @ w)²), found by walking ``_ctx`` links."""
    tc.manual_seed(0)
    x = tc.randn(4, 3, requires_grad=True)
    w = tc.randn(3, 2, requires_grad=True)
    loss = ((x @ w).tanh() ** 2).mean()
    names = {id(x): "x", id(w): "w", id(loss): "loss"}
    # Depth = longest path from a leaf; every input (constants too) is a node.
    depth, order, seen = {}, [], set()

    def visit(t):
        if id(t) in seen:
            return
        seen.add(id(t))
        parents = t._ctx.inputs if t._ctx is not None else []
        for p in parents:
            visit(p)
        depth[id(t)] = 1 + max((depth[id(p)] for p in parents), default=-1)
        order.append(t)
    visit(loss)
    for t in order:  # draw a leaf just left of its first consumer
        if t._ctx is None:
            depth[id(t)] = min(depth[id(u)] for u in order if u._ctx is not None and
                               any(p is t for p in u._ctx.inputs)) - 1
    columns = {}
    for t in order:
        columns.setdefault(depth[id(t)], []).append(t)
    W, H, bw, bh = 980, 290, 132, 58
    img = Image.new("RGB", (W, H), WHITE)
    d = ImageDraw.Draw(img)
    pos = {}
    ncol = max(columns) + 1
    for c, items in columns.items():
        for k, t in enumerate(items):
            cx = 70 + c * (W - 140) / (ncol - 1)
            cy = 130 + (k - (len(items) - 1) / 2) * 84
            pos[id(t)] = (cx, cy)
    for t in order:
        if t._ctx is not None:
            for p in t._ctx.inputs:
                (ax, ay), (bx, by) = pos[id(p)], pos[id(t)]
                arrow(d, (ax + bw / 2, ay), (bx - bw / 2 - 2, by), fill=GREY)
    for t in order:
        cx, cy = pos[id(t)]
        if t._ctx is None:
            fill, edge = ((214, 240, 214), GREEN) if t.requires_grad else ((240, 240, 240), GREY)
            title = names.get(id(t), f"const {t.item():g}" if t.numel() == 1 else "const")
            sub = "leaf, requires_grad" if t.requires_grad else "leaf, constant"
        else:
            fill, edge = ((222, 235, 250), BLUE)
            title = f"{type(t._ctx).__name__}" + (f" → {names[id(t)]}" if id(t) in names else "")
            sub = "_ctx = " + type(t._ctx).__name__
        d.rounded_rectangle([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 9, fill=fill, outline=edge, width=2)
        text(d, (cx, cy - 12), title, 14, BLACK, anchor="mm", bold=True)
        text(d, (cx, cy + 6), f"shape {tuple(t.shape)}", 11, GREY, anchor="mm")
        text(d, (cx, cy + 19), sub, 10, GREY, anchor="mm")
    y = H - 34
    arrow(d, (W - 80, y), (80, y), fill=RED, width=2, head=10)
    text(d, (W / 2, y - 16), "backward(): the same edges, right to left, each Function's backward once; "
         "adjoints add where edges meet", 12, RED, anchor="mm")
    text(d, (W / 2, 14), "forward: each line of Python runs a Function and links its output to its inputs (_ctx)",
         12, GREY, anchor="mm")
    save(img, "01_graph.png")


# ----------------------------------------------------------------------------- 02 broadcasting

@figure
def fig02_broadcast():
    """Forward: a (3,1) + b (1,4) copies a along columns and b along rows. Backward: sums."""
    cell, W, H = 46, 900, 370
    img = Image.new("RGB", (W, H), WHITE)
    d = ImageDraw.Draw(img)
    a_col = [(255, 214, 170), (255, 190, 130), (245, 160, 90)]
    b_col = [(200, 225, 245), (160, 200, 235), (120, 175, 225), (85, 150, 215)]

    def box(x, y, fill, label, faded=False, size=13):
        d.rectangle([x, y, x + cell - 2, y + cell - 2], fill=fill, outline=GREY if not faded else LIGHT)
        text(d, (x + cell / 2 - 1, y + cell / 2 - 1), label, size, GREY if faded else BLACK, anchor="mm")

    # forward panel
    ox, oy = 40, 118
    text(d, (ox + 2.5 * cell, 22), "forward: broadcast copies", 15, BLACK, anchor="ma", bold=True)
    for i in range(3):
        box(ox, oy + i * cell, a_col[i], f"a{i}")
    for j in range(4):
        box(ox + (j + 1.4) * cell, oy - cell - 6, b_col[j], f"b{j}")
    gx = ox + 1.4 * cell
    for i in range(3):
        for j in range(4):
            mix = tuple((p + q) // 2 for p, q in zip(a_col[i], b_col[j]))
            box(gx + j * cell, oy + i * cell, mix, f"a{i}+b{j}", size=11)
    text(d, (gx + 2 * cell, oy + 3 * cell + 10), "y = a + b,  shape (3, 4)", 13, GREY, anchor="ma")
    text(d, (ox + cell / 2, oy + 3 * cell + 10), "a (3,1)", 13, GREY, anchor="ma")
    text(d, (gx + 4 * cell + 6, oy - cell / 2 - 6), "b (1,4)", 13, GREY, anchor="lm")
    # backward panel
    rng = np.random.default_rng(3)
    g = rng.integers(-3, 4, size=(3, 4))
    bx = 470
    text(d, (bx + 2.5 * cell, 22), "backward: copies' gradients add up", 15, BLACK, anchor="ma", bold=True)
    for i in range(3):
        for j in range(4):
            box(bx + j * cell, oy + i * cell, (240, 240, 240), f"{g[i, j]:+d}")
    text(d, (bx + 2 * cell, oy - 22), "ȳ = ∂L/∂y", 13, GREY, anchor="ma")
    sx = bx + 4 * cell + 30
    for i in range(3):
        arrow(d, (bx + 4 * cell + 2, oy + i * cell + cell / 2), (sx - 4, oy + i * cell + cell / 2), fill=ORANGE)
        box(sx, oy + i * cell, a_col[i], f"{g[i].sum():+d}")
    text(d, (sx + cell / 2, oy - 22), "ā", 14, BLACK, anchor="ma", bold=True)
    text(d, (sx + cell + 8, oy + 1.5 * cell), "Σ over j\n(axis 1)", 12, GREY, anchor="lm")
    sy = oy + 3 * cell + 28
    for j in range(4):
        arrow(d, (bx + j * cell + cell / 2, oy + 3 * cell + 2), (bx + j * cell + cell / 2, sy - 4), fill=BLUE)
        box(bx + j * cell, sy, b_col[j], f"{g[:, j].sum():+d}")
    text(d, (bx - 10, sy + cell / 2), "b̄", 14, BLACK, anchor="rm", bold=True)
    text(d, (bx + 2 * cell, sy + cell + 8), "Σ over i (axis 0)", 12, GREY, anchor="ma")
    save(img, "02_broadcast.png")


# ----------------------------------------------------------------------------- 03 gradcheck

@figure
def fig03_eps():
    """|central difference − tanh'(0.7)| against ε, computed with tinycoat in float64 and float32."""
    exact = 1 - np.tanh(0.7) ** 2
    series = []
    for dtype, colour, label in (("float64", BLUE, "float64"), ("float32", ORANGE, "float32")):
        eps_values = 10.0 ** np.arange(-12, 0.01, 0.25)
        errors = []
        for eps in eps_values:
            x, e = tc.tensor([0.7], dtype=dtype), tc.tensor([eps], dtype=dtype)
            numeric = ((x + e).tanh() - (x - e).tanh()).numpy()[0] / (2 * float(e.numpy()[0]))
            errors.append(max(abs(numeric - exact), 1e-16))
        series.append((list(eps_values), errors, colour, label))
    eps = 10.0 ** np.arange(-12, 0.01, 0.25)
    t = np.tanh(0.7)
    third = abs(-2 * (1 - t * t) * (1 - 3 * t * t))          # |tanh'''(0.7)|
    series.append((list(eps), list(eps ** 2 * third / 6), GREY, "truncation ε²·|f'''|/6", True))
    img = line_plot(series, size=(620, 380), title="central difference of tanh at x = 0.7",
                    xlabel="step ε", ylabel="|error|", logx=True, logy=True, ylim=(1e-16, 10),
                    legend="lower right")
    save(captioned(img, "", note="computed by lessons/make_figures.py with tinycoat tensors; "
                                 "error floored at 1e-16 where the difference is exact"), "03_eps.png")


# ----------------------------------------------------------------------------- 04 im2col

@figure
def fig04_im2col():
    """A 4×4 image (pixels 1..16), 3×3 kernel, padding 1: the (9, 16) matrix im2col builds."""
    from tinycoat.nn.functional.im2col import im2col
    image = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    cols = im2col(image, (3, 3), (1, 1), (1, 1))            # (9, 16); 0 = padding
    hue = lambda v: lerp_colors([(255, 245, 200), (250, 180, 120), (180, 140, 220), (120, 190, 230)], (v - 1) / 15)  # noqa: E731
    cell, focus = 34, 6                                      # output pixel 6 = row 1, column 2
    W, H = 930, 500
    img = Image.new("RGB", (W, H), WHITE)
    d = ImageDraw.Draw(img)
    # the padded image
    ox, oy = 30, 110
    text(d, (ox + 3 * cell, 20), "image, padded by 1", 15, BLACK, anchor="ma", bold=True)
    text(d, (ox + 3 * cell, 42), "x (1, 1, 4, 4), kernel 3×3", 12, GREY, anchor="ma")
    for r in range(6):
        for c in range(6):
            inside = 1 <= r <= 4 and 1 <= c <= 4
            v = image[0, 0, r - 1, c - 1] if inside else 0
            x0, y0 = ox + c * cell, oy + r * cell
            d.rectangle([x0, y0, x0 + cell - 2, y0 + cell - 2], fill=hue(v) if inside else (245, 245, 245),
                        outline=GREY if inside else LIGHT)
            text(d, (x0 + cell / 2 - 1, y0 + cell / 2 - 1), f"{v:g}" if inside else "0", 13,
                 BLACK if inside else (190, 190, 190), anchor="mm")
    fr, fc = divmod(focus, 4)
    d.rectangle([ox + fc * cell - 3, oy + fr * cell - 3, ox + (fc + 3) * cell + 1, oy + (fr + 3) * cell + 1],
                outline=RED, width=3)
    text(d, (ox + 3 * cell, oy + 6 * cell + 12), "red: the window of", 12, RED, anchor="ma")
    text(d, (ox + 3 * cell, oy + 6 * cell + 28), f"output pixel ({fr}, {fc})", 12, RED, anchor="ma")
    # the column matrix
    mx, my = 350, 110
    text(d, (mx + 8 * cell, 20), "im2col: one column per output pixel", 15, BLACK, anchor="ma", bold=True)
    text(d, (mx + 8 * cell, 42), "cols (C·kh·kw = 9, N·Ho·Wo = 16);  y = W₂ (1, 9) @ cols", 12, GREY, anchor="ma")
    for k in range(16):
        text(d, (mx + k * cell + cell / 2, my - 12), f"{divmod(k, 4)[0]},{divmod(k, 4)[1]}", 10, GREY, anchor="mm")
    for row in range(9):
        i, j = divmod(row, 3)
        text(d, (mx - 8, my + row * cell + cell / 2), f"(i={i}, j={j})", 11, GREY, anchor="rm")
        for k in range(16):
            v = cols[row, k]
            x0, y0 = mx + k * cell, my + row * cell
            d.rectangle([x0, y0, x0 + cell - 2, y0 + cell - 2], fill=hue(v) if v else (245, 245, 245),
                        outline=GREY if v else LIGHT)
            text(d, (x0 + cell / 2 - 1, y0 + cell / 2 - 1), f"{v:g}", 12, BLACK if v else (190, 190, 190), anchor="mm")
    d.rectangle([mx + focus * cell - 3, my - 3, mx + (focus + 1) * cell + 1, my + 9 * cell + 1], outline=RED, width=3)
    text(d, (mx + 8 * cell, my + 9 * cell + 12),
         "column header: output pixel (r, q);  row: kernel offset (i, j);  grey 0 = padding", 12, GREY, anchor="ma")
    text(d, (mx + 8 * cell, my + 9 * cell + 30),
         "each pixel appears in up to 9 columns: col2im adds their gradients back into that pixel", 12, GREY, anchor="ma")
    save(img, "04_im2col.png")


# ----------------------------------------------------------------------------- 05 depthwise

def fashion_image(label_name="ankle boot", k=0):
    """The k-th test image of a class from Fashion-MNIST (found on disk, never downloaded)."""
    from tinycoat.data import load_fashion_mnist
    test = load_fashion_mnist(train=False, download=False)
    index = np.flatnonzero(test.labels == test.classes.index(label_name))[k]
    return test.images[index, 0].astype(np.float64) / 255.0          # (32, 32), 0..1


@figure
def fig05_depthwise():
    """One depthwise conv, three channels, three kernels, applied to a real Fashion-MNIST image."""
    from tinycoat.nn import functional as F
    image = fashion_image("ankle boot")
    kernels = {
        "vertical edges": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float64),
        "horizontal edges": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64),
        "blur": np.full((3, 3), 1 / 9),
    }
    x = np.repeat(image[None, None], 3, axis=1)                      # (1, 3, 32, 32): 3 copies
    K = np.stack(list(kernels.values()))[:, None]                    # (3, 1, 3, 3)
    y = F.depthwise_conv2d(tc.tensor(x), tc.tensor(K), padding=1).numpy()[0]
    rows = []
    for c, name in enumerate(kernels):
        inp = captioned(heatmap(x[0, c], cell=4, stops=MAGMA, vmin=0, vmax=1), f"x, channel {c}")
        kimg = heatmap(K[c, 0], cell=34, stops=DIVERGING, vmin=-2, vmax=2)
        dk = ImageDraw.Draw(kimg)
        for a in range(3):
            for b in range(3):
                ink = ink_for(lerp_colors(DIVERGING, (K[c, 0, a, b] + 2) / 4))
                text(dk, (b * 34 + 17, a * 34 + 17), f"{K[c, 0, a, b]:.2g}", 11, ink, anchor="mm")
        kern = captioned(kimg, f"K[{c}]: {name}")
        m = np.abs(y[c]).max()
        out = captioned(heatmap(y[c], cell=4, stops=DIVERGING if c < 2 else MAGMA, vmin=-m if c < 2 else 0,
                                vmax=m), f"y, channel {c}")
        arrow_img = Image.new("RGB", (40, out.height), WHITE)
        arrow(ImageDraw.Draw(arrow_img), (6, out.height / 2), (34, out.height / 2))
        rows.append(stack([fit(inp, 160), arrow_img, fit(kern, 190, out.height), arrow_img, fit(out, 160)], gap=4))
    fig = stack(rows, horizontal=False, gap=6)
    save(captioned(fig, "depthwise_conv2d: each channel filtered by its own kernel",
                   note="input: a Fashion-MNIST test image copied into 3 channels; "
                        "signed outputs in blue (−) / red (+)"), "05_depthwise.png")


# ----------------------------------------------------------------------------- 06 MBConv

@figure
def fig06_se_reach():
    """log |∂ y_centre / ∂ x| of an MBConv block (eval mode), with and without squeeze-excitation."""
    from tinycoat.nn import MBConv, Identity
    size = 15

    def influence(block):
        block.eval()
        tc.manual_seed(2)
        inp = tc.randn(1, 16, size, size, dtype="float64", requires_grad=True)
        block(inp)[0, :, size // 2, size // 2].sum().backward()
        return np.abs(inp.grad.numpy()).sum(axis=(0, 1))

    tc.manual_seed(1)
    block = MBConv(16, 16, dtype="float64")
    maps = [influence(block)]
    block.se = Identity()
    maps.append(influence(block))
    nonzero = np.concatenate([m[m > 0] for m in maps])
    lo, hi = np.log10(nonzero.min()), np.log10(nonzero.max())
    panels = []
    for m, title in zip(maps, ["with squeeze-excitation", "without (se = Identity)"]):
        logm = np.where(m > 0, np.log10(np.where(m > 0, m, 1)), np.nan)
        img = heatmap(np.nan_to_num(logm, nan=lo), cell=18, stops=MAGMA, vmin=lo, vmax=hi)
        d = ImageDraw.Draw(img)
        for r in range(size):
            for c in range(size):
                if m[r, c] == 0:
                    d.rectangle([c * 18, r * 18, c * 18 + 17, r * 18 + 17], fill=(236, 236, 236))
                    text(d, (c * 18 + 9, r * 18 + 9), "0", 10, (170, 170, 170), anchor="mm")
        c0 = size // 2 * 18
        d.rectangle([c0, c0, c0 + 17, c0 + 17], outline=(80, 200, 255), width=2)
        panels.append(captioned(img, title))
    bar = colorbar(260, 14, MAGMA, lo, hi, "log10 |∂y_centre/∂x| (summed over channels)")
    fig = stack([stack(panels, gap=24), fit(bar, 2 * panels[0].width + 24)], horizontal=False, gap=6)
    save(captioned(fig, "which input pixels reach the centre output of one MBConv block",
                   note="MBConv(16, 16) in eval mode, 15×15 input, float64 gradients; "
                        "grey 0 = exactly zero influence"), "06_se_reach.png")


# ----------------------------------------------------------------------------- 07 / 08 attention

def toy_image(size=16):
    """Grey background, two red squares far apart, a green and a blue one (tokens = colours)."""
    image = np.full((size, size, 3), 0.2)
    image[2:5, 2:5] = [1, 0, 0]
    image[11:14, 11:14] = [1, 0, 0]
    image[2:5, 11:14] = [0, 1, 0]
    image[11:14, 2:5] = [0, 0, 1]
    return image


def attention_weights(image, table, scale=3.0, zero_queries=False, bias_mode="pre"):
    """relative_attention's weights with q = k = v = scale · colour, one head."""
    from tinycoat.nn.functional.attention import relative_attention
    H, W, _ = image.shape
    x = tc.tensor(scale * image.reshape(1, 1, H * W, 3))
    q = tc.zeros(1, 1, H * W, 3, dtype="float64") if zero_queries else x
    _, weights = relative_attention(q, x, x, tc.tensor(table[None]), bias_mode=bias_mode, return_weights=True)
    return weights.numpy()[0, 0]


def image_panel(image, cell, queries=(), labels="ABC"):
    img = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).resize(
        (image.shape[1] * cell, image.shape[0] * cell), Image.NEAREST)
    d = ImageDraw.Draw(img)
    for k, (r, c) in enumerate(queries):
        d.ellipse([c * cell + 2, r * cell + 2, (c + 1) * cell - 3, (r + 1) * cell - 3], outline=WHITE, width=2)
        text(d, ((c + 1) * cell + 1, r * cell - 1), labels[k], 12, WHITE, bold=True)
    return img


def weight_panel(a, cell, query, vmax=None):
    img = heatmap(a, cell=cell, stops=MAGMA, vmin=0, vmax=vmax or a.max())
    d = ImageDraw.Draw(img)
    r, c = query
    d.ellipse([c * cell + 2, r * cell + 2, (c + 1) * cell - 3, (r + 1) * cell - 3], outline=(80, 200, 255), width=2)
    return img


@figure
def fig07_attention_maps():
    image = toy_image()
    H, W, _ = image.shape
    queries = [(3, 3), (3, 12), (8, 8)]
    zero = np.zeros((2 * H - 1, 2 * W - 1))
    A = attention_weights(image, zero)
    panels = [captioned(image_panel(image, 12, queries), "tokens: 16×16 colours")]
    for k, (r, c) in enumerate(queries):
        a = A[r * W + c].reshape(H, W)
        panels.append(captioned(weight_panel(a, 12, (r, c)), f"weights of query {'ABC'[k]}",
                                note=f"max {a.max():.3f}"))
    fig = stack(panels, gap=12)
    save(captioned(fig, "plain self-attention: softmax(q·k/√d), q = k = v = 3·colour",
                   note="computed with relative_attention and a zero bias table; each map is one row of A (sums to 1), "
                        "bright = large weight\nA (red) attends to both red squares equally, B (green) to green; "
                        "C (grey) prefers the coloured squares:\na dot product rewards long keys, "
                        "not only similar ones"), "07_attention_maps.png")


@figure
def fig08_limits():
    """Toy image: content only (w = 0), content + local bias (pre), bias only (q = 0)."""
    image = toy_image()
    H, W, _ = image.shape
    dr, dc = np.meshgrid(np.arange(-(H - 1), H), np.arange(-(W - 1), W), indexing="ij")
    sigma = 2.0
    local = -(dr ** 2 + dc ** 2) / (2 * sigma ** 2)              # e^w: a Gaussian of width σ
    zero = np.zeros_like(local)
    queries = [(3, 3), (8, 8)]
    columns = [("w = 0: attention", attention_weights(image, zero)),
               ("q·k/√d + w (pre)", attention_weights(image, local)),
               ("q = 0: convolution", attention_weights(image, local, zero_queries=True))]
    rows = []
    for k, (r, c) in enumerate(queries):
        panels = [captioned(image_panel(image, 10, [(r, c)], labels="AC"[k]), f"query {'AC'[k]}")]
        for title, A in columns:
            a = A[r * W + c].reshape(H, W)
            panels.append(captioned(weight_panel(a, 10, (r, c)), title, note=f"max {a.max():.3f}"))
        rows.append(stack(panels, gap=12))
    fig = stack(rows, horizontal=False, gap=10)
    save(captioned(fig, "relative attention on the toy image: softmax_j(q_i·k_j/√d + w_{i−j})",
                   note="q = k = v = 3·colour; w_{i−j} = −|i−j|²/(2·2²), a Gaussian kernel e^w; "
                        "computed with relative_attention\nmiddle: the red query attends to red, "
                        "but only to the near square; right: the weights no longer depend on the image"),
         "08_limits.png")


# ----------------------------------------------------------------------------- 10 training

@figure
def fig10_schedule():
    """warmup_cosine for a 100-epoch CIFAR run (391 steps per epoch, 5 warm-up epochs)."""
    from tinycoat.optim import warmup_cosine
    steps_per_epoch, epochs, warmup = 391, 100, 5
    total = steps_per_epoch * epochs
    ts = list(range(0, total + 1, 50))
    lrs = [warmup_cosine(t, total, 2e-3, warmup * steps_per_epoch, 1e-5) for t in ts]
    epochs_axis = [t / steps_per_epoch for t in ts]
    img = line_plot([(epochs_axis, lrs, BLUE, "")], size=(620, 330),
                    title="learning rate: linear warm-up, then cosine to the floor",
                    xlabel="epoch (391 steps each: CIFAR-10, batch 128)", ylabel="learning rate",
                    ylim=(0, 2.2e-3), hlines=[(2e-3, ORANGE, "peak 2e-3"), (1e-5, GREEN, "floor 1e-5", 0.3)])
    save(captioned(img, "", note="train_cifar.py's defaults (--lr 2e-3 --warmup 5 --min-lr 1e-5 --epochs 100), "
                                 "computed with tinycoat.optim.warmup_cosine"), "10_schedule.png")


# ----------------------------------------------------------------------------- 09 layouts

def bar_chart(labels, values, colours, size=(380, 300), title="", ylabel="", fmt_value="{:.2f}", highlight=None,
              points=None):
    """Bars of ``values``; ``points`` (a list of values per bar) also marks each measurement that a
    bar averages (one dot per seed), so the reader sees their spread."""
    W, H = size
    left, right, top, bottom = 62, 12, 34, 40
    img = Image.new("RGB", size, WHITE)
    d = ImageDraw.Draw(img)
    vmax = max(list(values) + [v for group in (points or []) for v in group]) * 1.15
    ticks = nice_ticks(0, vmax)
    py = lambda v: H - bottom - v / vmax * (H - top - bottom)      # noqa: E731
    for t in ticks:
        d.line([left, py(t), W - right, py(t)], fill=LIGHT)
        text(d, (left - 6, py(t)), f"{t:g}", 12, GREY, anchor="rm")
    slot = (W - left - right) / len(values)
    for k, (label, v, colour) in enumerate(zip(labels, values, colours)):
        x0, x1 = left + k * slot + slot * 0.18, left + (k + 1) * slot - slot * 0.18
        d.rectangle([x0, py(v), x1, H - bottom], fill=colour,
                    outline=BLACK if label == highlight else colour, width=2)
        top_of_label = py(v)
        if points and len(points[k]) > 1:
            for p in points[k]:
                cx, cy = (x0 + x1) / 2, py(p)
                d.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=BLACK)
                top_of_label = min(top_of_label, cy - 3)
        text(d, ((x0 + x1) / 2, top_of_label - 3), fmt_value.format(v), 11, BLACK, anchor="mb")
        text(d, ((x0 + x1) / 2, H - bottom + 6), label, 12, BLACK, anchor="ma", bold=label == highlight)
    d.line([left, H - bottom, W - right, H - bottom], fill=GREY)
    text(d, (W / 2, 8), title, 14, BLACK, anchor="ma", bold=True)
    ylab = Image.new("RGB", (H - top - bottom, 18), WHITE)
    text(ImageDraw.Draw(ylab), ((H - top - bottom) / 2, 0), ylabel, 12, BLACK, anchor="ma")
    img.paste(ylab.rotate(90, expand=True), (4, top))
    return img


@figure
def fig09_layouts():
    """Parameters and multiply-adds of coatnet_cifar_nano in the five layouts, from summary()."""
    from tinycoat.models import LAYOUTS, create_model, summary
    order = ["CCCC", "CCCT", "CCTT", "CTTT", "TTTT"]
    assert set(order) == set(LAYOUTS)
    params, macs = [], []
    for layout in order:
        tc.manual_seed(0)
        report = summary(create_model("coatnet_cifar_nano", layout=layout), (3, 32, 32), print_table=False)
        params.append(report["params"] / 1e6)
        macs.append(report["macs"] / 1e6)
    colours = [lerp_colors([(120, 175, 225), (245, 160, 90)], k / 4) for k in range(5)]
    a = bar_chart(order, params, colours, title="parameters (millions)", ylabel="M parameters",
                  highlight="CCTT")
    b = bar_chart(order, macs, colours, title="multiply-adds per 32×32 image (millions)", ylabel="M MACs",
                  fmt_value="{:.0f}", highlight="CCTT", size=(420, 300))
    save(captioned(stack([a, b], gap=20), "coatnet_cifar_nano, five layouts of S1–S4 (C = MBConv, T = Transformer)",
                   note="measured with tinycoat.models.summary (one forward pass, multiply-adds of convs, "
                        "linears and the N×N attention)\nS1 attends over 32×32 = 1024 tokens in TTTT, "
                        "S3 over 8×8 = 64 in CCTT: attention's cost grows with N²"), "09_layouts.png")


LAYOUT_RUNS = OUT / "layout_runs"     # experiments/layout_ablation.py's records
LAYOUT_FIT_RUNS = OUT / "layout_fit"  # ... and those of its runs that fit alike (--fit)


@figure
def fig09_ablation():
    """The layout ablation measured (experiments/layout_ablation.py), per layout, seeds averaged: the
    gap (test loss − training loss, both in eval mode), the training loss and the test error after
    training; and the runs near the attention-heavy layouts' training loss, those that fit alike
    (--fit) among them, as test error against training loss: the paper's reading of generalization,
    at equal fit."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("layout_ablation", ROOT / "experiments" / "layout_ablation.py")
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    rows = ablation.load_records(LAYOUT_RUNS)
    fit_rows = ablation.load_records(LAYOUT_FIT_RUNS)
    order = [layout for layout in ("CCCC", "CCCT", "CCTT", "CTTT", "TTTT") if any(r["layout"] == layout for r in rows)]
    if len(order) < 5:
        print(f"fig09_ablation: {len(order)} of 5 layouts recorded in {LAYOUT_RUNS.relative_to(ROOT)}; "
              "run experiments/layout_ablation.py to finish the sweep")
        return
    colours = [lerp_colors([(120, 175, 225), (245, 160, 90)], k / 4) for k in range(5)]

    def panel(measure, title, unit, fmt_value):
        """Bars: the seeds' mean per layout; dots: each seed."""
        seeds = [[measure(r) for r in rows if r["layout"] == layout] for layout in order]
        means = [sum(values) / len(values) for values in seeds]
        if min(means) <= 0:
            raise SystemExit(f"fig09_ablation: {title}: a non-positive value {means}: the bars draw positive values")
        return bar_chart(order, means, colours, title=title, ylabel=unit, fmt_value=fmt_value, highlight="CCTT",
                         size=(420, 300), points=seeds)

    def fit(run):
        return run["train_eval_loss"], 100 * (1 - run["test_acc"])

    # Near equal fit: the runs whose training loss is within a factor of 3 of the attention-heavy
    # layouts' (the 10-epoch convolutional runs, memorized, lie far to the left), one point per run,
    # not joined (runs of different schedules are not one learning curve); lower is better at a
    # given training loss.
    attention = min(r["train_eval_loss"] for r in rows if r["layout"] in ("CTTT", "TTTT"))
    near = [r for r in rows + fit_rows if r["train_eval_loss"] >= attention / 3]
    lines = []
    for layout, colour in zip(order, colours):
        points = sorted(fit(r) for r in near if r["layout"] == layout)
        lines.append(([x for x, _ in points], [y for _, y in points], colour, layout))
    losses = [x for xs, *_ in lines for x in xs]
    scatter = line_plot(lines, size=(420, 300), title="test error near equal fit",
                        xlim=(min(losses) - 0.03, max(losses) + 0.03), xlabel="training loss",
                        ylabel="test error (%)", legend="upper left", joined=False)
    grid = stack([
        stack([panel(lambda r: r["test_loss"] - r["train_eval_loss"], "gap: test − training loss",
                     "loss", "{:.3f}"),
               panel(lambda r: r["train_eval_loss"], "training loss after training (fit)", "loss", "{:.3f}")],
              gap=20),
        stack([panel(lambda r: 100 * (1 - r["test_acc"]), "test error after training", "%", "{:.1f}"), scatter],
              gap=20)],
        horizontal=False, gap=16)
    argv = rows[0]["train_argv"]
    flag = lambda name: int(argv[argv.index(name) + 1])        # noqa: E731
    runs = sorted({(r["layout"], r["seed"]) for r in rows})
    fits = sorted((r["layout"], r["epochs"]) for r in fit_rows)
    note = (f"coatnet_cifar_nano, {flag('--subset'):,} Fashion-MNIST training images (a subset per seed), "
            f"{flag('--epochs')} epochs, no augmentation or regularization;\n{len(runs)} runs: "
            + ", ".join(f"{layout} seed {seed}" for layout, seed in runs) + "; bars: seeds averaged; dots: each seed\n"
            "lower is better in every panel; blue to orange: convolution stages replaced by attention; outlined: "
            "C-C-T-T, CoAtNet's choice\n"
            f"all after training, in eval mode; test on {rows[0]['test_images']:,} images. Bottom right: the runs whose "
            "training loss is near the attention-heavy layouts',\nthe runs that fit alike among them (layout_ablation.py "
            "--fit: " + ", ".join(f"{layout} {epochs} epoch{'s' * (epochs != 1)}" for layout, epochs in fits) + ")")
    save(captioned(grid, "the layout ablation, measured (experiments/layout_ablation.py)", note=note),
         "09_ablation.png")


# ----------------------------------------------------------------------------- the real training run

RUN_DIR = OUT / "fashion_run"          # the demonstration run: 2,000 images, 5 epochs
RUN_ARGS = ["--dataset", "fashion-mnist", "--subset", "2000", "--test-subset", "500", "--epochs", "5",
            "--batch-size", "64", "--warmup", "1", "--no-download", "--no-progress"]
FULL_RUN_DIR = OUT / "fashion_full"    # the long run of issue 17: all of Fashion-MNIST, the defaults
FULL_RUN_ARGS = ["--dataset", "fashion-mnist", "--epochs", "20", "--no-download", "--no-progress"]


def record_run(out_dir=None, full=False):
    """Keep a small record of a train_cifar.py run made with RUN_ARGS (``full``: FULL_RUN_ARGS).

    ``python lessons/make_figures.py --train`` runs the demonstration (about 40 minutes on a 2-core
    CPU); ``--record DIR`` / ``--record-full DIR`` only record a run that was already made with
    exactly those arguments (``--out DIR``; the full run takes hours on a CPU: run it with
    ``--stop-after`` and ``--resume``). Kept in lessons/figures/fashion_run/ (fashion_full/):
    metrics.jsonl and report.json as train_cifar.py wrote them, the relative-position tables of
    the final model (bias_tables.npz, a few KB) and run.json; for the full run also
    predictions.json (record_predictions).
    """
    import shutil
    import subprocess
    import tempfile
    import time
    from tinycoat.checkpoint import load_checkpoint
    folder, args = (FULL_RUN_DIR, FULL_RUN_ARGS) if full else (RUN_DIR, RUN_ARGS)
    command = [sys.executable, "train_cifar.py"] + args
    if out_dir is None:
        out_dir = tempfile.mkdtemp(prefix="fashion-run-")
        start = time.time()
        subprocess.run(command + ["--out", out_dir], cwd=ROOT, check=True)
        print(f"training took {time.time() - start:.0f} s")
    out_dir = pathlib.Path(out_dir)
    ck = load_checkpoint(out_dir / "last.npz")
    config = ck["meta"]["config"]
    typed = dict(zip(args[::2], args[1::2]))         # (the flags without a value come last)
    for flag, key in (("--dataset", "dataset"), ("--subset", "subset"), ("--test-subset", "test_subset"),
                      ("--epochs", "epochs"), ("--batch-size", "batch_size"), ("--warmup", "warmup")):
        if flag in typed and str(config.get(key)) not in (typed[flag], typed[flag] + ".0"):
            raise SystemExit(f"{out_dir} was made with {key} = {config.get(key)}, not {flag} {typed[flag]}: "
                             f"it is not the run `{' '.join(args)}` describes")
    if ck["meta"].get("epoch") != config["epochs"]:
        raise SystemExit(f"{out_dir} has done {ck['meta'].get('epoch')} of its {config['epochs']} epochs: "
                         f"finish it with --resume {out_dir / 'last.npz'} before recording it")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("metrics.jsonl", "report.json"):
        shutil.copy(out_dir / name, folder / name)
    tables = {k: v for k, v in ck["model"].items() if k.endswith("relative_bias_table")}
    np.savez_compressed(folder / "bias_tables.npz", **tables)
    report = json.loads((out_dir / "report.json").read_text())
    if report.get("epoch", ck["meta"].get("epoch")) != ck["meta"].get("epoch"):     # (older reports name none)
        raise SystemExit(f"{out_dir}/report.json measured epoch {report['epoch']}, its checkpoint is at epoch "
                         f"{ck['meta'].get('epoch')}: finish the run before recording it")
    rows = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    from tinycoat.data import load_dataset
    sizes = [len(load_dataset(config["dataset"], train=split, download=False)) for split in (True, False)]
    train_images = min(config.get("subset") or sizes[0], sizes[0])
    test_images = min(config.get("test_subset") or sizes[1], sizes[1])
    # The run may have been split by --stop-after and --resume: its time is the epochs' own.
    seconds = sum(train_images / r["train_images_per_s"] + test_images / r["test_images_per_s"] for r in rows)
    device = config.get("device", "cpu")
    info = {"command": "python train_cifar.py " + " ".join(args), "epochs_done": ck["meta"].get("epoch"),
            "finished": ck["meta"].get("time"),
            # the report names the machine that trained (older reports do not: then it is this one);
            # this repository's CPU runs shared the cores with other runs
            "machine": report.get("machine", backend.describe(device))
            + (" (shared with other work while it ran)" if device == "cpu" else ""),
            "epochs_time_s": round(seconds), "train_images": train_images, "test_images": test_images,
            "test_acc": rows[-1]["test_acc"], "config": config}
    (folder / "run.json").write_text(json.dumps(info, indent=1) + "\n")
    if full:
        record_predictions(out_dir / "last.npz", folder)
    print(f"recorded {out_dir} in {folder}")


def record_predictions(checkpoint, folder=FULL_RUN_DIR):
    """The checkpoint evaluated as a user does it, ``train_cifar.py --eval-only --resume``: its
    per-class accuracy, the class each class is most often taken for, and its first wrong answers
    (test index, true and predicted class, the softmax's confidence), kept small in
    ``folder``/predictions.json, from which lesson 10's table and fig10_mistakes are made."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory(prefix="fashion-eval-") as out:
        subprocess.run([sys.executable, "train_cifar.py", "--eval-only", "--resume", str(checkpoint), "--out", out,
                        "--no-download", "--no-progress"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        evaluation = json.loads((pathlib.Path(out) / "eval.json").read_text())
    classes = evaluation["classes"]
    checkpoint = pathlib.Path(checkpoint).resolve()
    shown_path = checkpoint.relative_to(ROOT) if checkpoint.is_relative_to(ROOT) else checkpoint
    record = {"checkpoint": str(shown_path), "epoch": evaluation["epoch"], "dataset": evaluation["dataset"],
              "accuracy": evaluation["test_acc"], "loss": evaluation["test_loss"],
              "test_images": evaluation["test_images"],
              "per_class": dict(zip(classes, evaluation["per_class_acc"])),            # None: no images
              "mistaken_for": {name: {"class": None if other is None else classes[other], "images": images}
                               for name, (other, images) in zip(classes, evaluation["mistaken_for"])},
              "mistakes": evaluation["mistakes"]}
    pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
    (pathlib.Path(folder) / "predictions.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def per_class_table(record):
    """Lesson 10's table, markdown, from predictions.json: each class's test accuracy and the class
    its images are most often taken for."""
    lines = ["| class | test accuracy | most often taken for |", "|---|---|---|"]
    for name, accuracy in record["per_class"].items():
        other = record["mistaken_for"][name]
        taken = f"{other['class']} ({other['images']} images)" if other["images"] else "—"
        lines.append(f"| {name} | {'no images' if accuracy is None else f'{100 * accuracy:.1f} %'} | {taken} |")
    return "\n".join(lines)


@figure
def fig10_mistakes():
    """The recorded full run's first test mistakes, each image beside its true and predicted class."""
    path = FULL_RUN_DIR / "predictions.json"
    if not path.exists():
        print(f"fig10_mistakes: no {path.relative_to(ROOT)} yet (record_predictions after the full run)")
        return
    from tinycoat.data import load_dataset
    record = json.loads(path.read_text())
    test = load_dataset(record["dataset"], train=False, download=False)
    tiles = []
    for m in record["mistakes"]:
        pixels = test.images[m["index"]].transpose(1, 2, 0)
        pixels = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
        picture = Image.fromarray(pixels).resize((96, 96), Image.NEAREST).convert("RGB")
        tile = Image.new("RGB", (150, 140), WHITE)
        tile.paste(picture, (27, 2))
        d = ImageDraw.Draw(tile)
        text(d, (75, 102), f"true: {m['true']}", 11, BLACK, anchor="ma")
        text(d, (75, 118), f"said: {m['predicted']} ({100 * m['confidence']:.0f} %)", 11, ORANGE, anchor="ma")
        tiles.append(tile)
    rows = [stack(tiles[k:k + 6], gap=6) for k in range(0, len(tiles), 6)]
    note = (f"the first {len(tiles)} mistakes of {record['checkpoint']} (epoch {record['epoch']}) on the "
            f"{record['test_images']:,} test images: {100 * record['accuracy']:.2f} % correct")
    save(captioned(stack(rows, horizontal=False, gap=6), "what the model gets wrong", note=note),
         "10_mistakes.png")


@figure
def fig14_saliency():
    """Where the trained model looks: |∂ logit / ∂ pixel| of its answer for the first test images,
    by tc.autograd.grad through the whole network, beside each image."""
    checkpoint = ROOT / "checkpoints" / "fashion_full.npz"
    if not checkpoint.exists():
        print("fig14_saliency: no checkpoints/fashion_full.npz (the full run's checkpoint)")
        return
    import predict
    from tinycoat.checkpoint import load_checkpoint
    from tinycoat.data import DataLoader, load_dataset
    model, config, classes = predict.load_model(checkpoint)
    epoch = load_checkpoint(checkpoint)["meta"]["epoch"]
    test = load_dataset(config["dataset"], train=False, download=False).part(slice(0, 8))
    images, labels = next(iter(DataLoader(test, batch_size=len(test))))
    x = tc.tensor(images, requires_grad=True)
    logits = model(x)                                   # eval mode: each image's logits depend on it alone,
    said = logits.argmax(1)                             # so one sum gives every image its own gradient
    (grad,) = tc.autograd.grad(logits.gather(1, said.reshape(-1, 1)).sum(), x)
    saliency = grad.abs().amax(1).numpy()               # (N, H, W): the largest over the channels
    probabilities = tc.softmax(logits.detach(), 1).numpy()
    tiles = []
    for i in range(len(test)):
        pixels = test.images[i].transpose(1, 2, 0)
        pixels = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
        picture = Image.fromarray(pixels).resize((96, 96), Image.NEAREST).convert("RGB")
        where = heatmap(saliency[i], cell=3, stops=SEQUENTIAL, vmin=0.0, vmax=saliency[i].max())
        pair = stack([picture, where], gap=4)
        tile = Image.new("RGB", (pair.width + 8, pair.height + 36), WHITE)
        tile.paste(pair, (4, 2))
        d = ImageDraw.Draw(tile)
        k = int(said[i].item())
        right = k == labels[i]
        text(d, (tile.width / 2, pair.height + 6), f"said: {classes[k]} ({100 * probabilities[i, k]:.0f} %)", 11,
             BLACK if right else ORANGE, anchor="ma")
        text(d, (tile.width / 2, pair.height + 20), "right" if right else f"true: {classes[labels[i]]}", 11,
             GREY if right else ORANGE, anchor="ma")
        tiles.append(tile)
    rows = [stack(tiles[k:k + 4], gap=8) for k in range(0, len(tiles), 4)]
    note = (f"{checkpoint.relative_to(ROOT)} (epoch {epoch}) on the first {len(test)} test images; right of each: "
            "|∂ logit / ∂ pixel| of its answer, dark = the answer changes most with that pixel")
    save(captioned(stack(rows, horizontal=False, gap=8), "where the model looks", note=note), "14_saliency.png")


def load_run():
    """(metrics rows, run.json, folder) of the run the training figures show: the full run once it
    is recorded, the demonstration before."""
    for folder in (FULL_RUN_DIR, RUN_DIR):
        if (folder / "metrics.jsonl").exists() and (folder / "run.json").exists():
            rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]
            return rows, json.loads((folder / "run.json").read_text()), folder
    raise SystemExit(f"no training record in {RUN_DIR}: run python lessons/make_figures.py --train first")


@figure
def fig10_curves():
    """Loss and accuracy per epoch of the recorded train_cifar.py run."""
    rows, info, folder = load_run()
    epochs = [r["epoch"] for r in rows]
    loss = line_plot([(epochs, [r["train_loss"] for r in rows], BLUE, "train (smoothed labels, drop-path)"),
                      (epochs, [r["test_loss"] for r in rows], ORANGE, "test")],
                     size=(470, 320), title="loss", xlabel="epoch", ylabel="cross-entropy", markers=True)
    acc = line_plot([(epochs, [100 * r["train_acc"] for r in rows], BLUE, "train"),
                     (epochs, [100 * r["test_acc"] for r in rows], ORANGE, "test")],
                    size=(470, 320), title="accuracy", xlabel="epoch", ylabel="% correct", markers=True,
                    legend="lower right")
    minutes = (info.get("epochs_time_s") or info.get("wall_time_s") or 0) / 60
    took = f"{minutes / 60:.1f} hours" if minutes > 120 else f"{minutes:.0f} minutes"
    full = folder == FULL_RUN_DIR
    train_images = info.get("train_images", 2000)
    test_images = info.get("test_images", 500)
    note = (f"a real run: {info['command']}\n"
            f"coatnet_cifar_nano (1.5 M parameters), {train_images:,} training / {test_images:,} test images of "
            f"Fashion-MNIST; {took} on {info['machine']}\n"
            f"final test accuracy {100 * rows[-1]['test_acc']:.1f}%"
            + ("" if full else " — a demonstration of the loop, far from what longer training on all 60,000 "
                               "images reaches"))
    title = "train_cifar.py on all of Fashion-MNIST" if full else "train_cifar.py on a Fashion-MNIST subset"
    save(captioned(stack([loss, acc], gap=16), title, note=note), "10_curves.png")


def learn_a_convolution(steps=300):
    """Lesson 08's experiment: a RelativeAttention2d layer trained to copy two fixed neighbours."""
    from tinycoat import optim
    from tinycoat.nn import RelativeAttention2d
    H = W = 8
    kernel = {(0, 2): 0.6, (-1, -1): 0.4}

    def convolve(x):
        pad = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
        return sum(w * pad[:, :, 2 - dr:2 - dr + H, 2 - dc:2 - dc + W] for (dr, dc), w in kernel.items())

    tc.manual_seed(0)
    layer = RelativeAttention2d(8, size=(H, W), head_dim=8)
    opt = optim.AdamW(layer.parameters(), lr=3e-2, weight_decay=0.0)
    data = np.random.default_rng(0)
    for _ in range(steps):
        x = data.standard_normal((16, 8, H, W)).astype(np.float32)
        loss = ((layer(tc.tensor(x)) - tc.tensor(convolve(x))) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    target = np.zeros((2 * H - 1, 2 * W - 1))
    for (dr, dc), w in kernel.items():
        target[dr + H - 1, dc + W - 1] = w
    return target, layer.relative_bias_table.numpy()[0], loss.item()


def centre_marked(values, cell, stops, vmin, vmax):
    img = heatmap(values, cell=cell, stops=stops, vmin=vmin, vmax=vmax)
    d = ImageDraw.Draw(img)
    c = (values.shape[0] // 2) * cell
    d.rectangle([c, c, c + cell - 1, c + cell - 1], outline=(0, 160, 0), width=2)
    return img


def query_weights(table, query, cell):
    """The bias-only attention weights e^w(i−j) / Σ e^w of one query over its map (marked in blue)."""
    H, W = (table.shape[0] + 1) // 2, (table.shape[1] + 1) // 2
    r, c = query
    a = np.array([[np.exp(table[r - rj + H - 1, c - cj + W - 1]) for cj in range(W)] for rj in range(H)])
    a /= a.sum()
    img = heatmap(a, cell=cell, stops=SEQUENTIAL, vmin=0, vmax=0.6, grid=1)
    d = ImageDraw.Draw(img)
    d.rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1], outline=(80, 200, 255), width=3)
    for rj in range(H):
        for cj in range(W):
            if a[rj, cj] > 0.05:
                text(d, (cj * cell + cell / 2, rj * cell + cell / 2), f"{a[rj, cj]:.2f}", 9,
                     ink_for(lerp_colors(SEQUENTIAL, a[rj, cj] / 0.6)), anchor="mm")
    return img


@figure
def fig08_bias_kernels():
    """A table learned on a synthetic task, then the tables of the recorded run's final model."""
    target, learned_conv, final_loss = learn_a_convolution()
    m = np.abs(learned_conv).max()
    top = stack([captioned(centre_marked(target, 14, SEQUENTIAL, 0, 0.6), "target kernel K_δ", size=12),
                 captioned(centre_marked(learned_conv, 14, DIVERGING, -m, m), "learned table w_δ", size=12),
                 captioned(query_weights(learned_conv, (3, 3), 26), "e^w as weights of query (3, 3)",
                           size=12)], gap=14)
    top = captioned(top, "synthetic task (lesson 08): a RelativeAttention2d layer trained to compute "
                         "y_i = 0.6·x_{i−(0,2)} + 0.4·x_{i−(−1,−1)}", size=12,
                    note=f"8×8 map, 300 AdamW steps, final mean-squared error {final_loss:.3f}; "
                         "peaks of w at the kernel's two offsets")
    _, info, folder = load_run()
    with np.load(folder / "bias_tables.npz") as data:
        tables = {k: data[k] for k in data.files}
    # The same model at initialization (same seed, same construction as train_cifar.py).
    from tinycoat.models import create_model
    tc.manual_seed(0)
    initial = create_model("coatnet_cifar_nano", num_classes=10, in_chans=1, drop_path_rate=0.1,
                           image_size=32).state_dict()
    chosen = [k for k in sorted(tables) if k.startswith(("stages.2.0.", "stages.2.4.", "stages.3.1."))]
    rows = []
    for name in chosen:
        learned = tables[name]
        m = max(np.abs(learned).max(), 1e-6)
        cell = 10 if learned.shape[1] > 10 else 20
        panels = []
        for h in range(learned.shape[0]):
            img = centre_marked(learned[h], cell, DIVERGING, -m, m)
            panels.append(captioned(img, f"head {h}", size=11))
        moved = np.abs(learned - initial[name]).mean()
        label = f"{name.replace('.attention.relative_bias_table', '')}  ({'S3' if '.2.' in name else 'S4'}, " \
                f"{(learned.shape[1] + 1) // 2}×{(learned.shape[2] + 1) // 2} tokens): |w| up to {m:.2f}, " \
                f"mean change from init {moved:.3f}"
        rows.append(captioned(stack(panels, gap=6), label, size=12))
    fig = stack([top] + rows, horizontal=False, gap=14)
    save(captioned(fig, "learned relative-position biases w_{i−j} (blue < 0 < red), centre = offset 0 (green)",
                   note=f"rows 2-4: coatnet_cifar_nano after the run of lesson 10 ({info['command'].split('train_cifar.py ')[1][:58]}…);\n"
                        "initialized ~ Normal(0, 0.02), no weight decay; each panel is (2H−1)×(2W−1), "
                        "row = Δrow, column = Δcol"), "08_bias_kernels.png")


# ----------------------------------------------------------------------------- main

def main(argv):
    if argv[:1] == ["--train"]:
        record_run()
        argv = argv[1:]
    elif argv[:1] == ["--record"]:
        record_run(argv[1])
        argv = argv[2:]
    elif argv[:1] == ["--record-full"]:
        record_run(argv[1], full=True)
        argv = argv[2:]
    chosen = [name for name in FIGURES if not argv or any(name[3:].startswith(a) for a in argv)]
    if not chosen:
        raise SystemExit(f"no figure matches {argv}; figures: {', '.join(FIGURES)}")
    for name in chosen:
        FIGURES[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
