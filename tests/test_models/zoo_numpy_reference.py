"""An independent NumPy forward of the model-zoo SHM network (eval mode), on zoo parameter names.

Written from the reference spec (t_net / m_net layer lists), not from shmatting's code, so that the
MindSpore model can be checked against it.
"""

import numpy as np

BN_EPS = 1e-5


def conv2d(x, w, b=None, stride=1, pad=0, groups=1):
    n, c, h, wd = x.shape
    o, cg, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (h + 2 * pad - k) // stride + 1
    wo = (wd + 2 * pad - k) // stride + 1
    out = np.zeros((n, o, ho, wo), np.float64)
    og = o // groups
    for g in range(groups):
        xs = xp[:, g * cg : (g + 1) * cg]
        ws = w[g * og : (g + 1) * og]
        for i in range(k):
            for j in range(k):
                patch = xs[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride]
                out[:, g * og : (g + 1) * og] += np.einsum('nchw,oc->nohw', patch, ws[:, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out


def depthwise(x, w, stride):
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ho, wo = (h - 1) // stride + 1, (wd - 1) // stride + 1
    out = np.zeros((n, c, ho, wo), np.float64)
    for i in range(3):
        for j in range(3):
            out += (
                xp[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride]
                * w[None, :, 0, i, j, None, None]
            )
    return out


def bn(x, p, name):
    g, b = p[name + '.gamma'], p[name + '.beta']
    m, v = p[name + '.moving_mean'], p[name + '.moving_variance']
    return (x - m[None, :, None, None]) / np.sqrt(v[None, :, None, None] + BN_EPS) * g[
        None, :, None, None
    ] + b[None, :, None, None]


def relu(x):
    return np.maximum(x, 0)


def relu6(x):
    return np.clip(x, 0, 6)


def upsample_bilinear2x(x):
    """torch nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False)."""

    def axis_weights(size):
        out = np.arange(2 * size)
        src = np.maximum((out + 0.5) / 2 - 0.5, 0)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, size - 1)
        return i0, i1, src - i0

    h0, h1, lh = axis_weights(x.shape[2])
    w0, w1, lw = axis_weights(x.shape[3])
    rows = x[:, :, h0] * (1 - lh)[None, None, :, None] + x[:, :, h1] * lh[None, None, :, None]
    return rows[:, :, :, w0] * (1 - lw) + rows[:, :, :, w1] * lw


def maxpool3s2p1(x):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    ho, wo = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    out = np.full((n, c, ho, wo), -np.inf)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, xp[:, :, i : i + 2 * ho : 2, j : j + 2 * wo : 2])
    return out


def conv_transpose_k5s2p2op1(x, w):
    """torch ConvTranspose2d(k=5, stride=2, padding=2, output_padding=1, bias=False)."""
    n, ci, h, wd = x.shape
    co = w.shape[1]
    full = np.zeros((n, co, 2 * h + 3, 2 * wd + 3), np.float64)
    for i in range(5):
        for j in range(5):
            full[:, :, i : i + 2 * h : 2, j : j + 2 * wd : 2] += np.einsum(
                'nchw,co->nohw', x, w[:, :, i, j]
            )
    return full[:, :, 2 : 2 + 2 * h, 2 : 2 + 2 * wd]


def inverted_residual(x, p, name, stride, use_res):
    y = relu6(bn(conv2d(x, p[name + '.conv.0.weight']), p, name + '.conv.1'))
    y = relu6(bn(depthwise(y, p[name + '.conv.3.weight'], stride), p, name + '.conv.4'))
    y = bn(conv2d(y, p[name + '.conv.6.weight']), p, name + '.conv.7')
    return x + y if use_res else y


SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def tnet(x, p):
    x = relu(
        bn(conv2d(x, p['t_net.feature.head_conv.0.weight'], pad=1), p, 't_net.feature.head_conv.1')
    )
    feats, c_in = [], 32
    for i, (_, c, n, s) in enumerate(SETTINGS, start=1):
        for j in range(n):
            name = f't_net.feature.block_{i}' + ('' if n == 1 else f'.{j}')
            stride = s if j == 0 else 1
            x = inverted_residual(x, p, name, stride, stride == 1 and c_in == c)
            c_in = c
        feats.append(x)
    s1, s2, s3, s4, s5 = feats[0], feats[1], feats[2], feats[4], feats[6]

    def up_conv(x, name):
        y = conv2d(upsample_bilinear2x(x), p[name + '.1.weight'], p[name + '.1.bias'], pad=1)
        return relu(bn(y, p, name + '.2'))

    def fusion(x, name):
        return bn(conv2d(x, p[name + '.0.weight'], p[name + '.0.bias'], pad=1), p, name + '.1')

    x = fusion(up_conv(s5, 't_net.s5_up_conv') + s4, 't_net.s4_fusion')
    x = fusion(up_conv(x, 't_net.s4_up_conv') + s3, 't_net.s3_fusion')
    x = fusion(up_conv(x, 't_net.s3_up_conv') + s2, 't_net.s2_fusion')
    x = fusion(up_conv(x, 't_net.s2_up_conv') + s1, 't_net.s1_fusion')
    return conv2d(x, p['t_net.last_conv.weight'], p['t_net.last_conv.bias'], pad=1)


def mnet(x, p):
    for i in range(1, 5):
        name = f'm_net.en_conv_bn_relu_{i}'
        x = maxpool3s2p1(relu(bn(conv2d(x, p[name + '.0.weight'], pad=1), p, name + '.1')))
    for i in range(1, 5):
        name = f'm_net.de_conv_bn_relu_{i}'
        x = relu(bn(conv2d(x, p[name + '.0.weight'], pad=1), p, name + '.1'))
        x = conv_transpose_k5s2p2op1(x, p[f'm_net.deconv_{i}.weight'])
    return conv2d(x, p['m_net.conv.weight'], pad=2)


def shm_forward(x, p):
    """The zoo's network.net(stage=2): (trimap logits, alpha_p) with its fusion channel mix-up."""
    trimap = tnet(x, p)
    e = np.exp(trimap - trimap.max(axis=1, keepdims=True))
    prob = e / e.sum(axis=1, keepdims=True)
    alpha_r = mnet(np.concatenate([x, prob], axis=1), p)
    _, fg, unsure = prob[:, 0:1], prob[:, 1:2], prob[:, 2:3]
    return trimap, fg + unsure * alpha_r
