# The fixed e2e recipe with activation recomputation (less memory, more time per step).
_base_ = ['./e2e_8x8.py', '../_base_/runtime/low_memory.py']
# MindSpore's memory pool grown in 0.25 GB steps: with its 2 GB default a later step grew it by
# 1 GB (4.57 GB peak), with these 3.70 GB (docs/performance.md, eighth session).
context = dict(memory_pool=dict(init_size='0.25GB', increase_size='0.25GB'))
