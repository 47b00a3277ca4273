"""Prepare the AISegment "Matting Human Datasets" for training.

Usage:
    python tools/dataset_converters/human_matting.py RAW_ROOT OUT_ROOT [--ratios 6 2 2] [--seed 0]
        [--kernel-size 10 | --random-kernel 3 9] [--fg-threshold 255] [--zoo-compat]
        [--debug-num N] [--workers N]

Reads only ``RAW_ROOT/clip_img/**.jpg`` and ``RAW_ROOT/matting/**.png`` (RGBA; the archive's
``matting_human_half/`` duplicate is ignored), pairs them by file stem and writes

    OUT_ROOT/<split>/{image,alpha,trimap,fg}/<date>/clip_<n>/<stem>.jpg|png
    OUT_ROOT/<split>.txt             one <date>/clip_<n>/<stem> per line
    OUT_ROOT/mean_std.json           BGR mean/std (0-255) of the training images
    OUT_ROOT/prepare_info.json       options, counts and skipped files

for the splits train / val / test. Unpaired files, macOS ``._*`` junk and unreadable images are
skipped and reported with a count per reason. Nothing under RAW_ROOT is modified. Every file is
written to a temp name (``.x.png.<hex>.tmp``) and renamed, so a killed run leaves
no half-written file and a rerun skips what is done.

``--zoo-compat`` reproduces the model zoo: sorted-order split (N*6//10, N*2//10, rest) and its
trimap (soft-alpha morphology with a 10x10 ellipse, quantised by its loader: 0 -> 0, >= 250 -> 255,
else 128).
"""

import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time
import uuid
from collections import OrderedDict

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from shmatting.datasets.image_io import write_image  # noqa: E402
from shmatting.datasets.transforms.trimap_ops import (
    trimap_from_alpha,  # noqa: E402
    zoo_trimap_from_alpha,
)
from shmatting.utils import ProgressBar  # noqa: E402
from shmatting.utils.cli import positive_int  # noqa: E402

SPLITS = ('train', 'val', 'test')
MAPS = ('image', 'alpha', 'trimap', 'fg')
SHOW_PATHS = 3


# ---------------------------------------------------------------------- listing and pairing
def list_raw(raw_root):
    """Pair ``clip_img`` and ``matting`` files by stem.

    Returns:
        tuple: (pairs as a list of (stem, rel, clip_path, matting_path), skipped {reason: [paths]})
    """
    skipped = OrderedDict()

    def skip(reason, path):
        skipped.setdefault(reason, []).append(path)

    found = {}
    for sub, ext in (('clip_img', '.jpg'), ('matting', '.png')):
        top = osp.join(raw_root, sub)
        if not osp.isdir(top):
            raise FileNotFoundError(
                f'{raw_root} has no {sub}/ folder (expected the AISegment '
                'layout clip_img/<date>/clip_<n>/*.jpg, matting/<date>/'
                'matting_<n>/*.png)'
            )
        table = found[sub] = {}
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                path = osp.join(root, name)
                if name.startswith('._') or name == '.DS_Store':
                    skip('macOS junk', path)
                elif osp.splitext(name)[1].lower() != ext:
                    skip(f'not a {ext} file', path)
                else:
                    stem = osp.splitext(name)[0]
                    if stem in table:
                        skip('duplicate stem', path)
                    else:
                        table[stem] = path
    clips, mattings = found['clip_img'], found['matting']
    pairs = []
    for stem in sorted(clips):
        if stem not in mattings:
            skip('image without matting', clips[stem])
            continue
        rel = osp.splitext(osp.relpath(clips[stem], osp.join(raw_root, 'clip_img')))[0]
        pairs.append((stem, rel.replace(os.sep, '/'), clips[stem], mattings[stem]))
    for stem in sorted(set(mattings) - set(clips)):
        skip('matting without image', mattings[stem])
    return pairs, skipped


def split_pairs(pairs, ratios, seed, zoo_compat):
    """Split into train/val/test: seeded shuffle, or the zoo's sorted order.

    Counts are ``N * r_i // sum(r)`` for the first splits and the rest for the last, which is the
    model zoo's ``N*6//10, N*2//10, rest`` for 6:2:2.
    """
    if zoo_compat:
        order = sorted(pairs, key=lambda p: p[2])  # the zoo sorts the full clip paths
    else:
        order = sorted(pairs, key=lambda p: p[1])
        perm = np.random.default_rng(seed).permutation(len(order))
        order = [order[i] for i in perm]
    n, total = len(order), sum(ratios)
    counts = [int(n * r // total) for r in ratios[:-1]]
    counts.append(n - sum(counts))
    out, start = OrderedDict(), 0
    for name, count in zip(SPLITS, counts):
        out[name] = order[start : start + count]
        start += count
    return out


def debug_subset(splits, num, ratios):
    """The first ``num`` samples in the split ratios (as the zoo's debug set)."""
    total = sum(ratios)
    counts = [int(num * r // total) for r in ratios[:-1]]
    counts.append(num - sum(counts))
    return OrderedDict((k, v[:c]) for (k, v), c in zip(splits.items(), counts))


# ---------------------------------------------------------------------- writing one sample
def _atomic_write_image(path, array):
    write_image(path, array)


def _atomic_copy(src, dst):
    root, ext = osp.splitext(dst)
    tmp = f'{root}.{uuid.uuid4().hex[:6]}.tmp{ext}'
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def output_paths(out_root, split, rel):
    return {
        m: osp.join(out_root, split, m, rel + ('.jpg' if m == 'image' else '.png')) for m in MAPS
    }


def process_sample(job):
    """Write image, alpha, trimap and fg of one pair; returns (status, detail, stats)."""
    (out_root, split, index, stem, rel, clip, matting, opts) = job
    paths = output_paths(out_root, split, rel)
    want_stats = split == 'train'
    if all(osp.exists(p) for p in paths.values()):
        stats = None
        if want_stats:
            img = cv2.imread(paths['image'], cv2.IMREAD_COLOR)
            stats = _image_stats(img) if img is not None else None
        return 'exists', rel, stats
    image = cv2.imread(clip, cv2.IMREAD_COLOR)
    if image is None:
        return 'unreadable image', clip, None
    rgba = cv2.imread(matting, cv2.IMREAD_UNCHANGED)
    if rgba is None:
        return 'unreadable matting', matting, None
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        return 'matting without alpha channel', matting, None
    if rgba.shape[:2] != image.shape[:2]:
        return 'image and matting sizes differ', matting, None
    alpha = np.ascontiguousarray(rgba[:, :, 3])
    if opts['zoo_compat']:
        trimap = zoo_trimap_from_alpha(alpha, opts['kernel_size'])
    else:
        k = opts['kernel_size']
        if opts['random_kernel']:
            lo, hi = opts['random_kernel']
            k = int(np.random.default_rng([opts['seed'], 7, index]).integers(lo, hi + 1))
        trimap = trimap_from_alpha(alpha, k, opts['fg_threshold'])
    for p in paths.values():
        os.makedirs(osp.dirname(p), exist_ok=True)
    _atomic_write_image(paths['alpha'], alpha)
    _atomic_write_image(paths['trimap'], trimap)
    _atomic_write_image(paths['fg'], np.ascontiguousarray(rgba[:, :, :3]))
    _atomic_copy(clip, paths['image'])  # last: its presence marks the sample as done
    return 'written', rel, _image_stats(image) if want_stats else None


def _image_stats(img):
    flat = img.reshape(-1, 3).astype(np.float64)
    return flat.sum(0), (flat * flat).sum(0), flat.shape[0]


# ---------------------------------------------------------------------- main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='prepare the AISegment Matting Human Datasets')
    parser.add_argument('raw_root', help='folder with clip_img/ and matting/')
    parser.add_argument('out_root', help='output folder (prepared layout)')
    parser.add_argument(
        '--ratios', type=float, nargs=3, default=[6, 2, 2], metavar=('TRAIN', 'VAL', 'TEST')
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of the shuffled split')
    parser.add_argument('--kernel-size', type=positive_int, default=10, help='trimap ellipse size')
    parser.add_argument(
        '--random-kernel',
        type=positive_int,
        nargs=2,
        metavar=('MIN', 'MAX'),
        help='draw the trimap kernel per image in [MIN, MAX]',
    )
    parser.add_argument(
        '--fg-threshold', type=int, default=255, help='alpha at or above it is opaque foreground'
    )
    parser.add_argument(
        '--zoo-compat', action='store_true', help="the model zoo's sorted split and trimap rule"
    )
    parser.add_argument(
        '--debug-num',
        type=positive_int,
        default=None,
        help='only the first N pairs (split in the same ratios)',
    )
    parser.add_argument(
        '--workers', type=positive_int, default=None, help='processes (default: CPUs)'
    )
    args = parser.parse_args(argv)
    if any(r < 0 for r in args.ratios) or sum(args.ratios) <= 0:
        parser.error('--ratios must be non-negative with a positive sum')
    if args.random_kernel and not 1 <= args.random_kernel[0] <= args.random_kernel[1]:
        parser.error('--random-kernel needs 1 <= MIN <= MAX')
    if args.zoo_compat and args.random_kernel:
        parser.error('--zoo-compat uses the fixed 10x10 kernel; drop --random-kernel')
    raw, out = osp.realpath(args.raw_root), osp.realpath(args.out_root)
    if (
        out == raw
        or out.startswith(raw + os.sep)
        and osp.relpath(out, raw).split(os.sep)[0] in ('clip_img', 'matting')
    ):
        parser.error('OUT_ROOT must not be RAW_ROOT or inside its clip_img/ or matting/')
    return args


def remove_stale_temp_files(out_root):
    """Delete temp files a killed run left behind (``<name>.<hex>.tmp<ext>``)."""
    import re

    pattern = re.compile(r'\.[0-9a-f]{6}\.tmp(\.[A-Za-z]+)?$')
    count = 0
    for root, _, files in os.walk(out_root):
        for name in files:
            if pattern.search(name):
                os.remove(osp.join(root, name))
                count += 1
    return count


def copy_backgrounds(raw_root, out_root):
    """Copy ``RAW_ROOT/backgrounds/`` (the synthetic data has one) to ``OUT_ROOT/backgrounds/``."""
    src = osp.join(raw_root, 'backgrounds')
    if not osp.isdir(src):
        return 0
    dst = osp.join(out_root, 'backgrounds')
    os.makedirs(dst, exist_ok=True)
    count = 0
    for name in sorted(os.listdir(src)):
        if name.startswith('.') or not osp.isfile(osp.join(src, name)):
            continue
        if not osp.exists(osp.join(dst, name)):
            _atomic_copy(osp.join(src, name), osp.join(dst, name))
        count += 1
    return count


def _write_text_atomic(path, text):
    tmp = f'{path}.{uuid.uuid4().hex[:6]}.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)


class Tally:
    """What the preparation did: samples per split, counts, skipped files, BGR pixel sums of the
    training images (for the normalisation constants)."""

    def __init__(self, skipped):
        self.done = {s: [] for s in SPLITS}
        self.written = self.existing = 0
        self.skipped = skipped
        self.sums, self.sq_sums, self.pixels = np.zeros(3), np.zeros(3), 0

    def add(self, job, status, detail, stats):
        if status not in ('written', 'exists'):
            self.skipped.setdefault(status, []).append(detail)
            return
        self.done[job[1]].append(job[4])
        self.written += status == 'written'
        self.existing += status == 'exists'
        if stats is not None:
            self.sums += stats[0]
            self.sq_sums += stats[1]
            self.pixels += stats[2]

    def mean_std(self):
        """BGR mean and std (0-255) over all training pixels, or None without any."""
        if not self.pixels:
            return None
        mean = self.sums / self.pixels
        return mean, np.sqrt(np.maximum(self.sq_sums / self.pixels - mean * mean, 0))


def build_jobs(args, splits):
    opts = dict(
        zoo_compat=args.zoo_compat,
        kernel_size=args.kernel_size,
        random_kernel=args.random_kernel,
        fg_threshold=args.fg_threshold,
        seed=args.seed,
    )
    jobs = []
    for split, items in splits.items():
        for stem, rel, clip, matting in items:
            jobs.append((args.out_root, split, len(jobs), stem, rel, clip, matting, opts))
    return jobs


def run_jobs(jobs, workers, tally):
    from multiprocessing import get_context

    bar = ProgressBar(len(jobs), desc='prepare')
    workers = max(1, min(workers or os.cpu_count() or 1, os.cpu_count() or 1))
    pool = get_context('fork').Pool(workers) if workers > 1 else None
    try:
        results = (
            pool.imap(process_sample, jobs, chunksize=4) if pool else map(process_sample, jobs)
        )
        for job, (status, detail, stats) in zip(jobs, results):
            bar.update()
            tally.add(job, status, detail, stats)
    finally:
        if pool:
            pool.close()
            pool.join()


def write_outputs(args, tally, pairs, took):
    """The split lists, ``mean_std.json`` (training images) and ``prepare_info.json``."""
    for split in SPLITS:
        text = ''.join(f'{rel}\n' for rel in tally.done[split])
        _write_text_atomic(osp.join(args.out_root, f'{split}.txt'), text)
    norm = tally.mean_std()
    if norm is not None:
        info = dict(
            order='BGR',
            scale='0-255',
            mean=norm[0].round(3).tolist(),
            std=norm[1].round(3).tolist(),
            num_images=len(tally.done['train']),
        )
        _write_text_atomic(osp.join(args.out_root, 'mean_std.json'), json.dumps(info, indent=2))
    info = dict(
        raw_root=osp.abspath(args.raw_root),
        options=vars(args),
        pairs_found=len(pairs),
        split_counts={s: len(tally.done[s]) for s in SPLITS},
        skipped={k: len(v) for k, v in tally.skipped.items()},
        skipped_examples={k: v[:SHOW_PATHS] for k, v in tally.skipped.items()},
        written=tally.written,
        already_done=tally.existing,
        seconds=round(took, 2),
    )
    _write_text_atomic(osp.join(args.out_root, 'prepare_info.json'), json.dumps(info, indent=2))


def print_summary(args, tally, pairs, extra_rows, took, num_jobs):
    from terminaltables import AsciiTable

    rows = [['Item', 'Value'], ['pairs found', str(len(pairs))]]
    for reason, paths in tally.skipped.items():
        examples = ', '.join(osp.relpath(p, args.raw_root) for p in paths[:SHOW_PATHS])
        more = ' ...' if len(paths) > SHOW_PATHS else ''
        rows.append([f'skipped: {reason}', f'{len(paths)} ({examples}{more})'])
    rows += [[f'{split} samples', str(len(tally.done[split]))] for split in SPLITS]
    rows.append(['written / already done', f'{tally.written} / {tally.existing}'])
    rows += [[k, str(v)] for k, v in extra_rows if v]
    norm = tally.mean_std()
    if norm is not None:
        rows.append(['train mean (BGR, 0-255)', ', '.join(f'{v:.3f}' for v in norm[0])])
        rows.append(['train std (BGR, 0-255)', ', '.join(f'{v:.3f}' for v in norm[1])])
    rows.append(['time', f'{took:.1f}s'])
    rows.append(['images/s', f'{num_jobs / took:.1f}' if took > 0 else '-'])
    print(AsciiTable(rows, title=' human_matting preparation ').table)
    print(f'prepared dataset: {osp.abspath(args.out_root)}')
    if norm is not None:
        print(
            f'img_norm_cfg = dict(mean={norm[0].round(3).tolist()}, '
            f'std={norm[1].round(3).tolist()})  # in {osp.join(args.out_root, "mean_std.json")}'
        )


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    pairs, skipped = list_raw(args.raw_root)
    if not pairs:
        raise FileNotFoundError(f'no image/matting pairs found under {args.raw_root}')
    splits = split_pairs(pairs, list(args.ratios), args.seed, args.zoo_compat)
    if args.debug_num:
        splits = debug_subset(splits, min(args.debug_num, len(pairs)), list(args.ratios))
    jobs = build_jobs(args, splits)
    os.makedirs(args.out_root, exist_ok=True)
    stale = remove_stale_temp_files(args.out_root)
    tally = Tally(skipped)
    run_jobs(jobs, args.workers, tally)
    copied_bg = copy_backgrounds(args.raw_root, args.out_root)
    took = time.perf_counter() - start
    write_outputs(args, tally, pairs, took)
    extra = [('stale temp files removed', stale), ('backgrounds copied', copied_bg)]
    print_summary(args, tally, pairs, extra, took, len(jobs))


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
