"""Writing a network to MINDIR, ONNX or AIR, with what MindSpore's ONNX writer gets wrong fixed."""

import os
from typing import Any

import numpy as np

__all__ = ['EXTENSIONS', 'export_network', 'exportable_config', 'fix_onnx_conv_transpose']

EXTENSIONS = {'MINDIR': '.mindir', 'ONNX': '.onnx', 'AIR': '.air'}


def exportable_config(cfg: Any, fmt: str) -> Any:
    """The config a network is built from for export to ``fmt``: for ONNX the M-Net's max pooling
    as zero padding + a valid pool (exact after its ReLUs; MindSpore's padded pooling has no ONNX
    form).

    Args:
        cfg (Config): the config (left unchanged).
        fmt (str): ``'MINDIR'``, ``'ONNX'`` or ``'AIR'``.

    Returns:
        Config: a copy, changed for ONNX.
    """
    cfg = cfg.copy()
    if fmt == 'ONNX':
        cfg.merge_from_dict({'model.mnet.backbone.pool_impl': 'zero_pad'})
    return cfg


def fix_onnx_conv_transpose(path: str) -> int:
    """Rewrite ``ConvTranspose`` ``output_shape`` attributes: MindSpore writes [N, C, H, W], ONNX
    wants [H, W]. The file is replaced atomically after ``onnx.checker`` accepts it.

    Args:
        path (str): the ``.onnx`` file.

    Returns:
        int: the number of nodes fixed.
    """
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "ONNX export needs the onnx package to fix MindSpore's ConvTranspose output_shape "
            "attribute: pip install 'onnx>=1.15,<2' (or pip install -e '.[optional]')"
        ) from None
    model = onnx.load(path)
    fixed = 0
    for node in model.graph.node:
        if node.op_type == 'ConvTranspose':
            for attr in node.attribute:
                if attr.name == 'output_shape' and len(attr.ints) == 4:
                    spatial = list(attr.ints)[2:]
                    del attr.ints[:]
                    attr.ints.extend(spatial)
                    fixed += 1
    onnx.checker.check_model(model)
    tmp = path + '.tmp.onnx'
    try:
        onnx.save(model, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):  # a failed save (a full disk) leaves no partial file behind
            os.remove(tmp)
    return fixed


def export_network(model: Any, x: np.ndarray, stem: str, fmt: str = 'MINDIR') -> str:
    """``ms.export`` of ``model`` at the input ``x`` (ONNX: with the ConvTranspose fix, and every
    layer in its plain form: the operator forms MindSpore's CPU operators run faster, such as a
    few-output convolution as a transposed one, are switched off for ONNX Runtime's kernels).

    Args:
        model (nn.Cell): the network in eval mode, on MindSpore's own operators (for ONNX its
            layers' operator forms are switched off, in place).
        x (np.ndarray): an input of the exported shape.
        stem (str): the output path without extension.
        fmt (str): ``'MINDIR'``, ``'ONNX'`` or ``'AIR'``.

    Returns:
        str: the written file.
    """
    import mindspore as ms

    from ..models.layers import set_operator_forms

    if fmt == 'ONNX':
        set_operator_forms(model, False)
    ms.export(model, ms.Tensor(x), file_name=stem, file_format=fmt)
    out_file = stem + EXTENSIONS[fmt]
    if fmt == 'ONNX':
        fix_onnx_conv_transpose(out_file)
    return out_file
