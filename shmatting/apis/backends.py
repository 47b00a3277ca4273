"""Runtimes for exported models: MindSpore (MINDIR), ONNX Runtime (ONNX), MindSpore Lite.

Every backend maps one normalised float32 NCHW array to the model's outputs ``[trimap_logits,
alpha]`` as numpy arrays. The optional runtimes are imported only when chosen; when one is
missing, :class:`BackendUnavailable` says in one line what to install.
"""

import os
from typing import List, Optional, Union

import numpy as np

__all__ = [
    'BACKENDS',
    'BackendUnavailable',
    'build_backend',
    'MindSporeBackend',
    'OnnxRuntimeBackend',
    'LiteBackend',
]


class BackendUnavailable(RuntimeError):
    """The chosen runtime is not installed here."""


class MindSporeBackend:
    """A MINDIR through ``ms.load`` + ``nn.GraphCell`` (CPU, GPU or Ascend).

    Args:
        model (str): the ``.mindir`` file.
        device_target (str): ``'CPU'``, ``'GPU'`` or ``'Ascend'``.
        device_id (int): the device index.
    """

    def __init__(self, model: str, device_target: str = 'CPU', device_id: int = 0):
        import mindspore as ms
        from mindspore import nn

        from ..engine.context import set_device

        set_device(device_target, device_id)
        ms.set_context(mode=ms.GRAPH_MODE)
        self.ms = ms
        self.graph = nn.GraphCell(ms.load(model))

    def predict(self, x: np.ndarray) -> List[np.ndarray]:
        """The outputs for one input batch."""
        return [t.asnumpy() for t in self.graph(self.ms.Tensor(x))]


class OnnxRuntimeBackend:
    """An ONNX file in ONNX Runtime (the CPU runtime a deployer picks; CUDA when asked for GPU).

    Args:
        model (str): the ``.onnx`` file.
        device_target (str): ``'CPU'`` or ``'GPU'`` (CUDA execution provider).
        device_id (int): the GPU index.
        threads (int, optional): intra-op threads (default: ONNX Runtime's, one per core).
    """

    def __init__(
        self,
        model: str,
        device_target: str = 'CPU',
        device_id: int = 0,
        threads: Optional[int] = None,
    ):
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendUnavailable(
                "--backend onnxruntime needs the onnxruntime package: pip install 'onnxruntime"
                ">=1.17,<2' (or the project's optional extra: pip install -e '.[optional]')"
            ) from None
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        threads = threads or int(os.environ.get('SHMATTING_ORT_THREADS', 0))
        if threads:
            options.intra_op_num_threads = threads
        providers = ['CPUExecutionProvider']
        if device_target == 'GPU':
            providers = [('CUDAExecutionProvider', {'device_id': device_id})] + providers
        elif device_target == 'Ascend':
            raise BackendUnavailable(
                'ONNX Runtime has no Ascend provider here; use --backend lite '
                'or mindspore on Ascend'
            )
        self.session = ort.InferenceSession(model, options, providers=providers)
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, x: np.ndarray) -> List[np.ndarray]:
        """The outputs for one input batch."""
        return self.session.run(None, {self.input_name: np.ascontiguousarray(x, np.float32)})


class LiteBackend:
    """MindSpore Lite (the Ascend 310 / Lite release's ``mindspore_lite``).

    Args:
        model (str): a MINDIR (or an OM model on an Ascend host).
        device_target (str): ``'CPU'``, ``'GPU'`` or ``'Ascend'``.
        device_id (int): the device index.
    """

    def __init__(self, model: str, device_target: str = 'CPU', device_id: int = 0):
        try:
            import mindspore_lite as mslite
        except ImportError:
            raise BackendUnavailable(
                '--backend lite needs MindSpore Lite (the mindspore_lite package of the Ascend '
                '310 / Lite release); it is not installed here. Use --backend mindspore for a '
                'MINDIR or onnxruntime for an ONNX file.'
            ) from None
        context = mslite.Context()
        target = {'CPU': 'cpu', 'GPU': 'gpu', 'Ascend': 'ascend'}[device_target]
        context.target = [target]
        if target == 'ascend':
            context.ascend.device_id = device_id
        self.model = mslite.Model()
        self.model.build_from_file(model, mslite.ModelType.MINDIR, context)

    def predict(self, x: np.ndarray) -> List[np.ndarray]:
        """The outputs for one input batch."""
        inputs = self.model.get_inputs()
        inputs[0].set_data_from_numpy(np.ascontiguousarray(x, np.float32))
        return [t.get_data_to_numpy() for t in self.model.predict(inputs)]


BACKENDS = {'mindspore': MindSporeBackend, 'onnxruntime': OnnxRuntimeBackend, 'lite': LiteBackend}


def build_backend(
    name: str, model: str, device_target: str = 'CPU', device_id: int = 0
) -> Union[MindSporeBackend, OnnxRuntimeBackend, LiteBackend]:
    """A backend by name, for a model file that must exist.

    Args:
        name (str): ``'mindspore'``, ``'onnxruntime'`` or ``'lite'``.
        model (str): the exported file.
        device_target (str): ``'CPU'``, ``'GPU'`` or ``'Ascend'``.
        device_id (int): the device index.

    Returns:
        the backend (``predict(x) -> [trimap_logits, alpha]``).
    """
    if name not in BACKENDS:
        raise ValueError(f'unknown backend {name!r}; choose from {", ".join(BACKENDS)}')
    if not os.path.isfile(model):
        raise FileNotFoundError(f'model not found: {model}')
    expected = {'mindspore': '.mindir', 'onnxruntime': '.onnx'}.get(name)
    if expected and not model.lower().endswith(expected):
        raise ValueError(f'--backend {name} runs {expected} files, got {model}')
    return BACKENDS[name](model, device_target, device_id)
