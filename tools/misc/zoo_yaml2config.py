"""Convert the MindSpore model zoo's SHM ``config.yaml`` into shmatting configs, one per phase.

Usage: python tools/misc/zoo_yaml2config.py config.yaml OUT.py

Writes ``OUT_tnet.py``, ``OUT_mnet.py`` (when the yaml has ``pre_train_m_net``) and ``OUT_e2e.py``,
each a few lines over the exact zoo reproduction (``configs/shm/zoo/``) with the yaml's values:
seed, device, saveIRFlag (MindSpore graph dumps), batch, workers, patch size, learning rate,
epochs, checkpoint interval and how many to keep, the dataset folder and the output folder. Then
it prints the commands that do what the zoo's scripts did with that yaml (generate_datasets.py,
run_train.sh, eval.py / run_eval.sh, export.py, run_infer_310.sh). The field-by-field map is
docs/migration_from_model_zoo.md. Needs PyYAML (``pip install pyyaml``, in the optional extra).
"""

import argparse
import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401
except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import shmatting  # noqa: E402,F401

PHASES = (
    ('pre_train_t_net', 'tnet', 'shm/zoo/zoo_tnet_8x8.py'),
    ('pre_train_m_net', 'mnet', 'shm/zoo/zoo_mnet_8x8.py'),
    ('end_to_end', 'e2e', 'shm/zoo/zoo_e2e_8x8.py'),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='model zoo config.yaml -> shmatting configs')
    parser.add_argument('yaml', help="the zoo's config.yaml")
    parser.add_argument('out', help='OUT.py: writes OUT_tnet.py, OUT_mnet.py, OUT_e2e.py')
    return parser.parse_args(argv)


def read_yaml(path):
    try:
        import yaml
    except ImportError:
        raise ImportError("zoo_yaml2config needs PyYAML: pip install 'pyyaml>=6,<7'") from None
    if not osp.isfile(path):
        raise FileNotFoundError(f'yaml not found: {path}')
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict) or not any(p in data for p, _, _ in PHASES):
        raise ValueError(
            f'{path} is not the model zoo SHM config.yaml (no pre_train_t_net, '
            'pre_train_m_net or end_to_end section)'
        )
    return data


def keep_max(value):
    """``keep_checkpoint_max`` ('all', '0', '10') -> ``max_keep_ckpts`` (-1 keeps all)."""
    value = str(value).strip().lower()
    return -1 if value in ('all', '0', '') else int(value)


def phase_config(data, section, phase, base, data_root, work_root):
    """The leaf config of one phase, as a dict in file order."""
    sec = data[section]
    size = int(sec.get('patch_size', 320))
    cfg = dict(
        _base_=base,
        model=dict(train_cfg=dict(phase=phase), test_cfg=dict(size=size)),
        data_root=data_root,
        data=dict(
            samples_per_device=int(sec.get('train_batch', 8)), workers=int(sec.get('nThreads', 1))
        ),
        optimizer=dict(lr=float(sec.get('lr', 1e-4))),
        total_epochs=int(sec.get('nEpochs', 200)),
        seed=int(data.get('seed', 9527)),
        work_dir=osp.join(work_root, section),
        default_hooks=dict(
            checkpoint=dict(
                interval=int(sec.get('save_epoch', 1)),
                max_keep_ckpts=keep_max(sec.get('keep_checkpoint_max', 10)),
            )
        ),
        context=dict(device_target=str(data.get('device_target', 'Ascend'))),
    )
    if data.get('saveIRFlag'):
        cfg['context']['save_graphs'] = True
    if size != 320:  # the zoo's crop-or-squash size
        cfg['data']['train'] = dict(pipeline=crop_pipeline(base, size))
    if phase == 'e2e':
        cfg['load_from'] = dict(tnet=osp.join(work_root, 'pre_train_t_net', 'latest.ckpt'))
        if 'pre_train_m_net' in data:
            cfg['load_from']['mnet'] = osp.join(work_root, 'pre_train_m_net', 'best_SAD.ckpt')
    return cfg


def crop_pipeline(base, size):
    """The zoo train pipeline with another crop-or-squash size."""
    from shmatting.config import Config

    pipeline = Config.fromfile(base).to_dict()['data']['train']['pipeline']
    return [dict(t, size=size) if t.get('type') == 'ZooCropOrSquash' else t for t in pipeline]


def write_config(path, section, cfg):
    from shmatting.config import Config

    text = Config(cfg).pretty_text
    with open(path, 'w', encoding='utf-8') as f:
        f.write(f"# {section} of the model zoo's config.yaml (tools/misc/zoo_yaml2config.py)\n")
        f.write(text)


def commands(data, work_root, written):
    """What the zoo's scripts did with this yaml, as shmatting commands."""
    gen = data.get('generate_data') or {}
    raw, root = gen.get('path_mt_human', '/cache/human_matting'), gen.get('path_save', 'data')
    ratios = str(gen.get('proportion', '6:2:2')).split(':')
    prep = f'python tools/dataset_converters/human_matting.py {raw} {root} --zoo-compat'
    prep += f' --ratios {" ".join(ratios)} --kernel-size {gen.get("ksize", 10)}'
    if gen.get('fixed_ksize') is False:
        prep += f' --random-kernel 2 {int(gen.get("ksize", 10)) * 2}'
    test, export = data.get('test') or {}, data.get('export') or {}
    devices = int(data.get('group_size', 8))
    e2e = written[-1]
    ckpt = osp.join(work_root, 'end_to_end', 'best_SAD.ckpt')  # semantic_hm_best.ckpt
    name, fmt = export.get('file_name', 'shm_export'), export.get('file_format', 'MINDIR')
    zoo_ckpt = test.get('model', 'semantic_hm_best.ckpt')
    return [
        f'# generate_datasets.py\n{prep}',
        f'# run_train.sh (the phases in order on {devices} devices)\nDEVICES={devices} '
        f'tools/train_pipeline.sh {" ".join(written)}',
        f'# eval.py / run_eval.sh\npython tools/test.py {e2e} {ckpt}',
        f'# (a checkpoint the zoo trained: python tools/model_converters/zoo2shmatting.py '
        f'{zoo_ckpt} {ckpt})',
        f'# export.py\npython tools/export_mindir.py {e2e} {ckpt} --format {fmt} --out {name}',
        f'# run_infer_310.sh\nbash tools/deploy/run_infer.sh {name}.{fmt.lower()} '
        f'{export.get("device_target", "Ascend")} 0',
    ]


def main(argv=None):
    args = parse_args(argv)
    data = read_yaml(args.yaml)
    stem = args.out[:-3] if args.out.endswith('.py') else args.out
    gen = data.get('generate_data') or {}
    data_root = gen.get('path_save', 'data/human_matting_zoo')
    work_root = osp.join('work_dirs', str(data.get('ckpt_version', 'ckpt_s2')))
    written = []
    for section, phase, base in PHASES:
        if section not in data:
            continue
        path = f'{stem}_{phase}.py'
        write_config(path, section, phase_config(data, section, phase, base, data_root, work_root))
        written.append(path)
    print('wrote ' + ', '.join(written))
    print('\n'.join(commands(data, work_root, written)))


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
