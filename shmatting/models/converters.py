"""Weight conversion from the model zoo and the PyTorch original to shmatting names.

The model-zoo (MindSpore) names equal the PyTorch module paths with BatchNorm renamed; shmatting
nests T-Net and M-Net as backbone + head, so four prefix rewrites map every one of the 355 tensors.
These functions work on plain ``{name: numpy array}`` dicts, so they need neither torch nor files.
"""

import re

import numpy as np

__all__ = [
    'ZOO_PREFIX_MAP',
    'strip_wrapper_keys',
    'torch_to_zoo_names',
    'convert_zoo_state',
    'convert_torch_state',
    'ConversionError',
    'zoo_to_shm_name',
    'shm_to_zoo_name',
    'shm_to_torch_name',
]

ZOO_PREFIX_MAP = (
    ('t_net.feature.', 'tnet.backbone.'),
    ('t_net.', 'tnet.head.'),
    ('m_net.en_', 'mnet.backbone.en_'),
    ('m_net.', 'mnet.head.'),
)

# optimizer state, step counters and wrapper prefixes that a checkpoint may carry
_OPTIMIZER_KEY = re.compile(
    r'^(moment1|moment2|adam_m|adam_v|accum|global_step|learning_rate|'
    r'beta1_power|beta2_power|current_iterator_step|last_overflow_iterator_step|'
    r'scale_sense|loss_scale|epoch_num|step_num)(\.|$)'
)
_WRAPPER_PREFIXES = ('module.', 'network.', '_backbone.', 'net.')
# the original defines en_conv_bn_relu_5 but never uses it; num_batches_tracked is torch-only
_TORCH_UNUSED = re.compile(r'(^m_net\.en_conv_bn_relu_5\.|\.num_batches_tracked$)')


class ConversionError(ValueError):
    """A checkpoint that does not match the model: the message lists the offending keys."""


def _report_list(keys, limit=8):
    keys = sorted(keys)
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def strip_wrapper_keys(state):
    """Drop optimizer keys and wrapper prefixes (``module.``, ``network.``, a nested
    ``state_dict``).

    Args:
        state (dict): name -> array (or a torch checkpoint dict holding ``state_dict``).

    Returns:
        tuple[dict, dict]: the cleaned state and a report ``{'optimizer': [...], 'prefixes': [...],
        'other': [...]}`` of what was removed.
    """
    report = {'optimizer': [], 'prefixes': [], 'other': []}
    if 'state_dict' in state and isinstance(state['state_dict'], dict):
        report['other'] += sorted(k for k in state if k != 'state_dict')
        state = state['state_dict']
    cleaned = {}
    for key, value in state.items():
        if _OPTIMIZER_KEY.match(key):
            report['optimizer'].append(key)
            continue
        new = key
        changed = True
        while changed:
            changed = False
            for prefix in _WRAPPER_PREFIXES:
                if new.startswith(prefix) and not new.startswith(
                    ('t_net', 'm_net', 'tnet', 'mnet')
                ):
                    new = new[len(prefix) :]
                    changed = True
                    if prefix not in report['prefixes']:
                        report['prefixes'].append(prefix)
        if not hasattr(value, 'shape'):
            report['other'].append(key)  # e.g. metadata strings or scalars
            continue
        cleaned[new] = value
    return cleaned, report


def torch_to_zoo_names(state):
    """Rename a PyTorch-original state dict to model-zoo names.

    BatchNorm ``weight/bias/running_mean/running_var`` become ``gamma/beta/moving_mean/
    moving_variance`` (a BatchNorm is recognised by its ``running_mean`` sibling);
    ``num_batches_tracked`` and the unused ``m_net.en_conv_bn_relu_5.*`` are dropped.

    Args:
        state (dict): torch name -> array.

    Returns:
        tuple[dict, list]: the renamed state and the dropped keys.
    """
    bn_prefixes = {k[: -len('running_mean')] for k in state if k.endswith('.running_mean')}
    renamed, dropped = {}, []
    rename = {
        'weight': 'gamma',
        'bias': 'beta',
        'running_mean': 'moving_mean',
        'running_var': 'moving_variance',
    }
    for key, value in state.items():
        if _TORCH_UNUSED.search(key):
            dropped.append(key)
            continue
        prefix, _, leaf = key.rpartition('.')
        if prefix + '.' in bn_prefixes and leaf in rename:
            key = f'{prefix}.{rename[leaf]}'
        renamed[key] = value
    return renamed, dropped


def zoo_to_shm_name(key):
    """A model-zoo (or PyTorch-original) parameter name in shmatting's naming (None if unknown)."""
    for old, new in ZOO_PREFIX_MAP:
        if key.startswith(old):
            return new + key[len(old) :]
    return None


_SHM_TO_ZOO = (
    ('tnet.backbone.', 't_net.feature.'),
    ('tnet.head.', 't_net.'),
    ('mnet.backbone.', 'm_net.'),
    ('mnet.head.', 'm_net.'),
)
_MS_TO_TORCH_BN = {
    'gamma': 'weight',
    'beta': 'bias',
    'moving_mean': 'running_mean',
    'moving_variance': 'running_var',
}


def shm_to_zoo_name(name):
    """A shmatting parameter name in the model zoo's naming (the inverse of the converter)."""
    for new, old in _SHM_TO_ZOO:
        if name.startswith(new):
            return old + name[len(new) :]
    return name


def shm_to_torch_name(name):
    """A shmatting parameter name in the PyTorch original's naming (BatchNorm renamed back)."""
    prefix, _, leaf = shm_to_zoo_name(name).rpartition('.')
    return f'{prefix}.{_MS_TO_TORCH_BN.get(leaf, leaf)}'


def convert_zoo_state(state, expected_shapes):
    """Map a model-zoo state (``t_net.*`` / ``m_net.*``) to shmatting names and check shapes.

    Args:
        state (dict): zoo name -> array (wrapper and optimizer keys already stripped).
        expected_shapes (dict): shmatting name -> shape of the target model.

    Returns:
        dict: shmatting name -> float32 array, exactly the keys of ``expected_shapes``.

    Raises:
        ConversionError: unmapped, unexpected, missing or mis-shaped keys (all listed).
    """
    converted, unmapped, unexpected, mismatched = {}, [], [], []
    for key, value in state.items():
        new = zoo_to_shm_name(key)
        if new is None:
            unmapped.append(key)
            continue
        if new not in expected_shapes:
            unexpected.append(f'{key} (-> {new})')
            continue
        arr = np.asarray(value)
        if tuple(arr.shape) != tuple(expected_shapes[new]):
            mismatched.append(f'{key} {tuple(arr.shape)} vs model {tuple(expected_shapes[new])}')
            continue
        converted[new] = arr.astype(np.float32)
    missing = [
        k
        for k in expected_shapes
        if k not in converted and not any(m.startswith(k) for m in mismatched)
    ]
    problems = []
    if unmapped:
        problems.append(f'{len(unmapped)} keys match no known prefix: {_report_list(unmapped)}')
    if unexpected:
        problems.append(f'{len(unexpected)} keys are not in the model: {_report_list(unexpected)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shapes differ: {_report_list(mismatched)}')
    if missing:
        problems.append(f'{len(missing)} model parameters are missing: {_report_list(missing)}')
    if problems:
        raise ConversionError('checkpoint does not match the SHM model: ' + '; '.join(problems))
    return converted


def convert_torch_state(state, expected_shapes):
    """Convert a PyTorch-original state dict (lizhengwei1992 layout) to shmatting names.

    Args:
        state (dict): torch name -> array (wrappers already stripped).
        expected_shapes (dict): shmatting name -> shape.

    Returns:
        tuple[dict, list]: converted state and the dropped torch-only keys.
    """
    zoo_state, dropped = torch_to_zoo_names(state)
    return convert_zoo_state(zoo_state, expected_shapes), dropped
