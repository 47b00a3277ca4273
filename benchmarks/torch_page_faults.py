"""PyTorch original: inference time and page faults in a fresh process and after training steps.

Usage (torch is a benchmark-only dependency):
    python benchmarks/torch_page_faults.py [--shape 320 320] [--threads 2]

Explains the two PyTorch inference figures of ``compare_torch.py``: glibc malloc serves large
activations with fresh mmap'd pages until frees have raised its adaptive mmap threshold, which a
training step does.
"""

import argparse
import os.path as osp
import resource
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from benchmarks.torch_shm import SHMNet  # noqa: E402
from shmatting.utils.cli import positive_int  # noqa: E402
from shmatting.utils.profiling import random_batch  # noqa: E402


def timed_inference(torch, net, x, label, iters=10):
    net.eval()
    with torch.no_grad():
        for _ in range(3):
            net(x)
        before = resource.getrusage(resource.RUSAGE_SELF)
        times = []
        for _ in range(iters):
            start = time.perf_counter()
            net(x)[1].numpy()
            times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f'{label}: {np.median(times) * 1000:.1f} ms/image, '
        f'{(after.ru_minflt - before.ru_minflt) / iters:.0f} minor page faults/image, '
        f'{(after.ru_stime - before.ru_stime) / iters * 1000:.1f} ms system time/image'
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[320, 320])
    parser.add_argument('--threads', type=positive_int, default=2)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = SHMNet()
    x = torch.from_numpy(random_batch(1, *args.shape)['img'])
    timed_inference(torch, net, x, 'fresh process')
    net.train()
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    img = torch.from_numpy(random_batch(8, *args.shape)['img'])
    for _ in range(2):
        opt.zero_grad()
        logits, alpha = net(img)
        (alpha.mean() + logits.mean()).backward()
        opt.step()
    timed_inference(torch, net, x, 'after 2 training steps (batch 8)')


if __name__ == '__main__':
    main()
